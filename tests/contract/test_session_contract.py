"""The contract tools over both documents: the Chats API's and the Session API's.

The checks are tested against canned answers. ``mockchats contract``'s Session API flow and
``mockchats proxy`` are tested over real HTTP against a stand-in Session API (a small Flask app
on the mock's own session model, behind the same base URL as the suite's mock), so they are
proven before the mock serves that API; the same flow against the mock itself runs once it
serves ``/v1/wallet-proof/nonce`` and skips, saying so, until then.
"""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import requests
import yaml
from flask import Flask, Response, request
from support import wrong_chats_app

import mockchats
from mockchats import contract
from mockchats.aspnet import habits
from mockchats.contract.checks import Contract
from mockchats.contract.proxy import ContractProxy, ProxyServer
from mockchats.core.errors import BadRequest, Forbidden, NotFound, Unauthorized, Unprocessable
from mockchats.core.identity import bearer_token
from mockchats.core.resources import SPEC_PATH
from mockchats.core.spec import default_spec, default_specs, sessions_spec
from mockchats.core.tokens import InvalidToken, TokenIssuer
from mockchats.sessions.models import SessionStore

SESSION_OPERATIONS = ["getNonce", "verifyWalletProof", "createSession", "joinSession", "getCurrentSession",
                      "kickUser", "deleteCurrentSession", "disconnectSession"]
CHATS_OPERATIONS = ["listChats", "createChat", "addReaction", "listReactions", "deleteReaction", "deleteChat",
                    "deletePin"]
API_KEY = "contract-test-key"
JSON_TYPE = {"Content-Type": "application/json; charset=utf-8"}
PROBLEM_TYPE = {"Content-Type": "application/problem+json; charset=utf-8"}
TRACE = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-00"
UNAUTHORIZED = json.dumps({"title": "Unauthorized", "status": 401, "traceId": TRACE}).encode()


# == a stand-in Session API ======================================================================
class _Answer(Exception):
    def __init__(self, response: Response):
        self.response = response


def _json(status: int, body: object, media: str = habits.JSON) -> Response:
    return Response(habits.dumps(body), status, content_type=media)


def _problem(status: int, detail: str | None = None) -> Response:
    return _json(status, habits.problem(status, detail=detail), habits.PROBLEM_JSON)


def _empty(status: int, headers: dict | None = None) -> Response:
    response = Response(b"", status, headers or {})
    del response.headers["Content-Type"]
    return response


