"""The control plane's faults over real HTTP: what they answer, when, how often, and what
they leave changed; and the ``Prefer: code=`` header.

Every control response is checked against the plane's own document,
``GET /_mock/openapi.json`` (support's ``Plane``: status declared, content type, body schema
with OpenAPI 3.0 semantics); partner responses go through conftest's ``api``, which checks
them against openapi/chats.yaml. The fixtures (``plane``, ``busy``...) are in this folder's
conftest.py.
"""
from __future__ import annotations

import time

import pytest
import requests
from support import (
    PROBLEM,
    assert_problem,
)

#: Every test starts and ends in the start world: faults, clock and journal never leak.
pytestmark = pytest.mark.usefixtures("fresh")


# -- faults -----------------------------------------------------------------------------------
def test_a_fault_before_fails_the_call_and_changes_nothing(plane, api):
    fault = plane.ok("POST", "/faults", 201, json={"operationId": "createChat", "status": 503, "times": 1})
    assert fault["id"] and fault["when"] == "before" and fault["fired"] == 0 and fault["times"] == 1
    response = api.post("/chats", as_="alice", json={"message": "lost"})  # conformance checked by api
    assert response.status_code == 503
    assert response.headers["Content-Type"] == PROBLEM and response.json()["status"] == 503
    assert "lost" not in [m["message"] for m in api.all_messages()]
    assert api.create("kept")["message"] == "kept"  # times: 1
    assert plane.ok("GET", "/faults")[0]["fired"] == 1


def test_a_fault_after_changes_the_state_but_fails_the_call(plane, api):
    plane.ok("POST", "/faults", 201, json={"operationId": "createChat", "status": 503, "when": "after"})
    response = api.post("/chats", as_="alice", json={"message": "written anyway"})
    assert response.status_code == 503
    assert "written anyway" in [m["message"] for m in api.all_messages()]


def test_a_429_fault_carries_retry_after(plane, api):
    plane.ok("POST", "/faults", 201,
             json={"operationId": "listChats", "status": 429, "headers": {"Retry-After": "7"}})
    response = api.get("/chats")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.headers["Content-Type"] == PROBLEM


@pytest.mark.parametrize("status", [299, 599])
def test_a_fault_status_with_no_reason_phrase_is_answered(plane, server, status):
    plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "status": status})
    response = requests.get(server.base_url + "/chats", headers={"Authorization": "Bearer alice-token"},
                            timeout=10)
    assert response.status_code == status and response.headers["Content-Type"] == PROBLEM
    assert response.json()["title"] == "" and response.json()["status"] == status


def test_a_spent_delay_fault_no_longer_counts_as_delaying(mock):
    assert not mock.faults.delaying()
    fault = mock.faults.add(operation_id="listChats", delay_ms=10, times=1)
    assert mock.faults.delaying()
    assert mock.faults.strike("listChats", "GET", "/v1/chats", fault.when) is fault
    assert not mock.faults.delaying()
    mock.faults.add(operation_id="listChats", delay_ms=10, probability=0.5)
    assert mock.faults.delaying()


def test_a_partner_fault_body_is_sent_as_given(plane, server):
    body = {"error": "maintenance", "codes": [1, "two", None], "nested": {"ok": False}}
    plane.ok("POST", "/faults", 201,
             json={"operationId": "listChats", "status": 503, "body": body, "headers": {"X-Why": "drill"}})
    response = requests.get(server.base_url + "/chats", headers={"Authorization": "Bearer alice-token"},
                            timeout=10)
    assert response.status_code == 503 and response.headers["X-Why"] == "drill"
    assert response.json() == body
    assert plane.ok("GET", "/faults")[0]["body"] == body


def test_a_delay_fault_slows_the_normal_answer(plane, api):
    plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "delayMs": 400, "times": 1})
    started = time.perf_counter()
    assert api.get("/chats").status_code == 200
    assert time.perf_counter() - started >= 0.4
    started = time.perf_counter()
    api.get("/chats")
    assert time.perf_counter() - started < 0.4
    assert plane.ok("GET", "/requests", params={"limit": 2})[0]["durationMs"] >= 400


def test_a_drop_fault_is_a_connection_error(plane, api, server):
    plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "drop": True, "times": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(server.base_url + "/chats", headers={"Authorization": "Bearer alice-token"}, timeout=10)
    assert api.get("/chats").status_code == 200
    dropped, answered = plane.ok("GET", "/requests")
    assert dropped["status"] is None and dropped["operationId"] == "listChats"
    assert answered["status"] == 200


def test_a_drop_fault_after_still_creates_the_message(plane, api, server):
    plane.ok("POST", "/faults", 201, json={"operationId": "createChat", "drop": True, "when": "after"})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(server.base_url + "/chats", json={"message": "sent into the void"},
                      headers={"Authorization": "Bearer alice-token"}, timeout=10)
    assert "sent into the void" in [m["message"] for m in api.all_messages()]


