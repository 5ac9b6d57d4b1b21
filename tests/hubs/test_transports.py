"""The session hub over Server-Sent Events and long polling, with raw HTTP (requests) and with the
official clients that speak them; the rules of HttpConnectionDispatcher on the hub's URL; and the
journal hooks. CORS and faults on the hubs are in test_hub_cors_faults.py.

The suite's mock serves these; the ``hub`` fixture shortens long polling's timeouts on its
HubServer for the test (its constructor takes them too) and records what it journals."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests
import websocket
from hubs.clients import JsClient, SignalRCoreClient, require_js_client
from support import bearer, host_session, join

RS = "\x1e"
DEFAULT_SESSION = "d352dac2-a8a5-4498-942e-2de41966f3d3"
HANDSHAKE = '{"protocol":"json","version":1}' + RS
EVENTS = ("UserAdded", "UserRemoved", "SessionExpired", "SessionDestroyed")
POLL_TIMEOUT = 1.0
DISCONNECT_TIMEOUT = 1.5


@pytest.fixture
def hub(mock, api):
    """The mock's HubServer with short long-polling timeouts, its journal recorded, put back after."""
    server = mock.hub_server
    saved = server.poll_timeout, server.disconnect_timeout, server.journal, server.keep_alive
    journaled: list[dict] = []
    server.poll_timeout, server.disconnect_timeout = POLL_TIMEOUT, DISCONNECT_TIMEOUT
    server.journal = lambda **entry: journaled.append(entry)
    server.journaled = journaled
    yield server
    server.poll_timeout, server.disconnect_timeout, server.journal, server.keep_alive = saved
    del server.journaled


def hub_url(api) -> str:
    return api.root_url + "/v1/hubs/session"