def session_api(*, wrong: bool = False) -> tuple[Flask, SessionStore]:
    """The Session API on the mock's own model, answering as openapi/sessions.yaml says; with
    ``wrong``, breaking it twice: a refused API key is an empty 401 without the challenge, and
    the current session carries a field the document does not know."""
    store = SessionStore(tokens=TokenIssuer(), api_keys=[API_KEY])
    app = Flask("session-api")

    @app.errorhandler(_Answer)
    def answered(exc: _Answer) -> Response:
        return exc.response

    def token() -> str:
        found = bearer_token(request.headers.get("Authorization"))
        if found is None:
            raise _Answer(_empty(401, {"WWW-Authenticate": "Bearer"}))
        return found

    def refused() -> _Answer:
        return _Answer(_empty(401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}))

    def wallet() -> str:
        try:
            return store.wallet_of(token())
        except InvalidToken:
            raise refused() from None

    def caller():
        try:
            return store.caller_of(token())
        except InvalidToken:
            raise refused() from None

    def body() -> dict:
        if request.mimetype != "application/json":
            raise _Answer(_problem(415))
        document = request.get_json(silent=True)
        if not isinstance(document, dict):
            raise _Answer(_json(400, habits.validation_problem({"$": ["not a JSON object"]}), habits.PROBLEM_JSON))
        return document

    def model(call) -> Response:
        try:
            return call()
        except BadRequest as exc:
            return _problem(400, exc.detail)
        except Unauthorized:
            return _empty(401) if wrong else _problem(401)
        except Forbidden:
            return _empty(403)
        except NotFound:
            return _problem(404)
        except Unprocessable as exc:
            return _problem(422, exc.detail)

    @app.get("/v1/wallet-proof/nonce")
    def nonce():
        return _json(200, store.issue_nonce().to_dto())

    @app.post("/v1/wallet-proof/verify")
    def verify():
        chain = request.args.get("chain", "Ethereum")
        if chain.casefold() != "ethereum":
            errors = {"chain": [f"The value '{chain}' is not valid."]}
            return _json(400, habits.validation_problem(errors), habits.PROBLEM_JSON)
        proof = body()
        return model(lambda: _json(200, store.verify_proof(proof.get("walletAddress"), proof.get("message"),
                                                          proof.get("signature")).to_dto()))

    @app.post("/v1/session")
    def create():
        address = wallet()

        def created():
            store.check_api_key(request.headers.get("X-API-KEY"), strict=True)
            return _json(200, store.create_session(address, body()).to_dto())
        return model(created)

    @app.post("/v1/session/join")
    def join():
        address, wanted = wallet(), body()
        return model(lambda: _json(200, store.join(address, wanted.get("sessionId"), wanted.get("password")).to_dto()))

    @app.get("/v1/session/current")
    def current():
        me = caller()
        return model(lambda: _json(200, {**store.current(me).to_dto(), **({"secret": 1} if wrong else {})}))

    @app.delete("/v1/session/current")
    def delete():
        me = caller()
        return model(lambda: (store.delete(me), _empty(200))[1])

    @app.post("/v1/session/current/kick")
    def kick():
        me = caller()
        wanted = body()
        return model(lambda: (store.kick(me, wanted.get("userId")), _empty(200))[1])

    @app.post("/v1/session/disconnect")
    def disconnect():
        me = caller()
        return model(lambda: (store.disconnect(me), _empty(200))[1])

    return app, store


def beside(chats_app, sessions_app):
    """One base URL for both APIs: the Session API's paths to ``sessions_app``, the rest to ``chats_app``."""
    def app(environ, start_response):
        parts = environ.get("PATH_INFO", "").split("/")
        ours = len(parts) > 2 and parts[2].casefold() in ("wallet-proof", "session")
        return (sessions_app if ours else chats_app)(environ, start_response)
    return app


@pytest.fixture(scope="module")
def both(mock):
    """The suite's mock for the Chats API and the stand-in for the Session API, on one port."""
    app, store = session_api()
    server = mockchats.Server(beside(mock.app, app), port=0).start()
    server.store = store
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wrong_sessions(mock):
    app, store = session_api(wrong=True)
    server = mockchats.Server(beside(mock.app, app), port=0).start()
    server.store = store
    yield server
    server.stop()


def cases_of(result) -> dict[tuple[str, str], contract.Case]:
    return {(case.operation_id, case.name): case for case in result.cases}


# == routing =====================================================================================
@pytest.mark.parametrize("method, path, operation_id", [
    ("GET", "/v1/wallet-proof/nonce", "getNonce"),
    ("POST", "/v1/wallet-proof/verify", "verifyWalletProof"),
    ("POST", "/v1/session", "createSession"),
    ("POST", "/v1/session/join", "joinSession"),
    ("GET", "/v1/session/current", "getCurrentSession"),
    ("DELETE", "/v1/session/current", "deleteCurrentSession"),
    ("POST", "/v1/session/current/kick", "kickUser"),
    ("POST", "/v1/session/disconnect", "disconnectSession"),
    ("GET", "/v1/chats", "listChats"),
    ("DELETE", "/v1/chats/c/pins/p", "deletePin"),
])
def test_the_default_contract_routes_both_documents(method, path, operation_id):
    operation = contract.operation_for(method, path)
    assert operation.operation_id == operation_id
    assert contract.check_route(method, path) == (operation, [], [])


def test_a_session_path_is_judged_as_a_chats_path_is():
    operation, violations, warnings = contract.check_route("get", "/V1/Session/Current/")
    assert operation.operation_id == "getCurrentSession" and violations == []
    assert warnings == ["path '/V1/Session/Current/' is spelled '/v1/session/current' in the contract"]
    assert contract.check_route("PUT", "/v1/session/current") == (
        None, ["PUT /v1/session/current is not an operation of the contract"], [])
    assert contract.operation_for("GET", "/v1/session") is None
    assert contract.operation_for("GET", "/v1/wallet-proof") is None


