"""The control plane under ``/_mock``, over real HTTP against a real server.

Every control response is checked against the plane's own document,
``GET /_mock/openapi.json`` (status declared, content type, body schema with
OpenAPI 3.0 semantics); partner responses go through conftest's ``api``, which
checks them against openapi/chats.yaml. Wrong input must be a problem+json 400
with ``errors`` that changes nothing, an unknown id a problem+json 404.
"""
from __future__ import annotations

import copy
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import yaml
from openapi_spec_validator import validate as validate_spec
from support import (
    PROBLEM,
    SCENARIOS,
    ZED_AND_YAN,
    Plane,
    ServeProcess,
    assert_problem,
    conform,
    control_document,
    schema_errors,
)

import mockchats
from mockchats import Control, ControlError, worlds
from mockchats.aspnet.habits import parse_datetime

# -- fixtures -----------------------------------------------------------------------
#: Every test starts and ends in the start world: faults, clock and journal never leak.
pytestmark = pytest.mark.usefixtures("fresh")


@pytest.fixture
def plane(server) -> Plane:
    return Plane(server.root_url)


@pytest.fixture
def control(server) -> Control:
    return Control(server.root_url)


@pytest.fixture
def default_session(plane) -> str:
    return plane.ok("GET", "/state")["sessions"][0]["id"]


@pytest.fixture
def serve():
    """Start other mocks on their own servers: ``serve(mock)`` -> Server, stopped afterwards."""
    started = []

    def start(mock):
        started.append(mockchats.Server(mock.app, port=0).start())
        return started[-1]
    yield start
    for server in started:
        server.stop()


@pytest.fixture
def busy(plane, api, default_session):
    """A world with something in every part: a session, a fault, a frozen clock, a message, a pin
    and journal entries, so that "nothing changed" means something."""
    session = plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    message = api.create("before the wrong call")
    plane.ok("POST", f"/sessions/{default_session}/pins", 201, json={"chatId": message["chatId"]})
    plane.ok("POST", "/faults", 201, json={"operationId": "deleteReaction", "status": 503, "times": 3})
    plane.ok("POST", "/clock", json={"freeze": "2031-05-05T05:05:05Z"})
    api.get("/chats", params={"take": 3})
    return {"session": session, "message": message}


def document_with(*sessions) -> dict:
    return {"sessions": list(sessions)}


def small_session(session_id="s-1", token="zed-token", messages=("hello from the fixture",)) -> dict:
    return {"id": session_id,
            "users": [{"id": f"{session_id}-host", "name": "Zed", "role": "Host", "token": token}],
            "messages": [{"chatId": f"{session_id}-m{i}", "userId": f"{session_id}-host", "message": text,
                          "createdAt": f"2025-06-26T08:0{i}:00Z"} for i, text in enumerate(messages)]}


def test_a_control_route_with_another_method_is_405_listing_its_methods(server):
    response = requests.post(server.root_url + "/_mock/state", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PUT"
    assert response.content == b""


# -- the document itself -------------------------------------------------------------
def test_the_control_document_is_valid_openapi(plane):
    validate_spec(copy.deepcopy(plane.document))
    assert plane.document["openapi"].startswith("3.0")


def test_the_document_describes_every_control_route_and_nothing_else(server, mock):
    document = control_document(server.root_url)
    routes = {(method.lower(), re.sub(r"<(\w+)>", r"{\1}", rule.rule))
              for rule in mock.app.url_map.iter_rules() if rule.rule.startswith("/_mock")
              and rule.rule != "/_mock/openapi.json"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(method, path) for path, item in document["paths"].items() for method in item
                  if method in ("get", "put", "post", "delete", "patch")}
    assert routes == documented
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "401" in responses, (method, path)  # the admin token may be required
            if "requestBody" in operation:
                assert {"400", "415"} <= set(responses), (method, path)


def test_the_helper_validates_nullable_and_refs(plane):
    document = plane.document
    status = {"$ref": "#/components/schemas/Status"}
    good = {"auth": "open", "seed": 0, "scenario": None, "sessions": 1, "messages": 0}
    assert schema_errors(document, status, good) == []
    assert schema_errors(document, status, {**good, "seed": None})  # not nullable
    assert schema_errors(document, status, {**good, "auth": "loose"})
    fault = plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "delayMs": 1})
    assert fault["status"] is None and fault["times"] is None  # nullable fields, null, accepted
    assert schema_errors(document, {"$ref": "#/components/schemas/Fault"}, {**fault, "fired": None})
    assert schema_errors(document, {"type": "array", "items": {"$ref": "#/components/schemas/Fault"}},
                         [fault]) == []
    with pytest.raises(AssertionError, match="status not declared"):
        response = requests.Response()
        response.status_code = 418
        conform(document, "GET", "/_mock/clock", response)


