"""The session hub over a plain WebSocket client: negotiate, the handshake, the session's
events as the mock publishes them, and the Closes the issue decides. The official clients
(Microsoft's, pysignalr, signalrcore) are driven in test_official_clients.py."""
from __future__ import annotations

import json

import pytest
import requests
import websocket
from hubs.clients import RawHub
from support import bearer, host_session, join, wallet_token

from mockchats.hubs.models import Closing

RS = "\x1e"
DEFAULT_SESSION = "d352dac2-a8a5-4498-942e-2de41966f3d3"


def control(api, method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(method, api.root_url + "/_mock" + path, timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response


def negotiate(api, token: str | None, version: int | None = 1, hub: str = "session") -> requests.Response:
    query = "" if version is None else f"?negotiateVersion={version}"
    headers = bearer(token) if token else {}
    return requests.post(f"{api.root_url}/v1/hubs/{hub}/negotiate{query}", headers=headers, timeout=10)


@pytest.fixture
def hubs(api):
    opened: list[RawHub] = []

    def connect(token: str, **kwargs) -> RawHub:
        hub = RawHub(api.root_url, token, **kwargs)
        opened.append(hub)
        return hub

    yield connect
    for hub in opened:
        hub.close()


# -- negotiate ----------------------------------------------------------------------------------
def test_negotiate_answers_version_1_with_a_token_and_the_websocket_transport(api):
    answer = negotiate(api, "host-token")
    assert answer.status_code == 200
    body = answer.json()
    assert list(body) == ["negotiateVersion", "connectionId", "connectionToken", "availableTransports"]
    assert body["negotiateVersion"] == 1 and len(body["connectionId"]) == 22
    assert {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]} in body["availableTransports"]


def test_negotiate_without_a_version_is_version_0_without_a_token(api):
    body = negotiate(api, "host-token", version=None).json()
    assert list(body) == ["negotiateVersion", "connectionId", "availableTransports"]
    assert body["negotiateVersion"] == 0


def test_a_non_integer_version_is_an_error_in_a_200(api):
    response = requests.post(f"{api.root_url}/v1/hubs/session/negotiate?negotiateVersion=x",
                             headers=bearer("host-token"), timeout=10)
    assert response.status_code == 200
    assert response.json() == {"error": "The client requested a non-integer protocol version."}


@pytest.mark.parametrize("token, challenge", [(None, "Bearer"), ("nonsense", 'Bearer error="invalid_token"')])
def test_negotiate_without_a_known_token_is_the_401_challenge(api, token, challenge):
    response = negotiate(api, token)
    assert response.status_code == 401 and response.content == b""
    assert response.headers["WWW-Authenticate"] == challenge


def test_a_wallet_token_cannot_connect(api):
    _, token = wallet_token(api)
    assert negotiate(api, token).status_code == 401


def test_an_unknown_hub_is_404(api):
    assert negotiate(api, "host-token", hub="nope").status_code == 404


def test_an_unknown_connection_id_is_404(api):
    url = api.root_url.replace("http://", "ws://") + "/v1/hubs/session?id=nope"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, header=["Authorization: Bearer host-token"], timeout=5)
    assert refused.value.status_code == 404


def test_one_connection_takes_one_socket(api, hubs):
    hub = hubs("host-token")
    key = hub.negotiated["connectionToken"]
    url = api.root_url.replace("http://", "ws://") + f"/v1/hubs/session?id={key}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, header=["Authorization: Bearer host-token"], timeout=5)
    assert refused.value.status_code == 409


def test_skip_negotiation_connects_with_the_token_on_the_upgrade(api):
    url = api.root_url.replace("http://", "ws://") + "/v1/hubs/session?access_token=alice-token"
    socket = websocket.create_connection(url, timeout=5)
    try:
        socket.send('{"protocol":"json","version":1}' + RS)
        assert socket.recv() == "{}" + RS
        join(api, DEFAULT_SESSION)
        event = json.loads(socket.recv().rstrip(RS))
        assert event["target"] == "UserAdded"
    finally:
        socket.close()


# -- the handshake and the protocol --------------------------------------------------------------------
def test_an_unsupported_protocol_is_refused_in_the_handshake(api, hubs):
    hub = hubs("host-token", handshake=False)
    hub.send({"protocol": "messagepack", "version": 1})
    assert hub.next() == {"error": "The protocol 'messagepack' is not supported."}
    assert hub.next() is None


def test_an_unknown_method_with_an_id_is_a_completion_error(hubs):
    hub = hubs("host-token")
    hub.send({"type": 1, "invocationId": "7", "target": "SendMessage", "arguments": []})
    assert hub.next_event() == {"type": 3, "invocationId": "7", "error": "Failed to invoke 'SendMessage' due to "
                                "an error on the server. HubException: Method does not exist."}


def test_several_messages_in_one_frame_are_each_answered(hubs):
    hub = hubs("host-token")
    hub.socket.send('{"type":6}' + RS + '{"type":1,"invocationId":"a","target":"X","arguments":[]}' + RS
                    + '{"type":1,"invocationId":"b","target":"Y","arguments":[]}' + RS)
    assert [hub.next_event()["invocationId"] for _ in range(2)] == ["a", "b"]


