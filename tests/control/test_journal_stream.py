"""``GET /_mock/requests/stream`` over real HTTP: entries arrive within a second, a reconnecting
client resumes (Last-Event-ID, since), filters apply, the control plane's rules hold (with
``?access_token=`` taken here only), and the stream ends when the server stops."""
from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
import time
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from support import ServeProcess, assert_problem, rebound

import mockchats

STREAM = "/_mock/requests/stream"


class Events:
    """An open stream, read on a thread: ``next()`` gives each event's (id, entry); ``lines`` keeps
    every line read, ``ended`` is set when the server ended the answer (``error`` says if badly)."""

    def __init__(self, root_url: str, *, params: dict | None = None, headers: dict | None = None):
        address = urlsplit(root_url)
        self.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        self.connection.request("GET", STREAM + ("?" + urlencode(params, doseq=True) if params else ""),
                                headers=headers or {})
        self.response = self.connection.getresponse()
        self.lines: list[str] = []
        self.ended = threading.Event()
        self.error: Exception | None = None
        self._events: queue.Queue = queue.Queue()
        #: The journal's epoch events, in order (the first comes with the opening).
        self.epochs: queue.Queue = queue.Queue()
        self._opened = threading.Event()
        if self.response.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
            assert self._opened.wait(5), "the stream sent nothing on opening"

    def _read(self) -> None:
        event: dict = {}
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    break
                line = raw.decode("utf-8").rstrip("\r\n")
                self.lines.append(line)
                self._opened.set()
                if line == "":
                    if event.get("event") == "epoch":
                        self.epochs.put(json.loads(event["data"])["epoch"])
                    elif "data" in event:
                        self._events.put((int(event["id"]), json.loads(event["data"])))
                    event = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    event[name] = value
        except Exception as exc:  # a stream cut off instead of ended
            self.error = exc
        finally:
            self.ended.set()

    def next(self, timeout: float = 1.0) -> tuple[int, dict]:
        return self._events.get(timeout=timeout)

    def none_within(self, seconds: float) -> bool:
        try:
            self._events.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        sock = self.connection.sock  # kept by the connection: the answer is chunked, not "close"
        if sock is not None:  # shut down first, so the reader's blocked read returns at once
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.connection.close()


@pytest.fixture
def open_stream(server):
    opened: list[Events] = []

    def open_(root_url: str | None = None, **kwargs) -> Events:
        opened.append(Events(root_url or server.root_url, **kwargs))
        return opened[-1]
    yield open_
    for events in opened:
        events.close()


def test_a_request_arrives_within_a_second_as_its_journal_entry(fresh, api, plane, open_stream):
    events = open_stream()
    assert events.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    assert events.lines[0].startswith("retry: ")
    sent = time.monotonic()
    api.post("/chats", as_="alice", json={"message": "live"})
    entry_id, entry = events.next(timeout=1.0)
    assert time.monotonic() - sent < 1.0
    journal = plane.ok("GET", "/requests")
    # The stream's own request is not journaled: the one entry is the partner's.
    assert [e["id"] for e in journal] == [entry_id]
    assert entry == journal[0]
    assert entry["response"]["status"] == 200 and json.loads(entry["response"]["body"])["message"] == "live"


def test_only_what_comes_after_connecting_is_sent(fresh, api, open_stream):
    api.get("/chats", params={"take": 1})
    events = open_stream()
    assert events.none_within(0.6)
    api.get("/chats", params={"take": 2})
    assert events.next()[1]["query"] == {"take": ["2"]}


def test_a_reconnecting_client_resumes_after_its_last_event(fresh, api, open_stream):
    for take in (1, 2, 3):
        api.get("/chats", params={"take": take})
    first, second, third = (e["id"] for e in fresh.journal.entries())
    resumed = open_stream(headers={"Last-Event-ID": str(first)})
    assert [resumed.next()[0], resumed.next()[0]] == [second, third]
    asked = open_stream(params={"since": second})
    assert asked.next()[0] == third
    assert asked.none_within(0.4)
    api.get("/chats", params={"take": 4})
    assert asked.next()[1]["query"] == {"take": ["4"]}
    assert resumed.next()[1]["query"] == {"take": ["4"]}