def test_each_document_keeps_its_own_route_table():
    shipped = contract.default_contract()
    assert shipped.specs == default_specs() and shipped.spec is default_spec()
    assert [op.operation_id for op in shipped.operations] == [
        *[op.operation_id for op in default_spec().operations], *[op.operation_id for op in sessions_spec().operations]]
    chats_only, sessions_only = Contract(default_spec()), Contract(sessions_spec())
    assert chats_only.specs == (default_spec(),) and sessions_only.spec is sessions_spec()
    assert chats_only.operation_for("GET", "/v1/session/current") is None
    assert chats_only.operation_for("GET", "/v1/chats").operation_id == "listChats"
    assert sessions_only.operation_for("GET", "/v1/chats") is None
    assert sessions_only.operation("kickUser").path == "/session/current/kick"
    with pytest.raises(KeyError):
        chats_only.operation("kickUser")


def test_two_documents_may_not_share_an_operation_id():
    with pytest.raises(ValueError, match="operationId 'listChats' is in two documents"):
        Contract([default_spec(), default_spec()])
    with pytest.raises(ValueError, match="at least one document"):
        Contract([])


# == the request check: each operation's own security ============================================
BEARER = {"Authorization": "Bearer wallet-or-session-token"}
JSON_BODY = {"Content-Type": "application/json"}


@pytest.mark.parametrize("method, path, query, headers, body, violations", [
    ("GET", "/v1/wallet-proof/nonce", [], {}, None, []),  # security: [], no token needed
    ("POST", "/v1/wallet-proof/verify", [], JSON_BODY, b'{"walletAddress": null}', []),
    ("POST", "/v1/wallet-proof/verify", [("chain", "Ethereum")], JSON_BODY, b"{}", []),
    ("POST", "/v1/wallet-proof/verify", [], {"Content-Type": "text/plain"}, b"{}",
     ["Content-Type 'text/plain' is not JSON"]),
    ("POST", "/v1/session", [], JSON_BODY, b"{}", ["no bearer token"]),  # the challenge first
    ("POST", "/v1/session", [], {**BEARER, **JSON_BODY}, b"{}", ["no X-API-KEY header"]),
    ("POST", "/v1/session", [], {**BEARER, **JSON_BODY, "x-api-key": "  "}, b"{}", ["no X-API-KEY header"]),
    # The key is the action's check: binding refuses first.
    ("POST", "/v1/session", [], {**BEARER, "Content-Type": "text/plain"}, b"{}",
     ["Content-Type 'text/plain' is not JSON"]),
    ("POST", "/v1/session", [], {**BEARER, **JSON_BODY}, b'{"password": 1}', [
        "request: The request field is required.", "$.password: The JSON value could not be converted to "
        "System.String. Path: $.password | LineNumber: 0 | BytePositionInLine: 14."]),
    ("POST", "/v1/session", [], {**BEARER, **JSON_BODY, "X-API-KEY": "k"}, b'{"rules": null}', []),
    ("POST", "/v1/session/join", [], {**BEARER, **JSON_BODY}, b'{"sessionId": "s"}', []),  # no key asked
    ("POST", "/v1/session/join", [], JSON_BODY, b'{"sessionId": "s"}', ["no bearer token"]),
    ("GET", "/v1/session/current", [], {}, None, ["no bearer token"]),
    ("DELETE", "/v1/session/current", [], BEARER, None, []),
    ("POST", "/v1/session/disconnect", [], {}, None, ["no bearer token"]),
    ("GET", "/v1/chats", [], {}, None, ["no bearer token"]),
])
def test_a_request_needs_the_credentials_its_operation_declares(method, path, query, headers, body, violations):
    operation, found, warnings = contract.check_request(method, path, query, headers, body)
    assert operation is not None and (found, warnings) == (violations, [])


