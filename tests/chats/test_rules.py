"""The API's rules over real HTTP: listing, messages, reactions, pins, sessions, concurrency.

Every response here also passes the spec check of ``api`` (support.Api: status, content type, schema).
"""
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from support import Api, assert_forbidden, assert_not_found

import mockchats
from mockchats.core.resources import DEFAULT_FIXTURES_PATH
from mockchats.worlds import build_sessions, read_document

HOST_ID = "d66887a3-a556-4782-952b-f8818ec8d8bc"
ALICE_ID = "877f77b2-2c5c-4316-b266-f24a7a44668e"
BOB_ID = "602ac25b-f929-4a91-9f0a-ea68001d5229"

# Messages of the shipped fixtures the tests lean on.
AGENDA = "c46bc129-1e62-4807-8b19-13dc19025fcd"         # Host's, pinned, alice gave :thumbs_up:
AGENDA_PIN = "61f84163-10d7-443a-bb64-d0a991d86fb8"
AGENDA_ALICE_UP = "0c9a5756-6951-433f-996e-e3496022e729"
CORRECT = "ae863265-4265-4013-90a9-5519bb33898d"        # Host's, pinned, no reactions
CORRECT_PIN = "bae4a9a2-22f0-43a2-bb07-ec55e85ea9d7"
MORNING = "e6853c81-c764-4e7e-911b-3025829dbeed"        # Alice's; the Host gave :thumbs_up:
MORNING_HOST_UP = "3a59c162-b54e-4daa-86d0-cb0c3078ff5a"
RECORDED = "ebd90c02-65c9-4f87-a381-d5dfc823f411"       # Bob's; Host :thumbs_down:, Alice :thumbs_up:
RECORDED_HOST_DOWN = "987dec84-07d7-4bef-a984-7142850d30f0"
RECORDED_ALICE_UP = "3e52de23-1f39-4f9a-b54b-1e0232b6e075"
RECORDING = "22d84c90-c8d2-4319-9db6-6fda084a766f"      # Host's, no reactions, not pinned
UNKNOWN = "00000000-0000-4000-8000-000000000000"

# System.Text.Json's UTC DateTime: whole seconds, or up to 7 fractional digits without trailing zeros.
STJ_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z$")
SORT_KEYS = ["CreatedAt", "Pinned", ":thumbs_up:", ":thumbs_down:"]


def instant(created_at: str) -> tuple[str, str]:
    """A sort key for a createdAt string, exact to .NET's 7 digits (no float or datetime rounding)."""
    match = re.fullmatch(r"(.{19})(?:\.(\d{1,7}))?Z", created_at)
    assert match, created_at
    return match.group(1), (match.group(2) or "").ljust(7, "0")


def as_datetime(created_at: str) -> datetime:
    seconds, fraction = instant(created_at)
    return datetime.fromisoformat(seconds).replace(
        microsecond=int(fraction[:6]), tzinfo=UTC)


def chronological(messages: list[dict]) -> list[dict]:
    return sorted(messages, key=lambda m: (instant(m["createdAt"]), m["chatId"]))


def count(message: dict, name: str) -> int:
    return next((r["count"] for r in message["reactions"] if r["name"] == name), 0)


def chat_ids(messages: list[dict]) -> list[str]:
    return [m["chatId"] for m in messages]


def find(api: Api, chat_id: str, as_: str = "host") -> dict | None:
    return next((m for m in api.all_messages(as_) if m["chatId"] == chat_id), None)


def total_count(api: Api, as_: str = "host") -> int:
    response = api.get("/chats", as_=as_)
    assert response.status_code == 200
    return response.json()["totalCount"]


def react(api: Api, chat_id: str, reaction: str = ":thumbs_up:", **who):
    return api.post(f"/chats/{chat_id}/reactions", json={"reaction": reaction}, **who)


def reactions_of(api: Api, *ids: str, as_: str = "host") -> list[dict]:
    response = api.get("/chats/reactions", as_=as_, params=[("chatIds", i) for i in ids])
    assert response.status_code == 200
    return response.json()


