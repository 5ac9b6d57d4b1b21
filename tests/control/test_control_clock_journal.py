"""The control plane's clock and journal over real HTTP.

Every control response is checked against the plane's own document,
``GET /_mock/openapi.json`` (support's ``Plane``: status declared, content type, body schema
with OpenAPI 3.0 semantics); partner responses go through conftest's ``api``, which checks
them against openapi/chats.yaml. The fixtures (``plane``, ``busy``...) are in this folder's
conftest.py.
"""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from support import (
    ZED_AND_YAN,
    Plane,
)

import mockchats
from mockchats.aspnet.habits import parse_datetime

#: Every test starts and ends in the start world: faults, clock and journal never leak.
pytestmark = pytest.mark.usefixtures("fresh")


# -- clock ------------------------------------------------------------------------------------
def test_freeze_advance_and_real(plane, api):
    clock = plane.ok("POST", "/clock", json={"freeze": "2030-01-01T00:00:00Z"})
    assert clock == {"now": "2030-01-01T00:00:00Z", "frozen": True}
    assert api.create("first")["createdAt"] == "2030-01-01T00:00:00Z"
    assert api.create("second")["createdAt"] == "2030-01-01T00:00:00Z"
    assert plane.ok("POST", "/clock", json={"advanceSeconds": 90})["now"] == "2030-01-01T00:01:30Z"
    assert api.create("third")["createdAt"] == "2030-01-01T00:01:30Z"
    plane.ok("POST", "/clock", json={"advanceSeconds": 0.25})
    assert api.create("fourth")["createdAt"] == "2030-01-01T00:01:30.25Z"
    listed = {m["message"]: m["createdAt"] for m in api.all_messages()}
    assert listed["first"] == "2030-01-01T00:00:00Z" and listed["fourth"] == "2030-01-01T00:01:30.25Z"
    assert plane.ok("POST", "/clock", json={"real": True})["frozen"] is False
    created = parse_datetime(api.create("now")["createdAt"])
    assert abs(created - datetime.now(UTC)) < timedelta(seconds=5)


def test_freeze_at_an_offset_is_written_in_utc(plane, api):
    assert plane.ok("POST", "/clock", json={"freeze": "2030-01-01T02:00:00+02:00"})["now"] == "2030-01-01T00:00:00Z"
    assert api.create("x")["createdAt"] == "2030-01-01T00:00:00Z"


def test_freeze_now_stops_time_at_the_present(plane, api):
    clock = plane.ok("POST", "/clock", json={"freeze": "now"})
    assert clock["frozen"] is True
    assert abs(parse_datetime(clock["now"]) - datetime.now(UTC)) < timedelta(seconds=5)
    time.sleep(0.02)
    assert api.create("a")["createdAt"] == clock["now"] == plane.ok("GET", "/clock")["now"]


def test_advance_a_running_clock(plane, api):
    clock = plane.ok("POST", "/clock", json={"advanceSeconds": 3600})
    assert clock["frozen"] is False
    ahead = parse_datetime(api.create("later")["createdAt"]) - datetime.now(UTC)
    assert timedelta(seconds=3595) < ahead < timedelta(seconds=3605)
    assert plane.ok("POST", "/reset")
    behind = parse_datetime(api.create("now")["createdAt"]) - datetime.now(UTC)
    assert abs(behind) < timedelta(seconds=5)


# -- journal ----------------------------------------------------------------------------------
def test_a_journal_entry_says_everything(plane, api):
    before = datetime.now(UTC)
    api.post("/chats", as_="alice", json={"message": "journaled"}, params={"x": ["1", "2"]})
    (entry,) = plane.ok("GET", "/requests")
    assert entry["method"] == "POST" and entry["path"] == "/v1/chats"
    assert entry["query"] == {"x": ["1", "2"]}
    assert json.loads(entry["body"]) == {"message": "journaled"}
    assert entry["user"] == {"id": "877f77b2-2c5c-4316-b266-f24a7a44668e", "name": "Alice", "role": "Client"}
    assert entry["operationId"] == "createChat" and entry["status"] == 200
    assert isinstance(entry["durationMs"], (int, float)) and entry["durationMs"] >= 0
    assert entry["violations"] == [] and entry["warnings"] == []
    assert before - timedelta(seconds=1) <= parse_datetime(entry["time"]) <= datetime.now(UTC)


