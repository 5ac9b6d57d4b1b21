"""Schemathesis against the running mock over the Session API's document, as over the Chats API's.

Property-based and negative requests for every operation of openapi/sessions.yaml, sent over
real HTTP to the suite's server. Each case meets the same state: the mock is reset, then what
the operation needs is made through the API (a session with its Host, and a Client who joined),
so every operation runs with its security satisfied: a wallet token (and ``X-API-KEY``) to
create or join, the Host's session token for the session operations. The same operations run
again with no credentials, garbage ones, the other kind of token and a Client's. Five checks
hold on every answer: no 5xx, a declared status, a declared content type, the declared
headers, a body that fits the schema. Like the Chats API's run, the seed is fixed and
generation derandomized, and response times are not bounded (the timeout only stops a hang).

verifyWalletProof is also driven by hand with Hypothesis (any body, query and content type,
with a real nonce and signature in many of them): what it answers, and whether the nonce the
body names is used up (the model ran) or still usable (binding refused the request first).
"""
from __future__ import annotations

import copy
import functools
import json

import pytest
import requests
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import DEMO_API_KEY, bearer, check, operation_for

import mockchats
from mockchats.core.resources import SESSIONS_SPEC_PATH
from mockchats.core.spec import sessions_spec


def or_the_bearer_challenge(inner):
    """``inner``, a schemathesis check, except on the JwtBearer challenge where the document allows it.

    createSession and joinSession declare one 401 for two answers: the challenge (empty, with
    ``WWW-Authenticate``) and a refused key or password (problem+json). OpenAPI 3.0 cannot say
    "this body or none", so the document declares the problem and makes the header optional,
    and mockchats.contract reads an empty 401 with the header as the challenge. Schemathesis
    would call it a missing content type; here it is the challenge, as the contract checks say.
    """
    @functools.wraps(inner)
    def checked(ctx, response, case):
        declared = CHALLENGE_MAY_BE_EMPTY.get(case.operation.definition.raw["operationId"], False)
        if declared and response.status_code == 401 and not response.content \
                and "www-authenticate" in {name.lower() for name in response.headers}:
            return None
        return inner(ctx, response, case)
    return checked


#: operationId -> whether its 401 declares both a problem body and the WWW-Authenticate header.
CHALLENGE_MAY_BE_EMPTY = {
    op.operation_id: "content" in op.responses.get("401", {})
    and "WWW-Authenticate" in op.responses["401"].get("headers", {})
    for op in sessions_spec().operations}
CHECKS = [not_a_server_error, status_code_conformance, or_the_bearer_challenge(content_type_conformance),
          response_headers_conformance, or_the_bearer_challenge(response_schema_conformance)]