# -- listing: order -------------------------------------------------------------
def test_default_order_is_created_at_ascending(api):
    messages = api.all_messages()
    assert len(messages) == total_count(api) > 20
    assert chat_ids(messages) == chat_ids(chronological(messages))


def test_default_order_is_the_fixtures_chronological_order(api):
    document = read_document(DEFAULT_FIXTURES_PATH)
    assert chat_ids(api.all_messages()) == [m["chatId"] for m in document["sessions"][0]["messages"]]


def test_default_order_is_the_same_as_explicit_created_at_ascending(api):
    assert api.all_messages() == api.all_messages(SortBy="CreatedAt", Ascending="true")


@pytest.mark.parametrize("sort_by", SORT_KEYS)
def test_descending_is_the_exact_reverse_of_ascending(api, sort_by):
    api.create("one more, so ties and pages are not trivial")
    ascending = api.all_messages(SortBy=sort_by, Ascending="true")
    descending = api.all_messages(SortBy=sort_by, Ascending="false")
    assert len(ascending) > 20
    assert descending == ascending[::-1]


def test_pinned_sort_ascending_puts_unpinned_before_pinned(api):
    messages = api.all_messages(SortBy="Pinned")
    pinned = [m["pinned"] is not None for m in messages]
    assert pinned == sorted(pinned) and any(pinned) and not all(pinned)
    unpinned = [m for m in messages if m["pinned"] is None]
    assert unpinned == chronological(unpinned)


def test_pinned_sort_descending_puts_pinned_first(api):
    messages = api.all_messages(SortBy="Pinned", Ascending="false")
    assert {m["chatId"] for m in messages[:2]} == {AGENDA, CORRECT}
    assert all(m["pinned"] is None for m in messages[2:])


@pytest.mark.parametrize("sort_by, name", [
    (":thumbs_up:", ":thumbs_up:"), (":thumbsup:", ":thumbs_up:"), (":THUMBS_UP:", ":thumbs_up:"),
    (":ThumbsUp:", ":thumbs_up:"), (":thumbs_down:", ":thumbs_down:"), (":thumbsdown:", ":thumbs_down:"),
    (":THUMBS_DOWN:", ":thumbs_down:"), ("pinned", None), ("CREATEDAT", None),
])
def test_sort_by_is_case_insensitive_and_takes_both_reaction_spellings(api, sort_by, name):
    messages = api.all_messages(SortBy=sort_by)
    if name is None:
        canonical = {"pinned": "Pinned", "CREATEDAT": "CreatedAt"}[sort_by]
        assert messages == api.all_messages(SortBy=canonical)
        return
    expected = sorted(messages, key=lambda m: (count(m, name), instant(m["createdAt"]), m["chatId"]))
    assert chat_ids(messages) == chat_ids(expected)
    assert count(messages[0], name) < count(messages[-1], name)


def test_reaction_sort_follows_new_reactions(api):
    assert count(api.all_messages(SortBy=":thumbs_down:")[-1], ":thumbs_down:") == 1
    for who in ("host", "alice", "bob"):
        assert react(api, RECORDING, ":thumbs_down:", as_=who).status_code == 200
    assert api.all_messages(SortBy=":thumbs_down:", Ascending="false")[0]["chatId"] == RECORDING


# -- listing: pages ---------------------------------------------------------------
def test_total_count_counts_the_whole_session_on_every_page(api):
    total = len(api.all_messages())
    for params in ({"Take": 1}, {"Skip": 5, "Take": 3}, {"Skip": 1000}, {"SortBy": "Pinned", "Skip": 20}):
        response = api.get("/chats", params=params)
        assert response.json()["totalCount"] == total


def test_total_count_follows_creates_and_deletes(api):
    total = total_count(api)
    created = api.create("counted")
    assert total_count(api) == total + 1
    assert api.delete(f"/chats/{created['chatId']}", as_="alice").status_code == 204
    assert api.delete(f"/chats/{RECORDING}").status_code == 204
    assert total_count(api) == total - 1


