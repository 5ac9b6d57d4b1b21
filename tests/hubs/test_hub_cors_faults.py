"""CORS and injected faults on the session hub's negotiate and transport requests, over real HTTP:
the same rule as the REST API (one module, core/cors.py), and faults matched by method and path."""
from __future__ import annotations

import threading
import time

import pytest
import requests
import websocket
from support import bearer

from mockchats.serving.asgi import drop_connection

ORIGIN = "http://localhost:5173"
RS = "\x1e"
HOST = bearer("host-token")


def hub_url(api) -> str:
    return api.root_url + "/v1/hubs/session"


def negotiate(api, **headers) -> requests.Response:
    return requests.post(hub_url(api) + "/negotiate?negotiateVersion=1", headers={**HOST, **headers}, timeout=10)


def assert_cors(response: requests.Response) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Vary"] == "Origin"
    assert response.headers["Access-Control-Expose-Headers"] == "WWW-Authenticate, Retry-After"


@pytest.fixture
def dropping(mock):
    """The hubs' drop, as the served mock carries it out (passed to HubServer where it is built)."""
    server = mock.hub_server
    saved = server.drop_connection
    server.drop_connection = saved or (lambda scope: drop_connection(scope.get("client"), scope.get("server")))
    yield server
    server.drop_connection = saved