# -- reset -----------------------------------------------------------------------------
def test_reset_returns_to_the_loaded_state_real_time_no_faults_no_journal(plane, api, busy):
    start = worlds.to_document(worlds.load())
    plane.ok("POST", "/reset", json={"auth": "strict"})
    plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "delayMs": 1})
    plane.ok("POST", "/clock", json={"freeze": "2030-01-01T00:00:00Z"})
    api.create("gone after the reset")
    status = plane.ok("POST", "/reset")
    assert status == {"auth": "open", "seed": 0, "scenario": None, "sessions": 1, "messages": 24}
    assert plane.ok("GET", "/state") == start
    assert [s["sessionId"] for s in plane.ok("GET", "/sessions")] == [start["sessions"][0]["id"]]
    assert plane.ok("GET", "/faults") == []
    assert plane.ok("GET", "/requests") == []
    clock = plane.ok("GET", "/clock")
    assert clock["frozen"] is False
    assert abs(parse_datetime(clock["now"]) - datetime.now(UTC)) < timedelta(seconds=5)
    assert api.get("/chats", token="someone-new").status_code == 200  # open again


def test_reset_with_an_empty_json_object_is_a_plain_reset(plane, api):
    api.create("gone")
    assert plane.ok("POST", "/reset", json={})["messages"] == 24


def test_reset_to_a_scenario_seed_and_auth_mode(plane, api):
    status = plane.ok("POST", "/reset", json={"scenario": "busy-room", "seed": 3, "auth": "strict"})
    assert status["scenario"] == "busy-room" and status["seed"] == 3 and status["auth"] == "strict"
    assert plane.ok("GET", "/state") == worlds.to_document(worlds.load_scenario("busy-room", seed=3))
    assert api.get("/chats", token="someone-new").status_code == 401
    other_seed = plane.ok("POST", "/reset", json={"scenario": "busy-room", "seed": 4})
    assert other_seed["auth"] == "open"
    assert plane.ok("GET", "/state") != worlds.to_document(worlds.load_scenario("busy-room", seed=3))
    plane.ok("POST", "/reset", json={"scenario": "busy-room", "seed": 3})
    assert plane.ok("GET", "/state") == worlds.to_document(worlds.load_scenario("busy-room", seed=3))
    assert plane.ok("POST", "/reset", json={"seed": 9})["seed"] == 9
    assert plane.ok("POST", "/reset")["scenario"] is None


def test_reset_to_an_unknown_scenario_is_404_and_changes_nothing(plane, busy):
    before = plane.world()
    problem = assert_problem(plane.post("/reset", json={"scenario": "no-such-world"}), 404)
    assert "busy-room" in problem["detail"]  # it lists the known ones
    assert plane.world() == before


# -- state -------------------------------------------------------------------------------
def test_state_is_the_fixture_document_of_the_whole_state(plane, api, default_session):
    state = plane.ok("GET", "/state")
    assert state == worlds.to_document(worlds.load())
    message = api.create("now in the state", as_="bob")
    session = plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    state = plane.ok("GET", "/state")
    assert [s["id"] for s in state["sessions"]] == [default_session, session["sessionId"]]
    listed = {m["chatId"]: m for m in state["sessions"][0]["messages"]}
    assert listed[message["chatId"]]["message"] == "now in the state"
    assert listed[message["chatId"]]["createdAt"] == message["createdAt"]


def test_put_state_replaces_everything(plane, api):
    document = document_with(small_session("s-1", "zed-token", ["one", "two"]),
                             small_session("s-2", "yan-token", ["three"]))
    status = plane.ok("PUT", "/state", json=document)
    assert status["sessions"] == 2 and status["messages"] == 3 and status["scenario"] is None
    assert api.get("/chats", as_="alice").status_code == 200  # open mode: a guest of the default session
    page = api.get("/chats", token="zed-token").json()
    assert [m["message"] for m in page["messages"]] == ["one", "two"]
    assert api.get("/chats", token="yan-token").json()["totalCount"] == 1
    state = plane.ok("GET", "/state")
    assert [s["id"] for s in state["sessions"]] == ["s-1", "s-2"]