def test_a_page_never_holds_more_than_twenty(api):
    for _ in range(5):
        api.create()
    response = api.get("/chats")
    assert response.json()["totalCount"] > 20
    assert len(response.json()["messages"]) == 20


def test_take_above_twenty_is_refused(api):
    response = api.get("/chats", params={"Take": 21})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Take"]


@pytest.mark.parametrize("skip, take", [(0, 1), (3, 4), (19, 2), (20, 20), (21, 5)])
def test_skip_and_take_cut_a_window_of_the_full_order(api, skip, take):
    everything = api.all_messages()
    page = api.get("/chats", params={"Skip": skip, "Take": take}).json()["messages"]
    assert page == everything[skip:skip + take]


def test_skip_past_the_end_gives_an_empty_page(api):
    assert api.get("/chats", params={"Skip": 1000}).json()["messages"] == []


# -- listing: message shape --------------------------------------------------------
def test_unpinned_messages_carry_pinned_null(api):
    response = api.get("/chats")
    raw = response.json()["messages"]
    recording = next(m for m in raw if m["chatId"] == RECORDING)
    assert "pinned" in recording and recording["pinned"] is None
    assert '"pinned":null' in response.text


def test_pinned_messages_carry_their_pin_id(api):
    assert find(api, AGENDA)["pinned"] == {"id": AGENDA_PIN}


def test_messages_without_reactions_carry_an_empty_list(api):
    assert find(api, RECORDING)["reactions"] == []


def test_messages_name_their_author(api):
    assert find(api, RECORDED)["user"] == {"id": BOB_ID, "name": "Bob"}


def test_reactions_are_grouped_by_name_with_count_and_users(api):
    assert find(api, RECORDED)["reactions"] == [
        {"name": ":thumbs_down:", "count": 1, "users": [{"id": HOST_ID}]},
        {"name": ":thumbs_up:", "count": 1, "users": [{"id": ALICE_ID}]},
    ]


def test_every_reaction_count_equals_its_number_of_users(api):
    groups = [r for m in api.all_messages() for r in m["reactions"]]
    assert groups
    for group in groups:
        ids = [u["id"] for u in group["users"]]
        assert group["count"] == len(ids) == len(set(ids)) >= 1


def test_listing_agrees_with_list_reactions(api):
    messages = api.all_messages()
    listed = reactions_of(api, *chat_ids(messages))
    from_listing = sorted((m["chatId"], r["name"]) for m in messages for r in m["reactions"]
                          for _ in r["users"])
    assert sorted((r["chatId"], r["reaction"]) for r in listed) == from_listing


def test_every_listed_created_at_is_written_as_system_text_json_writes_it(api):
    assert all(STJ_UTC.match(m["createdAt"]) for m in api.all_messages())


def test_seven_digit_fixture_times_are_listed_cut_to_microseconds(api):
    # FIDELITY 22: the mock keeps 6 digits; cutting (not rounding) keeps the instant in its second.
    lisbon = "1d13f0cf-dc9d-407d-81e5-ece827d9c65c"   # fixture createdAt 2025-06-26T08:54:41.9999999Z
    assert find(api, lisbon)["createdAt"] == "2025-06-26T08:54:41.999999Z"


# -- creating messages ----------------------------------------------------------
def test_create_answers_the_new_message(api):
    before = datetime.now(UTC)
    response = api.post("/chats", as_="alice", json={"message": "Hello, room"})
    after = datetime.now(UTC)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"chatId", "message", "createdAt"}
    assert body["message"] == "Hello, room"
    assert STJ_UTC.match(body["createdAt"]), body["createdAt"]
    assert before - timedelta(milliseconds=1) <= as_datetime(body["createdAt"]) <= after


def test_created_at_has_no_trailing_zero_in_its_fraction(api):
    for _ in range(30):  # about one in ten clock readings ends in a zero digit
        created_at = api.create()["createdAt"]
        assert STJ_UTC.match(created_at), created_at


