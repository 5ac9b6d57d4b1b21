"""The control plane's world over real HTTP: its document, reset, state, scenarios, sessions
and pins.

Every control response is checked against the plane's own document,
``GET /_mock/openapi.json`` (support's ``Plane``: status declared, content type, body schema
with OpenAPI 3.0 semantics); partner responses go through conftest's ``api``, which checks
them against openapi/chats.yaml. The fixtures (``plane``, ``busy``...) are in this folder's
conftest.py.
"""
from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
import yaml
from openapi_spec_validator import validate as validate_spec
from support import (
    SCENARIOS,
    ZED_AND_YAN,
    assert_problem,
    conform,
    control_document,
    document_with,
    partner_world,
    schema_errors,
    small_session,
)

from mockchats import worlds
from mockchats.aspnet.habits import parse_datetime

#: Every test starts and ends in the start world: faults, clock and journal never leak.
pytestmark = pytest.mark.usefixtures("fresh")


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
              and not rule.endpoint.startswith("dashboard.")  # the page (/_mock/ui) is no call
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
