"""The control plane refusing over real HTTP: wrong input is a problem+json 400 with
``errors`` that changes nothing, an unknown id a problem+json 404; the admin token guards
every call; and the edges found in review.

Every control response is checked against the plane's own document,
``GET /_mock/openapi.json`` (support's ``Plane``: status declared, content type, body schema
with OpenAPI 3.0 semantics); partner responses go through conftest's ``api``, which checks
them against openapi/chats.yaml. The fixtures (``plane``, ``busy``...) are in this folder's
conftest.py.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from support import (
    ZED_AND_YAN,
    Plane,
    ServeProcess,
    assert_problem,
    conform,
    document_with,
    small_session,
)

import mockchats
from mockchats import Control, ControlError

#: Every test starts and ends in the start world: faults, clock and journal never leak.
pytestmark = pytest.mark.usefixtures("fresh")


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
         ("POST", "/sessions/x/pins"), ("GET", "/sessions/x/messages"), ("DELETE", "/sessions/x/messages/x"),
         ("DELETE", "/sessions/x/pins/x"), ("POST", "/wallet-tokens"), ("GET", "/api-keys"),
         ("GET", "/hubs/connections"), ("POST", "/hubs/events"), ("POST", "/hubs/close"), ("GET", "/hubs/events"),
         ("GET", "/faults"), ("POST", "/faults"), ("DELETE", "/faults"),
         ("DELETE", "/faults/x"), ("GET", "/clock"), ("POST", "/clock"), ("GET", "/requests"),
         ("DELETE", "/requests"), ("GET", "/requests/stream")]


def test_an_admin_token_guards_every_control_call(serve):
    mock = mockchats.build(admin_token="T")
    server = serve(mock)
    admin = Plane(server.root_url, token="T")
    assert requests.get(server.root_url + "/_mock/openapi.json", timeout=10).status_code == 401
    assert {(m.upper(), p[len("/_mock"):].replace("{session_id}", "x").replace("{fault_id}", "x")
                                         .replace("{chat_id}", "x").replace("{pin_id}", "x")
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
