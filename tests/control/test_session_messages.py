"""A session's messages through the control plane, over real HTTP: listed exactly as GET /v1/chats
lists them for a member (its binder, its paging), deleted and unpinned as the Host would, with the
chat hub's MessageDeleted and PinRemoved; never journaled, behind the admin token when one is set.

Control answers go through support's ``Plane`` (checked against ``/_mock/openapi.json``), partner
answers through ``Api`` (checked against openapi/chats.yaml).
"""
from __future__ import annotations

import pytest
import requests
from support import ALICES_MESSAGE, DEFAULT_SESSION, ZED_AND_YAN, Api, Plane, assert_problem

import mockchats
from mockchats import Control, ControlError
from mockchats.pytest_plugin import MockchatsHandle

#: Queries GET /v1/chats answers, in the spellings it accepts.
QUERIES = [
    {},
    {"Take": 5},
    {"Skip": 3, "Take": 4},
    {"Skip": 22, "Take": 20},
    {"Skip": 500},
    {"Skip": -4, "Take": 2},
    {"Ascending": "false", "Take": 7},
    {"SortBy": "Pinned", "Ascending": "false"},
    {"SortBy": "Pinned", "Ascending": "true", "Take": 20, "Skip": 5},
    {"SortBy": ":thumbs_up:", "Ascending": "false", "Take": 6},
    {"SortBy": ":thumbsdown:", "Take": 6, "Skip": 1},
    {"sortby": "PINNED", "take": "3", "ascending": "FALSE"},
    {"Take": ["2", "9"]},  # repeated: the first value counts, as the API binds it
]

#: Values GET /v1/chats refuses, each naming the parameter.
BAD_VALUES = [
    ({"Take": 0}, "Take"),
    ({"Take": 21}, "Take"),
    ({"Take": "x"}, "Take"),
    ({"Take": ""}, "Take"),
    ({"Skip": "1.5"}, "Skip"),
    ({"Skip": "99999999999"}, "Skip"),
    ({"SortBy": "Newest"}, "SortBy"),
    ({"Ascending": "yes"}, "Ascending"),
]


#: Every test starts and ends in the start world (conftest's fresh).
pytestmark = pytest.mark.usefixtures("fresh")


def messages_path(session_id: str) -> str:
    return f"/sessions/{session_id}/messages"


# -- listing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()) or "defaults")
def test_a_session_is_listed_as_get_chats_lists_it(plane, api, default_session, query):
    listed = api.get("/chats", params=query)
    assert listed.status_code == 200, listed.text
    assert plane.ok("GET", messages_path(default_session), params=query) == listed.json()


def test_the_listing_shows_reactions_and_pins_as_message_dto_carries_them(plane, api, default_session):
    pin = plane.ok("POST", f"/sessions/{default_session}/pins", 201, json={"chatId": ALICES_MESSAGE})
    page = plane.ok("GET", messages_path(default_session), params={"SortBy": "Pinned", "Ascending": "false"})
    shown = next(m for m in api.all_messages() if m["chatId"] == ALICES_MESSAGE)
    assert shown["pinned"] == {"id": pin["pinId"]}
    assert [r["name"] for r in shown["reactions"]] == [":thumbs_up:"]
    assert shown in page["messages"]
    assert page["totalCount"] == 24


def test_a_new_session_lists_its_own_messages(plane, api):
    created = plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    zed, yan = (u["token"] for u in created["users"])
    for text in ("one", "two", "three"):
        assert api.post("/chats", token=yan, json={"message": text}).status_code == 200
    page = plane.ok("GET", messages_path(created["sessionId"]), params={"Ascending": "false", "Take": 2})
    assert page == api.get("/chats", token=zed, params={"Ascending": "false", "Take": 2}).json()
    assert [m["message"] for m in page["messages"]] == ["three", "two"] and page["totalCount"] == 3