def test_created_message_is_listed_last_with_its_creator(api):
    created = api.create("listed?", as_="bob")
    last = api.all_messages()[-1]
    assert last == {**created, "user": {"id": BOB_ID, "name": "Bob"}, "pinned": None, "reactions": []}


def test_created_messages_get_fresh_ids(api):
    assert api.create("same text")["chatId"] != api.create("same text")["chatId"]


def test_created_text_is_kept_exactly(api):
    text = "  Spaces, émojis 😀 and \"quotes\" \n kept  "
    created = api.create(text)
    assert created["message"] == text
    assert find(api, created["chatId"])["message"] == text


@pytest.mark.parametrize("text, status", [("x" * 280, 200), ("x" * 278 + "😀", 200),
                                          ("x" * 281, 400), ("x" * 279 + "😀", 400)])
def test_messages_are_at_most_280_utf16_units(api, text, status):
    total = total_count(api)
    response = api.post("/chats", as_="alice", json={"message": text})
    assert response.status_code == status
    assert total_count(api) == total + (status == 200)


# -- deleting messages ----------------------------------------------------------
def test_author_may_delete_own_message(api):
    response = api.delete(f"/chats/{MORNING}", as_="alice")
    assert response.status_code == 204 and response.content == b""
    assert find(api, MORNING) is None


def test_host_may_delete_anyones_message(api):
    assert api.delete(f"/chats/{RECORDED}", as_="host").status_code == 204
    assert find(api, RECORDED) is None


def test_another_client_may_not_delete_a_message(api):
    before = api.all_messages()
    assert_forbidden(api.delete(f"/chats/{MORNING}", as_="bob"))
    assert api.all_messages() == before


def test_a_client_may_not_delete_the_hosts_message(api):
    assert_forbidden(api.delete(f"/chats/{RECORDING}", as_="alice"))
    assert find(api, RECORDING) is not None


def test_deleting_a_message_removes_its_reactions_and_pin(api):
    assert api.delete(f"/chats/{AGENDA}").status_code == 204
    assert reactions_of(api, AGENDA) == []
    assert AGENDA not in chat_ids(api.all_messages(SortBy="Pinned"))
    assert_not_found(api.delete(f"/chats/{AGENDA}/pins/{AGENDA_PIN}"))
    assert_not_found(api.delete(f"/chats/{AGENDA}/reactions/{AGENDA_ALICE_UP}", as_="alice"))


def test_deleting_a_message_leaves_other_messages_alone(api):
    before = [m for m in api.all_messages() if m["chatId"] != MORNING]
    api.delete(f"/chats/{MORNING}")
    assert api.all_messages() == before


@pytest.mark.parametrize("who", ["host", "alice"])
def test_deleting_an_unknown_message_is_not_found(api, who):
    assert_not_found(api.delete(f"/chats/{UNKNOWN}", as_=who))


def test_deleting_a_message_twice_is_not_found(api):
    assert api.delete(f"/chats/{MORNING}").status_code == 204
    assert_not_found(api.delete(f"/chats/{MORNING}"))


# -- reactions ------------------------------------------------------------------
@pytest.mark.parametrize("who", ["host", "alice", "bob"])
def test_any_member_may_react(api, who):
    response = react(api, RECORDING, ":thumbs_up:", as_=who)
    assert response.status_code == 200
    assert set(response.json()) == {"reactionId"}
    assert reactions_of(api, RECORDING) == [
        {"chatId": RECORDING, "id": response.json()["reactionId"], "reaction": ":thumbs_up:"}]


def test_reactions_from_several_users_add_up(api):
    for who in ("host", "alice", "bob"):
        react(api, RECORDING, as_=who)
    assert find(api, RECORDING)["reactions"] == [
        {"name": ":thumbs_up:", "count": 3, "users": [{"id": HOST_ID}, {"id": ALICE_ID}, {"id": BOB_ID}]}]