@pytest.mark.parametrize("body", [b'{"identity": {"name": "Ada"}}', b'{"rules": {"userCapacity": 2}}',
                                  b'{"rules": {"whiteListAddresses": [{"address": "0x1"}]}}'])
def test_a_create_session_body_with_nested_objects_binds(body):
    headers = {**BEARER, **JSON_BODY, "X-API-KEY": "k"}
    assert contract.check_request("POST", "/v1/session", [], headers, body)[1:] == ([], [])


# == the response check ===========================================================================
CREATE = contract.operation_for("POST", "/v1/session")
JOIN = contract.operation_for("POST", "/v1/session/join")
CURRENT = contract.operation_for("GET", "/v1/session/current")
NONCE = contract.operation_for("GET", "/v1/wallet-proof/nonce")
LIST = contract.operation_for("GET", "/v1/chats")
CURRENT_SESSION = {"id": "s", "creatorId": "h", "expiry": 3600, "maxFiles": 10, "maxUsers": 10,
                   "maxTotalMegaBytes": 100, "passwordProtected": False, "whiteListAddresses": [],
                   "users": [{"id": "h", "role": "Host", "name": "Ada", "address": None}]}


@pytest.mark.parametrize("operation", [CREATE, JOIN], ids=["createSession", "joinSession"])
def test_a_401_may_be_the_challenge_or_a_problem_but_not_neither(operation):
    assert contract.check_response(operation, 401, {"WWW-Authenticate": "Bearer"}, b"") == []
    assert contract.check_response(operation, 401, {"www-authenticate": 'Bearer error="invalid_token"'}, b"") == []
    assert contract.check_response(operation, 401, PROBLEM_TYPE, UNAUTHORIZED) == []
    assert contract.check_response(operation, 401, {}, b"") == [
        "an empty body without WWW-Authenticate: neither the bearer challenge nor a problem"]
    assert contract.check_response(operation, 401, JSON_TYPE, UNAUTHORIZED) == [
        "content type 'application/json' is not application/problem+json"]
    assert contract.check_response(operation, 401, PROBLEM_TYPE, b'{"title": "Unauthorized"}') == [
        "body $: 'status' and 'traceId' are required."]


def test_a_required_header_is_checked_and_an_optional_one_is_not():
    assert contract.check_response(CURRENT, 401, {}, b"") == ["declared header WWW-Authenticate is missing"]
    assert contract.check_response(CURRENT, 401, {"WWW-Authenticate": "Bearer"}, b"") == []
    # Retry-After is declared, not required: a 429 may leave it out.
    assert contract.check_response(CURRENT, 429, PROBLEM_TYPE, json.dumps(habits.problem(429)).encode()) == []
    assert contract.check_response(LIST, 429, PROBLEM_TYPE, json.dumps(habits.problem(429)).encode()) == []


def test_the_chats_challenge_header_is_required_in_its_document():
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert document["components"]["responses"]["Unauthorized"]["headers"]["WWW-Authenticate"]["required"] is True
    assert contract.check_response(LIST, 401, {}, b"") == ["declared header WWW-Authenticate is missing"]


def test_session_bodies_are_judged_by_the_session_documents_schemas():
    assert contract.check_response(CURRENT, 200, JSON_TYPE, json.dumps(CURRENT_SESSION).encode()) == []
    assert contract.check_response(CURRENT, 200, JSON_TYPE, json.dumps({**CURRENT_SESSION, "secret": 1}).encode()) == [
        "body $: 'secret' is not a property here; known: creatorId, expiry, id, maxFiles, maxTotalMegaBytes, "
        "maxUsers, passwordProtected, users, whiteListAddresses."]
    assert contract.check_response(NONCE, 200, JSON_TYPE, b'{"nonce": "1", "message": "m"}') == [
        "body $.nonce: Must be a whole number, not a string."]
    assert contract.check_response(NONCE, 404, {}, b"") == ["status 404 is not declared (declared: 200, 429, 503)"]
    delete = contract.operation_for("DELETE", "/v1/session/current")
    assert contract.check_response(delete, 200, {}, b"") == []
    assert contract.check_response(delete, 200, JSON_TYPE, b"{}") == [
        "a body was sent where the spec declares none: '{}'"]


