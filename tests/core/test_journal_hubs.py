"""The journal's hub entries, without a server: recorded, numbered with the requests, bounded by
the same size, kept out of a read unless asked for, and filtered by the query rules."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from mockchats.aspnet.habits import parse_datetime
from mockchats.core.journal import FILTERS, Exchange, Journal, QueryRefused, parse_query

OPERATIONS = ("createChat", "listChats")
ALICE = SimpleNamespace(id="u-alice", name="Alice", role="Client")


def hub(journal: Journal, action: str = "connect", *, hub: str = "session", user_id: str | None = "u-alice",
        detail: dict | None = None) -> None:
    journal.record_hub(hub=hub, action=action, connection_id="c-1", session_id="s-1", user_id=user_id,
                       transport="WebSockets", detail={} if detail is None else detail)


def http(journal: Journal, method: str = "GET", path: str = "/v1/chats", status: int = 200,
         operation_id: str = "listChats", user: object = ALICE) -> None:
    journal.record(Exchange(method, path, user=user, operation_id=operation_id, status=status))


def read(journal: Journal, query: str = "") -> list[dict]:
    pairs = [tuple(part.split("=", 1)) for part in query.split("&") if part]
    return journal.query(pairs, OPERATIONS)


def test_a_hub_entry_says_everything():
    journal = Journal()
    before = datetime.now(UTC)
    journal.record_hub(hub="session", action="sent", connection_id="c-1", session_id="s-1", user_id="u-1",
                       transport="WebSockets", detail={"target": "UserAdded", "arguments": [{"sessionId": "s-1"}]})
    (entry,) = journal.entries(kind="hub")
    assert entry == {"id": 1, "time": entry["time"], "kind": "hub", "hub": "session", "action": "sent",
                     "connectionId": "c-1", "sessionId": "s-1", "userId": "u-1", "transport": "WebSockets",
                     "detail": {"target": "UserAdded", "arguments": [{"sessionId": "s-1"}]}}
    assert before - timedelta(seconds=1) <= parse_datetime(entry["time"]) <= datetime.now(UTC)


def test_a_negotiate_refused_has_no_connection_user_or_transport():
    journal = Journal()
    journal.record_hub(hub="chat", action="negotiate", connection_id=None, session_id=None, user_id=None,
                       transport=None, detail={"status": 401, "version": 1})
    (entry,) = journal.entries(kind="hub")
    assert (entry["connectionId"], entry["sessionId"], entry["userId"], entry["transport"]) == (None,) * 4
    assert entry["detail"] == {"status": 401, "version": 1}


def test_a_rest_entry_says_its_kind():
    journal = Journal()
    http(journal)
    (entry,) = journal.entries()
    assert entry["kind"] == "http" and list(entry)[:3] == ["id", "time", "kind"]


def test_the_detail_is_the_entrys_own():
    journal = Journal()
    detail = {"reason": "closed by the client"}
    hub(journal, "disconnect", detail=detail)
    detail["reason"] = "changed afterwards"
    (entry,) = journal.entries(kind="hub")
    entry["detail"]["reason"] = "changed by a reader"
    assert journal.entries(kind="hub")[0]["detail"] == {"reason": "closed by the client"}


@pytest.mark.parametrize("given, said", [
    ({"hub": "Session"}, "'Session' is not a hub; known: session, chat"),
    ({"action": "invoke"}, "'invoke' is not a hub action; known: negotiate, connect, disconnect, sent, received"),
])
def test_an_unknown_hub_or_action_is_the_callers_mistake(given, said):
    journal = Journal()
    with pytest.raises(ValueError, match=said):
        journal.record_hub(**{"hub": "session", "action": "connect", "connection_id": "c", "session_id": "s",
                              "user_id": "u", "transport": None, "detail": {}, **given})
    assert journal.entries(kind="all") == []


def test_hub_entries_are_numbered_with_the_requests_and_left_out_unless_asked_for():
    journal = Journal()
    http(journal)
    hub(journal, "negotiate", detail={"status": 200, "version": 1})
    hub(journal, "connect")
    http(journal, "POST", operation_id="createChat")
    assert [e["id"] for e in journal.entries()] == [1, 4]
    assert [e["id"] for e in read(journal)] == [1, 4]
    assert [(e["id"], e["action"]) for e in read(journal, "kind=hub")] == [(2, "negotiate"), (3, "connect")]
    assert [(e["id"], e["kind"]) for e in read(journal, "kind=all")] == [(1, "http"), (2, "hub"), (3, "hub"),
                                                                          (4, "http")]
    assert read(journal, "kind=http") == read(journal)


def test_the_hub_filter_implies_kind_hub():
    journal = Journal()
    http(journal)
    hub(journal, "connect", hub="session")
    hub(journal, "connect", hub="chat")
    assert [e["hub"] for e in read(journal, "hub=session")] == ["session"]
    assert [e["hub"] for e in read(journal, "hub=chat&kind=hub")] == ["chat"]
    assert [e["hub"] for e in read(journal, "hub=chat&kind=all")] == ["chat"]


def test_rest_filters_leave_hub_entries_out_of_kind_all():
    journal = Journal()
    http(journal, status=200)
    hub(journal, "connect")
    http(journal, "POST", operation_id="createChat", status=400)
    assert [e["id"] for e in read(journal, "kind=all&operationId=createChat")] == [3]
    assert [e["id"] for e in read(journal, "kind=all&method=get")] == [1]
    assert [e["id"] for e in read(journal, "kind=all&path=/V1/CHATS")] == [1, 3]
    assert [e["id"] for e in read(journal, "kind=all&status=4xx")] == [3]


def test_user_matches_a_hub_entry_by_its_id():
    journal = Journal()
    http(journal)
    hub(journal, "connect", user_id="u-alice")
    hub(journal, "connect", user_id="u-bob")
    assert [e["id"] for e in read(journal, "kind=all&user=u-alice")] == [1, 2]
    assert [e["id"] for e in read(journal, "kind=hub&user=u-bob")] == [3]
    assert [e["id"] for e in read(journal, "kind=all&user=alice")] == [1]  # a hub entry knows no name


def test_limit_applies_after_the_filters():
    journal = Journal()
    for _ in range(3):
        hub(journal, "sent", detail={"target": "UserAdded", "arguments": []})
        http(journal)
    assert [e["id"] for e in read(journal, "kind=hub&limit=2")] == [3, 5]
    assert [e["id"] for e in read(journal, "limit=2")] == [4, 6]
    assert [e["id"] for e in read(journal, "kind=all&limit=3")] == [4, 5, 6]
    assert read(journal, "hub=chat&limit=5") == []
    assert read(journal, "kind=hub&limit=0") == []


def test_hub_entries_share_the_journals_bound_and_are_cleared_with_the_requests():
    journal = Journal(size=3)
    http(journal)
    hub(journal, "connect")
    hub(journal, "sent", detail={"target": "UserAdded", "arguments": []})
    http(journal)
    assert [e["id"] for e in journal.entries(kind="all")] == [2, 3, 4]
    journal.clear()
    assert journal.entries(kind="all") == []
    hub(journal, "disconnect", detail={"reason": None})
    assert [e["id"] for e in journal.entries(kind="all")] == [5]  # the sequence goes on


def test_recording_from_many_threads_loses_no_entry_and_repeats_no_id():
    journal = Journal(size=10_000)

    def work(index: int) -> None:
        for _ in range(200):
            if index % 2:
                hub(journal, "sent", detail={"target": "UserAdded", "arguments": []})
            else:
                http(journal)
    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [e["id"] for e in journal.entries(kind="all")]
    assert ids == list(range(1, 1601))
    assert len(journal.entries(kind="hub")) == len(journal.entries()) == 800


@pytest.mark.parametrize("query, key, said", [
    ("kind=hubs", "kind", "'hubs' is not a kind of entry; known: http, hub, all."),
    ("kind=HTTP", "kind", "known: http, hub, all."),
    ("hub=sessions", "hub", "'sessions' is not a hub; known: session, chat."),
    ("hub=session&kind=http", "hub", "kind=http asks for none"),
    ("kind=hub&operationId=createChat", "operationId", "operationId filters REST requests"),
    ("hub=chat&status=200", "status", "status filters REST requests"),
    ("kind=hub&method=GET", "method", "kind=all takes both"),
    ("hub=session&path=/v1/chats", "path", "a hub entry has none"),
    ("kind=hub&kind=all", "kind", "kind is given more than once."),
    ("hubs=session", "hubs", "'hubs' is not a filter; known: operationId, method, path, status, user, kind, hub, "
                             "limit."),
])
def test_a_hub_query_it_cannot_answer_is_refused_saying_what_is_known(query, key, said):
    pairs = [tuple(part.split("=", 1)) for part in query.split("&")]
    with pytest.raises(QueryRefused) as refused:
        parse_query(pairs, OPERATIONS)
    assert any(said in message for message in refused.value.errors[key]), refused.value.errors


def test_the_filters_name_kind_and_hub():
    assert "kind" in FILTERS and "hub" in FILTERS
    assert parse_query([], OPERATIONS)["kind"] == "http"
    assert parse_query([("hub", "chat")], OPERATIONS)["kind"] == "hub"
    assert parse_query([("kind", "all"), ("user", "u-1")], OPERATIONS)["kind"] == "all"
