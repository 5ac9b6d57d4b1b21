"""What the test files share: every helper lives here, imported by name (``from support import ...``;
pyproject's ``pythonpath`` puts tests/ on the path, so any folder finds it). Fixtures live in the
conftest.py files, never here, so no test imports a fixture.

- the spec check every partner response goes through, and ``Api``, the client that applies it;
- what a refusal looks like, and "nothing changed";
- ``mockchats serve`` as a real process, the mock served either way, raw HTTP exchanges;
- the control plane's own check (``Plane``, every answer against ``/_mock/openapi.json``);
- the binding's problem details, and a deliberately wrong Chats server.
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests
from flask import Flask, Response
from openapi_schema_validator import OAS30Validator, oas30_format_checker

import mockchats
from mockchats import contract
from mockchats.core.spec import sessions_spec

# -- the spec check: a response conforms to openapi/chats.yaml ------------------------------
# A thin wrapper over :mod:`mockchats.contract.checks`, the checks ``mockchats contract`` and
# ``mockchats proxy`` use too, so the suite judges the mock exactly as those judge any
# server: the status must be declared for the operation, declared headers present, the
# content type one the spec lists (or no body when it lists none), and the body valid
# against the schema with OpenAPI 3.0 semantics (``nullable`` included).
SPEC = contract.default_contract().spec


class ContractViolation(AssertionError):
    pass


#: The Session API's document, judged the same way.
SESSIONS_CONTRACT = contract.Contract(sessions_spec())


def operation_for(method: str, path: str):
    """The operation of either document a request targets, or None (unknown path or method)."""
    return contract.operation_for(method, path) or SESSIONS_CONTRACT.operation_for(method, path)


def check(operation, response) -> None:
    """Raise ContractViolation unless ``response`` (a requests.Response) conforms."""
    judge = SESSIONS_CONTRACT if operation in sessions_spec().operations else contract.default_contract()
    violations = judge.check_response(operation, response.status_code, response.headers, response.content)
    if violations:
        where = f"{operation.operation_id} -> {response.status_code}"
        raise ContractViolation(f"{where}: " + "; ".join(violations))


# -- the partner client ---------------------------------------------------------------------
TOKENS = {"host": "host-token", "alice": "alice-token", "bob": "bob-token"}
#: The default world's first session, and a message of it by Alice, not pinned, with the Host's :thumbs_up:.
DEFAULT_SESSION = "d352dac2-a8a5-4498-942e-2de41966f3d3"
ALICES_MESSAGE = "e6853c81-c764-4e7e-911b-3025829dbeed"


class Api:
    """A real HTTP client for the mock, checking every answer against the spec.

    ``api.get("/chats", as_="alice")`` sends alice's token; ``token=`` sends any
    token and ``token=None`` none at all. Responses to declared operations must
    conform to openapi/chats.yaml, or the test fails.
    """

    def __init__(self, root_url: str, base_path: str = "/v1"):
        self.root_url = root_url
        self.base_url = root_url + base_path
        self.base_path = base_path
        self.session = requests.Session()

    def request(self, method: str, path: str, *, as_: str | None = "host", token: str | None = "",
                headers: dict | None = None, **kwargs) -> requests.Response:
        headers = dict(headers or {})
        if token == "" and as_ is not None:
            token = TOKENS[as_]
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        response = self.session.request(method, self.base_url + path, headers=headers,
                                        timeout=10, **kwargs)
        operation = operation_for(method, self.base_path + path.split("?")[0])
        if operation is not None:
            check(operation, response)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- conveniences over the API itself ---------------------------------
    def messages(self, as_: str = "host", **params) -> list[dict]:
        response = self.get("/chats", as_=as_, params={"Take": 20, **params})
        assert response.status_code == 200, response.text
        return response.json()["messages"]

    def all_messages(self, as_: str = "host", **params) -> list[dict]:
        found, skip = [], 0
        while True:
            page = self.messages(as_, Skip=skip, **params)
            found += page
            if len(page) < 20:
                return found
            skip += 20

    def create(self, text: str = "hello", as_: str = "alice") -> dict:
        response = self.post("/chats", as_=as_, json={"message": text})
        assert response.status_code == 200, response.text
        return response.json()


# -- the Session API's login flow, as a partner's backend runs it ----------------------------
DEMO_API_KEY = "demo-api-key"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def wallet_token(api: Api, wallet=None) -> tuple[object, str]:
    """(the wallet, its wallet token): a nonce, signed with a real key, verified."""
    wallet = wallet or mockchats.Wallet()
    nonce = api.get("/wallet-proof/nonce", as_=None)
    assert nonce.status_code == 200, nonce.text
    message = nonce.json()["message"]
    proof = api.post("/wallet-proof/verify", as_=None,
                     json={"walletAddress": wallet.address, "message": message, "signature": wallet.sign(message)})
    assert proof.status_code == 200, proof.text
    return wallet, proof.json()["token"]


def host_session(api: Api, body: dict | None = None, wallet=None) -> dict:
    """A new session made through the API: its SessionCredentialsDto, plus the wallet under ``wallet``."""
    wallet, token = wallet_token(api, wallet)
    created = api.post("/session", as_=None, json=body if body is not None else {},
                       headers={**bearer(token), "X-API-KEY": DEMO_API_KEY})
    assert created.status_code == 200, created.text
    return {**created.json(), "wallet": wallet}


def join(api: Api, session_id: str, *, wallet=None, password: str | None = None) -> dict:
    """A wallet joins ``session_id``: its JoinSessionDto, plus the wallet under ``wallet``."""
    wallet, token = wallet_token(api, wallet)
    joined = api.post("/session/join", as_=None, json={"sessionId": session_id, "password": password},
                      headers=bearer(token))
    assert joined.status_code == 200, joined.text
    return {**joined.json(), "wallet": wallet}


# -- what a refusal looks like, and "nothing changed" ----------------------------------------
NOT_FOUND_TYPE = "https://tools.ietf.org/html/rfc9110#section-15.5.5"


def snapshot(api) -> tuple[list, list]:
    """Everything a client can see of the session: its messages and their reactions."""
    messages = api.all_messages()
    reactions = api.get("/chats/reactions", params={"chatIds": [m["chatId"] for m in messages]})
    assert reactions.status_code == 200, reactions.text
    return messages, reactions.json()


@contextlib.contextmanager
def nothing_changes(api):
    before = snapshot(api)
    yield
    assert snapshot(api) == before, "a refused request changed the session"


def assert_unauthorized(response, challenge: str) -> None:
    """JwtBearer's challenge: 401, no body, the given WWW-Authenticate."""
    assert response.status_code == 401
    assert response.content == b""
    assert "Content-Type" not in response.headers
    assert response.headers["WWW-Authenticate"] == challenge