CONFIG = {
    "seed": 20250626,
    "generation": {"max-examples": 50, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
    # Nothing to generate for these but the bearer token, which every case replaces: a few suffice.
    "operations": [{"include-operation-id": ["getCurrentSession", "disconnectSession", "deleteCurrentSession"],
                    "generation": {"max-examples": 5}}],
}
schema = schemathesis.openapi.from_path(SESSIONS_SPEC_PATH, config=schemathesis.Config.from_dict(CONFIG))
#: Credentials are checked before the body is read, so refused ones need few cases: a handful of
#: generated ones per operation, without the coverage phase's hundred boundary bodies that would
#: all meet the same 401.
refusals = schemathesis.openapi.from_path(SESSIONS_SPEC_PATH, config=schemathesis.Config.from_dict({
    "seed": CONFIG["seed"], "generation": {**CONFIG["generation"], "max-examples": 5},
    "phases": {**CONFIG["phases"], "coverage": {"enabled": False}}}))

#: Wallets by address only: the mock issues their wallet tokens in-process, without a proof
#: (the proof itself is fuzzed as verifyWalletProof, and by the hand-written test at the end).
HOST, CLIENT, NEWCOMER = "0x" + "a1" * 20, "0x" + "c2" * 20, "0x" + "e3" * 20
WALLET_OPERATIONS = {"createSession", "joinSession"}
SESSION_OPERATIONS = {"getCurrentSession", "kickUser", "disconnectSession", "deleteCurrentSession"}
#: How a case's credentials are wrong, besides being right ("valid").
REFUSED = ["missing", "garbage", "crossed"]


@pytest.fixture(scope="module", autouse=True)
def leave_as_found(mock):
    """The last case's session (deleted, kicked, ...) must not meet the next module's tests."""
    yield
    mock.reset()


def wallet_token(mock, address: str) -> str:
    return mock.sessions.wallet_token(address).token


HTTP = requests.Session()  # one connection for every case's setup


def a_session(mock, base_url: str, *, client: bool) -> dict:
    """A session made through the API: its id, the Host's credentials, and a Client's if ``client``."""
    created = HTTP.post(base_url + "/session", json={}, timeout=10,
                        headers={**bearer(wallet_token(mock, HOST)), "X-API-KEY": DEMO_API_KEY})
    assert created.status_code == 200, created.text
    session_id = created.json()["sessionId"]
    if not client:
        return {"id": session_id, "host": created.json()["credentials"]}
    joined = HTTP.post(base_url + "/session/join", json={"sessionId": session_id}, timeout=10,
                       headers=bearer(wallet_token(mock, CLIENT)))
    assert joined.status_code == 200, joined.text
    return {"id": session_id, "host": created.json()["credentials"], "client": joined.json()["credentials"]}


def names_one_of_ours(value: object) -> bool:
    """Whether a generated id stands for one the session has: a string of even length, so
    about half the generated bodies reach the operation's success path, the rest its 404."""
    return isinstance(value, str) and len(value) % 2 == 0


def token_kind(operation: str, credentials: str) -> str | None:
    """Which token a case sends: "wallet", "host", "client", "garbage", or None for none."""
    needed = "wallet" if operation in WALLET_OPERATIONS else "host" if operation in SESSION_OPERATIONS else None
    return {"valid": needed, "client": "client", "missing": None, "garbage": "garbage",
            # the other kind: a session token to create or join, a wallet token elsewhere (open ones too)
            "crossed": "host" if needed == "wallet" else "wallet"}[credentials]


def run(case, credentials: str, server, mock) -> None:
    """Reset the mock, make what ``case`` needs, put ``credentials`` on it, send it, check the answer."""
    mock.reset()  # here, not in a fixture: Hypothesis runs the body once per generated case
    operation = case.operation.definition.raw["operationId"]
    kind = token_kind(operation, credentials)
    needs_session = kind in ("host", "client") or (operation == "joinSession" and credentials == "valid")
    session = a_session(mock, server.base_url, client=kind == "client" or operation == "kickUser") \
        if needs_session else None
    headers = {name: value for name, value in (case.headers or {}).items()
               if name.lower() not in ("authorization", "x-api-key")}
    if kind == "wallet":
        headers.update(bearer(wallet_token(mock, NEWCOMER)))
    elif kind == "garbage":
        headers.update(bearer("not-a-token"))
    elif kind is not None:
        headers.update(bearer(session[kind]["token"]))
    if operation == "createSession" and credentials != "missing":
        headers["X-API-KEY"] = "not-a-key" if credentials == "garbage" else DEMO_API_KEY
    case.headers = headers
    if isinstance(case.body, dict) and session is not None:
        if operation == "joinSession" and names_one_of_ours(case.body.get("sessionId")):
            case.body["sessionId"] = session["id"]
        if operation == "kickUser" and names_one_of_ours(case.body.get("userId")):
            case.body["userId"] = session["client"]["id"]
    case.call_and_validate(base_url=server.base_url, checks=CHECKS, timeout=10)


@schema.parametrize()
def test_the_session_api_keeps_its_contract_under_generated_requests(case, server, mock):
    run(case, "valid", server, mock)


@refusals.parametrize()
def test_the_session_api_keeps_its_contract_without_good_credentials(case, server, mock):
    # Every way in one test per operation: one generated case, sent once with each credential.
    operation = case.operation.definition.raw["operationId"]
    headers, body = copy.deepcopy(case.headers), copy.deepcopy(case.body)
    for credentials in REFUSED + (["client"] if operation in SESSION_OPERATIONS else []):
        case.headers, case.body = copy.deepcopy(headers), copy.deepcopy(body)
        run(case, credentials, server, mock)


# -- verifyWalletProof, by hand: any body, any query, and what becomes of the nonce ----------------
#: Stand-ins a drawn body holds; the example puts in the nonce message it was issued, the
#: wallet's address and its real signature of that message (v 27/28, or 0/1).
NONCE, ADDRESS, SIGNED, SIGNED_V01 = "<nonce>", "<address>", "<signed>", "<signed v 0/1>"
PROOF_FIELDS = ("walletAddress", "message", "signature")
#: Content types the JSON input formatter reads, and ones it refuses (415).
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "text/json", "application/problem+json"]
OTHER_TYPES = ["text/plain", "", "application/x-www-form-urlencoded", "application/json; charset=iso-8859-1"]
ALREADY_USED = "The nonce was already used: get a new one."
ANOTHER_ADDRESS = "0x" + "b2" * 20


