"""``mockchats serve`` (granian's forked worker, through mockchats.serving.asgi), as a real process.

The rest of the suite runs the app on mockchats.Server inside the test process (granian's
embedded server, through the same bridge), as the pytest plugin does; here the same requests
go to both and must get the same answers, and what the ASGI bridge does on its own (dropping
the right connection, delays that hold only their request, chunked bodies, the body limit)
is checked over real sockets.
"""
from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner
from support import ServeProcess, raw_exchange, reset

import mockchats
import mockchats.cli

ALICE = {"Authorization": "Bearer alice-token"}
_VARYING = [
    (re.compile(rb"00-[0-9a-f]{32}-[0-9a-f]{16}-00"), b"<traceId>"),
    (re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), b"<id>"),
    (re.compile(rb'"createdAt":"[^"]+"'), b'"createdAt":"<time>"'),
]

# (method, raw target, headers, body): the same bytes go to both servers.
EXCHANGES = [
    ("GET", "/v1/chats?Take=3&SortBy=:thumbs_up:", ALICE, None),
    ("GET", "/V1/CHATS/?take=2", ALICE, None),
    ("GET", "/v1/chats?Take=abc", ALICE, None),
    ("GET", "/v1/chats", {}, None),
    ("GET", "/v1/chats", {"Authorization": "Bearer "}, None),
    ("DELETE", "/v1/chats/a%2Fb", ALICE, None),
    ("DELETE", "/v1/chats/caf%C3%A9", ALICE, None),
    ("POST", "/v1/chats", {**ALICE, "Content-Type": "application/json"}, b'{"message":"hi \xf0\x9f\x91\x8b"}'),
    ("POST", "/v1/chats", {**ALICE, "Content-Type": "application/json"}, b'{"message":'),
    ("POST", "/v1/chats", {**ALICE, "Content-Type": "text/plain"}, b"hi"),
    ("POST", "/v1/chats", {**ALICE, "Content-Type": "application/json"}, b""),
    ("GET", "/v1/chats/reactions?chatIds=x&chatIds[1]=y", ALICE, None),
    ("HEAD", "/v1/chats", ALICE, None),
    ("PUT", "/v1/chats", ALICE, None),
    ("GET", "/v1/nothing-here", ALICE, None),
    ("GET", "/_mock/requests?limit=abc", {}, None),
    # An underscore header would pass for its dashed twin; servers drop it.
    ("POST", "/v1/chats", {**ALICE, "Content-Type": "text/plain", "Content_Type": "application/json"},
     b'{"message":"x"}'),
    # CORS: a preflight, answers to a page (a success, a challenge, an unknown path), the control plane.
    ("OPTIONS", "/v1/chats", {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
                              "Access-Control-Request-Headers": "authorization,content-type"}, None),
    ("OPTIONS", "/v1/chats", {"Origin": "http://localhost:5173"}, None),
    ("GET", "/v1/chats?Take=1", {**ALICE, "Origin": "http://localhost:5173"}, None),
    ("GET", "/v1/chats", {"Origin": "null"}, None),
    ("GET", "/v1/nothing-here", {"Origin": "http://localhost:5173"}, None),
    ("OPTIONS", "/_mock/reset", {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"}, None),
]


def send(base_url: str, method: str, target: str, headers: dict, body: bytes | None,
         connection: http.client.HTTPConnection | None = None) -> tuple[int, dict, bytes]:
    """One request with its target sent byte for byte; (status, headers lower-cased, body)."""
    parts = urlsplit(base_url)
    own = connection is None
    connection = connection or http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        if own:
            connection.close()


def comparable(status: int, headers: dict, body: bytes) -> tuple:
    for pattern, mask in _VARYING:
        body = pattern.sub(mask, body)
    kept = {name: headers[name] for name in ("content-type", "allow", "www-authenticate", "server", "vary",
                                             *(h for h in headers if h.startswith("access-control-")))
            if name in headers}
    return status, kept, body


@pytest.fixture
def fresh(granian):
    reset(granian.base_url.removesuffix("/v1"))
    return granian


@pytest.fixture(scope="module")
def plugin():
    """A default mock on mockchats.Server in this process, as the pytest plugin serves it."""
    server = mockchats.Server(mockchats.build(), port=0).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_plugin(plugin):
    reset(plugin.root_url)
    return plugin


@pytest.fixture(params=["serve", "plugin"])
def served(request):
    """Each serving, reset: what the ASGI bridge does must hold on both."""
    return request.getfixturevalue("fresh" if request.param == "serve" else "fresh_plugin")


def test_serve_and_the_plugins_server_give_the_same_answers(fresh, fresh_plugin):
    for method, target, headers, body in EXCHANGES:
        on_serve = comparable(*send(fresh.base_url, method, target, headers, body))
        on_plugin = comparable(*send(fresh_plugin.base_url, method, target, headers, body))
        assert on_serve == on_plugin, (method, target)


def test_the_journal_keeps_the_raw_path(served):
    send(served.base_url, "DELETE", "/v1/chats/a%2Fb", ALICE, None)
    (entry,) = requests.get(served.base_url.removesuffix("/v1") + "/_mock/requests", timeout=10).json()
    assert entry["path"] == "/v1/chats/a%2Fb" and entry["operationId"] == "deleteChat"
    assert entry["status"] == 404


def test_a_chunked_body_is_read_whole(served):
    chunks = iter([b'{"mess', b'age":"in ', b'pieces"}'])
    status, _, body = send_chunked(served.base_url, chunks)
    assert status == 200 and json.loads(body)["message"] == "in pieces"


def test_a_chunked_body_over_the_limit_is_413_and_the_server_goes_on(served):
    chunks = (b"x" * 65536 for _ in range(40))  # 2.5 MiB, with no Content-Length to refuse early
    status, headers, body = send_chunked(served.base_url, chunks)
    assert status == 413 and body == b""
    assert requests.get(served.base_url + "/chats", headers=ALICE, timeout=10).status_code == 200


def test_a_declared_body_over_the_limit_is_413(served):
    status, _, body = send(served.base_url, "POST", "/v1/chats", {**ALICE, "Content-Type": "application/json"},
                           b"x" * (2 * 1024 * 1024))
    assert status == 413 and body == b""


def send_chunked(base_url: str, chunks) -> tuple[int, dict, bytes]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", "/v1/chats", body=chunks, encode_chunked=True,
                           headers={**ALICE, "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_a_state_document_over_a_mib_goes_back_in(served):
    root = served.base_url.removesuffix("/v1")
    requests.post(root + "/_mock/reset", json={"scenario": "busy-room"}, timeout=30).raise_for_status()
    exported = requests.get(root + "/_mock/state", timeout=30)
    assert len(exported.content) > 1024 * 1024  # over the API's own body limit
    put = requests.put(root + "/_mock/state", data=exported.content, timeout=30,
                       headers={"Content-Type": "application/json"})
    assert put.status_code == 200, put.text
    assert requests.get(root + "/_mock/state", timeout=30).json() == exported.json()


def test_an_upload_the_client_abandons_does_nothing(served):
    parts = urlsplit(served.base_url)
    before = requests.get(served.base_url + "/chats", headers=ALICE, timeout=10).json()["totalCount"]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        raw.sendall(b"POST /v1/chats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\n"
                    b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b'14\r\n{"message":"halfway"}\r\n')  # no last chunk: the body never ends
        time.sleep(0.2)
    time.sleep(0.3)  # the server sees the close
    after = requests.get(served.base_url + "/chats", headers=ALICE, timeout=10).json()["totalCount"]
    assert after == before
    journal = requests.get(served.base_url.removesuffix("/v1") + "/_mock/requests", timeout=10).json()
    assert [e["method"] for e in journal] == ["GET", "GET"]


def test_a_drop_fault_drops_only_the_connection_it_struck(served):
    root = served.base_url.removesuffix("/v1")
    parts = urlsplit(root)
    bystander = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    assert send(root, "GET", "/v1/chats?Take=1", ALICE, None, bystander)[0] == 200
    its_socket = bystander.sock  # kept alive: the same connection is used again below
    requests.post(root + "/_mock/faults", json={"operationId": "listChats", "drop": True, "times": 1},
                  timeout=10).raise_for_status()
    with pytest.raises(requests.ConnectionError):
        requests.get(served.base_url + "/chats", headers=ALICE, timeout=10)
    assert send(root, "GET", "/v1/chats?Take=1", ALICE, None, bystander)[0] == 200
    assert bystander.sock is its_socket
    bystander.close()
    statuses = [e["status"] for e in requests.get(root + "/_mock/requests", timeout=10).json()]
    assert statuses == [200, None, 200]


def test_a_delay_holds_only_its_own_request(served):
    root = served.base_url.removesuffix("/v1")
    requests.post(root + "/_mock/faults", json={"operationId": "listChats", "delayMs": 1500, "times": 1},
                  timeout=10).raise_for_status()
    delayed: dict = {}

    def list_slowly():
        started = time.monotonic()
        delayed["status"] = requests.get(served.base_url + "/chats", headers=ALICE, timeout=10).status_code
        delayed["ended"] = time.monotonic()
        delayed["seconds"] = delayed["ended"] - started

    slow = threading.Thread(target=list_slowly)
    slow.start()
    time.sleep(0.2)  # the slow request is in its delay now
    created = requests.post(served.base_url + "/chats", headers=ALICE, json={"message": "meanwhile"}, timeout=10)
    answered = time.monotonic()
    slow.join()
    # Answered while the other was still held: had the delay held the server (or this
    # connection's worker), the create would come only after the delayed listing. Said by the
    # order of the two answers, not by a time bound a loaded machine can miss.
    assert created.status_code == 200 and answered < delayed["ended"], (answered, delayed)
    assert delayed["status"] == 200 and delayed["seconds"] >= 1.5


def test_ctrl_c_stops_the_worker_and_frees_the_port():
    with ServeProcess() as served:
        port = urlsplit(served.base_url).port
        assert requests.get(served.base_url + "/chats", headers=ALICE, timeout=10).status_code == 200
        code, out, _ = served.stop()
    assert code == 0 and "mockchats stopped." in out
    with socket.socket() as again:  # a worker left behind would still hold it
        again.bind(("127.0.0.1", port))


def test_a_host_name_is_resolved():
    with ServeProcess("--host", "localhost") as served:
        assert served.base_url.startswith("http://localhost:")
        response = requests.get(served.base_url + "/chats", headers=ALICE, timeout=10)
        code, _, err = served.stop()
    assert response.status_code == 200 and code == 0, err


def test_the_worker_ends_with_a_killed_parent():
    with ServeProcess() as served:
        port = urlsplit(served.base_url).port
        served.process.send_signal(signal.SIGKILL)  # the parent only: no chance to stop its worker
        served.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.socket() as again:
                    # Past connections' TIME_WAIT must not count; a listening worker still does
                    # (Linux refuses the bind while anyone listens on the port).
                    again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    again.bind(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < deadline, "the worker still holds the port"
                time.sleep(0.05)


def test_server_waitress_is_gone_and_server_granian_is_a_deprecated_no_op():
    refused = CliRunner().invoke(mockchats.cli.main, ["serve", "--port", "0", "--server", "waitress"])
    assert refused.exit_code == 2 and "waitress is gone" in refused.output
    with ServeProcess("--server", "granian") as served:
        response = requests.get(served.base_url + "/chats", headers=ALICE, timeout=10)
        code, _, err = served.stop()
    assert response.status_code == 200 and response.headers["Server"] == "mockchats"
    assert code == 0 and "--server granian is the only server" in err


def test_expect_100_continue_without_a_body_is_answered_on_both_servings(fresh, fresh_plugin):
    raw = (b"DELETE /v1/chats/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           b"Expect: 100-continue\r\nAuthorization: Bearer host-token\r\n\r\n")
    for served in (fresh, fresh_plugin):
        parts = urlsplit(served.base_url)
        status, _, _ = raw_exchange(parts.hostname, parts.port, raw)
        assert status.startswith("HTTP/1.1 404 "), (served.base_url, status)


def test_nothing_after_malformed_framing_is_served_on_either_serving(fresh, fresh_plugin):
    """A bad chunk size ends the connection with a 400 (granian once said 500): a request
    sent after it on the same connection (here one that would create a chat) never runs."""
    smuggled = (b"POST /v1/chats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\n"
                b'Content-Type: application/json\r\nContent-Length: 15\r\n\r\n{"message":"x"}')
    raw = (b"POST /v1/chats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\n"
           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + smuggled)
    for served in (fresh, fresh_plugin):
        root = served.base_url.removesuffix("/v1")
        parts = urlsplit(root)
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
            sock.sendall(raw)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400 ") and answer.count(b"HTTP/1.1 ") == 1, answer[:200]
        assert b"connection: close" in answer.lower()
        assert requests.get(root + "/_mock/requests", timeout=10).json() == [], served.base_url


def test_the_in_process_server_checks_its_port_and_frees_it_when_stopped():
    mock = mockchats.build()
    server = mockchats.Server(mock, port=0)  # a Mock, as well as its app
    assert server.port > 0 and server.base_url == f"http://127.0.0.1:{server.port}/v1"
    with pytest.raises(OSError):  # in use: refused when made, before any start
        mockchats.Server(mock.app, port=server.port)
    server.start()
    with pytest.raises(OSError):
        mockchats.Server(mock.app, port=server.port)
    kept = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    assert send(server.root_url, "GET", "/v1/chats?Take=1", ALICE, None, kept)[0] == 200
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1
    kept.sock.settimeout(5)
    assert kept.sock.recv(1) == b""  # the kept-alive connection was closed, not left waiting
    kept.close()
    again = mockchats.Server(mock.app, port=server.port).start()
    try:
        assert requests.get(again.base_url + "/chats", headers=ALICE, timeout=10).status_code == 200
    finally:
        again.stop()
