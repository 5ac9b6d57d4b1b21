"""The journal's hub entries over real HTTP: GET /_mock/requests, the Control client and the
pytest plugin's ``requests(...)``.

The entries are recorded through ``mock.journal.record_hub`` exactly as the hub server calls it
(keyword arguments), so these tests hold whatever the hubs' transports do. Every control
answer is checked against the plane's own document (support's ``Plane``), so the JournalEntry
schema is held to both shapes.
"""
from __future__ import annotations

import pytest
from support import Plane

from mockchats import Control, ControlError

#: Every test starts and ends in the start world: faults, clock and journal never leak.
pytestmark = pytest.mark.usefixtures("fresh")

pytest_plugins = ["pytester"]


def record(mock, action: str, *, hub: str = "session", user_id: str | None = "u-alice",
           connection_id: str | None = "c-1", transport: str | None = "WebSockets", detail: dict | None = None):
    mock.journal.record_hub(hub=hub, action=action, connection_id=connection_id, session_id="s-1",
                            user_id=user_id, transport=transport, detail={} if detail is None else detail)


class Traffic:
    """The mock, and the ids its journal gave the fixture's entries: ``at(1)`` to ``at(8)`` (the
    sequence runs on across resets, so a test's first id is whatever came next)."""

    def __init__(self, mock, first: int):
        self.mock, self.first = mock, first

    def at(self, *positions: int) -> list[int]:
        return [self.first - 1 + position for position in positions]


@pytest.fixture
def traffic(fresh, api) -> Traffic:
    """A REST request, then a session hub connection's life, a chat hub connect, another request."""
    api.get("/chats", params={"take": 1})
    first = fresh.journal.entries()[-1]["id"]
    record(fresh, "negotiate", connection_id=None, transport=None, detail={"status": 200, "version": 1})
    record(fresh, "connect")
    record(fresh, "sent", detail={"target": "UserAdded", "arguments": [
        {"sessionId": "s-1", "eventType": "UserAdded", "data": {"id": "u-bob", "role": "Client", "name": "Bob",
                                                                "address": None}}]})
    record(fresh, "received", detail={"message": {"type": 1, "target": "Nope", "arguments": []}})
    record(fresh, "disconnect", detail={"reason": "The client closed the connection."})
    record(fresh, "connect", hub="chat", user_id="u-bob", connection_id="c-2")
    api.post("/chats", as_="alice", json={"message": "after the hubs"})
    return Traffic(fresh, first)


def test_a_plain_read_lists_the_rest_requests_only(plane: Plane, traffic):
    entries = plane.ok("GET", "/requests")
    assert [(e["kind"], e["id"], e["operationId"]) for e in entries] == [
        ("http", *traffic.at(1), "listChats"), ("http", *traffic.at(8), "createChat")]
    assert plane.ok("GET", "/requests?kind=http") == entries


def test_kind_hub_lists_the_hubs_traffic_in_full(plane: Plane, traffic):
    entries = plane.ok("GET", "/requests?kind=hub")
    assert [e["id"] for e in entries] == traffic.at(2, 3, 4, 5, 6, 7)
    assert [(e["hub"], e["action"]) for e in entries] == [
        ("session", "negotiate"), ("session", "connect"), ("session", "sent"), ("session", "received"),
        ("session", "disconnect"), ("chat", "connect")]
    negotiate, connect, sent, received, disconnect, _ = entries
    assert set(sent) == {"id", "time", "kind", "hub", "action", "connectionId", "sessionId", "userId", "transport",
                         "detail"}
    assert (negotiate["connectionId"], negotiate["transport"], negotiate["detail"]) == (
        None, None, {"status": 200, "version": 1})
    assert (connect["connectionId"], connect["sessionId"], connect["userId"], connect["transport"]) == (
        "c-1", "s-1", "u-alice", "WebSockets")
    assert sent["detail"]["target"] == "UserAdded" and sent["detail"]["arguments"][0]["data"]["name"] == "Bob"
    assert received["detail"] == {"message": {"type": 1, "target": "Nope", "arguments": []}}
    assert disconnect["detail"] == {"reason": "The client closed the connection."}
    assert all("violations" not in e for e in entries)  # never a contract violation


def test_kind_all_and_the_hub_filter(plane: Plane, traffic):
    assert [e["id"] for e in plane.ok("GET", "/requests?kind=all")] == traffic.at(*range(1, 9))
    assert [e["id"] for e in plane.ok("GET", "/requests?hub=chat")] == traffic.at(7)
    assert [e["action"] for e in plane.ok("GET", "/requests?hub=session&kind=hub&user=u-alice&limit=2")] == [
        "received", "disconnect"]
    assert [e["id"] for e in plane.ok("GET", "/requests?kind=all&user=u-bob")] == traffic.at(7)
    assert [e["id"] for e in plane.ok("GET", "/requests?kind=all&operationId=createChat")] == traffic.at(8)
    assert [e["id"] for e in plane.ok("GET", "/requests?kind=all&status=2xx&limit=1")] == traffic.at(8)
    assert [e["id"] for e in plane.ok("GET", "/requests?kind=all&limit=3")] == traffic.at(6, 7, 8)