def test_reacting_twice_the_same_way_returns_the_same_id_and_counts_once(api):
    first = react(api, RECORDING, as_="bob").json()["reactionId"]
    second = react(api, RECORDING, as_="bob")
    assert second.status_code == 200 and second.json()["reactionId"] == first
    assert find(api, RECORDING)["reactions"] == [
        {"name": ":thumbs_up:", "count": 1, "users": [{"id": BOB_ID}]}]


def test_reacting_again_to_a_fixture_reaction_returns_its_id(api):
    assert react(api, AGENDA, ":thumbs_up:", as_="alice").json()["reactionId"] == AGENDA_ALICE_UP
    assert count(find(api, AGENDA), ":thumbs_up:") == 1


def test_a_user_may_give_both_reactions(api):
    up = react(api, RECORDING, ":thumbs_up:", as_="alice").json()["reactionId"]
    down = react(api, RECORDING, ":thumbs_down:", as_="alice").json()["reactionId"]
    assert up != down
    message = find(api, RECORDING)
    assert (count(message, ":thumbs_up:"), count(message, ":thumbs_down:")) == (1, 1)


@pytest.mark.parametrize("reaction", [":thumbsup:", ":heart:", ":THUMBS_UP:", ""])
def test_only_the_two_beta_reactions_are_accepted(api, reaction):
    response = react(api, RECORDING, reaction, as_="alice")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Reaction"]
    assert reactions_of(api, RECORDING) == []


def test_reacting_to_an_unknown_message_is_not_found(api):
    assert_not_found(react(api, UNKNOWN, as_="alice"))


def test_list_reactions_takes_repeated_chat_ids(api):
    listed = reactions_of(api, MORNING, RECORDED)
    assert listed == [
        {"chatId": MORNING, "id": MORNING_HOST_UP, "reaction": ":thumbs_up:"},
        {"chatId": RECORDED, "id": RECORDED_HOST_DOWN, "reaction": ":thumbs_down:"},
        {"chatId": RECORDED, "id": RECORDED_ALICE_UP, "reaction": ":thumbs_up:"},
    ]


@pytest.mark.parametrize("query", [
    f"chatIds={MORNING}&chatIds={RECORDED}",
    f"chatIds[0]={MORNING}&chatIds[1]={RECORDED}",
    f"ChatIds={MORNING}&ChatIds={RECORDED}",
    f"chatIds[1]={RECORDED}&CHATIDS[0]={MORNING}",
])
def test_list_reactions_binds_every_spelling_of_the_ids(api, query):
    response = api.get(f"/chats/reactions?{query}")
    assert response.status_code == 200
    assert response.json() == reactions_of(api, MORNING, RECORDED)


@pytest.mark.parametrize("query, expected", [
    (f"CHATIDS[0]={MORNING}&chatids={RECORDED}", [RECORDED]),  # the plain key wins
    (f"chatIds[1]={MORNING}", []),  # indices start at [0]
    (f"chatIds[0]={MORNING}&chatIds[2]={RECORDED}", [MORNING]),  # and stop at the first gap
])
def test_indexed_ids_bind_as_asp_net_core_collection_binding_does(api, query, expected):
    response = api.get(f"/chats/reactions?{query}")
    assert response.status_code == 200
    assert response.json() == (reactions_of(api, *expected) if expected else [])


def test_list_reactions_returns_exactly_chat_id_id_and_reaction(api):
    listed = reactions_of(api, *chat_ids(api.all_messages()))
    assert listed and all(set(r) == {"chatId", "id", "reaction"} for r in listed)


def test_list_reactions_ignores_unknown_ids(api):
    assert reactions_of(api, UNKNOWN, MORNING, "not-even-a-guid") == reactions_of(api, MORNING)


def test_list_reactions_lists_a_repeated_id_once(api):
    assert reactions_of(api, MORNING, MORNING) == reactions_of(api, MORNING)


@pytest.mark.parametrize("query", ["", "?chatIds=", f"?other={MORNING}"])
def test_list_reactions_without_ids_is_empty(api, query):
    response = api.get(f"/chats/reactions{query}")
    assert response.status_code == 200 and response.json() == []