def test_a_message_across_frames_is_put_together(hubs):
    hub = hubs("host-token")
    hub.socket.send('{"type":1,"invocationId":"split",')
    hub.socket.send('"target":"X","arguments":[]}' + RS)
    assert hub.next_event()["invocationId"] == "split"


# -- the session's events -----------------------------------------------------------------------------
def test_a_join_is_a_user_added_to_the_sessions_connections(api, hubs):
    hub = hubs("host-token")
    joined = join(api, DEFAULT_SESSION)
    event = hub.event()
    assert event == {"sessionId": DEFAULT_SESSION, "eventType": "UserAdded",
                     "data": {"id": joined["credentials"]["id"], "role": "Client",
                              "name": joined["credentials"]["pseudonym"],
                              "address": joined["wallet"].address.lower()}}


def test_events_never_reach_another_session(api, hubs):
    created = host_session(api)
    other = hubs(created["credentials"]["token"])
    join(api, DEFAULT_SESSION)
    join(api, created["sessionId"])
    assert other.event()["sessionId"] == created["sessionId"]


def test_events_from_another_thread_reach_every_connection_in_order_then_the_close(fresh, hubs):
    # Given off the server's loop (this test's thread), each event crosses to it once for all the
    # connections; one written at once to a waiting socket, the next ones queued behind it, and
    # the Close given after them comes after them at every connection.
    clients = [hubs("host-token") for _ in range(5)]
    for n in range(30):
        envelope = {"sessionId": DEFAULT_SESSION, "eventType": "Numbered", "data": {"n": n}}
        assert fresh.hubs.send("session", DEFAULT_SESSION, "Numbered", envelope) == 5
    assert fresh.hubs.close(Closing(), session_id=DEFAULT_SESSION) == 5
    for client in clients:
        assert [client.event()["data"]["n"] for _ in range(30)] == list(range(30))
        assert client.next() == {"type": 7}
        assert client.next() is None


def test_joins_in_a_row_reach_every_connection_in_order(api, hubs):
    clients = [hubs("host-token") for _ in range(5)]
    joined = [join(api, DEFAULT_SESSION)["credentials"]["id"] for _ in range(3)]
    for client in clients:
        assert [client.event()["data"]["id"] for _ in range(3)] == joined


def test_a_kicked_user_hears_it_then_is_closed(api, hubs):
    created = host_session(api)
    joined = join(api, created["sessionId"])
    host, client = hubs(created["credentials"]["token"]), hubs(joined["credentials"]["token"])
    kicked = api.post("/session/current/kick", token=created["credentials"]["token"],
                      json={"userId": joined["credentials"]["id"]})
    assert kicked.status_code == 200
    for hub in (host, client):
        assert hub.event()["eventType"] == "UserRemoved"
    assert client.next() == {"type": 7}
    assert client.next() is None


def test_a_deleted_session_is_destroyed_then_closed(api, hubs):
    created = host_session(api)
    hub = hubs(created["credentials"]["token"])
    assert api.delete("/session/current", token=created["credentials"]["token"]).status_code == 200
    assert hub.event() == {"sessionId": created["sessionId"], "eventType": "SessionDestroyed",
                                          "data": {}}
    assert hub.next() == {"type": 7}
    assert hub.next() is None


def test_a_session_expires_when_the_clock_passes_it(api, hubs):
    created = host_session(api, {"rules": {"expiryDurationInSeconds": 60}})
    hub = hubs(created["credentials"]["token"])
    control(api, "POST", "/clock", json={"advanceSeconds": 61})
    assert hub.event()["eventType"] == "SessionExpired"
    assert hub.next() == {"type": 7}


def test_a_token_whose_session_is_gone_connects_then_is_told(api, hubs):
    created = host_session(api)
    assert api.delete("/session/current", token=created["credentials"]["token"]).status_code == 200
    hub = hubs(created["credentials"]["token"])
    assert hub.next() == {"type": 7, "error": "The session was not found."}


def test_a_reset_closes_every_connection_saying_so(api, hubs):
    hub = hubs("alice-token")
    control(api, "POST", "/reset")
    assert hub.next() == {"type": 7, "error": "The mock was reset."}
    assert hub.next() is None


def test_hub_traffic_is_journaled_apart_from_the_requests(api, hubs):
    hub = hubs("alice-token")
    join(api, DEFAULT_SESSION)
    hub.next_event()
    hub.send({"type": 1, "invocationId": "9", "target": "Hello", "arguments": []})
    hub.next_event()
    entries = control(api, "GET", "/requests", params={"hub": "session"}).json()
    actions = [e["action"] for e in entries]
    assert actions[:2] == ["negotiate", "connect"] and {"sent", "received"} <= set(actions)
    sent = next(e for e in entries if e["action"] == "sent")  # once per event, however many hear it
    assert sent["sessionId"] == DEFAULT_SESSION and sent["connectionId"] is None
    assert sent["detail"]["target"] == "UserAdded" and sent["detail"]["delivered"] == 1
    assert all(e["kind"] == "hub" for e in entries)
    assert all(e.get("kind") == "http" for e in control(api, "GET", "/requests").json())