def test_the_journal_keeps_the_first_64_kib_of_a_body_and_decodes_the_query(plane, api):
    sent = json.dumps({"message": "é" * 40_000}, ensure_ascii=False).encode()  # 80,015 bytes
    response = api.post("/chats", as_="alice", data=sent, params={"q": "ça va"},
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400  # too long for the API; the journal keeps it anyway
    (entry,) = plane.ok("GET", "/requests")
    assert entry["query"] == {"q": ["ça va"]}
    assert entry["body"] == sent[:64 * 1024].decode("utf-8", "replace")


def test_the_journal_lists_violations(plane, api, server):
    api.post("/chats", as_="alice", json={})
    api.post("/chats", as_="alice", data="hi", headers={"Content-Type": "text/plain"})
    api.get("/chats", as_=None)
    api.get("/chats", token="not a token")
    requests.get(server.base_url + "/no-such-thing", timeout=10)
    entries = plane.ok("GET", "/requests")
    assert [e["status"] for e in entries] == [400, 415, 401, 401, 404]
    assert all(e["violations"] for e in entries), entries
    assert "Message" in entries[0]["violations"][0]
    assert "JSON" in entries[1]["violations"][0]
    assert "bearer token" in entries[2]["violations"][0]
    assert entries[4]["operationId"] is None and "/v1/no-such-thing" in entries[4]["violations"][0]
    assert entries[4]["path"] == "/v1/no-such-thing"


def test_the_journal_lists_warnings_for_other_spellings(plane, api, server):
    api.get("/chats", params={"take": 5})
    api.post("/chats", json={"Message": "capitalised"})
    api.get("/chats", params={"SortBy": "pinned"})
    response = requests.get(server.root_url + "/V1/CHATS", headers={"Authorization": "Bearer host-token"},
                            timeout=10)
    assert response.status_code == 200
    take, body, sort, path = plane.ok("GET", "/requests")
    for entry in (take, body, sort, path):
        assert entry["status"] == 200 and entry["violations"] == [] and len(entry["warnings"]) == 1, entry
    assert "'take'" in take["warnings"][0] and "'Take'" in take["warnings"][0]
    assert "'Message'" in body["warnings"][0]
    assert "pinned" in sort["warnings"][0] and "Pinned" in sort["warnings"][0]
    assert path["path"] == "/V1/CHATS" and "/v1/chats" in path["warnings"][0]


def test_a_query_string_sent_again_is_judged_again(plane, api):
    for _ in range(2):  # bound query strings are remembered: the verdicts must repeat too
        assert api.get("/chats", params={"take": 2}).status_code == 200
        assert api.get("/chats", params={"Take": "x"}).status_code == 400
    first_ok, first_bad, second_ok, second_bad = plane.ok("GET", "/requests")
    assert first_ok["warnings"] == second_ok["warnings"] and len(first_ok["warnings"]) == 1
    assert first_bad["violations"] == second_bad["violations"] and first_bad["violations"]


def test_the_journal_filters(plane, api):
    api.get("/chats")
    chat = api.create("filter me")["chatId"]
    api.get("/chats/reactions", params={"chatIds": chat})
    api.delete(f"/chats/{chat}", as_="alice")
    assert [e["operationId"] for e in plane.ok("GET", "/requests", params={"method": "get"})] == \
        ["listChats", "listReactions"]
    assert [e["method"] for e in plane.ok("GET", "/requests", params={"operationId": "deleteChat"})] == ["DELETE"]
    assert [e["operationId"] for e in plane.ok("GET", "/requests", params={"path": "/v1/chats"})] == \
        ["listChats", "createChat"]
    assert [e["operationId"] for e in plane.ok("GET", "/requests", params={"limit": 2})] == \
        ["listReactions", "deleteChat"]
    assert plane.ok("GET", "/requests", params={"limit": 0}) == []
    assert len(plane.ok("GET", "/requests", params={"method": "GET", "limit": 1})) == 1
    ids = [e["id"] for e in plane.ok("GET", "/requests")]
    assert ids == sorted(ids) and len(set(ids)) == 4


def test_the_journal_is_cleared(plane, api):
    api.get("/chats")
    assert plane.delete("/requests").status_code == 204
    assert plane.ok("GET", "/requests") == []
    api.get("/chats")
    assert len(plane.ok("GET", "/requests")) == 1


def test_control_calls_and_documents_are_not_journaled(plane, api, server, default_session):
    plane.ok("GET", "/state")
    plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    plane.ok("GET", "/clock")
    plane.post("/faults", json={})
    requests.get(server.root_url + "/_mock/openapi.json", timeout=10)
    requests.get(server.root_url + "/openapi.json", timeout=10)
    assert plane.ok("GET", "/requests") == []


def test_the_journal_is_bounded(serve):
    mock = mockchats.build(journal_size=5)
    server = serve(mock)
    plane = Plane(server.root_url)
    for skip in range(50):
        response = requests.get(server.base_url + "/chats", params={"Skip": skip},
                                headers={"Authorization": "Bearer alice-token"}, timeout=10)
        assert response.status_code == 200
    entries = plane.ok("GET", "/requests")
    assert len(entries) == 5
    assert [e["query"]["Skip"] for e in entries] == [[str(n)] for n in range(45, 50)]
    assert plane.ok("GET", "/requests", params={"limit": 100}) == entries