# == mockchats contract: the Session API's flow ===================================================
FLOW = {  # (operationId, case) -> the status the document and the issue promise, every case of the flow
    ("getNonce", "a nonce for another wallet's signature"): 200,
    ("verifyWalletProof", "another wallet's signature"): 400,
    ("verifyWalletProof", "chain=Bitcoin"): 400,
    ("verifyWalletProof", "a message that is no nonce"): 400,
    ("verifyWalletProof", "text/plain body"): 415,
    ("getNonce", "a nonce for the Host's wallet"): 200,
    ("verifyWalletProof", "verify the Host's wallet"): 200,
    ("verifyWalletProof", "the same nonce again"): 400,
    ("createSession", "no wallet token"): 401,
    ("createSession", "no API key"): 401,
    ("createSession", "capacity 0"): 422,
    ("createSession", "text/plain body"): 415,
    ("createSession", "create a session"): 200,
    ("getNonce", "a nonce for the Client's wallet"): 200,
    ("verifyWalletProof", "verify the Client's wallet"): 200,
    ("joinSession", "no wallet token"): 401,
    ("joinSession", "unknown session"): 404,
    ("joinSession", "join as a Client"): 200,
    ("getCurrentSession", "no token"): 401,
    ("getCurrentSession", "a wallet token in place of a session token"): 401,
    ("getCurrentSession", "as the Host"): 200,
    ("getCurrentSession", "as the Client"): 200,
    ("kickUser", "no token"): 401,
    ("kickUser", "a Client kicks the Host"): 403,
    ("kickUser", "unknown user"): 404,
    ("kickUser", "the Host kicks itself"): 422,
    ("kickUser", "kick the Client"): 200,
    ("getCurrentSession", "as the kicked Client"): 404,
    ("joinSession", "join again after a kick"): 200,
    ("deleteCurrentSession", "no token"): 401,
    ("deleteCurrentSession", "a Client deletes the session"): 403,
    ("disconnectSession", "no token"): 401,
    ("disconnectSession", "the Client leaves"): 200,
    ("getCurrentSession", "after leaving"): 404,
    ("deleteCurrentSession", "delete the session"): 200,
    ("getCurrentSession", "after the delete"): 404,
}


def test_the_session_flow_keeps_the_contract_and_leaves_nothing(fresh, both):
    result = contract.run(both.base_url, "alice-token", "host-token", api_key=API_KEY)
    assert result.failed == [], [(c.operation_id, c.name, c.violations) for c in result.failed]
    assert result.count("skip") == 0
    cases = cases_of(result)
    for key, status in FLOW.items():
        assert (cases[key].expected, cases[key].got, cases[key].verdict) == (status, status, "pass"), key
    sessions = [(case.operation_id, case.name) for case in result.cases if case.operation_id in SESSION_OPERATIONS]
    assert sessions == list(FLOW)  # in flow order, each once
    assert list(result.by_operation()) == CHATS_OPERATIONS + SESSION_OPERATIONS
    assert result.documents == ["openapi/chats.yaml", "openapi/sessions.yaml"]
    assert result.leftovers == [] and not any("Session API" in note for note in result.notes)
    assert both.store.sessions() == []  # the one session made was deleted

    lines: list[str] = []
    contract.print_table(result, lines.append)
    assert lines[0] == f"Contract check of {both.base_url} against openapi/chats.yaml and openapi/sessions.yaml"
    for operation_id in SESSION_OPERATIONS:
        assert operation_id in lines
    assert lines[-1].endswith("0 failed, 0 skipped; contract kept")
    suites = ET.fromstring(contract.junit_xml(result))
    assert [suite.get("name") for suite in suites] == CHATS_OPERATIONS + SESSION_OPERATIONS
    assert suites.get("failures") == "0"
    report = contract.json_report(result)
    assert report["passed"] is True and {c["operationId"] for c in report["cases"]} >= set(SESSION_OPERATIONS)