def test_state_round_trips_even_when_it_is_large(plane):
    plane.ok("POST", "/scenarios/busy-room")
    state = plane.ok("GET", "/state")
    body = json.dumps(state).encode()
    assert len(body) > 1024 * 1024  # over the partner body limit: the plane takes it anyway
    plane.ok("POST", "/reset")
    status = plane.ok("PUT", "/state", data=body, headers={"Content-Type": "application/json"})
    assert status["messages"] == sum(len(s["messages"]) for s in state["sessions"])
    assert plane.ok("GET", "/state") == state


# -- scenarios ---------------------------------------------------------------------------
def test_the_shipped_scenarios_are_listed(plane):
    listed = plane.ok("GET", "/scenarios")
    assert [s["name"] for s in listed] == SCENARIOS
    assert all(s["description"].strip() for s in listed)


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_shipped_scenario_loads(plane, name):
    status = plane.ok("POST", f"/scenarios/{name}")
    assert status["scenario"] == name
    expected = worlds.to_document(worlds.load_scenario(name))
    assert plane.ok("GET", "/state") == expected
    assert status["sessions"] == len(expected["sessions"])
    assert status["messages"] == sum(len(s["messages"]) for s in expected["sessions"])
    assert plane.ok("POST", "/reset")["scenario"] is None
    assert plane.ok("GET", "/state") == worlds.to_document(worlds.load())


def test_a_scenario_loads_under_a_seed(plane):
    assert plane.ok("POST", "/scenarios/busy-room", json={"seed": 5})["seed"] == 5
    assert plane.ok("GET", "/state") == worlds.to_document(worlds.load_scenario("busy-room", seed=5))


def test_an_unknown_scenario_is_404_and_changes_nothing(plane, busy):
    before = plane.world()
    for name in ("no-such-world", "default.yaml", "busy room"):
        assert_problem(plane.post(f"/scenarios/{name}"), 404)
    assert plane.world() == before


def partner_world(messages: int = 5) -> dict:
    session = small_session("partner", "partner-token", ["the partner's own"])
    session["generate"] = {"messages": messages, "users": 2}
    return {"description": "A partner's world", "sessions": [session]}


def test_a_partner_scenario_by_path(plane, api, tmp_path):
    path = tmp_path / "partner.yaml"
    path.write_text(yaml.safe_dump(partner_world()), encoding="utf-8")
    status = plane.ok("POST", "/scenarios", json={"path": str(path), "seed": 2})
    assert status["scenario"] == str(path) and status["seed"] == 2 and status["messages"] == 6
    assert plane.ok("GET", "/state") == worlds.to_document(worlds.load(path, seed=2))
    assert api.get("/chats", token="partner-token").json()["totalCount"] == 6


def test_a_partner_scenario_as_a_document_follows_the_seed(plane, api):
    plane.ok("POST", "/scenarios", json={"document": partner_world(), "seed": 1})
    first = plane.ok("GET", "/state")
    assert first == worlds.to_document(worlds.build_sessions(partner_world(), seed=1))
    plane.ok("POST", "/scenarios", json={"document": partner_world(), "seed": 2})
    assert plane.ok("GET", "/state") != first
    status = plane.ok("POST", "/scenarios", json={"document": partner_world(), "seed": 1})
    assert status["scenario"] == "document"
    assert plane.ok("GET", "/state") == first
    assert api.get("/chats", token="partner-token").json()["totalCount"] == 6


# -- sessions and pins -------------------------------------------------------------------------
def test_create_session_answers_201_with_users_and_tokens(plane, api, default_session):
    created = plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    assert created["messages"] == 0 and created["sessionId"] != default_session
    assert [(u["name"], u["role"]) for u in created["users"]] == [("Zed", "Host"), ("Yan", "Client")]
    assert all(u["id"] and u["token"] for u in created["users"])
    assert len({u["token"] for u in created["users"]}) == 2
    listed = plane.ok("GET", "/sessions")
    assert [s["sessionId"] for s in listed] == [default_session, created["sessionId"]]
    assert listed[1] == created
    assert listed[0]["messages"] == 24
    assert {u["token"] for u in listed[0]["users"]} == {"host-token", "alice-token", "bob-token"}