def test_list_reactions_of_a_message_without_reactions_is_empty(api):
    assert reactions_of(api, RECORDING) == []


# -- removing reactions -----------------------------------------------------------
def test_reaction_author_may_remove_it(api):
    response = api.delete(f"/chats/{RECORDED}/reactions/{RECORDED_ALICE_UP}", as_="alice")
    assert response.status_code == 200 and response.content == b""
    assert reactions_of(api, RECORDED) == [
        {"chatId": RECORDED, "id": RECORDED_HOST_DOWN, "reaction": ":thumbs_down:"}]
    assert find(api, RECORDED)["reactions"] == [
        {"name": ":thumbs_down:", "count": 1, "users": [{"id": HOST_ID}]}]


def test_host_may_remove_anyones_reaction(api):
    response = api.delete(f"/chats/{AGENDA}/reactions/{AGENDA_ALICE_UP}", as_="host")
    assert response.status_code == 200 and response.content == b""
    assert find(api, AGENDA)["reactions"] == []


def test_another_client_may_not_remove_a_reaction(api):
    # Bob wrote the message, but the reaction is Alice's.
    assert_forbidden(api.delete(f"/chats/{RECORDED}/reactions/{RECORDED_ALICE_UP}", as_="bob"))
    assert len(reactions_of(api, RECORDED)) == 2


def test_a_removed_reaction_can_be_given_again_with_a_new_id(api):
    api.delete(f"/chats/{AGENDA}/reactions/{AGENDA_ALICE_UP}", as_="alice")
    again = react(api, AGENDA, ":thumbs_up:", as_="alice").json()["reactionId"]
    assert again != AGENDA_ALICE_UP
    assert count(find(api, AGENDA), ":thumbs_up:") == 1


@pytest.mark.parametrize("chat_id, reaction_id", [
    (RECORDED, MORNING_HOST_UP),   # a real reaction, on another message
    (MORNING, UNKNOWN),
    (UNKNOWN, MORNING_HOST_UP),
])
def test_removing_a_reaction_needs_its_own_chat_id(api, chat_id, reaction_id):
    assert_not_found(api.delete(f"/chats/{chat_id}/reactions/{reaction_id}", as_="host"))
    assert len(reactions_of(api, MORNING, RECORDED)) == 3


def test_removing_a_reaction_twice_is_not_found(api):
    assert api.delete(f"/chats/{MORNING}/reactions/{MORNING_HOST_UP}").status_code == 200
    assert_not_found(api.delete(f"/chats/{MORNING}/reactions/{MORNING_HOST_UP}"))


# -- pins -------------------------------------------------------------------------
def test_host_removes_a_pin(api):
    response = api.delete(f"/chats/{AGENDA}/pins/{AGENDA_PIN}")
    assert response.status_code == 200 and response.content == b""
    assert find(api, AGENDA)["pinned"] is None
    assert find(api, CORRECT)["pinned"] == {"id": CORRECT_PIN}


def test_removing_a_pin_twice_is_not_found(api):
    api.delete(f"/chats/{AGENDA}/pins/{AGENDA_PIN}")
    assert_not_found(api.delete(f"/chats/{AGENDA}/pins/{AGENDA_PIN}"))


@pytest.mark.parametrize("who", ["alice", "bob"])
@pytest.mark.parametrize("chat_id, pin_id", [
    (AGENDA, AGENDA_PIN), (AGENDA, UNKNOWN), (UNKNOWN, UNKNOWN), (RECORDING, AGENDA_PIN)])
def test_a_client_may_not_remove_a_pin_whatever_the_ids(api, who, chat_id, pin_id):
    # The role check comes first, so a Client learns nothing about which ids exist.
    assert_forbidden(api.delete(f"/chats/{chat_id}/pins/{pin_id}", as_=who))
    assert find(api, AGENDA)["pinned"] == {"id": AGENDA_PIN}


