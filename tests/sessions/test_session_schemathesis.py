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
"""
from __future__ import annotations

import copy
import functools

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import DEMO_API_KEY, bearer

from mockchats.core.resources import SESSIONS_SPEC_PATH
from mockchats.core.spec import sessions_spec


def or_the_bearer_challenge(check):
    """``check``, except on the JwtBearer challenge where the document allows it.

    createSession and joinSession declare one 401 for two answers: the challenge (empty, with
    ``WWW-Authenticate``) and a refused key or password (problem+json). OpenAPI 3.0 cannot say
    "this body or none", so the document declares the problem and makes the header optional,
    and mockchats.contract reads an empty 401 with the header as the challenge. Schemathesis
    would call it a missing content type; here it is the challenge, as the contract checks say.
    """
    @functools.wraps(check)
    def checked(ctx, response, case):
        declared = CHALLENGE_MAY_BE_EMPTY.get(case.operation.definition.raw["operationId"], False)
        if declared and response.status_code == 401 and not response.content \
                and "www-authenticate" in {name.lower() for name in response.headers}:
            return None
        return check(ctx, response, case)
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
    http = HTTP
    created = http.post(base_url + "/session", json={}, timeout=10,
                        headers={**bearer(wallet_token(mock, HOST)), "X-API-KEY": DEMO_API_KEY})
    assert created.status_code == 200, created.text
    session_id = created.json()["sessionId"]
    if not client:
        return {"id": session_id, "host": created.json()["credentials"]}
    joined = http.post(base_url + "/session/join", json={"sessionId": session_id}, timeout=10,
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