def _proofs():
    """What a verify request carries: a body (mostly a proof object), whether its JSON is cut
    short, a content type and a query."""
    text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)  # JSON text .NET can read
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
                               lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                               max_leaves=6)
    # Each field mostly holds its stand-in (or a near miss), else any text, else any JSON value.
    def field(*near: str):
        return st.one_of(st.sampled_from(near[:1]), st.sampled_from(near[:1]), st.sampled_from(near), text, json_values)

    values = {"message": field(NONCE, NONCE + " ", ""),
              "walletAddress": field(ADDRESS, ANOTHER_ADDRESS, "0x1234"),
              "signature": field(SIGNED, SIGNED_V01, "0x" + "00" * 65, "0xzz")}
    spellings = {name: st.sampled_from([name, name.upper(), name[0].upper() + name[1:]]) for name in PROOF_FIELDS}

    @st.composite
    def proof_object(draw):
        body = {}
        for name in PROOF_FIELDS:
            if draw(st.integers(0, 4)) < 4:  # mostly present
                body[draw(spellings[name])] = draw(values[name])
        extra = st.dictionaries(text.filter(lambda k: k.casefold() not in {f.casefold() for f in PROOF_FIELDS}),
                                json_values, max_size=2)
        return {**body, **draw(extra)}

    chain = st.one_of(st.sampled_from(["Ethereum", "ethereum", "ETHEREUM", " Ethereum "]),
                      st.sampled_from(["", "0", "Bitcoin", "Ethereum,Ethereum"]), text)
    query = st.one_of(st.just([]), st.just([]),
                      st.lists(st.tuples(st.sampled_from(["chain", "Chain", "CHAIN"]), chain), min_size=1, max_size=2),
                      st.just([("unrelated", "x")]))
    return st.fixed_dictionaries({
        "body": st.one_of(proof_object(), proof_object(), json_values),
        "cut": st.integers(0, 5).map(lambda n: n == 5),  # now and then, JSON cut short: it does not bind
        "content_type": st.sampled_from(JSON_TYPES * 3 + OTHER_TYPES),
        "query": query,
    })


def bound_fields(body: object) -> dict | None:
    """The proof fields the model gets when ``body`` binds (names in any letter case, nulls
    as absent), or None when binding refuses it: not an object, or a field that is not text."""
    if not isinstance(body, dict):
        return None
    fields = {}
    for key, value in body.items():
        name = next((f for f in PROOF_FIELDS if f.casefold() == key.casefold()), None)
        if name is None:
            continue
        if value is not None and not isinstance(value, str):
            return None
        fields[name] = value
    return fields