@pytest.mark.parametrize("chat_id, pin_id", [
    (AGENDA, CORRECT_PIN),     # a real pin, of another message
    (CORRECT, AGENDA_PIN),
    (RECORDING, AGENDA_PIN),   # a message without a pin
    (AGENDA, UNKNOWN),
    (UNKNOWN, AGENDA_PIN),
])
def test_removing_a_pin_needs_the_right_chat_id_and_pin_id(api, chat_id, pin_id):
    assert_not_found(api.delete(f"/chats/{chat_id}/pins/{pin_id}"))
    assert (find(api, AGENDA)["pinned"], find(api, CORRECT)["pinned"]) == (
        {"id": AGENDA_PIN}, {"id": CORRECT_PIN})


def test_unpinned_message_moves_in_the_pinned_sort(api):
    api.delete(f"/chats/{CORRECT}/pins/{CORRECT_PIN}")
    first = api.all_messages(SortBy="Pinned", Ascending="false")
    assert first[0]["chatId"] == AGENDA and first[1]["pinned"] is None


# -- session isolation ------------------------------------------------------------
TWO_SESSIONS = {"sessions": [
    {"id": "session-a", "users": [
        {"id": "a-host", "name": "Ann", "role": "Host", "token": "a-host-token"},
        {"id": "a-client", "name": "Al", "role": "Client", "token": "a-client-token"},
    ], "messages": [
        {"chatId": "a-1", "userId": "a-client", "message": "in A", "createdAt": "2025-06-26T08:00:00Z",
         "pinId": "a-pin", "reactions": [{"id": "a-react", "userId": "a-client", "reaction": ":thumbs_up:"}]},
        {"chatId": "a-2", "userId": "a-host", "message": "also in A", "createdAt": "2025-06-26T08:01:00Z"},
    ]},
    {"id": "session-b", "users": [
        {"id": "b-host", "name": "Bea", "role": "Host", "token": "b-host-token"},
        {"id": "b-client", "name": "Bo", "role": "Client", "token": "b-client-token"},
    ], "messages": [
        {"chatId": "b-1", "userId": "b-client", "message": "in B", "createdAt": "2025-06-26T08:00:30Z",
         "reactions": [{"id": "b-react", "userId": "b-host", "reaction": ":thumbs_down:"}]},
    ]},
]}


@pytest.fixture(scope="module")
def two_sessions():
    mock = mockchats.Mock(build_sessions(TWO_SESSIONS))
    server = mockchats.Server(mock.app, port=0).start()
    yield mock.store, server
    server.stop()


@pytest.fixture
def api2(two_sessions) -> Api:
    store, server = two_sessions
    store.reset()
    return Api(server.root_url)


def a_state(api2: Api):
    listing = api2.get("/chats", token="a-host-token").json()
    reactions = api2.get("/chats/reactions", token="a-host-token", params={"chatIds": ["a-1", "a-2"]}).json()
    return listing, reactions


def test_listing_shows_only_the_callers_session(api2):
    body = api2.get("/chats", token="b-client-token").json()
    assert body["totalCount"] == 1
    assert chat_ids(body["messages"]) == ["b-1"]
    assert chat_ids(api2.get("/chats", token="a-client-token").json()["messages"]) == ["a-1", "a-2"]


def test_a_message_created_in_one_session_stays_there(api2):
    created = api2.post("/chats", token="b-client-token", json={"message": "B only"}).json()
    assert created["chatId"] not in chat_ids(api2.get("/chats", token="a-host-token").json()["messages"])
    assert api2.get("/chats", token="a-host-token").json()["totalCount"] == 2


B_USERS = ["b-host-token", "b-client-token"]
FOREIGN_CALLS = {
    "delete message": ("DELETE", "/chats/a-1", None),
    "delete the Host's message": ("DELETE", "/chats/a-2", None),
    "react": ("POST", "/chats/a-1/reactions", {"reaction": ":thumbs_up:"}),
    "delete reaction": ("DELETE", "/chats/a-1/reactions/a-react", None),
    "delete reaction via own message": ("DELETE", "/chats/b-1/reactions/a-react", None),
}