@pytest.mark.parametrize("query, key, said", [
    ("kind=hubs", "kind", "'hubs' is not a kind of entry; known: http, hub, all."),
    ("hub=Session", "hub", "'Session' is not a hub; known: session, chat."),
    ("hub=chat&kind=http", "hub", "kind=http asks for none"),
    ("kind=hub&operationId=createChat", "operationId", "operationId filters REST requests"),
    ("hub=session&status=101", "status", "a hub entry has none"),
    ("hub=session&hub=chat", "hub", "hub is given more than once."),
])
def test_a_hub_query_it_cannot_answer_is_a_400_listing_what_is_known(plane: Plane, traffic, query, key, said):
    response = plane.get(f"/requests?{query}")
    assert response.status_code == 400, response.text
    problem = response.json()
    assert any(said in message for message in problem["errors"][key]), problem
    assert said in problem["detail"]


def test_delete_and_reset_clear_the_hub_entries_too(plane: Plane, traffic):
    plane.ok("DELETE", "/requests", 204)
    assert plane.ok("GET", "/requests?kind=all") == []
    record(traffic.mock, "connect")
    assert [e["id"] for e in plane.ok("GET", "/requests?kind=hub")] == traffic.at(9)  # the sequence goes on
    plane.ok("POST", "/reset")
    assert plane.ok("GET", "/requests?kind=all") == []


def test_the_client_passes_kind_and_hub_on(control: Control, traffic):
    assert [e["kind"] for e in control.requests()] == ["http", "http"]
    assert [e["action"] for e in control.requests(kind="hub", limit=2)] == ["disconnect", "connect"]
    assert [e["connectionId"] for e in control.requests(hub="chat")] == ["c-2"]
    assert len(control.requests(kind="all")) == 8
    assert [e["id"] for e in control.requests(kind="all", user="u-alice")] == traffic.at(2, 3, 4, 5, 6)
    with pytest.raises(ControlError) as wrong:
        control.requests(kind="hubs")  # type: ignore[call-overload]
    assert wrong.value.status == 400 and "known: http, hub, all" in wrong.value.body["detail"]
    control.clear_requests()
    assert control.requests(kind="all") == []


#: A partner's tests: the mock's journal reached through the plugin's server, as the hub server
#: records into it.
PARTNER_TESTS = '''
import pytest
import requests

from mockchats import ControlError


def record(server, action, hub="session", user_id="u-1", detail=None):
    journal = server.asgi.app.extensions["mockchats"].journal
    journal.record_hub(hub=hub, action=action, connection_id="c-1", session_id="s-1", user_id=user_id,
                       transport="WebSockets", detail={} if detail is None else detail)


def test_requests_are_rest_only_unless_asked(mockchats, mockchats_server):
    record(mockchats_server, "connect")
    requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("host"))
    record(mockchats_server, "sent", detail={"target": "UserAdded", "arguments": []})
    record(mockchats_server, "connect", hub="chat", user_id="u-2")
    assert [(e["kind"], e["operationId"]) for e in mockchats.requests()] == [("http", "listChats")]
    assert [e["action"] for e in mockchats.requests(kind="hub")] == ["connect", "sent", "connect"]
    assert [e["hub"] for e in mockchats.requests(hub="chat")] == ["chat"]
    assert [e["action"] for e in mockchats.requests(kind="hub", hub="session", limit=1)] == ["sent"]
    assert [e["kind"] for e in mockchats.requests(kind="all")] == ["hub", "http", "hub", "hub"]
    assert [e["userId"] for e in mockchats.requests(kind="hub", user="u-2")] == ["u-2"]
    mockchats.assert_no_violations()  # the hub entries have no violations to count


def test_the_next_test_sees_no_hub_entry(mockchats):
    assert mockchats.requests(kind="all") == []


def test_a_hub_query_the_mock_cannot_answer_raises(mockchats):
    with pytest.raises(ControlError, match="known: session, chat"):
        mockchats.requests(hub="sessions")
    with pytest.raises(ControlError, match="operationId filters REST requests"):
        mockchats.requests("listChats", kind="hub")


def test_assert_no_violations_counts_the_rest_requests_only(mockchats, mockchats_server):
    record(mockchats_server, "received", detail={"message": {"type": 1, "target": "Nope", "arguments": []}})
    requests.get(f"{mockchats.url}/chats")
    with pytest.raises(AssertionError) as failure:
        mockchats.assert_no_violations()
    assert str(failure.value).splitlines() == [
        "1 request(s) broke the QuickSync Chats contract:",
        "  GET /v1/chats -> 401: no bearer token",
    ]
'''


def test_the_plugin_handles_requests_take_kind_and_hub(pytester):
    pytester.makepyfile(test_partner_hubs=PARTNER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