def test_times_counts_and_fired(plane, api):
    plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "status": 503, "times": 2})
    assert [api.get("/chats").status_code for _ in range(4)] == [503, 503, 200, 200]
    assert plane.ok("GET", "/faults")[0]["fired"] == 2


def test_probability_is_seeded(plane, api):
    def run(seed):
        plane.ok("POST", "/reset", json={"seed": seed})
        plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "status": 503, "probability": 0.5})
        statuses = [api.get("/chats").status_code for _ in range(30)]
        assert plane.ok("GET", "/faults")[0]["fired"] == statuses.count(503)
        return statuses
    first = run(7)
    assert {200, 503} == set(first)
    assert run(7) == first
    assert run(8) != first


def test_a_fault_by_method_and_path(plane, api):
    plane.ok("POST", "/faults", 201, json={"method": "delete", "path": "/v1/chats/{chatId}", "status": 503})
    chat = api.create("undeletable")["chatId"]
    assert api.delete(f"/chats/{chat}", as_="alice").status_code == 503
    assert chat in {m["chatId"] for m in api.all_messages()}
    assert api.get("/chats").status_code == 200  # another method of another path
    assert api.post(f"/chats/{chat}/reactions", json={"reaction": ":thumbs_up:"}).status_code == 200


def test_a_fault_by_path_matches_any_spelling_of_it(plane, api, server):
    plane.ok("POST", "/faults", 201, json={"path": "/v1/chats", "status": 503})
    assert api.get("/chats").status_code == 503
    assert api.post("/chats", json={"message": "x"}).status_code == 503
    response = requests.get(server.root_url + "/V1/CHATS/", headers={"Authorization": "Bearer host-token"},
                            timeout=10)
    assert response.status_code == 503
    assert api.get("/chats/reactions").status_code == 200


def test_faults_are_listed_removed_and_cleared(plane, api):
    one = plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "status": 503})
    two = plane.ok("POST", "/faults", 201, json={"operationId": "createChat", "status": 429,
                                                 "headers": {"Retry-After": "1"}, "probability": 1})
    api.get("/chats")
    listed = plane.ok("GET", "/faults")
    assert [(f["id"], f["fired"]) for f in listed] == [(one["id"], 1), (two["id"], 0)]
    assert plane.delete(f"/faults/{one['id']}").status_code == 204
    assert api.get("/chats").status_code == 200
    assert [f["id"] for f in plane.ok("GET", "/faults")] == [two["id"]]
    assert_problem(plane.delete(f"/faults/{one['id']}"), 404)
    assert_problem(plane.delete("/faults/no-such-fault"), 404)
    assert plane.delete("/faults").status_code == 204
    assert plane.ok("GET", "/faults") == []
    assert api.post("/chats", json={"message": "fine"}).status_code == 200


def test_prefer_code_answers_that_status_and_changes_nothing(plane, api):
    response = api.post("/chats", as_="alice", json={"message": "never stored"},
                        headers={"Prefer": "code=503"})
    assert response.status_code == 503 and response.headers["Content-Type"] == PROBLEM
    assert "never stored" not in [m["message"] for m in api.all_messages()]
    response = api.get("/chats", headers={"Prefer": "code=429"})
    assert response.status_code == 429 and "Retry-After" in response.headers
    response = api.get("/chats", headers={"Prefer": "code=400"})
    assert response.status_code == 400 and response.json()["errors"]
    chat = api.messages()[0]["chatId"]
    assert api.delete(f"/chats/{chat}", headers={"Prefer": "code=404"}).status_code == 404
    assert chat in {m["chatId"] for m in api.all_messages()}


def test_prefer_code_still_needs_a_token(plane, api):
    # The real service refuses an unauthenticated request before anything else.
    response = api.get("/chats", token=None, headers={"Prefer": "code=200"})
    assert response.status_code == 401 and response.content == b""


def test_prefer_code_200_answers_a_conforming_example_and_changes_nothing(plane, api):
    before = api.all_messages()
    response = api.post("/chats", as_="alice", json={"message": "example only"},
                        headers={"Prefer": "code=200"})
    assert response.status_code == 200 and set(response.json()) == {"chatId", "message", "createdAt"}
    assert api.all_messages() == before


def test_prefer_an_undeclared_code_is_ignored_with_a_warning(plane, api):
    response = api.post("/chats", as_="alice", json={"message": "stored"}, headers={"Prefer": "code=418"})
    assert response.status_code == 200
    assert "stored" in [m["message"] for m in api.all_messages()]
    entry = plane.ok("GET", "/requests", params={"operationId": "createChat"})[0]
    assert any("418" in w for w in entry["warnings"])
