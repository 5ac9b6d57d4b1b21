"""The hub test harness (hubs/clients.py) against a throwaway SignalR server written here.

``TinyHub`` is just enough SignalR for the three clients: negotiate (versions 0 and 1, a Bearer
token required), WebSockets (``?id=``, or none after skipNegotiation), the JSON handshake, ``0x1E``
framing, server events, invocations answered (``Echo``, anything else "Method does not exist"),
and Close. It is served by granian's embedded server on a thread, as mockchats.Server serves the
mock. These tests prove the harness works and pin down what each client does, so the hub tests can
rely on it:

- JS (``@microsoft/signalr``): negotiates ``negotiateVersion=1`` (``id`` = connectionToken), token
  as ``Authorization: Bearer`` on negotiate and upgrade, handshake version 1; a Close without error
  ends it quietly, with error it reports ``Server returned an error on close: <error>``; a Close
  with ``allowReconnect`` runs its automatic reconnect (negotiating anew).
- pysignalr: negotiates without a version (``id`` = connectionId); the token only through
  ``headers`` (its ``access_token_factory`` comes too late for negotiate); ignores a Close without
  error, and when the socket closes tries the spent ``id`` (404), then negotiates and connects anew.
- signalrcore: negotiates without a version and handshakes ``"version": 0``; its ``stop()`` sends no
  Close; it does not report a Close's error (the wrapper reads it).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qs

import pytest
from hubs.clients import CLIENTS, JsClient, PySignalRClient, SignalRCoreClient, require_js_client

RS = "\x1e"
TOKEN = "a-session-token"
UNKNOWN_METHOD = "Failed to invoke '{}' due to an error on the server. HubException: Method does not exist."


class TinyHub:
    """An ASGI app speaking the SignalR JSON hub protocol over WebSockets, for one hub at ``/hub``."""

    def __init__(self, token: str | None = TOKEN):
        self.token = token
        self.requests: list[dict[str, Any]] = []  # negotiate and upgrade requests, as seen
        self.handshakes: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []  # the clients' messages after the handshake
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ids: set[str] = set()  # negotiated, usable once as ?id=
        self._outboxes: list[asyncio.Queue] = []  # one per live connection

    # What a test does, from its own thread.
    def push(self, target: str, *args: Any) -> None:
        """Send an event (an invocation without invocationId) to every live connection."""
        self._post(_frame({"type": 1, "target": target, "arguments": list(args)}))

    def close_all(self, error: str | None = None, allow_reconnect: bool | None = None) -> None:
        """A Close message (with ``error``/``allowReconnect`` when given) to every connection, then
        the socket closes."""
        self._post(("close", error, allow_reconnect))

    def _post(self, item: Any) -> None:
        assert self.loop is not None
        for outbox in list(self._outboxes):
            self.loop.call_soon_threadsafe(outbox.put_nowait, item)

    def requests_of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["kind"] == kind]

    # The ASGI app.
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    def _record(self, kind: str, scope) -> tuple[dict[str, str], dict[str, list[str]]]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope["query_string"].decode())
        self.requests.append({"kind": kind, "method": scope.get("method", "GET"), "path": scope["path"],
                              "query": query, "headers": headers})
        return headers, query

    def _authorized(self, headers: dict[str, str], query: dict[str, list[str]]) -> bool:
        if self.token is None:
            return True
        return headers.get("authorization") == f"Bearer {self.token}" or query.get("access_token") == [self.token]

    async def _http(self, scope, receive, send) -> None:
        while (await receive()).get("more_body"):
            pass
        headers, query = self._record("negotiate", scope)
        if scope["method"] != "POST" or scope["path"] != "/hub/negotiate":
            await _respond(send, 404, b"")
            return
        if not self._authorized(headers, query):
            await _respond(send, 401, b"", [(b"www-authenticate", b"Bearer")])
            return
        version = min(int(query.get("negotiateVersion", ["0"])[0]), 1)
        connection_id, connection_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        answer: dict[str, Any] = {"negotiateVersion": version, "connectionId": connection_id}
        if version >= 1:
            answer["connectionToken"] = connection_token
        answer["availableTransports"] = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]
        self._ids.add(connection_token if version >= 1 else connection_id)
        await _respond(send, 200, json.dumps(answer).encode(), [(b"content-type", b"application/json")])

    async def _websocket(self, scope, receive, send) -> None:
        assert (await receive())["type"] == "websocket.connect"
        headers, query = self._record("upgrade", scope)
        ids = query.get("id")
        if ids is None:  # skipNegotiation: the connection starts here, so the token is checked here
            if not self._authorized(headers, query):
                await _deny(scope, send, 401, b"")
                return
        elif ids[0] not in self._ids:
            await _deny(scope, send, 404, b"No Connection with that ID")
            return
        else:
            self._ids.discard(ids[0])
        await send({"type": "websocket.accept"})
        buffer = ""
        while RS not in buffer:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            buffer += message.get("text") or (message.get("bytes") or b"").decode()
        handshake, buffer = buffer.split(RS, 1)
        self.handshakes.append(json.loads(handshake))
        outbox: asyncio.Queue = asyncio.Queue()
        self._outboxes.append(outbox)  # before the reply: a client that has started can be pushed to
        await send({"type": "websocket.send", "text": "{}" + RS})
        reader = asyncio.ensure_future(self._read(receive, outbox, buffer))
        try:
            while True:
                item = await outbox.get()
                if item is None:  # the client went away
                    return
                if isinstance(item, str):
                    await send({"type": "websocket.send", "text": item})
                    continue
                _, error, allow_reconnect = item
                close: dict[str, Any] = {"type": 7}
                if error is not None:
                    close["error"] = error
                if allow_reconnect is not None:
                    close["allowReconnect"] = allow_reconnect
                await send({"type": "websocket.send", "text": _frame(close)})
                # granian holds a close while a receive waits: end the receive first.
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                await send({"type": "websocket.close", "code": 1000})
                return
        finally:
            self._outboxes.remove(outbox)
            reader.cancel()

    async def _read(self, receive, outbox: asyncio.Queue, buffer: str) -> None:
        while True:
            *complete, buffer = buffer.split(RS)
            for text in complete:
                message = json.loads(text)
                self.received.append(message)
                if message.get("type") == 1 and message.get("invocationId"):
                    if message["target"] == "Echo":
                        answer = {"type": 3, "invocationId": message["invocationId"],
                                  "result": message["arguments"][0] if message["arguments"] else None}
                    else:
                        answer = {"type": 3, "invocationId": message["invocationId"],
                                  "error": UNKNOWN_METHOD.format(message["target"])}
                    outbox.put_nowait(_frame(answer))
            event = await receive()
            if event["type"] == "websocket.disconnect":
                outbox.put_nowait(None)
                return
            buffer += event.get("text") or (event.get("bytes") or b"").decode()


def _frame(message: dict[str, Any]) -> str:
    return json.dumps(message) + RS


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = ()) -> None:
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})


async def _deny(scope, send, status: int, body: bytes) -> None:
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": []})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close"})  # an HTTP 403


@contextlib.contextmanager
def serving(app: TinyHub):
    """``app`` on granian's embedded server in a thread; yields the hub's URL."""
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server as Embedded

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Embedded(app, address="127.0.0.1", port=port, interface=Interfaces.ASGINL, http=HTTPModes.http1,
                      websockets=True, log_level=LogLevels.error,
                      log_dictconfig={"version": 1, "incremental": True, "handlers": {}, "loggers": {}})
    ready = threading.Event()

    def run() -> None:
        loop = asyncio.new_event_loop()
        app.loop = loop
        ready.set()
        try:
            loop.run_until_complete(server.serve())
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True, name="tiny hub")
    thread.start()
    ready.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/hub"
    finally:
        app.loop.call_soon_threadsafe(server.stop)
        thread.join(5)


@pytest.fixture
def hub():
    app = TinyHub()
    with serving(app) as url:
        app.url = url
        yield app


@pytest.fixture(params=sorted(CLIENTS))
def kind(request):
    if request.param == "js":
        require_js_client()
    return request.param


def connect(kind: str, url: str, **options: Any):
    return CLIENTS[kind](url, token=TOKEN, on=["Hello"], **options)


def test_each_client_receives_an_event_then_sees_a_close_without_error(hub, kind):
    with connect(kind, hub.url) as client:
        started = client.wait_for("started")
        assert started["connectionId"]
        hub.push("Hello", {"n": 1}, "two")
        assert client.wait_for("event", target="Hello")["args"] == [{"n": 1}, "two"]
        hub.close_all()
        if kind == "pysignalr":
            # It ignores the Close; once the socket closes it tries the spent id (404), then
            # negotiates again (the old id still in the query) and is connected anew.
            client.wait_for("disconnected")
            again = client.wait_for("started")
            assert again["connectionId"] != started["connectionId"]
            first_id = started["connectionId"]
            assert [r["query"].get("id") for r in hub.requests_of("upgrade")] == [[first_id], [first_id],
                                                                                 [again["connectionId"]]]
            assert hub.requests_of("negotiate")[1]["query"] == {"id": [first_id]}
            closed = client.stop()
            assert closed == {"kind": "closed", "error": None, "stopped": True}
        else:
            closed = client.wait_for("closed")
            assert closed["error"] is None
        if kind == "signalrcore":
            assert closed["serverClose"] == {"error": None, "allowReconnect": None}
        assert [e["target"] for e in client.events()] == ["Hello"]


def test_a_close_with_an_error_reaches_each_client(hub, kind):
    with connect(kind, hub.url) as client:
        client.wait_for("started")
        hub.close_all(error="The session was not found.")
        closed = client.wait_for("closed")
        expected = {"js": "Server returned an error on close: The session was not found.",
                    "pysignalr": "The session was not found.",
                    "signalrcore": "The session was not found."}[kind]
        assert closed["error"] == expected
        if kind == "pysignalr":
            assert closed["exception"] == "ServerError"


def test_what_each_client_sends_on_negotiate_upgrade_and_handshake(hub, kind):
    with connect(kind, hub.url) as client:
        client.wait_for("started")
        client.stop()
    (negotiate,), upgrade = hub.requests_of("negotiate"), hub.requests_of("upgrade")[0]
    assert negotiate["method"] == "POST" and negotiate["path"] == "/hub/negotiate"
    assert negotiate["headers"]["authorization"] == upgrade["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in upgrade["query"]  # Node and Python send the header, not the query
    if kind == "js":
        assert negotiate["query"] == {"negotiateVersion": ["1"]}
    else:
        assert negotiate["query"] == {}
    assert hub.handshakes == [{"protocol": "json", "version": 0 if kind == "signalrcore" else 1}]
    # Only the JS client says goodbye with a Close message.
    assert [m["type"] for m in hub.received if m["type"] == 7] == ([7] if kind == "js" else [])


def test_a_refused_negotiate_is_each_clients_start_error(hub, kind):
    hub.token = "another-token"
    with connect(kind, hub.url) as client:
        error = client.wait_for("error")
    expected = {"js": "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'",
                "pysignalr": "AuthorizationError",
                "signalrcore": "HTTP Error 401: Unauthorized"}[kind]
    assert error["message"] == expected
    if kind == "js":
        assert error["errorType"] == "FailedToNegotiateWithServerError"
    assert hub.requests_of("upgrade") == []


def test_each_client_invokes_and_gets_a_result_or_the_servers_error(hub, kind):
    with connect(kind, hub.url) as client:
        client.wait_for("started")
        client.invoke("Echo", {"x": 1})
        assert client.wait_for("invoked")["result"] == {"x": 1}
        client.invoke("Nope", 1)
        assert client.wait_for("invokeError")["message"] == UNKNOWN_METHOD.format("Nope")
    invocations = [m for m in hub.received if m["type"] == 1]
    assert [m["target"] for m in invocations] == ["Echo", "Nope"]
    assert all(m["invocationId"] for m in invocations)


def test_pysignalr_token_factory_comes_too_late_for_negotiate(hub):
    with PySignalRClient(hub.url, token=TOKEN, token_via="factory") as client:
        assert client.wait_for("error")["message"] == "AuthorizationError"
    assert "authorization" not in hub.requests_of("negotiate")[0]["headers"]


def test_signalrcore_token_in_headers_works_too(hub):
    with SignalRCoreClient(hub.url, token=TOKEN, token_via="headers", on=["Hello"]) as client:
        client.wait_for("started")
        hub.push("Hello", 1)
        assert client.wait_for("event", target="Hello")["args"] == [1]


def test_js_client_skips_negotiation_and_reconnects_after_a_close_allowing_it(hub):
    require_js_client()
    with JsClient(hub.url, token=TOKEN, transport="websockets", skip_negotiation=True, on=["hello"]) as client:
        started = client.wait_for("started")
        assert started["transport"] == "WebSockets"
        hub.push("Hello", "case-insensitive")  # JS matches targets case-insensitively
        assert client.wait_for("event", target="hello")["args"] == ["case-insensitive"]
        assert client.stop()["error"] is None
    assert hub.requests_of("negotiate") == []
    assert hub.requests_of("upgrade")[0]["query"] == {}

    with JsClient(hub.url, token=TOKEN, auto_reconnect=True, reconnect_delays=[0], on=["Hello"]) as client:
        client.wait_for("started")
        hub.close_all(allow_reconnect=True)
        assert client.wait_for("reconnecting")["error"] is None  # a Close without error: no error
        assert client.wait_for("reconnected")["connectionId"]
        hub.push("Hello", "again")
        assert client.wait_for("event", target="Hello")["args"] == ["again"]


def test_js_client_reports_its_usage_errors():
    require_js_client()
    with JsClient("http://127.0.0.1:9/hub", transport="carrier-pigeon") as client:
        assert "unknown transport carrier-pigeon" in client.wait_for("usage")["message"]
        assert client.wait_finished()
    assert client.returncode == 2


def test_wait_for_says_what_it_got_when_it_times_out(hub):
    with SignalRCoreClient(hub.url, token=TOKEN) as client:
        client.wait_for("started")
        with pytest.raises(AssertionError, match=r"no event 'Never' \(not within 0.2 s\). Received:\n.*started"):
            client.wait_for("event", target="Never", timeout=0.2)
