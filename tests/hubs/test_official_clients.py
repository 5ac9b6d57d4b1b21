"""The session hub with the clients partners use: Microsoft's ``@microsoft/signalr`` (run by
Node), ``pysignalr`` and ``signalrcore``, each connecting as a partner's app would."""
from __future__ import annotations

import pytest
import requests
from hubs.clients import CLIENTS, JsClient, require_js_client
from support import host_session, join

DEFAULT_SESSION = "d352dac2-a8a5-4498-942e-2de41966f3d3"
EVENTS = ("UserAdded", "UserRemoved", "SessionExpired", "SessionDestroyed")


def hub_url(api) -> str:
    return api.root_url + "/v1/hubs/session"


def client(kind: str, api, token: str, **options):
    if kind == "js":
        require_js_client()
    return CLIENTS[kind](hub_url(api), token=token, on=EVENTS, **options)


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_each_client_hears_a_join_into_its_session(api, kind):
    with client(kind, api, "host-token") as hub:
        hub.wait_for("started")
        joined = join(api, DEFAULT_SESSION)
        event = hub.wait_for("event", "UserAdded")
        (envelope,) = event["args"]
        assert envelope["sessionId"] == DEFAULT_SESSION and envelope["eventType"] == "UserAdded"
        assert envelope["data"]["id"] == joined["credentials"]["id"]
        assert envelope["data"]["role"] == "Client"


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_each_client_hears_its_session_destroyed(api, kind):
    created = host_session(api)
    with client(kind, api, created["credentials"]["token"]) as hub:
        hub.wait_for("started")
        assert api.delete("/session/current", token=created["credentials"]["token"]).status_code == 200
        event = hub.wait_for("event", "SessionDestroyed")
        assert event["args"] == [{"sessionId": created["sessionId"], "eventType": "SessionDestroyed", "data": {}}]


def test_microsofts_client_is_refused_without_a_known_token(api):
    require_js_client()
    with JsClient(hub_url(api), token="nobody-knows-me") as hub:
        failed = hub.wait_for("error")
        assert failed["message"] == ("Failed to complete negotiation with the server: Error: Unauthorized: "
                                     "Status code '401'")


def test_microsofts_client_skips_negotiation_on_websockets(api):
    require_js_client()
    with JsClient(hub_url(api), token="alice-token", transport="websockets", skip_negotiation=True,
                  on=EVENTS) as hub:
        hub.wait_for("started")
        join(api, DEFAULT_SESSION)
        assert hub.wait_for("event", "UserAdded")["args"][0]["eventType"] == "UserAdded"


def test_microsofts_client_is_told_of_a_reset(api):
    require_js_client()
    with JsClient(hub_url(api), token="bob-token", on=EVENTS) as hub:
        hub.wait_for("started")
        assert requests.post(api.root_url + "/_mock/reset", timeout=10).status_code == 200
        assert hub.wait_for("closed")["error"] == "Server returned an error on close: The mock was reset."


def test_microsofts_client_reconnects_when_the_close_allows_it(api):
    require_js_client()
    with JsClient(hub_url(api), token="alice-token", auto_reconnect=True, on=EVENTS) as hub:
        first = hub.wait_for("started")
        closed = requests.post(api.root_url + "/_mock/hubs/close", json={"allowReconnect": True}, timeout=10)
        assert closed.json() == {"closed": 1}
        hub.wait_for("reconnecting")
        hub.wait_for("reconnected")
        listed = requests.get(api.root_url + "/_mock/hubs/connections", timeout=10).json()
        assert [c["connectionId"] for c in listed] != [first["connectionId"]] and len(listed) == 1
        join(api, DEFAULT_SESSION)
        assert hub.wait_for("event", "UserAdded")


def test_a_kicked_clients_own_connection_hears_it_and_ends(api):
    require_js_client()
    created = host_session(api)
    joined = join(api, created["sessionId"])
    with JsClient(hub_url(api), token=joined["credentials"]["token"], on=EVENTS) as hub:
        hub.wait_for("started")
        kicked = api.post("/session/current/kick", token=created["credentials"]["token"],
                          json={"userId": joined["credentials"]["id"]})
        assert kicked.status_code == 200
        assert hub.wait_for("event", "UserRemoved")["args"][0]["data"]["id"] == joined["credentials"]["id"]
        assert hub.wait_for("closed")["error"] is None