@pytest.mark.parametrize(("query", "name"), BAD_VALUES, ids=lambda v: str(v))
def test_a_value_the_api_refuses_is_a_400_naming_it_and_nothing_changes(plane, api, default_session, query, name):
    refused = api.get("/chats", params=query)
    assert refused.status_code == 400
    before = plane.world()
    problem = assert_problem(plane.get(messages_path(default_session), params=query), 400, errors=True)
    assert problem["errors"] == refused.json()["errors"]  # the API's own words
    assert list(problem["errors"]) == [name] and name in problem["detail"]
    assert plane.world() == before


def test_every_refused_value_is_named(plane, default_session):
    problem = assert_problem(plane.get(messages_path(default_session), params={"Take": 0, "Skip": "a"}), 400,
                             errors=True)
    assert set(problem["errors"]) == {"Take", "Skip"} and "1 more" in problem["detail"]


def test_a_parameter_list_chats_does_not_take_is_refused(plane, default_session):
    before = plane.world()
    problem = assert_problem(plane.get(messages_path(default_session), params={"Skp": 20, "Take": 5}), 400,
                             errors=True)
    assert list(problem["errors"]) == ["Skp"]
    assert "Skip, Take, SortBy, Ascending" in problem["detail"]
    assert plane.world() == before


def test_an_unknown_session_is_a_404(plane):
    problem = assert_problem(plane.get(messages_path("no-such-session")), 404)
    assert problem["detail"] == "No session 'no-such-session'."


# -- deleting and unpinning, as the Host -------------------------------------------------------
def test_delete_removes_the_message_with_its_reactions_and_pin(plane, api, default_session):
    plane.ok("POST", f"/sessions/{default_session}/pins", 201, json={"chatId": ALICES_MESSAGE})
    total = api.get("/chats").json()["totalCount"]
    assert plane.delete(f"/sessions/{default_session}/messages/{ALICES_MESSAGE}").status_code == 204
    assert ALICES_MESSAGE not in {m["chatId"] for m in api.all_messages()}
    assert api.get("/chats").json()["totalCount"] == total - 1
    reactions = api.get("/chats/reactions", params={"chatIds": [ALICES_MESSAGE]})
    assert reactions.status_code == 200 and reactions.json() == []
    assert ALICES_MESSAGE not in {m["chatId"] for m in plane.ok("GET", messages_path(default_session),
                                                                  params={"SortBy": "Pinned", "Ascending": "false"})
                                  ["messages"]}
    problem = assert_problem(plane.delete(f"/sessions/{default_session}/messages/{ALICES_MESSAGE}"), 404)
    assert problem["detail"] == f"No message '{ALICES_MESSAGE}' in session '{default_session}'."


def test_the_host_deletes_anyones_message_in_a_new_session(plane, api):
    created = plane.ok("POST", "/sessions", 201, json={"users": [{"name": "Yan", "role": "Client"}]})
    yan = created["users"][0]["token"]
    chat = api.post("/chats", token=yan, json={"message": "mine"}).json()["chatId"]
    assert plane.delete(f"/sessions/{created['sessionId']}/messages/{chat}").status_code == 204
    assert api.get("/chats", token=yan).json() == {"totalCount": 0, "messages": []}


def test_unpin_removes_the_pin(plane, api, default_session):
    pin = plane.ok("POST", f"/sessions/{default_session}/pins", 201, json={"chatId": ALICES_MESSAGE})
    assert plane.delete(f"/sessions/{default_session}/pins/{pin['pinId']}").status_code == 204
    assert next(m for m in api.all_messages() if m["chatId"] == ALICES_MESSAGE)["pinned"] is None
    problem = assert_problem(plane.delete(f"/sessions/{default_session}/pins/{pin['pinId']}"), 404)
    assert problem["detail"] == f"No pin '{pin['pinId']}' in session '{default_session}'."
    # The API's own unpin of the same pin finds nothing either.
    assert api.delete(f"/chats/{ALICES_MESSAGE}/pins/{pin['pinId']}", as_="host").status_code == 404