def test_without_an_api_key_the_session_api_is_not_run_and_a_note_says_so(fresh, both):
    result = contract.run(both.base_url, "alice-token", "host-token")
    assert {case.operation_id for case in result.cases} == set(CHATS_OPERATIONS)
    assert result.documents == ["openapi/chats.yaml"]
    assert "the Session API's operations were not run: they need an API key (--api-key)" in result.notes
    lines: list[str] = []
    contract.print_table(result, lines.append)
    assert lines[0] == f"Contract check of {both.base_url} against openapi/chats.yaml"


def test_a_wrong_session_api_fails_naming_the_operation_and_the_violation(fresh, wrong_sessions):
    result = contract.run(wrong_sessions.base_url, "alice-token", "host-token", api_key=API_KEY)
    failed = {(case.operation_id, case.name): case.violations for case in result.failed}
    assert set(failed) == {("createSession", "no API key"), ("getCurrentSession", "as the Host"),
                           ("getCurrentSession", "as the Client")}
    assert failed[("createSession", "no API key")] == [
        "an empty body without WWW-Authenticate: neither the bearer challenge nor a problem"]
    assert any("'secret' is not a property here" in v for v in failed[("getCurrentSession", "as the Host")])
    assert result.leftovers == [] and wrong_sessions.store.sessions() == []
    lines: list[str] = []
    contract.print_table(result, lines.append)
    assert lines[-1].endswith("contract violated by createSession, getCurrentSession")


def test_a_server_without_the_session_api_fails_its_first_case_and_skips_the_rest():
    server = mockchats.Server(wrong_chats_app(), port=0).start()
    try:
        result = contract.run(server.base_url, "alice-token", api_key=API_KEY)
    finally:
        server.stop()
    first, *rest = [case for case in result.cases if case.operation_id in SESSION_OPERATIONS]
    assert (first.operation_id, first.verdict, first.got) == ("getNonce", "FAIL", 404)
    assert first.violations[:2] == ["expected 200, got 404", "status 404 is not declared (declared: 200, 429, 503)"]
    assert [(case.operation_id, case.name) for case in rest] == list(FLOW)[1:]  # sent nothing more
    assert all(case.verdict == "skip" and case.skip_reason == "no nonce was issued" for case in rest)
    assert {case.operation_id for case in rest} == set(SESSION_OPERATIONS)
    lines: list[str] = []
    contract.print_table(result, lines.append)
    assert "  a nonce for the Host's wallet               200       -     skip  (no nonce was issued)" in lines


@pytest.mark.parametrize("key, problem", [
    ("", "the API key: an API key cannot be empty"),
    ("two words", "the API key: an API key cannot hold a blank or a control character"),
    ("key\r\nX-Evil: 1", "the API key: an API key cannot hold a blank or a control character"),
])
def test_an_api_key_that_cannot_be_sent_is_refused_before_any_request(key, problem):
    assert contract.api_key_problem(key) == problem.removeprefix("the API key: ")
    with pytest.raises(ValueError, match=f"^{problem}$"):
        contract.run("http://127.0.0.1:9/v1", "t", api_key=key)


# == against the mock itself, once it serves the Session API =====================================
def _serves_sessions(server) -> None:
    answer = requests.get(server.base_url + "/wallet-proof/nonce", timeout=10)
    if answer.status_code == 404:
        pytest.skip("the mock does not serve the Session API yet (GET /v1/wallet-proof/nonce is 404)")


def test_the_mock_keeps_the_session_apis_contract_through_the_whole_flow(fresh, server):
    _serves_sessions(server)
    before = requests.get(server.root_url + "/_mock/sessions", timeout=10).json()
    result = contract.run(server.base_url, "alice-token", "host-token", api_key="demo-api-key")
    assert result.failed == [], [(c.operation_id, c.name, c.violations) for c in result.failed]
    cases = cases_of(result)
    for key, status in FLOW.items():
        assert (cases[key].got, cases[key].verdict) == (status, "pass"), key
    assert result.leftovers == []
    assert requests.get(server.root_url + "/_mock/sessions", timeout=10).json() == before  # nothing left behind