# -- CORS ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/negotiate?negotiateVersion=1", "?id=x", "/negotiate", ""])
def test_a_preflight_is_answered_before_anything_else(api, path):
    response = requests.options(hub_url(api) + path, timeout=10, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, x-signalr-user-agent"})
    assert response.status_code == 204 and response.content == b""
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, x-signalr-user-agent"
    assert "Access-Control-Expose-Headers" not in response.headers


def test_negotiate_answers_a_page_of_any_origin(api):
    response = negotiate(api, Origin=ORIGIN)
    assert response.status_code == 200
    assert_cors(response)


def test_a_refused_negotiate_still_says_cors_so_the_page_reads_the_401(api):
    response = requests.post(hub_url(api) + "/negotiate", headers={"Origin": ORIGIN}, timeout=10)
    assert response.status_code == 401
    assert_cors(response)


def test_the_event_stream_and_the_polls_say_cors(api):
    key = negotiate(api).json()["connectionToken"]
    stream = requests.get(hub_url(api) + f"?id={key}", stream=True, timeout=10,
                          headers={"Origin": ORIGIN, "Accept": "text/event-stream", **HOST})
    try:
        assert stream.status_code == 200
        assert_cors(stream)
        sent = requests.post(hub_url(api) + f"?id={key}", data=b'{"protocol":"json","version":1}' + RS.encode(),
                             headers={"Origin": ORIGIN, **HOST}, timeout=10)
        assert sent.status_code == 200
        assert_cors(sent)
    finally:
        stream.close()
    key = negotiate(api).json()["connectionToken"]
    poll = requests.get(hub_url(api) + f"?id={key}&_=1", headers={"Origin": ORIGIN, **HOST}, timeout=10)
    assert poll.status_code == 200
    assert_cors(poll)
    deleted = requests.delete(hub_url(api) + f"?id={key}", headers={"Origin": ORIGIN, **HOST}, timeout=10)
    assert deleted.status_code == 202
    assert_cors(deleted)


def test_no_cors_without_an_origin(api):
    response = negotiate(api)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_cors_when_the_mock_turns_it_off(api, fresh):
    fresh.cors = False
    try:
        assert "Access-Control-Allow-Origin" not in negotiate(api, Origin=ORIGIN).headers
        preflight = requests.options(hub_url(api) + "/negotiate", timeout=10, headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 405 and "Access-Control-Allow-Origin" not in preflight.headers
    finally:
        fresh.cors = True


# -- faults --------------------------------------------------------------------------------------------
def test_a_status_fault_makes_negotiate_answer_it_as_the_rest_faults_do(api, fresh):
    fresh.faults.add(method="POST", path="/v1/hubs/session/negotiate", status=503, times=1)
    refused = negotiate(api)
    assert refused.status_code == 503
    assert refused.headers["Content-Type"] == "application/problem+json; charset=utf-8"
    problem = refused.json()
    assert problem["status"] == 503 and problem["title"]
    assert requests.get(api.root_url + "/_mock/hubs/connections", timeout=10).json() == []
    assert negotiate(api).status_code == 200  # it fired once


def test_a_fault_with_a_body_and_headers_answers_them(api, fresh):
    fresh.faults.add(method="POST", path="/V1/Hubs/Session/Negotiate", status=429, body={"why": "busy"},
                     headers={"Retry-After": "3"})
    refused = negotiate(api, Origin=ORIGIN)
    assert refused.status_code == 429 and refused.json() == {"why": "busy"}
    assert refused.headers["Retry-After"] == "3"
    assert_cors(refused)


def test_a_fault_for_another_path_or_method_leaves_negotiate_alone(api, fresh):
    fresh.faults.add(method="GET", path="/v1/hubs/session/negotiate", status=503)
    fresh.faults.add(method="POST", path="/v1/chats", status=503)
    assert negotiate(api).status_code == 200


def test_an_after_fault_hides_a_negotiate_that_happened(api, fresh):
    fresh.faults.add(method="POST", path="/v1/hubs/session/negotiate", status=500, when="after", times=1)
    assert negotiate(api).status_code == 500


def test_a_delay_fault_holds_negotiate_only(api, fresh):
    fresh.faults.add(method="POST", path="/v1/hubs/session/negotiate", delay_ms=800, times=1)
    answers: list = []
    thread = threading.Thread(target=lambda: answers.append((negotiate(api), time.monotonic())))
    started = time.monotonic()
    thread.start()
    time.sleep(0.2)
    # The event loop is not blocked: the REST API answers while negotiate is held.
    assert requests.get(api.root_url + "/openapi.json", timeout=10).status_code == 200
    assert time.monotonic() - started < 0.7
    thread.join(10)
    ((answer, ended),) = answers
    assert answer.status_code == 200 and ended - started >= 0.75


def test_a_drop_fault_cuts_negotiate_with_no_answer(api, fresh, dropping):
    fresh.faults.add(method="POST", path="/v1/hubs/session/negotiate", drop=True, times=1)
    with pytest.raises(requests.ConnectionError):
        negotiate(api)
    assert negotiate(api).status_code == 200


def test_faults_strike_the_transport_requests_by_method(api, fresh):
    key = negotiate(api).json()["connectionToken"]
    fresh.faults.add(method="GET", path="/v1/hubs/session", status=503, times=1)
    assert requests.get(hub_url(api) + f"?id={key}&_=1", headers=HOST, timeout=10).status_code == 503
    first = requests.get(hub_url(api) + f"?id={key}&_=2", headers=HOST, timeout=10)
    assert first.status_code == 200 and first.content == b""
    fresh.faults.add(method="POST", path="/v1/hubs/session", status=500, times=1)
    assert requests.post(hub_url(api) + f"?id={key}", data=b"{}", headers=HOST, timeout=10).status_code == 500


def test_a_fault_refuses_a_websocket_upgrade(api, fresh):
    fresh.faults.add(method="GET", path="/v1/hubs/session", status=503, times=1)
    url = api.root_url.replace("http://", "ws://") + "/v1/hubs/session?access_token=host-token"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5)
    assert refused.value.status_code == 503
    socket = websocket.create_connection(url, timeout=5)  # it fired once
    socket.close()


def test_the_control_plane_takes_a_fault_on_a_hubs_negotiate(api):
    added = requests.post(api.root_url + "/_mock/faults", timeout=10,
                          json={"method": "POST", "path": "/v1/hubs/session/negotiate", "status": 503})
    assert added.status_code == 201, added.text
    refused = requests.post(api.root_url + "/v1/hubs/session/negotiate?negotiateVersion=1",
                            headers={"Authorization": "Bearer host-token"}, timeout=10)
    assert refused.status_code == 503


def test_a_fault_naming_an_operation_and_a_hub_path_is_refused(api):
    refused = requests.post(api.root_url + "/_mock/faults", timeout=10,
                            json={"operationId": "listChats", "path": "/v1/hubs/session", "status": 503})
    assert refused.status_code == 400
    assert "hub's path" in refused.json()["detail"]