def test_unknown_ids_are_404_and_change_nothing(plane, api, busy, default_session):
    other = busy["session"]["sessionId"]
    pinned = next(m for m in api.all_messages() if m["pinned"])
    before = plane.world()
    for path, detail in [
        (f"/sessions/no-such-session/messages/{ALICES_MESSAGE}", "No session 'no-such-session'."),
        (f"/sessions/{default_session}/messages/no-such-message",
         f"No message 'no-such-message' in session '{default_session}'."),
        (f"/sessions/{other}/messages/{ALICES_MESSAGE}",  # a message of another session
         f"No message '{ALICES_MESSAGE}' in session '{other}'."),
        (f"/sessions/no-such-session/pins/{pinned['pinned']['id']}", "No session 'no-such-session'."),
        (f"/sessions/{default_session}/pins/no-such-pin", f"No pin 'no-such-pin' in session '{default_session}'."),
        (f"/sessions/{other}/pins/{pinned['pinned']['id']}",  # a pin of another session
         f"No pin '{pinned['pinned']['id']}' in session '{other}'."),
    ]:
        assert assert_problem(plane.delete(path), 404)["detail"] == detail, path
    assert plane.world() == before


def test_a_delete_with_a_query_removes_nothing(plane, api, default_session):
    pinned = next(m for m in api.all_messages() if m["pinned"])
    before = plane.world()
    for path in (f"/sessions/{default_session}/messages/{ALICES_MESSAGE}?all=1",
                 f"/sessions/{default_session}/pins/{pinned['pinned']['id']}?chatId={pinned['chatId']}"):
        assert_problem(plane.delete(path), 400, errors=True)
    assert plane.world() == before


def test_none_of_these_calls_is_journaled(plane, api, default_session):
    pin = plane.ok("POST", f"/sessions/{default_session}/pins", 201, json={"chatId": ALICES_MESSAGE})
    plane.ok("GET", messages_path(default_session), params={"Take": 3})
    plane.get(messages_path(default_session), params={"Take": 0})
    plane.get(messages_path("no-such-session"))
    plane.delete(f"/sessions/{default_session}/pins/{pin['pinId']}")
    plane.delete(f"/sessions/{default_session}/messages/{ALICES_MESSAGE}")
    plane.delete(f"/sessions/{default_session}/messages/{ALICES_MESSAGE}")
    assert plane.ok("GET", "/requests") == []
    assert plane.ok("GET", "/requests", params={"kind": "all"}) == []


# -- the chat hub hears them (conftest's chat server, reset around each test by chat_api) ------
@pytest.fixture
def chat_plane(chat_api) -> Plane:
    return Plane(chat_api.root_url)


@pytest.fixture
def hub(hubs):
    return hubs("bob-token")


def test_delete_sends_message_deleted_to_the_chat_hub(chat_server, chat_plane, hub):
    assert chat_plane.delete(f"/sessions/{DEFAULT_SESSION}/messages/{ALICES_MESSAGE}").status_code == 204
    assert hub.event() == {"sessionId": DEFAULT_SESSION, "eventType": "MessageDeleted",
                           "data": {"chatId": ALICES_MESSAGE}}
    listed = Api(chat_server.root_url).all_messages()
    assert ALICES_MESSAGE not in {m["chatId"] for m in listed}


def test_unpin_sends_pin_removed_to_the_chat_hub(chat_server, chat_plane, hub):
    pin = chat_plane.ok("POST", f"/sessions/{DEFAULT_SESSION}/pins", 201, json={"chatId": ALICES_MESSAGE})
    assert hub.event() == {"sessionId": DEFAULT_SESSION, "eventType": "PinAdded",
                           "data": {"chatId": ALICES_MESSAGE, "pinId": pin["pinId"]}}
    assert chat_plane.delete(f"/sessions/{DEFAULT_SESSION}/pins/{pin['pinId']}").status_code == 204
    assert hub.event() == {"sessionId": DEFAULT_SESSION, "eventType": "PinRemoved",
                           "data": {"chatId": ALICES_MESSAGE, "pinId": pin["pinId"]}}