def test_a_new_session_is_isolated(plane, api):
    created = plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    zed, yan = (u["token"] for u in created["users"])
    assert api.get("/chats", token=zed).json() == {"totalCount": 0, "messages": []}
    mine = api.post("/chats", token=zed, json={"message": "only here"}).json()
    assert [m["message"] for m in api.get("/chats", token=yan).json()["messages"]] == ["only here"]
    # The default session's users see none of it, and its ids are unknown to them.
    assert mine["chatId"] not in {m["chatId"] for m in api.all_messages("host")}
    assert api.delete(f"/chats/{mine['chatId']}", as_="host").status_code == 404
    assert api.post(f"/chats/{mine['chatId']}/reactions", as_="alice",
                    json={"reaction": ":thumbs_up:"}).status_code == 404
    assert api.get("/chats/reactions", as_="alice", params={"chatIds": mine["chatId"]}).json() == []
    # ...and the new session's users none of the default session's.
    default_chat = api.messages("host")[0]["chatId"]
    assert api.delete(f"/chats/{default_chat}", token=zed).status_code == 404
    assert api.get("/chats", token=zed).json()["totalCount"] == 1
    assert plane.ok("GET", "/sessions")[1]["messages"] == 1


def test_pin_a_message_then_the_host_unpins_it(plane, api, default_session):
    message = api.create("pin me", as_="bob")
    pin = plane.ok("POST", f"/sessions/{default_session}/pins", 201, json={"chatId": message["chatId"]})
    assert pin["chatId"] == message["chatId"] and pin["pinId"]
    shown = {m["chatId"]: m for m in api.all_messages()}[message["chatId"]]
    assert shown["pinned"] == {"id": pin["pinId"]}
    again = plane.ok("POST", f"/sessions/{default_session}/pins", 201, json={"chatId": message["chatId"]})
    assert again == pin  # pinning twice keeps the first pin
    assert api.delete(f"/chats/{message['chatId']}/pins/{pin['pinId']}", as_="alice").status_code == 403
    assert api.delete(f"/chats/{message['chatId']}/pins/{pin['pinId']}", as_="host").status_code == 200
    assert {m["chatId"]: m for m in api.all_messages()}[message["chatId"]]["pinned"] is None


def test_pin_in_a_new_session(plane, api):
    created = plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    zed, yan = (u["token"] for u in created["users"])
    chat = api.post("/chats", token=yan, json={"message": "pin me too"}).json()["chatId"]
    pin = plane.ok("POST", f"/sessions/{created['sessionId']}/pins", 201, json={"chatId": chat})
    assert api.get("/chats", token=yan).json()["messages"][0]["pinned"] == {"id": pin["pinId"]}
    assert api.delete(f"/chats/{chat}/pins/{pin['pinId']}", as_="host").status_code == 404  # other session
    assert api.delete(f"/chats/{chat}/pins/{pin['pinId']}", token=zed).status_code == 200
    assert api.get("/chats", token=yan).json()["messages"][0]["pinned"] is None


def test_pin_with_unknown_session_or_message_is_404_and_changes_nothing(plane, api, busy, default_session):
    other = busy["session"]["sessionId"]
    before = plane.world()
    for session_id, chat_id in [("no-such-session", busy["message"]["chatId"]),
                                (default_session, "no-such-message"),
                                (other, busy["message"]["chatId"])]:  # a message of another session
        assert_problem(plane.post(f"/sessions/{session_id}/pins", json={"chatId": chat_id}), 404)
    assert plane.world() == before


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


