"""The chat hub's preview over a plain WebSocket client: every change to a session's messages,
reactions and pins reaches that session's connections, in commit order, only once committed, and
never another session's; off unless asked for (``build(chat_hub=True)``, ``serve --chat-hub``)."""
from __future__ import annotations

import pytest
import requests
import websocket
from hubs.clients import RawHub
from support import ALICES_MESSAGE, DEFAULT_SESSION, Api, ServeProcess, bearer, host_session, join

RS = "\x1e"
ALICE = "877f77b2-2c5c-4316-b266-f24a7a44668e"


def negotiate(root_url: str, token: str, hub: str = "chat") -> requests.Response:
    return requests.post(f"{root_url}/v1/hubs/{hub}/negotiate?negotiateVersion=1", headers=bearer(token), timeout=10)


def sent(api: Api, **query) -> list[dict]:
    response = requests.get(api.root_url + "/_mock/hubs/events", params=query, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def control(api: Api, method: str, path: str, **kwargs) -> dict:
    response = requests.request(method, api.root_url + "/_mock" + path, timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


# -- each event ------------------------------------------------------------------------------------
def test_a_new_message_is_message_created_with_the_message_dto(chat_api, hubs):
    hub = hubs("host-token")
    created = chat_api.create("hello, hub")
    event = hub.event()
    listed = next(m for m in chat_api.all_messages() if m["chatId"] == created["chatId"])
    assert event == {"sessionId": DEFAULT_SESSION, "eventType": "MessageCreated", "data": listed}
    assert listed["message"] == "hello, hub" and listed["user"] == {"id": ALICE, "name": "Alice"}
    assert listed["createdAt"] == created["createdAt"]


def test_a_deleted_message_is_message_deleted(chat_api, hubs):
    hub = hubs("bob-token")
    assert chat_api.delete(f"/chats/{ALICES_MESSAGE}", as_="alice").status_code == 204
    assert hub.event() == {"sessionId": DEFAULT_SESSION, "eventType": "MessageDeleted",
                           "data": {"chatId": ALICES_MESSAGE}}


def test_a_reaction_added_then_removed(chat_api, hubs):
    hub = hubs("host-token")
    added = chat_api.post(f"/chats/{ALICES_MESSAGE}/reactions", as_="bob", json={"reaction": ":thumbs_down:"})
    assert added.status_code == 200, added.text
    reaction_id = added.json()["reactionId"]
    assert hub.event() == {"sessionId": DEFAULT_SESSION, "eventType": "ReactionAdded",
                           "data": {"chatId": ALICES_MESSAGE, "id": reaction_id, "reaction": ":thumbs_down:",
                                    "userId": "602ac25b-f929-4a91-9f0a-ea68001d5229"}}
    removed = chat_api.delete(f"/chats/{ALICES_MESSAGE}/reactions/{reaction_id}", as_="bob")
    assert removed.status_code == 200
    assert hub.event() == {"sessionId": DEFAULT_SESSION, "eventType": "ReactionRemoved",
                           "data": {"chatId": ALICES_MESSAGE, "id": reaction_id}}


def test_a_pin_from_the_control_plane_then_its_removal(chat_api, hubs):
    hub = hubs("alice-token")
    pin = control(chat_api, "POST", "/pins", json={"chatId": ALICES_MESSAGE})
    assert hub.event() == {"sessionId": DEFAULT_SESSION, "eventType": "PinAdded",
                           "data": {"chatId": ALICES_MESSAGE, "pinId": pin["pinId"]}}
    assert chat_api.delete(f"/chats/{ALICES_MESSAGE}/pins/{pin['pinId']}", as_="host").status_code == 200
    assert hub.event() == {"sessionId": DEFAULT_SESSION, "eventType": "PinRemoved",
                           "data": {"chatId": ALICES_MESSAGE, "pinId": pin["pinId"]}}
    again = control(chat_api, "POST", f"/sessions/{DEFAULT_SESSION}/pins", json={"chatId": ALICES_MESSAGE})
    assert hub.event()["data"] == {"chatId": ALICES_MESSAGE, "pinId": again["pinId"]}


def test_what_changes_nothing_sends_nothing(chat_api, hubs):
    hub = hubs("host-token")
    pin = control(chat_api, "POST", "/pins", json={"chatId": ALICES_MESSAGE})
    assert control(chat_api, "POST", "/pins", json={"chatId": ALICES_MESSAGE})["pinId"] == pin["pinId"]
    # The Host's :thumbs_up: is there already: reacting again answers it, and adds nothing.
    assert chat_api.post(f"/chats/{ALICES_MESSAGE}/reactions", as_="host",
                         json={"reaction": ":thumbs_up:"}).status_code == 200
    chat_api.create("after the no-ops")
    assert [hub.event()["eventType"] for _ in range(2)] == ["PinAdded", "MessageCreated"]


# -- order, commits, sessions -------------------------------------------------------------------------
def test_events_come_in_the_order_of_the_changes_to_every_connection(chat_api, hubs):
    connections = [hubs("host-token"), hubs("alice-token"), hubs("host-token")]
    texts = [f"message {n}" for n in range(10)]
    ids = [chat_api.create(text, as_=("alice", "bob")[n % 2])["chatId"] for n, text in enumerate(texts)]
    chat_api.delete(f"/chats/{ids[3]}", as_="host")
    for hub in connections:
        events = [hub.event() for _ in range(11)]
        assert [e["data"]["message"] for e in events[:10]] == texts
        assert events[10] == {"sessionId": DEFAULT_SESSION, "eventType": "MessageDeleted", "data": {"chatId": ids[3]}}


def test_a_refused_request_sends_nothing(chat_api, hubs):
    hub = hubs("host-token")
    assert chat_api.delete(f"/chats/{ALICES_MESSAGE}", as_="bob").status_code == 403  # not his
    assert chat_api.post("/chats", as_="alice", json={"message": ""}).status_code == 400
    assert chat_api.post("/chats", as_=None, json={"message": "no token"}).status_code == 401
    assert chat_api.delete("/chats/nope/pins/nope", as_="host").status_code == 404
    assert chat_api.delete(f"/chats/{ALICES_MESSAGE}/pins/nope", as_="alice").status_code == 403
    chat_api.create("the one change")
    assert hub.event()["data"]["message"] == "the one change"
    assert [e["eventType"] for e in sent(chat_api, hub="chat")] == ["MessageCreated"]


def test_a_before_fault_sends_nothing_an_after_fault_still_delivers(chat_api, hubs):
    hub = hubs("host-token")
    control(chat_api, "POST", "/faults", json={"operationId": "createChat", "status": 503, "times": 1})
    assert chat_api.post("/chats", as_="alice", json={"message": "never made"}).status_code == 503
    control(chat_api, "POST", "/faults", json={"operationId": "createChat", "status": 503, "times": 1,
                                               "when": "after"})
    assert chat_api.post("/chats", as_="alice", json={"message": "made, then hidden"}).status_code == 503
    event = hub.event()
    assert event["eventType"] == "MessageCreated" and event["data"]["message"] == "made, then hidden"
    assert event["data"] in chat_api.all_messages()  # the change happened: the event says so


def test_events_never_reach_another_session(chat_api, hubs):
    other = control(chat_api, "POST", "/sessions", json={"users": [{"name": "Zed", "role": "Host"}]})
    zed = other["users"][0]["token"]
    theirs, ours = hubs(zed), hubs("host-token")
    chat_api.create("in the default session")
    made = chat_api.post("/chats", token=zed, json={"message": "in the other session"})
    assert made.status_code == 200
    assert theirs.event() == {"sessionId": other["sessionId"], "eventType": "MessageCreated",
                              "data": {**theirs_message(chat_api, zed), "message": "in the other session"}}
    assert ours.event()["data"]["message"] == "in the default session"
    chat_api.create("the default session's second")
    assert ours.event()["data"]["message"] == "the default session's second"  # not the other's


def theirs_message(api: Api, token: str) -> dict:
    (message,) = api.get("/chats", token=token).json()["messages"]
    return message


def test_a_session_api_session_hears_its_own_and_closes_when_deleted(chat_api, hubs):
    created = host_session(chat_api)
    joined = join(chat_api, created["sessionId"])
    token = created["credentials"]["token"]
    hub = hubs(token)
    made = chat_api.post("/chats", token=joined["credentials"]["token"], json={"message": "joined and typing"})
    assert made.status_code == 200, made.text
    event = hub.event()
    assert event["sessionId"] == created["sessionId"]
    assert event["data"]["user"] == {"id": joined["credentials"]["id"], "name": joined["credentials"]["pseudonym"]}
    assert chat_api.delete("/session/current", token=token).status_code == 200
    assert hub.next() == {"type": 7}  # closed as the session hub's are, with no event of its own
    assert hub.next() is None


def test_the_two_hubs_hear_each_their_own(chat_api, hubs):
    chat, session = hubs("host-token"), hubs("host-token", hub="session")
    chat_api.create("for the chat hub")
    joined = join(chat_api, DEFAULT_SESSION)
    chat_api.create("again")
    assert session.event()["eventType"] == "UserAdded"  # the message before it was not the session hub's
    assert [chat.event()["data"]["message"] for _ in range(2)] == ["for the chat hub", "again"]
    assert [e["eventType"] for e in sent(chat_api, hub="session")] == ["UserAdded"]
    assert sent(chat_api, hub="session")[0]["data"]["id"] == joined["credentials"]["id"]


# -- what the control plane says --------------------------------------------------------------------------
def test_the_control_plane_lists_what_the_chat_hub_sent(chat_api, hubs):
    chat_api.create("nobody listens")  # no chat connection in the session: nothing sent, nothing kept
    hub = hubs("host-token")
    created = chat_api.create("somebody listens")
    hub.event()
    (record,) = sent(chat_api, hub="chat")
    assert record["hub"] == "chat" and record["sessionId"] == DEFAULT_SESSION and record["delivered"] == 1
    assert record["eventType"] == "MessageCreated" and record["data"]["chatId"] == created["chatId"]
    assert record["sentAt"].endswith("Z")
    assert sent(chat_api) == [record]


@pytest.mark.parametrize("query", ["hub=files", "hub=chat&hub=session", "hubs=chat"])
def test_the_events_list_refuses_a_filter_that_cannot_match(chat_api, query):
    response = requests.get(chat_api.root_url + "/_mock/hubs/events?" + query, timeout=10)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_the_events_list_names_a_parameter_it_does_not_take(chat_api):
    response = requests.get(chat_api.root_url + "/_mock/hubs/events?hubs=chat", timeout=10)
    problem = response.json()
    assert problem["detail"] == "GET /_mock/hubs/events takes only `hub`; given: 'hubs'."
    assert problem["errors"] == {"hubs": ["Not a parameter of GET /_mock/hubs/events."]}


# -- off by default -----------------------------------------------------------------------------------------
def test_without_the_option_the_chat_hub_is_404(api):
    assert negotiate(api.root_url, "host-token").status_code == 404
    url = api.root_url.replace("http://", "ws://") + "/v1/hubs/chat?access_token=host-token"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5)
    assert refused.value.status_code == 404
    assert negotiate(api.root_url, "host-token", hub="session").status_code == 200


def test_serve_with_the_option_serves_the_chat_hub_and_says_so():
    with ServeProcess("--chat-hub") as served:
        root_url = served.base_url.removesuffix("/v1")
        assert f"  chat hub  {served.base_url}/hubs/chat  (a preview: its events are the mock's design)\n" \
            in served.banner
        hub = RawHub(root_url, "host-token", hub="chat")
        made = requests.post(served.base_url + "/chats", json={"message": "served"}, headers=bearer("alice-token"),
                             timeout=10)
        assert made.status_code == 200
        assert hub.event()["data"]["chatId"] == made.json()["chatId"]
        hub.close()
        code, _, err = served.stop()
    assert code == 0 and "Traceback" not in err, err


def test_serve_without_the_option_says_nothing_of_it(granian):
    assert not any("chat hub" in line for line in granian.banner)
    assert negotiate(granian.base_url.removesuffix("/v1"), "host-token").status_code == 404


def test_without_the_option_the_store_publishes_nothing(mock):
    assert mock.chat_hub is False and mock.chat_events is None and mock.store.events is None