@pytest.mark.parametrize("token", B_USERS)
@pytest.mark.parametrize("method, path, body", FOREIGN_CALLS.values(), ids=FOREIGN_CALLS.keys())
def test_another_sessions_ids_are_not_found_never_forbidden(api2, token, method, path, body):
    before = a_state(api2)
    assert_not_found(api2.request(method, path, token=token, json=body))
    assert a_state(api2) == before


@pytest.mark.parametrize("path", ["/chats/a-1/pins/a-pin", "/chats/b-1/pins/a-pin"])
def test_another_sessions_pin_is_not_found_for_a_host(api2, path):
    before = a_state(api2)
    assert_not_found(api2.delete(path, token="b-host-token"))
    assert a_state(api2) == before


def test_a_client_of_another_session_gets_the_same_403_as_for_any_pin(api2):
    # Role first: the answer is the one a Client gets for unknown ids, so it reveals nothing.
    assert_forbidden(api2.delete("/chats/a-1/pins/a-pin", token="b-client-token"))
    assert_forbidden(api2.delete("/chats/nope/pins/nope", token="b-client-token"))


@pytest.mark.parametrize("token", B_USERS)
def test_list_reactions_returns_nothing_for_another_sessions_ids(api2, token):
    response = api2.get("/chats/reactions", token=token, params={"chatIds": ["a-1", "b-1", "a-2"]})
    assert response.json() == [{"chatId": "b-1", "id": "b-react", "reaction": ":thumbs_down:"}]


def test_the_host_of_one_session_has_no_privilege_in_another(api2):
    assert_not_found(api2.delete("/chats/b-1", token="a-host-token"))
    assert_not_found(api2.delete("/chats/b-1/reactions/b-react", token="a-host-token"))
    assert api2.get("/chats", token="b-host-token").json()["totalCount"] == 1


# -- concurrency ------------------------------------------------------------------
THREADS, ROUNDS = 8, 25


def test_concurrent_creates_and_reactions_lose_no_update(api, server, mock):
    total_before = total_count(api)
    errors: list[str] = []
    ids_seen: dict[str, set[str]] = {}
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        client, token, seen = Api(server.root_url), f"guest-{n}", set()
        start.wait()
        try:
            for i in range(ROUNDS):
                created = client.post("/chats", token=token, json={"message": f"t{n}-{i}"})
                own = client.post(f"/chats/{created.json()['chatId']}/reactions", token=token,
                                  json={"reaction": ":thumbs_up:"})
                shared = client.post(f"/chats/{RECORDING}/reactions", token=token,
                                     json={"reaction": (":thumbs_up:", ":thumbs_down:")[i % 2]})
                for response in (created, own, shared):
                    if response.status_code != 200:
                        errors.append(f"{response.request.method} {response.url}: {response.status_code}")
                seen.add(shared.json()["reactionId"])
        except Exception as exc:  # noqa: BLE001 - report, do not hang the barrier
            errors.append(repr(exc))
        ids_seen[token] = seen

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:5]

    messages = api.all_messages()
    assert total_count(api) == len(messages) == total_before + THREADS * ROUNDS
    created = [m for m in messages if re.fullmatch(r"t\d+-\d+", m["message"])]
    assert sorted(m["message"] for m in created) == sorted(
        f"t{n}-{i}" for n in range(THREADS) for i in range(ROUNDS))
    for message in created:
        assert message["reactions"] == [
            {"name": ":thumbs_up:", "count": 1, "users": [{"id": message["user"]["id"]}]}]
    guests = {mock.store.user_for_token(f"guest-{n}").id for n in range(THREADS)}
    assert len(guests) == THREADS
    shared = find(api, RECORDING)
    for name in (":thumbs_up:", ":thumbs_down:"):
        group = next(r for r in shared["reactions"] if r["name"] == name)
        assert group["count"] == THREADS
        assert {u["id"] for u in group["users"]} == guests
    # One id per (guest, reaction): the 25 repeats never made a second reaction.
    assert all(len(seen) == 2 for seen in ids_seen.values())
    assert len(reactions_of(api, RECORDING)) == 2 * THREADS