# -- wrong input: 400, problem+json with errors, nothing changed ------------------------------
BAD = [
    # reset
    ("POST", "/reset", {"json": []}),
    ("POST", "/reset", {"json": None, "data": "null", "headers": {"Content-Type": "application/json"}}),
    ("POST", "/reset", {"json": {"seed": "1"}}),
    ("POST", "/reset", {"json": {"seed": 1.5}}),
    ("POST", "/reset", {"json": {"auth": "loose"}}),
    ("POST", "/reset", {"json": {"scenario": 5}}),
    ("POST", "/reset", {"json": {"reset": True}}),
    ("POST", "/reset", {"data": "{\"seed\": ", "headers": {"Content-Type": "application/json"}}),
    ("POST", "/reset", {"data": b"\xff\xfe", "headers": {"Content-Type": "application/json"}}),
    # state
    ("PUT", "/state", {}),
    ("PUT", "/state", {"json": {}}),
    ("PUT", "/state", {"json": {"sessions": []}}),
    ("PUT", "/state", {"json": {"sessions": [{"id": "s", "users": []}]}}),
    ("PUT", "/state", {"json": document_with(small_session("s-1"), small_session("s-1", "other-token"))}),
    ("PUT", "/state", {"json": document_with(small_session("s-1"), small_session("s-2", "zed-token"))}),
    ("PUT", "/state", {"json": document_with(
        small_session("s-1"), {**small_session("s-2", "t2"), "messages": [
            {"chatId": "m", "userId": "s-1-host", "message": "x", "createdAt": "2025-06-26T08:00:00Z"}]})}),
    ("PUT", "/state", {"json": document_with({**small_session("s-1"), "messages": [
        {"chatId": "m", "userId": "s-1-host", "message": "x", "createdAt": "2025-02-30T08:00:00Z"}]})}),
    ("PUT", "/state", {"data": "{", "headers": {"Content-Type": "application/json"}}),
    # scenarios
    ("POST", "/scenarios/default", {"json": {"seed": "1"}}),
    ("POST", "/scenarios/default", {"json": {"name": "busy-room"}}),
    ("POST", "/scenarios", {}),
    ("POST", "/scenarios", {"json": {}}),
    ("POST", "/scenarios", {"json": {"seed": 1}}),
    ("POST", "/scenarios", {"json": {"path": ""}}),
    ("POST", "/scenarios", {"json": {"path": "/no/such/file.yaml"}}),
    ("POST", "/scenarios", {"json": {"path": "/x.yaml", "document": document_with(small_session())}}),
    ("POST", "/scenarios", {"json": {"document": {"sessions": "none"}}}),
    ("POST", "/scenarios", {"json": {"document": document_with(small_session("s-1"), small_session("s-1"))}}),
    # sessions and pins
    ("POST", "/sessions", {}),
    ("POST", "/sessions", {"json": {}}),
    ("POST", "/sessions", {"json": {"users": []}}),
    ("POST", "/sessions", {"json": {"users": [{"name": "Zed", "role": "Admin"}]}}),
    ("POST", "/sessions", {"json": {"users": [{"name": "", "role": "Host"}]}}),
    ("POST", "/sessions", {"json": {"users": [{"name": "Zed"}]}}),
    ("POST", "/sessions", {"json": {"users": [{"name": "Zed", "role": "Host", "token": "mine"}]}}),
    ("POST", "/sessions", {"json": {"users": ZED_AND_YAN, "messages": 3}}),
    ("POST", "/sessions/{default}/pins", {}),
    ("POST", "/sessions/{default}/pins", {"json": {}}),
    ("POST", "/sessions/{default}/pins", {"json": {"chatId": ""}}),
    ("POST", "/sessions/{default}/pins", {"json": {"chatId": 5}}),
    # faults
    ("POST", "/faults", {}),
    ("POST", "/faults", {"json": {}}),
    ("POST", "/faults", {"json": {"status": 503}}),
    ("POST", "/faults", {"json": {"operationId": "createChat"}}),
    ("POST", "/faults", {"json": {"operationId": "createChat", "body": {"x": 1}}}),
    ("POST", "/faults", {"json": {"operationId": "noSuchOperation", "status": 503}}),
    ("POST", "/faults", {"json": {"method": "FETCH", "status": 503}}),
    ("POST", "/faults", {"json": {"path": "chats", "status": 503}}),
    ("POST", "/faults", {"json": {"path": "/chats", "status": 503}}),
    ("POST", "/faults", {"json": {"path": "/v1/nowhere", "status": 503}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 100}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 600}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": "503"}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 503, "when": "during"}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 503, "times": 0}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 503, "probability": 1.5}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "delayMs": -1}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "delayMs": 60001}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "drop": "yes"}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 429, "headers": {"Retry-After": 5}}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 429,
                                  "headers": {"Retry-After": "1\r\nX-Injected: yes"}}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 429, "headers": {"Connection": "close"}}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 429, "headers": {"Bad Name": "x"}}}),
    ("POST", "/faults", {"json": {"operationId": "listChats", "status": 503, "retry": True}}),
    # clock
    ("POST", "/clock", {}),
    ("POST", "/clock", {"json": {}}),
    ("POST", "/clock", {"json": {"freeze": "tomorrow"}}),
    ("POST", "/clock", {"json": {"freeze": "2030-01-01T00:00:00"}}),
    ("POST", "/clock", {"json": {"freeze": "0001-01-01T00:00:00+01:00"}}),
    ("POST", "/clock", {"json": {"freeze": ""}}),
    ("POST", "/clock", {"json": {"advanceSeconds": -1}}),
    ("POST", "/clock", {"json": {"advanceSeconds": "90"}}),
    ("POST", "/clock", {"json": {"advanceSeconds": 1e15}}),
    ("POST", "/clock", {"json": {"advanceSeconds": 3e11}}),
    ("POST", "/clock", {"json": {"real": False}}),
    ("POST", "/clock", {"json": {"freeze": "now", "real": True}}),
    # journal
    ("GET", "/requests?limit=x", {}),
    ("GET", "/requests?limit=-1", {}),
    ("GET", "/requests?limit=1.5", {}),
]