def assert_forbidden(response) -> None:
    """Forbid(): 403, no body, no challenge."""
    assert response.status_code == 403
    assert response.content == b""
    assert "Content-Type" not in response.headers
    assert "WWW-Authenticate" not in response.headers


def assert_not_found(response) -> None:
    """NotFound() in an [ApiController]: 404 problem+json."""
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["type"], body["title"], body["status"]) == (NOT_FOUND_TYPE, "Not Found", 404)


def data_of(document: dict) -> dict:
    """A fixture document without descriptions, with optional lists filled in."""
    document = copy.deepcopy(document)
    document.pop("description", None)
    for session in document["sessions"]:
        session.pop("description", None)
        session.setdefault("messages", [])
        for message in session["messages"]:
            message.setdefault("reactions", [])
    return document


# -- serving: `mockchats serve` as a real process, or in this process -------------------------
#: The two ways the mock is served: ``mockchats serve`` (granian in a forked worker process)
#: and mockchats.Server in the test process (granian's embedded server), as the plugin serves.
SERVINGS = ["serve", "plugin"]

_BASE_URL = re.compile(r"base URL\s+(http://\S+/v1)")


class ServeProcess:
    """``mockchats serve`` in a child process; ``base_url`` is read from its banner."""

    def __init__(self, *args: str, command: list[str] | None = None, cwd=None, timeout: float = 20):
        command = command or [sys.executable, "-m", "mockchats", "serve"]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # A session of its own, so a failing test can stop the whole group (server and worker).
        self.process = subprocess.Popen([*command, "--port", "0", *args], cwd=cwd, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.banner: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.banner.append(line)
            match = _BASE_URL.search(line)
            if match:
                self.base_url = match.group(1)
            # Read the whole banner here: communicate() later bypasses this reader's buffer.
            if line.startswith("Press Ctrl-C") and hasattr(self, "base_url"):
                return
        self.process.kill()
        raise AssertionError(f"no base URL printed: {self.banner} {self.process.stderr.read()}")

    def stop(self) -> tuple[int, str, str]:
        """Ctrl-C, then (exit code, rest of stdout, stderr)."""
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=10)
        return self.process.returncode, out, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # stopped already, worker and all
            pass
        self.process.communicate()