def negotiate(api, token: str = "host-token", version: int | None = 1) -> str:
    """A new connection's key (the connectionToken, or the id under version 0)."""
    query = "" if version is None else f"?negotiateVersion={version}"
    answer = requests.post(hub_url(api) + "/negotiate" + query, headers=bearer(token), timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body.get("connectionToken", body["connectionId"])


def connections(api) -> list[dict]:
    return requests.get(api.root_url + "/_mock/hubs/connections", timeout=10).json()


def messages(data: str) -> list[dict]:
    assert data.endswith(RS), data
    return [json.loads(part) for part in data.split(RS)[:-1]]


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


class Stream:
    """A raw Server-Sent Events connection: the GET's events read one by one, sends by POST."""

    def __init__(self, api, key: str, token: str = "host-token", handshake: bool = True, headers: dict | None = None):
        self.url = hub_url(api) + f"?id={key}"
        self.token = token
        self.response = requests.get(self.url, headers={"Accept": "text/event-stream", **bearer(token),
                                                        **(headers or {})}, stream=True, timeout=10)
        self.chunks = self.response.iter_content(chunk_size=None) if self.response.status_code == 200 else None
        self.buffer = ""
        self.pending: list[dict] = []
        if handshake:
            assert self.read_raw(len(":\r\n")) == ":\r\n"
            assert self.post(HANDSHAKE).status_code == 200
            assert self.next() == {}

    def post(self, data: str) -> requests.Response:
        return requests.post(self.url, data=data.encode(), headers=bearer(self.token), timeout=10)

    def read_raw(self, size: int) -> str:
        while len(self.buffer) < size:
            self.buffer += next(self.chunks).decode()
        text, self.buffer = self.buffer[:size], self.buffer[size:]
        return text

    def event(self) -> str | None:
        """The next event's data (its ``data:`` lines joined); None once the stream has ended."""
        while "\r\n\r\n" not in self.buffer:
            try:
                self.buffer += next(self.chunks).decode()
            except (StopIteration, requests.exceptions.ChunkedEncodingError):
                return None
        event, self.buffer = self.buffer.split("\r\n\r\n", 1)
        lines = event.split("\r\n")
        assert all(line.startswith("data: ") for line in lines), event
        return "\n".join(line[len("data: "):] for line in lines)

    def next(self) -> dict | None:
        while not self.pending:
            data = self.event()
            if data is None:
                return None
            self.pending += messages(data)
        return self.pending.pop(0)

    def next_event(self) -> dict:
        while True:
            message = self.next()
            assert message is not None, "the stream ended before the event came"
            if message.get("type") != 6:
                return message

    def close(self) -> None:
        self.response.close()


class Polls:
    """A raw long-polling connection."""

    def __init__(self, api, key: str, token: str = "host-token", handshake: bool = True):
        self.url = hub_url(api) + f"?id={key}"
        self.token = token
        if handshake:
            first = self.poll()
            assert first.status_code == 200 and first.content == b""
            assert self.send(HANDSHAKE).status_code == 200
            assert self.poll().content == b"{}" + RS.encode()

    def poll(self, **headers) -> requests.Response:
        return requests.get(self.url + f"&_={int(time.time() * 1000)}", headers={**bearer(self.token), **headers},
                            timeout=10)

    def send(self, data: str) -> requests.Response:
        return requests.post(self.url, data=data.encode(), headers=bearer(self.token), timeout=10)

    def delete(self) -> requests.Response:
        return requests.delete(self.url, headers=bearer(self.token), timeout=10)

    def in_background(self) -> tuple[threading.Thread, list]:
        """A poll on a thread: (the thread, the list its answer lands in)."""
        answers: list = []
        thread = threading.Thread(target=lambda: answers.append(self.poll()), daemon=True)
        thread.start()
        return thread, answers

    def next_messages(self) -> list[dict]:
        """The messages of the next poll that brings any (timed-out polls are polled again)."""
        for _ in range(10):
            answer = self.poll()
            assert answer.status_code == 200, answer.status_code
            if answer.content:
                assert answer.headers["Content-Type"] == "application/octet-stream"
                return messages(answer.text)
        raise AssertionError("no poll brought anything")


@pytest.fixture
def streams(api, hub):
    opened: list[Stream] = []

    def open_stream(key: str, **kwargs) -> Stream:
        stream = Stream(api, key, **kwargs)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


def envelope(message: dict) -> dict:
    assert message["type"] == 1 and "invocationId" not in message
    (argument,) = message["arguments"]
    return argument


# -- negotiate -------------------------------------------------------------------------------------
def test_negotiate_offers_the_three_transports_in_aspnets_order(api):
    answer = requests.post(hub_url(api) + "/negotiate?negotiateVersion=1", headers=bearer("host-token"), timeout=10)
    assert answer.json()["availableTransports"] == [
        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
        {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
        {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
    ]


# -- Server-Sent Events --------------------------------------------------------------------------------
def test_an_event_stream_opens_with_its_headers_and_a_comment_then_carries_the_handshake(api, hub):
    key = negotiate(api)
    stream = Stream(api, key, handshake=False)
    try:
        assert stream.response.status_code == 200
        assert stream.response.headers["Content-Type"] == "text/event-stream"
        assert stream.response.headers["Cache-Control"] == "no-cache,no-store"
        assert stream.read_raw(3) == ":\r\n"
        sent = stream.post(HANDSHAKE)
        assert sent.status_code == 200 and sent.content == b""
        assert stream.read_raw(len("data: {}" + RS + "\r\n\r\n")) == "data: {}" + RS + "\r\n\r\n"
        assert [c["transport"] for c in connections(api)] == ["ServerSentEvents"]
    finally:
        stream.close()


def test_the_session_events_come_down_the_stream(api, streams):
    stream = streams(negotiate(api))
    joined = join(api, DEFAULT_SESSION)
    event = envelope(stream.next_event())
    assert event["eventType"] == "UserAdded" and event["data"]["id"] == joined["credentials"]["id"]


def test_the_stream_takes_the_token_from_the_query_too(api, hub):
    key = negotiate(api)
    response = requests.get(hub_url(api) + f"?id={key}&access_token=host-token",
                            headers={"Accept": "text/event-stream"}, stream=True, timeout=10)
    try:
        assert response.status_code == 200
        assert next(response.iter_content(chunk_size=None)) == b":\r\n"
    finally:
        response.close()


def test_posts_answer_the_clients_invocations_on_the_stream(api, streams):
    stream = streams(negotiate(api))
    # Two messages in one POST, the second cut across two POSTs: each answered, in order.
    assert stream.post('{"type":1,"invocationId":"a","target":"X","arguments":[]}' + RS
                       + '{"type":1,"invocationId":"b",').status_code == 200
    assert stream.post('"target":"Y","arguments":[]}' + RS).status_code == 200
    assert [stream.next_event()["invocationId"] for _ in range(2)] == ["a", "b"]


def test_one_connection_takes_one_stream(api, streams):
    key = negotiate(api)
    streams(key)
    second = requests.get(hub_url(api) + f"?id={key}", headers={"Accept": "text/event-stream",
                                                                 **bearer("host-token")}, timeout=10)
    assert second.status_code == 409


def test_a_stream_the_client_leaves_ends_its_connection(api, hub):
    stream = Stream(api, negotiate(api))
    assert len(connections(api)) == 1
    stream.close()
    wait_until(lambda: connections(api) == [])
    assert requests.post(stream.url, data=b"{}" + RS.encode(), timeout=10).status_code == 404


def test_a_destroyed_session_closes_the_stream_after_its_event(api, streams):
    created = host_session(api)
    token = created["credentials"]["token"]
    stream = streams(negotiate(api, token), token=token)
    assert api.delete("/session/current", token=token).status_code == 200
    assert envelope(stream.next_event())["eventType"] == "SessionDestroyed"
    assert stream.next() == {"type": 7}
    assert stream.next() is None  # the answer has ended


def test_the_stream_is_pinged_when_quiet(api, streams, hub):
    hub.keep_alive = 0.3
    stream = streams(negotiate(api))
    assert stream.next() == {"type": 6}


def test_a_delete_is_for_long_polling_only(api, streams):
    stream = streams(negotiate(api))
    refused = requests.delete(stream.url, timeout=10)
    assert refused.status_code == 400
    assert refused.text == "Cannot terminate this connection using the DELETE endpoint."


# -- long polling -------------------------------------------------------------------------------------
def test_the_first_poll_answers_at_once_and_empty(api, hub):
    polls = Polls(api, negotiate(api), handshake=False)
    first = polls.poll()
    assert first.status_code == 200 and first.content == b""
    assert first.headers["Content-Type"] == "application/octet-stream"
    assert first.headers["Cache-Control"] == "no-cache, no-store"
    assert [c["transport"] for c in connections(api)] == []  # connected once its handshake is done
    assert polls.send(HANDSHAKE).status_code == 200
    assert polls.poll().content == b"{}" + RS.encode()
    assert [c["transport"] for c in connections(api)] == ["LongPolling"]


def test_a_poll_with_nothing_to_say_times_out_empty(api, hub):
    polls = Polls(api, negotiate(api))
    started = time.monotonic()
    answer = polls.poll()
    assert answer.status_code == 200 and answer.content == b""
    assert POLL_TIMEOUT * 0.9 <= time.monotonic() - started < POLL_TIMEOUT + 2


def test_a_waiting_poll_gets_the_event_as_it_happens(api, hub):
    polls = Polls(api, negotiate(api))
    hub.poll_timeout = 30  # the poll must end by the event, not by the timeout
    thread, answers = polls.in_background()
    time.sleep(0.2)
    joined = join(api, DEFAULT_SESSION)
    thread.join(10)
    (answer,) = answers
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/octet-stream"
    (message,) = messages(answer.text)
    assert envelope(message)["data"]["id"] == joined["credentials"]["id"]


def test_what_comes_between_polls_waits_for_the_next(api, hub):
    polls = Polls(api, negotiate(api))
    polls.send('{"type":1,"invocationId":"a","target":"X","arguments":[]}' + RS)
    join(api, DEFAULT_SESSION)
    answer = polls.poll()
    assert [m["type"] for m in messages(answer.text)] == [3, 1]


def test_a_new_poll_makes_the_waiting_one_204(api, hub):
    polls = Polls(api, negotiate(api))
    hub.poll_timeout = 30
    thread, answers = polls.in_background()
    time.sleep(0.3)
    newer, newer_answers = polls.in_background()
    thread.join(10)
    assert [a.status_code for a in answers] == [204]
    join(api, DEFAULT_SESSION)
    newer.join(10)
    assert [a.status_code for a in newer_answers] == [200]
    assert envelope(messages(newer_answers[0].text)[0])["eventType"] == "UserAdded"


def test_a_delete_ends_the_connection_and_its_waiting_poll(api, hub):
    polls = Polls(api, negotiate(api))
    hub.poll_timeout = 30
    thread, answers = polls.in_background()
    time.sleep(0.2)
    deleted = polls.delete()
    assert deleted.status_code == 202
    thread.join(10)
    assert [a.status_code for a in answers] == [204]
    assert connections(api) == []
    gone = polls.poll()
    assert gone.status_code == 404 and gone.text == "No Connection with that ID"


def test_a_closed_connection_hands_over_its_close_then_says_204(api, hub):
    created = host_session(api)
    token = created["credentials"]["token"]
    polls = Polls(api, negotiate(api, token), token=token)
    assert api.delete("/session/current", token=token).status_code == 200
    assert [m["type"] for m in polls.next_messages()][-1:] == [7]
    assert polls.poll().status_code == 204
    assert polls.poll().status_code == 404


def test_a_reset_closes_a_polling_connection_saying_so(api, hub):
    polls = Polls(api, negotiate(api))
    assert requests.post(api.root_url + "/_mock/reset", timeout=10).status_code == 200
    assert polls.next_messages() == [{"type": 7, "error": "The mock was reset."}]
    assert polls.poll().status_code == 204


def test_long_polling_is_never_pinged(api, hub):
    hub.keep_alive = 0.2  # ASP.NET's inherent keep-alive: the polls are the connection's pulse
    polls = Polls(api, negotiate(api))
    answer = polls.poll()
    assert answer.status_code == 200 and answer.content == b""


def test_a_client_that_stops_polling_is_let_go(api, hub):
    Polls(api, negotiate(api))
    assert len(connections(api)) == 1
    wait_until(lambda: connections(api) == [], timeout=DISCONNECT_TIMEOUT + 3)


# -- the hub's URL: ids and transports ------------------------------------------------------------------
@pytest.mark.parametrize("method, headers", [("GET", {}), ("GET", {"Accept": "text/event-stream"}),
                                             ("POST", {}), ("DELETE", {})])
def test_an_id_is_required_and_must_be_known(api, method, headers):
    missing = requests.request(method, hub_url(api), headers=headers, timeout=10)
    assert missing.status_code == 400 and missing.text == "Connection ID required"
    unknown = requests.request(method, hub_url(api) + "?id=nope", headers=headers, timeout=10)
    assert unknown.status_code == 404 and unknown.text == "No Connection with that ID"


def test_a_connection_keeps_the_transport_it_picked(api, hub):
    key = negotiate(api)
    Polls(api, key)
    stream = requests.get(hub_url(api) + f"?id={key}", headers={"Accept": "text/event-stream"}, timeout=10)
    assert stream.status_code == 400 and stream.text == "Cannot change transports mid-connection"
    url = api.root_url.replace("http://", "ws://") + f"/v1/hubs/session?id={key}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, header=["Authorization: Bearer host-token"], timeout=5)
    assert refused.value.status_code == 400


def test_a_stream_connection_takes_no_poll(api, streams):
    key = negotiate(api)
    streams(key)
    poll = requests.get(hub_url(api) + f"?id={key}", timeout=10)
    assert poll.status_code == 400 and poll.text == "Cannot change transports mid-connection"


def test_a_websocket_connection_takes_no_post(api, hub):
    key = negotiate(api)
    url = api.root_url.replace("http://", "ws://") + f"/v1/hubs/session?id={key}"
    socket = websocket.create_connection(url, header=["Authorization: Bearer host-token"], timeout=5)
    try:
        refused = requests.post(hub_url(api) + f"?id={key}", data=HANDSHAKE.encode(), timeout=10)
        assert refused.status_code == 405
        assert refused.text == "POST requests are not allowed for WebSocket connections."
    finally:
        socket.close()


def test_other_methods_are_405(api):
    assert requests.put(hub_url(api) + "?id=x", timeout=10).status_code == 405


# -- the journal hooks ----------------------------------------------------------------------------------
def test_the_journal_hears_negotiate_connect_traffic_and_disconnect(api, hub):
    polls = Polls(api, negotiate(api))
    polls.send('{"type":6}' + RS + '{"type":1,"target":"Hello","arguments":[1]}' + RS)
    joined = join(api, DEFAULT_SESSION)
    polls.next_messages()
    polls.delete()
    wait_until(lambda: any(e["action"] == "disconnect" for e in hub.journaled))
    actions = [(e["action"], e["transport"]) for e in hub.journaled]
    assert actions == [("negotiate", None), ("connect", "LongPolling"), ("received", "LongPolling"),
                       ("sent", "LongPolling"), ("disconnect", "LongPolling")]
    negotiated, connected, received, sent, left = hub.journaled
    assert negotiated["detail"] == {"status": 200, "version": 1} and negotiated["hub"] == "session"
    assert negotiated["session_id"] == DEFAULT_SESSION and negotiated["connection_id"] == connected["connection_id"]
    assert received["detail"] == {"message": {"type": 1, "target": "Hello", "arguments": [1]}}
    assert sent["detail"]["target"] == "UserAdded"
    assert sent["detail"]["argument"]["data"]["id"] == joined["credentials"]["id"]
    assert left["detail"] == {"reason": "closed by the client (DELETE)"}


def test_the_journal_hears_a_refused_negotiate(api, hub):
    assert requests.post(hub_url(api) + "/negotiate", timeout=10).status_code == 401
    assert [(e["action"], e["detail"]) for e in hub.journaled] == [("negotiate", {"status": 401})]


# -- the official clients -----------------------------------------------------------------------------
@pytest.mark.parametrize("transport, name", [("sse", "ServerSentEvents"), ("longpolling", "LongPolling")])
def test_microsofts_client_hears_its_session_over(api, hub, transport, name):
    require_js_client()
    created = host_session(api)
    token = created["credentials"]["token"]
    with JsClient(hub_url(api), token=token, transport=transport, on=EVENTS) as client:
        started = client.wait_for("started")
        assert started["transport"] == name
        assert [c["transport"] for c in connections(api)] == [name]
        joined = join(api, created["sessionId"])
        event = client.wait_for("event", "UserAdded")
        assert event["args"][0]["data"]["id"] == joined["credentials"]["id"]
        assert api.delete("/session/current", token=token).status_code == 200
        assert client.wait_for("event", "SessionDestroyed")["args"][0]["sessionId"] == created["sessionId"]
        assert client.wait_for("closed")["error"] is None


@pytest.mark.parametrize("transport", ["sse", "longpolling"])
def test_microsofts_client_invokes_and_stops_over(api, hub, transport):
    require_js_client()
    with JsClient(hub_url(api), token="host-token", transport=transport, invoke="Nope") as client:
        client.wait_for("started")
        assert client.wait_for("invokeError")["message"] == ("Failed to invoke 'Nope' due to an error on the "
                                                             "server. HubException: Method does not exist.")
        assert client.stop()["error"] is None
    wait_until(lambda: connections(api) == [])


def test_microsofts_client_is_told_of_a_reset_over_long_polling(api, hub):
    require_js_client()
    with JsClient(hub_url(api), token="bob-token", transport="longpolling", on=EVENTS) as client:
        client.wait_for("started")
        assert requests.post(api.root_url + "/_mock/reset", timeout=10).status_code == 200
        assert client.wait_for("closed")["error"] == "Server returned an error on close: The mock was reset."


@pytest.mark.parametrize("transport, name", [("sse", "ServerSentEvents"), ("longpolling", "LongPolling")])
def test_signalrcore_hears_a_join_over(api, hub, transport, name):
    with SignalRCoreClient(hub_url(api), token="host-token", transport=transport, on=EVENTS) as client:
        client.wait_for("started")
        wait_until(lambda: [c["transport"] for c in connections(api)] == [name])
        joined = join(api, DEFAULT_SESSION)
        assert client.wait_for("event", "UserAdded")["args"][0]["data"]["id"] == joined["credentials"]["id"]