@pytest.mark.parametrize("method, path, kwargs", BAD,
                         ids=[f"{m} {p} {json.dumps(k.get('json', k.get('data')), default=str)[:60]}"
                              for m, p, k in BAD])
def test_wrong_input_is_400_and_changes_nothing(plane, api, busy, default_session, method, path, kwargs):
    before = plane.world()
    response = plane.request(method, path.format(default=default_session), **kwargs)
    assert_problem(response, 400, errors=True)
    assert plane.world() == before
    # The partner API behaves as before too: the fault is still armed, the clock still frozen.
    assert api.create("after")["createdAt"] == "2031-05-05T05:05:05Z"


def test_a_wrong_reset_keeps_the_auth_mode(plane, api):
    plane.ok("POST", "/reset", json={"auth": "strict"})
    assert_problem(plane.post("/reset", json={"auth": "loose"}), 400, errors=True)
    assert_problem(plane.post("/reset", json={"auth": "open", "seed": "x"}), 400, errors=True)
    assert api.get("/chats", token="someone-new").status_code == 401


NOT_JSON = [
    ("POST", "/reset", "seed=1", "application/x-www-form-urlencoded"),
    ("PUT", "/state", "{}", "text/plain"),
    ("POST", "/scenarios/default", "{}", "text/plain"),
    ("POST", "/scenarios", "path: x.yaml", "application/yaml"),
    ("POST", "/sessions", "{\"users\": []}", "text/plain"),
    ("POST", "/sessions/{default}/pins", "{\"chatId\": \"x\"}", None),
    ("POST", "/faults", "{\"operationId\": \"listChats\", \"status\": 503}", "text/json-ish"),
    ("POST", "/clock", "{\"real\": true}", "text/plain"),
]


@pytest.mark.parametrize("method, path, data, content_type", NOT_JSON)
def test_a_body_that_is_not_json_is_415_and_changes_nothing(plane, busy, default_session, method, path,
                                                            data, content_type):
    before = plane.world()
    headers = {"Content-Type": content_type} if content_type else {}
    response = plane.request(method, path.format(default=default_session), data=data.encode(), headers=headers)
    assert_problem(response, 415)
    assert plane.world() == before


# -- the admin token --------------------------------------------------------------------------
CALLS = [("GET", ""), ("POST", "/pins"), ("POST", "/reset"), ("GET", "/state"), ("PUT", "/state"),
         ("GET", "/scenarios"),
         ("POST", "/scenarios/default"), ("POST", "/scenarios"), ("GET", "/sessions"), ("POST", "/sessions"),
         ("POST", "/sessions/x/pins"), ("GET", "/faults"), ("POST", "/faults"), ("DELETE", "/faults"),
         ("DELETE", "/faults/x"), ("GET", "/clock"), ("POST", "/clock"), ("GET", "/requests"),
         ("DELETE", "/requests")]