def test_the_contract_command_drives_the_session_api_with_api_key(fresh, server, tmp_path):
    _serves_sessions(server)
    help_text = subprocess.run([sys.executable, "-m", "mockchats", "contract", "--help"],
                               capture_output=True, text=True, timeout=60).stdout
    if "--api-key" not in help_text:
        pytest.skip("mockchats contract has no --api-key option yet")
    report_path = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", "mockchats", "contract", "--base-url", server.base_url,
                             "--token", "alice-token", "--host-token", "host-token", "--api-key", "demo-api-key",
                             "--report", str(report_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "against openapi/chats.yaml and openapi/sessions.yaml" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["passed"] is True and report["summary"]["skipped"] == 0
    assert {case["operationId"] for case in report["cases"]} == set(CHATS_OPERATIONS + SESSION_OPERATIONS)
    blank = subprocess.run([sys.executable, "-m", "mockchats", "contract", "--base-url", server.base_url,
                            "--token", "alice-token", "--api-key", ""], capture_output=True, text=True, timeout=60)
    assert blank.returncode == 2 and "an API key cannot be empty" in blank.stderr


# == mockchats proxy: both APIs' traffic judged ==================================================
@pytest.fixture(scope="module")
def proxied(both):
    served = ProxyServer(ContractProxy(both.base_url), port=0).start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def wrong_proxied(wrong_sessions):
    served = ProxyServer(ContractProxy(wrong_sessions.base_url), port=0).start()
    yield served
    served.stop()


def proxy_journal(served, **filters) -> list[dict]:
    answer = requests.get(served.root_url + "/_mock/requests", params=filters, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_proxy_judges_session_api_traffic_by_its_own_document(fresh, proxied):
    requests.delete(proxied.root_url + "/_mock/requests", timeout=10).raise_for_status()
    nonce = requests.get(proxied.base_url + "/wallet-proof/nonce", timeout=10)
    assert nonce.status_code == 200 and set(nonce.json()) == {"nonce", "message"}
    refused = requests.post(proxied.base_url + "/wallet-proof/verify", json={"message": nonce.json()["message"]},
                            timeout=10)
    assert refused.status_code == 400
    no_key = requests.post(proxied.base_url + "/session", json={}, headers=BEARER, timeout=10)
    assert (no_key.status_code, no_key.content) == (401, b"")  # the token is refused before the key
    anonymous = requests.get(proxied.base_url + "/session/current", timeout=10)
    assert anonymous.status_code == 401
    listed = requests.get(proxied.base_url + "/chats", headers={"Authorization": "Bearer host-token"}, timeout=10)
    assert listed.status_code == 200

    entries = proxy_journal(proxied)
    assert [(e["operationId"], e["status"]) for e in entries] == [
        ("getNonce", 200), ("verifyWalletProof", 400), ("createSession", 401), ("getCurrentSession", 401),
        ("listChats", 200)]
    assert [e["violations"] for e in entries] == [[], [], ["no X-API-KEY header"], ["no bearer token"], []]
    assert all(e["responseViolations"] == [] and e["warnings"] == [] for e in entries), entries
    # The journal's filter knows both documents' operations.
    assert [e["status"] for e in proxy_journal(proxied, operationId="createSession")] == [401]


def test_the_proxy_names_a_wrong_session_answer(fresh, wrong_proxied):
    requests.delete(wrong_proxied.root_url + "/_mock/requests", timeout=10).raise_for_status()
    run_result = contract.run(wrong_proxied.base_url, "alice-token", "host-token", api_key=API_KEY)
    assert {case.operation_id for case in run_result.failed} == {"createSession", "getCurrentSession"}
    (no_key,) = [e for e in proxy_journal(wrong_proxied, operationId="createSession") if e["status"] == 401
                 and e["responseViolations"]]
    assert no_key["responseViolations"] == [
        "an empty body without WWW-Authenticate: neither the bearer challenge nor a problem"]
    current = proxy_journal(wrong_proxied, operationId="getCurrentSession", status=200)
    assert len(current) == 2 and all("'secret' is not a property here" in e["responseViolations"][0]
                                     for e in current)