def chain_binds(query: list[tuple[str, str]]) -> bool:
    """Whether ``chain`` (its first value, any key case) binds to the enum, or is left out."""
    values = [value for key, value in query if key.casefold() == "chain"]
    return not values or values[0].strip().casefold() == "ethereum"


def verify(server, body: bytes, content_type: str = "application/json", query=()) -> requests.Response:
    response = requests.post(server.base_url + "/wallet-proof/verify", params=list(query), data=body, timeout=10,
                             headers={"Content-Type": content_type} if content_type else {})
    check(operation_for("POST", "/v1/wallet-proof/verify"), response)  # status, headers, content type, schema
    assert response.status_code in (200, 400, 415), response.text
    return response


def is_validation_problem(response: requests.Response) -> bool:
    """The binding's answer (415, or 400 with ModelState ``errors``), not the model's (200, or 400 with a detail)."""
    return response.status_code == 415 or (response.status_code == 400 and "errors" in response.json())


@pytest.fixture(scope="module")
def wallet():
    return mockchats.Wallet("0x" + "5e" * 32)


@settings(max_examples=30, derandomize=True, database=None, deadline=None)
@given(drawn=_proofs())
def test_verify_wallet_proof_uses_up_the_nonce_it_names_unless_binding_refused_it(drawn, server, mock, wallet):
    """Any body, query and content type: never a 5xx, always 200, 400 or 415 as declared. When
    the request binds, the model runs and the nonce the body names is used up, whatever the
    outcome; when binding refuses it (ASP.NET binds before the action runs), it stays usable."""
    mock.reset()
    issued = requests.get(server.base_url + "/wallet-proof/nonce", timeout=10).json()["message"]
    signed = wallet.sign(issued)
    stand_ins = {NONCE: issued, ADDRESS: wallet.address, SIGNED: signed,
                 SIGNED_V01: signed[:-2] + f"{int(signed[-2:], 16) - 27:02x}"}
    body = drawn["body"]
    if isinstance(body, dict):
        body = {key: stand_ins.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    payload = json.dumps(body).encode()
    if drawn["cut"]:
        payload = payload[:-1]

    response = verify(server, payload, drawn["content_type"], drawn["query"])

    fields = None if drawn["cut"] else bound_fields(body)
    if drawn["content_type"] not in JSON_TYPES:
        assert response.status_code == 415, response.text
        model_ran = False
    elif fields is None or not chain_binds(drawn["query"]):
        assert response.status_code == 400 and is_validation_problem(response), response.text
        model_ran = False
    else:
        assert not is_validation_problem(response), response.text
        model_ran = True
    named = model_ran and fields.get("message") == issued
    address = fields.get("walletAddress") if model_ran else None
    proven = named and fields.get("signature") in (stand_ins[SIGNED], stand_ins[SIGNED_V01]) \
        and isinstance(address, str) and address.casefold() == wallet.address.casefold()
    if model_ran:
        assert response.status_code == (200 if proven else 400), response.text
        assert proven or response.json()["detail"], response.text

    proof = {"walletAddress": wallet.address, "message": issued, "signature": signed}
    again = verify(server, json.dumps(proof).encode())
    if named:
        assert again.status_code == 400 and again.json()["detail"] == ALREADY_USED, again.text
    else:
        assert again.status_code == 200, again.text


def test_an_unreadable_content_type_is_415_even_when_chain_does_not_bind(server, mock):
    """ASP.NET binds every action parameter, then its filters answer: the unsupported content type
    (UnsupportedContentTypeFilter, order -3000) before ModelState (ModelStateInvalidFilter, -2000);
    FIDELITY entry 46 puts the content type (415) before binding (400) too."""
    mock.reset()
    response = verify(server, b"{}", "text/plain", [("chain", "Bitcoin")])
    assert response.status_code == 415, response.text