def test_an_admin_token_guards_every_control_call(serve):
    mock = mockchats.build(admin_token="T")
    server = serve(mock)
    admin = Plane(server.root_url, token="T")
    assert requests.get(server.root_url + "/_mock/openapi.json", timeout=10).status_code == 401
    assert {(m.upper(), p[len("/_mock"):].replace("{session_id}", "x").replace("{fault_id}", "x")
                                         .replace("{name}", "default"))
            for p, item in admin.document["paths"].items() for m in item} == set(CALLS)
    admin.ok("POST", "/faults", 201, json={"operationId": "listChats", "delayMs": 1})
    before = admin.world()
    for token in (None, "wrong", "t"):
        plane = requests.Session()
        if token:
            plane.headers["Authorization"] = f"Bearer {token}"
        for method, path in CALLS:
            response = plane.request(method, server.root_url + "/_mock" + path, json={}, timeout=10)
            conform(admin.document, method, "/_mock" + path, response)
            assert response.status_code == 401, (token, method, path)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.content == b""
    basic = requests.get(server.root_url + "/_mock/state", headers={"Authorization": "Basic VDpU"}, timeout=10)
    assert basic.status_code == 401
    assert admin.world() == before
    # The partner API does not need it, and ignores the admin token's absence.
    response = requests.get(server.base_url + "/chats", headers={"Authorization": "Bearer alice-token"},
                            timeout=10)
    assert response.status_code == 200
    assert admin.ok("POST", "/reset")["messages"] == 24
    assert admin.ok("GET", "/faults") == []


def test_the_client_sends_the_admin_token(serve):
    server = serve(mockchats.build(admin_token="T"))
    assert Control(server.root_url, admin_token="T").faults() == []
    with pytest.raises(ControlError) as refused:
        Control(server.root_url).faults()
    assert refused.value.status == 401
    with pytest.raises(ControlError):
        Control(server.root_url, admin_token="other").reset()


def test_the_cli_takes_an_admin_token_and_a_journal_size():
    with ServeProcess("--admin-token", "T", "--journal-size", "3") as process:
        root = process.base_url[: -len("/v1")]
        assert requests.get(root + "/_mock/state", timeout=10).status_code == 401
        assert requests.get(root + "/_mock/state", headers={"Authorization": "Bearer wrong"},
                            timeout=10).status_code == 401
        admin = Plane(root, token="T")
        for _ in range(5):
            response = requests.get(process.base_url + "/chats", headers={"Authorization": "Bearer alice-token"},
                                    timeout=10)
            assert response.status_code == 200
        assert len(admin.ok("GET", "/requests")) == 3
        control = Control(root, admin_token="T")
        assert control.reset()["messages"] == 24
        assert control.requests() == []
        code, _, _ = process.stop()
        assert code == 0


# -- the Python client -------------------------------------------------------------------------
def test_the_client_has_one_method_per_call(control, api, server, tmp_path, default_session):
    assert [s["name"] for s in control.scenarios()] == SCENARIOS
    assert control.load_scenario("empty")["scenario"] == "empty"
    assert control.load_scenario("busy-room", seed=2)["seed"] == 2
    assert control.reset()["scenario"] is None
    assert control.reset(seed=3, scenario="empty", auth="strict") == {
        "auth": "strict", "seed": 3, "scenario": "empty", "sessions": 1,
        "messages": sum(len(s.messages) for s in worlds.load_scenario("empty"))}
    control.reset()
    state = control.state()
    assert state == worlds.to_document(worlds.load())
    assert control.replace_state(document_with(small_session()))["messages"] == 1
    control.replace_state(state)
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump(partner_world()), encoding="utf-8")
    assert control.load_own_scenario(path=str(path), seed=4)["messages"] == 6
    assert control.load_own_scenario(document=partner_world(1))["messages"] == 2
    control.reset()
    session = control.create_session(ZED_AND_YAN)
    assert [s["sessionId"] for s in control.sessions()] == [default_session, session["sessionId"]]
    chat = api.create("pinned by the client")["chatId"]
    assert control.pin(default_session, chat)["chatId"] == chat
    fault = control.add_fault(operationId="createChat", status=503, times=1, when="after")
    assert [f["id"] for f in control.faults()] == [fault["id"]]
    assert control.remove_fault(fault["id"]) is None
    control.add_fault(operationId="listChats", delayMs=1)
    assert control.clear_faults() is None and control.faults() == []
    assert control.freeze_clock("2030-01-01T00:00:00Z") == {"now": "2030-01-01T00:00:00Z", "frozen": True}
    assert control.advance_clock(60)["now"] == "2030-01-01T00:01:00Z"
    assert control.clock()["frozen"] is True
    assert control.freeze_clock()["frozen"] is True
    assert control.real_clock()["frozen"] is False
    control.clear_requests()
    api.get("/chats", params={"take": 1})
    api.create("x")
    assert [e["operationId"] for e in control.requests()] == ["listChats", "createChat"]
    assert len(control.requests(operation_id="createChat", method="post", path="/v1/chats", limit=1)) == 1
    assert control.clear_requests() is None and control.requests() == []
    assert control.openapi() == control_document(server.root_url)