def test_a_refused_call_sends_nothing(chat_server, chat_plane, hub):
    assert_problem(chat_plane.delete(f"/sessions/{DEFAULT_SESSION}/pins/no-such-pin"), 404)
    assert_problem(chat_plane.delete(f"/sessions/{DEFAULT_SESSION}/messages/no-such-message"), 404)
    assert_problem(chat_plane.delete(f"/sessions/{DEFAULT_SESSION}/messages/{ALICES_MESSAGE}?x=1"), 400)
    chat_plane.ok("GET", messages_path(DEFAULT_SESSION))
    created = Api(chat_server.root_url).create("after the refusals")
    # The first event the connection hears is the message created after them.
    event = hub.event()
    assert (event["eventType"], event["data"]["chatId"]) == ("MessageCreated", created["chatId"])
    assert [sent["eventType"] for sent in chat_plane.ok("GET", "/hubs/events", params={"hub": "chat"})] == [
        "MessageCreated"]


# -- the admin token ---------------------------------------------------------------------------
def test_an_admin_token_guards_them(serve):
    server = serve(mockchats.build(admin_token="T"))
    calls = [("GET", messages_path(DEFAULT_SESSION)),
             ("DELETE", f"/sessions/{DEFAULT_SESSION}/messages/{ALICES_MESSAGE}"),
             ("DELETE", f"/sessions/{DEFAULT_SESSION}/pins/x")]
    for token in (None, "wrong"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for method, path in calls:
            response = requests.request(method, server.root_url + "/_mock" + path, headers=headers, timeout=10)
            assert response.status_code == 401, (token, method, path)
            assert response.headers["WWW-Authenticate"] == "Bearer" and response.content == b""
    admin = Plane(server.root_url, token="T")
    assert admin.ok("GET", messages_path(DEFAULT_SESSION))["totalCount"] == 24
    assert admin.delete(f"/sessions/{DEFAULT_SESSION}/messages/{ALICES_MESSAGE}").status_code == 204
    assert admin.ok("GET", messages_path(DEFAULT_SESSION))["totalCount"] == 23


# -- from Python -------------------------------------------------------------------------------
def test_the_client(control, api, default_session):
    assert control.messages(default_session, SortBy="Pinned", Ascending=False, Take=5) == api.get(
        "/chats", params={"SortBy": "Pinned", "Ascending": "false", "Take": 5}).json()
    pin = control.pin(default_session, ALICES_MESSAGE)
    control.unpin(default_session, pin["pinId"])
    control.delete_message(default_session, ALICES_MESSAGE)
    assert ALICES_MESSAGE not in {m["chatId"] for m in api.all_messages()}
    with pytest.raises(ControlError) as refused:
        control.messages(default_session, Take=0)
    assert refused.value.status == 400 and "Take" in str(refused.value)
    for call in (lambda: control.delete_message(default_session, ALICES_MESSAGE),
                 lambda: control.unpin(default_session, pin["pinId"]),
                 lambda: control.messages("no-such-session")):
        with pytest.raises(ControlError) as missing:
            call()
        assert missing.value.status == 404


def test_the_fixture_handle(server, api):
    handle = MockchatsHandle(server, Control(server.root_url))
    pin = handle.pin(ALICES_MESSAGE)
    assert handle.messages(SortBy="Pinned", Ascending=False) == api.get(
        "/chats", params={"SortBy": "Pinned", "Ascending": "false"}).json()
    assert next(m for m in api.all_messages() if m["chatId"] == ALICES_MESSAGE)["pinned"] == {"id": pin["pinId"]}
    handle.unpin(pin["pinId"])
    handle.delete_message(ALICES_MESSAGE, session_id=pin["sessionId"])
    assert handle.messages(session_id=DEFAULT_SESSION)["totalCount"] == 23
    assert api.get("/chats").json()["totalCount"] == 23