def test_last_event_id_wins_over_the_since_an_event_source_reconnects_with(fresh, api, open_stream):
    for take in (1, 2, 3):
        api.get("/chats", params={"take": take})
    first, second, third = (e["id"] for e in fresh.journal.entries())
    resumed = open_stream(params={"since": first}, headers={"Last-Event-ID": str(second)})
    assert resumed.next()[0] == third
    assert resumed.none_within(0.3)


def test_an_epoch_names_the_journal_first_and_again_when_it_is_cleared(fresh, api, plane, open_stream):
    events = open_stream()
    first = events.epochs.get(timeout=1)
    api.get("/chats", params={"take": 1})
    before = events.next()[0]
    plane.ok("POST", "/reset")
    cleared = events.epochs.get(timeout=1)
    assert cleared != first and cleared.split(".")[0] == first.split(".")[0]
    api.get("/chats", params={"take": 2})
    after, entry = events.next()
    assert after > before and entry["query"] == {"take": ["2"]}  # ids count on across a clear
    other = mockchats.build()
    assert other.journal.epoch.split(".")[0] != first.split(".")[0]  # another journal says so


def test_the_filters_of_the_journal_apply(fresh, api, open_stream):
    creates = open_stream(params={"operationId": "createChat"})
    everything = open_stream(params={"kind": "all"})
    hubs = open_stream(params={"kind": "hub"})
    rest = open_stream()
    api.get("/chats", params={"take": 1})
    fresh.journal.record_hub(hub="session", action="connect", connection_id="c-1", session_id="s-1",
                             user_id="u-1", transport="WebSockets", detail={})
    api.post("/chats", as_="alice", json={"message": "x"})
    assert creates.next()[1]["operationId"] == "createChat"
    assert [everything.next()[1]["kind"] for _ in range(3)] == ["http", "hub", "http"]
    assert hubs.next()[1]["action"] == "connect"
    assert [rest.next()[1]["operationId"] for _ in range(2)] == ["listChats", "createChat"]
    assert hubs.none_within(0.3) and creates.none_within(0.1) and rest.none_within(0.1)


@pytest.mark.parametrize(("query", "headers", "place"), [
    ({"operationId": "nope"}, {}, "operationId"),
    ({"limit": "3"}, {}, "limit"),
    ({"since": "-1"}, {}, "since"),
    ({}, {"Last-Event-ID": "x"}, "Last-Event-ID"),
    ({"kind": "hub", "status": "200"}, {}, "status"),
])
def test_a_query_the_journal_refuses_is_refused_here_too(server, query, headers, place):
    response = requests.get(server.root_url + STREAM, params=query, headers=headers, timeout=10)
    assert place in assert_problem(response, 400, errors=True)["errors"]


@pytest.fixture
def guarded(serve):
    """A mock run with --admin-token's rule."""
    return serve(mockchats.build(admin_token="the-admin-token"))


def test_with_an_admin_token_the_stream_needs_it_as_bearer_or_access_token(guarded):
    url = guarded.root_url + STREAM
    for refused in ({}, {"headers": {"Authorization": "Bearer wrong"}}, {"params": {"access_token": "wrong"}},
                    {"params": {"access_token": ["the-admin-token", "the-admin-token"]}}):
        response = requests.get(url, timeout=10, **refused)
        assert response.status_code == 401, refused
        assert response.headers["WWW-Authenticate"] == "Bearer" and response.content == b""
    for taken in ({"headers": {"Authorization": "Bearer the-admin-token"}},
                  {"params": {"access_token": "the-admin-token"}}):
        events = Events(guarded.root_url, **taken)
        try:
            assert events.response.status == 200
            requests.get(guarded.base_url + "/chats", headers={"Authorization": "Bearer host-token"}, timeout=10)
            assert events.next()[1]["operationId"] == "listChats"
        finally:
            events.close()
    # On this endpoint only: the rest of the control plane wants the header.
    assert requests.get(guarded.root_url + "/_mock/requests", params={"access_token": "the-admin-token"},
                        timeout=10).status_code == 401