def test_the_client_raises_control_errors(control):
    with pytest.raises(ControlError) as missing:
        control.load_scenario("no-such-world")
    assert missing.value.status == 404 and missing.value.body["status"] == 404
    with pytest.raises(ControlError) as wrong:
        control.add_fault(operationId="listChats")
    assert wrong.value.status == 400 and wrong.value.body["errors"]
    with pytest.raises(ControlError) as unknown:
        control.remove_fault("fault-999")
    assert unknown.value.status == 404
    with pytest.raises(ControlError) as odd:
        control.remove_fault("a?b#c")  # quoted: still a fault id, not a query
    assert odd.value.status == 404 and "a?b#c" in odd.value.body["detail"]
    with pytest.raises(ControlError) as bad_session:
        control.pin("no/such?session", "x")
    assert bad_session.value.status == 404


# -- edges found in review -------------------------------------------------------------
def test_partner_requests_during_resets_and_scenario_loads_never_get_a_500(plane, server):
    """A reset swapping the world between authentication and the store must not be a 500."""

    statuses: list[int] = []
    stop = threading.Event()

    def partner():
        http = requests.Session()
        headers = {"Authorization": "Bearer host-token"}
        while not stop.is_set():
            statuses.append(http.get(server.base_url + "/chats", headers=headers, timeout=10).status_code)
            statuses.append(http.post(server.base_url + "/chats", json={"message": "hi"},
                                      headers=headers, timeout=10).status_code)

    workers = [threading.Thread(target=partner) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        for round_ in range(60):
            name = ("empty", "pinned-and-reacted")[round_ % 2]
            assert plane.post(f"/scenarios/{name}").status_code == 200
            assert plane.post("/reset").status_code == 200
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert statuses and set(statuses) <= {200, 401}, sorted(set(statuses))


def test_a_running_clock_advanced_to_the_end_of_time_keeps_answering(plane, api):
    now = datetime.now(UTC)
    seconds = (datetime(9999, 12, 31, 23, 59, 58, tzinfo=UTC) - now).total_seconds()
    assert plane.post("/clock", json={"advanceSeconds": seconds}).status_code == 200
    time.sleep(2.5)
    assert plane.get("/clock").status_code == 200
    assert api.post("/chats", json={"message": "at the end of time"}).status_code == 200


@pytest.mark.parametrize("path, body", [
    ("/clock", '{"advanceSeconds": NaN}'),
    ("/clock", '{"advanceSeconds": Infinity}'),
    ("/faults", '{"operationId": "listChats", "status": 503, "probability": NaN}'),
])
def test_non_finite_numbers_are_not_json(plane, path, body):
    before = plane.ok("GET", "/faults"), plane.ok("GET", "/clock")["frozen"]
    response = plane.post(path, data=body, headers={"Content-Type": "application/json"})
    assert_problem(response, 400, errors=True)
    assert (plane.ok("GET", "/faults"), plane.ok("GET", "/clock")["frozen"]) == before


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "-1", "1.5"])
def test_a_limit_that_is_not_ascii_digits_is_refused(plane, limit):
    assert_problem(plane.get(f"/requests?limit={limit}"), 400, errors=True)


def test_an_after_fault_does_not_hide_a_refusal_nor_get_used_up_by_one(plane, api):
    fault = plane.ok("POST", "/faults", 201, json={"operationId": "deleteChat", "status": 503,
                                                    "when": "after", "times": 1})
    assert api.delete("/chats/no-such-message").status_code == 404
    assert plane.ok("GET", "/faults")[0]["fired"] == 0
    chat = api.create("doomed")["chatId"]
    assert api.delete(f"/chats/{chat}", as_="alice").status_code == 503
    assert chat not in {m["chatId"] for m in api.all_messages()}  # deleted all the same
    assert plane.ok("GET", "/faults")[0]["id"] == fault["id"]


def test_a_scenario_document_over_one_mebibyte_loads(plane):
    plane.ok("POST", "/scenarios/busy-room")
    document = plane.ok("GET", "/state")
    assert len(json.dumps(document)) > 1024 * 1024
    plane.ok("POST", "/reset")
    status = plane.ok("POST", "/scenarios", json={"document": document})
    assert status["messages"] == sum(len(s["messages"]) for s in document["sessions"])