def raw_exchange(host: str, port: int, data: bytes, end: bool = False, *,
                 timeout: float = 5) -> tuple[str, dict, bytes]:
    """Send raw bytes (then, if ``end``, end the sending side) and read until the server
    closes: (status line, headers lower-cased, body). Fails (socket.timeout) if the server
    keeps the connection waiting."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        if end:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}, body


def reset(root_url: str) -> None:
    """Reset the mock served at ``root_url`` through its control plane: the start state, real
    time, no faults, an empty journal. For a server of a test's own (the session's has ``fresh``)."""
    response = requests.post(root_url + "/_mock/reset", timeout=30)
    assert response.status_code == 200, response.text


@contextmanager
def served_root(serving: str, host: str = "127.0.0.1") -> Iterator[str]:
    """The root URL of a default mock, served the ``serving`` way (one of ``SERVINGS``)."""
    if serving == "serve":
        with ServeProcess("--host", host) as served:
            yield served.base_url.removesuffix("/v1")
            code, _, err = served.stop()
        assert code == 0 and "Traceback" not in err, err
    else:
        server = mockchats.Server(mockchats.build(), host=host, port=0).start()
        try:
            yield server.root_url
        finally:
            server.stop()


# -- the control plane, every answer checked against /_mock/openapi.json ----------------------
PROBLEM = "application/problem+json; charset=utf-8"
JSON = "application/json; charset=utf-8"
ZED_AND_YAN = [{"name": "Zed", "role": "Host"}, {"name": "Yan", "role": "Client"}]
SCENARIOS = ["busy-room", "default", "edge-cases", "empty", "pinned-and-reacted"]

_DOCUMENTS: dict[str, dict] = {}


def control_document(root_url: str, token: str | None = None) -> dict:
    if root_url not in _DOCUMENTS:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = requests.get(root_url + "/_mock/openapi.json", headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == JSON
        _DOCUMENTS[root_url] = response.json()
    return _DOCUMENTS[root_url]


def find_operation(document: dict, method: str, path: str) -> dict | None:
    """The operation of ``document`` that ``method path`` targets (literal segments win)."""
    found = []
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "/?$"
        if re.match(pattern, path) and method.lower() in item:
            found.append((template.count("{"), item[method.lower()]))
    return min(found, key=lambda f: f[0])[1] if found else None


def schema_errors(document: dict, schema: dict, value) -> list[str]:
    """OAS 3.0 validation of ``value``; the document's components travel with the schema,
    so its ``$ref``s resolve as in the document."""
    validator = OAS30Validator({**schema, "components": document["components"]},
                               format_checker=oas30_format_checker)
    return [f"{e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(value)]


def deref(document: dict, item: dict) -> dict:
    while "$ref" in item:
        target = document
        for part in item["$ref"].lstrip("#/").split("/"):
            target = target[part]
        item = target
    return item


def conform(document: dict, method: str, path: str, response: requests.Response) -> None:
    """Fail unless ``response`` is one the document declares for ``method path``."""
    where = f"{method} {path} -> {response.status_code}"
    operation = find_operation(document, method, path)
    assert operation is not None, f"{method} {path} is not in /_mock/openapi.json"
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, f"{where}: status not declared ({response.text[:200]!r})"
    declared = deref(document, declared)
    for header in declared.get("headers", {}):
        assert header in response.headers, f"{where}: declared header {header} missing"
    content = declared.get("content")
    if not content:
        assert response.content == b"", f"{where}: a body where none is declared"
        assert "Content-Type" not in response.headers, where
        return
    media = response.headers.get("Content-Type", "").split(";")[0].strip()
    assert media in content, f"{where}: content type {media!r} not in {sorted(content)}"
    errors = schema_errors(document, content[media]["schema"], json.loads(response.content))
    assert not errors, f"{where}: {errors[:3]}"


class Plane:
    """A real HTTP client for ``/_mock``: every answer is checked against its document."""

    def __init__(self, root_url: str, token: str | None = None):
        self.root_url = root_url
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        self.document = control_document(root_url, token)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.http.request(method, self.root_url + "/_mock" + path, timeout=30, **kwargs)
        conform(self.document, method, "/_mock" + path.split("?")[0], response)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw):
        response = self.request(method, path, **kw)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    def world(self) -> dict:
        """Everything a control call could change, as far as the plane shows it."""
        clock = self.ok("GET", "/clock")
        return {"state": self.ok("GET", "/state"), "sessions": self.ok("GET", "/sessions"),
                "faults": self.ok("GET", "/faults"), "journal": self.ok("GET", "/requests"),
                "frozen": clock["frozen"], "frozenAt": clock["now"] if clock["frozen"] else None}


def rebound(root_url: str, name: str = "evil.example") -> str:
    """The Host a page of ``http://<name>:<the mock's port>`` sends once its name resolves to 127.0.0.1
    (DNS rebinding): the control plane answers a DNS name other than localhost only with an admin token."""
    return f"{name}:{urlsplit(root_url).port}"


def assert_problem(response: requests.Response, status: int, *, errors: bool = False) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", problem["traceId"])
    if errors:
        assert isinstance(problem["errors"], dict) and problem["errors"], problem
        assert all(isinstance(m, list) and m and all(isinstance(x, str) for x in m)
                   for m in problem["errors"].values()), problem
    return problem


# Small fixture documents for the control plane's state and scenario calls.
def document_with(*sessions) -> dict:
    return {"sessions": list(sessions)}


def small_session(session_id="s-1", token="zed-token", messages=("hello from the fixture",)) -> dict:
    return {"id": session_id,
            "users": [{"id": f"{session_id}-host", "name": "Zed", "role": "Host", "token": token}],
            "messages": [{"chatId": f"{session_id}-m{i}", "userId": f"{session_id}-host", "message": text,
                          "createdAt": f"2025-06-26T08:0{i}:00Z"} for i, text in enumerate(messages)]}


def partner_world(messages: int = 5) -> dict:
    session = small_session("partner", "partner-token", ["the partner's own"])
    session["generate"] = {"messages": messages, "users": 2}
    return {"description": "A partner's world", "sessions": [session]}


#: What a message for a person never holds: Python's words and reprs, jsonschema's phrasing.
PYTHONISMS = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\{'|\['|u'|Traceback|Error\b|"
                        r"is not of type|is not one of|is not valid under|Additional properties|"
                        r"sys\.set_int_max_str_digits|Expecting value: line|Expecting |enclosed in double quotes|"
                        r"Invalid control character")


def assert_human(problem: dict) -> None:
    texts = [problem["detail"], *(m for messages in problem.get("errors", {}).values() for m in messages)]
    for text in texts:
        assert not PYTHONISMS.search(text), text
        assert len(text) < 400, text  # names the place, never quotes a document back


# -- binding: the problem details [ApiController] writes --------------------------------------
VALIDATION_TYPE = "https://tools.ietf.org/html/rfc9110#section-15.5.1"
VALIDATION_TITLE = "One or more validation errors occurred."
PROBLEM_JSON = "application/problem+json; charset=utf-8"
TRACE_ID = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")
BODY_REQUIRED = "The request field is required."


def assert_validation_problem(response, errors: dict | None = None) -> dict:
    """A ValidationProblemDetails as [ApiController] writes it; returns its errors."""
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == PROBLEM_JSON
    body = response.json()
    assert list(body) == ["type", "title", "status", "errors", "traceId"]
    assert body["type"] == VALIDATION_TYPE
    assert body["title"] == VALIDATION_TITLE
    assert body["status"] == 400
    assert TRACE_ID.match(body["traceId"]), body["traceId"]
    if errors is not None:
        assert body["errors"] == errors
    return body["errors"]


def assert_json_failure(response, key: str) -> str:
    """A System.Text.Json failure: the `$...` key plus the body parameter's required error."""
    errors = assert_validation_problem(response)
    assert set(errors) == {"request", key}, errors
    assert errors["request"] == [BODY_REQUIRED]
    [message] = errors[key]
    assert f" Path: {key} | LineNumber: " in message, message
    assert " | BytePositionInLine: " in message and message.endswith("."), message
    return message


# -- a deliberately wrong server -------------------------------------------------------------
def wrong_chats_app() -> Flask:
    """A Chats API that breaks the contract three ways, and nothing else works."""
    app = Flask("wrong-chats")

    @app.get("/v1/chats")
    def list_chats():  # wrong body shape, and no refusals at all
        return {"total": 1, "items": [{"id": "m-1", "text": "hi"}]}

    @app.post("/v1/chats")
    def create_chat():  # an undeclared status
        return {"chatId": "m-2", "message": "hi", "createdAt": "2025-06-26T08:48:07.13Z"}, 201

    @app.route("/v1/chats/<path:rest>", methods=["GET", "POST", "DELETE"])
    def everything_else(rest):  # an HTML error page
        return Response("<h1>Internal Server Error</h1>", status=500, content_type="text/html")

    return app