def test_the_access_token_never_shows_in_what_is_sent(guarded):
    events = Events(guarded.root_url, params={"access_token": "the-admin-token"})
    try:
        requests.get(guarded.base_url + "/chats", params={"access_token": "the-admin-token"},
                     headers={"Authorization": "Bearer host-token"}, timeout=10)
        assert events.next()[1]["query"] == {"access_token": ["[redacted]"]}
    finally:
        events.close()
    assert "the-admin-token" not in "\n".join(events.lines)


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_a_page_of_another_site_is_refused(server, guarded, headers):
    assert_problem(requests.get(server.root_url + STREAM, headers=headers, timeout=10), 403)
    # Token or not, as the rest of the control plane.
    assert_problem(requests.get(guarded.root_url + STREAM, params={"access_token": "the-admin-token"},
                                headers=headers, timeout=10), 403)


@pytest.mark.parametrize("origin", [True, False])
def test_a_page_rebound_to_this_machine_is_refused(server, guarded, origin):
    host = rebound(server.root_url)
    headers = {"Host": host, **({"Origin": f"http://{host}"} if origin else {})}
    problem = assert_problem(requests.get(server.root_url + STREAM, headers=headers, timeout=10), 403)
    assert "DNS name" in problem["detail"] and "--admin-token" in problem["detail"]
    # With a token, the token is the guard, as for the rest of the control plane.
    guarded_host = rebound(guarded.root_url)
    events = Events(guarded.root_url, params={"access_token": "the-admin-token"},
                    headers={"Host": guarded_host, **({"Origin": f"http://{guarded_host}"} if origin else {})})
    try:
        assert events.response.status == 200
    finally:
        events.close()
    assert requests.get(guarded.root_url + STREAM, headers={"Host": guarded_host}, timeout=10).status_code == 401


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]", "app.localhost"])
def test_an_address_or_localhost_may_read_it(server, open_stream, name):
    host = rebound(server.root_url, name)
    assert open_stream(headers={"Host": host, "Origin": f"http://{host}"}).response.status == 200


def test_a_page_the_mock_serves_may_read_it(server, open_stream):
    events = open_stream(headers={"Origin": server.root_url, "Sec-Fetch-Site": "same-origin"})
    assert events.response.status == 200


def test_other_methods_are_refused(server):
    response = requests.post(server.root_url + STREAM, timeout=10)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"


def test_a_quiet_stream_is_kept_alive(serve):
    mock = mockchats.build()
    mock.journal_stream.keep_alive = 0.3
    events = Events(serve(mock).root_url)
    try:
        time.sleep(1.0)
        assert ": keep-alive" in events.lines
    finally:
        events.close()


def test_the_stream_ends_when_the_server_stops():
    server = mockchats.Server(mockchats.build(), port=0).start()
    events = Events(server.root_url)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    assert events.ended.wait(2) and events.error is None


def test_the_stream_ends_when_serve_stops():
    with ServeProcess() as served:
        events = Events(served.base_url.removesuffix("/v1"))
        requests.get(served.base_url + "/chats", headers={"Authorization": "Bearer host-token"}, timeout=10)
        assert events.next()[1]["operationId"] == "listChats"
        started = time.monotonic()
        code, _, err = served.stop()
        assert time.monotonic() - started < 1.0, "serve waited for the stream"
        assert code == 0 and "Killing" not in err, err
        assert events.ended.wait(2) and events.error is None


def test_the_app_alone_says_it_cannot_stream_and_the_document_says_why():
    mock = mockchats.build()
    client = mock.app.test_client()
    answer = client.get(STREAM)
    assert answer.status_code == 501 and "mockchats serve" in answer.get_json()["detail"]
    operation = client.get("/_mock/openapi.json").get_json()["paths"][STREAM]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {p["name"] for p in operation["parameters"]} >= {"since", "Last-Event-ID", "access_token", "kind"}


def test_the_plane_document_and_the_stream_agree(plane):
    # The refusals the document promises are the ones served.
    response = plane.get("/requests/stream?limit=1")
    assert response.status_code == 400
