"""The model's rules, called directly (no HTTP): mockchats.chats.models.Store."""
from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from mockchats import Forbidden, NotFound, Store
from mockchats.chats.models import THUMBS_DOWN, THUMBS_UP, new_id
from mockchats.worlds import build_sessions

T0 = datetime(2025, 6, 26, 8, 0, tzinfo=UTC)
SAME_TIME = "2025-06-26T09:00:00Z"


def document() -> dict:
    """Two sessions; in A, three messages share one instant so only chatId can order them."""
    return {"sessions": [
        {"id": "A", "users": [
            {"id": "a-host", "name": "Ann", "role": "Host", "token": "a-host-token"},
            {"id": "a-cli1", "name": "Cid", "role": "Client", "token": "a-cli1-token"},
            {"id": "a-cli2", "name": "Dee", "role": "Client", "token": "a-cli2-token"},
        ], "messages": [
            {"chatId": "m-c", "userId": "a-cli1", "message": "c", "createdAt": SAME_TIME},
            {"chatId": "m-a", "userId": "a-cli1", "message": "a", "createdAt": SAME_TIME,
             "reactions": [{"id": "r-a1", "userId": "a-cli2", "reaction": ":thumbs_up:"}]},
            {"chatId": "m-b", "userId": "a-cli2", "message": "b", "createdAt": SAME_TIME,
             "pinId": "p-b",
             "reactions": [{"id": "r-b1", "userId": "a-cli1", "reaction": ":thumbs_up:"},
                           {"id": "r-b2", "userId": "a-host", "reaction": ":thumbs_down:"}]},
            {"chatId": "m-0", "userId": "a-host", "message": "earliest",
             "createdAt": "2025-06-26T08:00:00Z"},
            {"chatId": "m-z", "userId": "a-host", "message": "latest",
             "createdAt": "2025-06-26T10:00:00Z", "pinId": "p-z",
             "reactions": [{"id": "r-z1", "userId": "a-cli1", "reaction": ":thumbs_up:"}]},
        ]},
        {"id": "B", "users": [
            {"id": "b-host", "name": "Bea", "role": "Host", "token": "b-host-token"},
        ], "messages": [
            {"chatId": "m-B", "userId": "b-host", "message": "in B", "createdAt": SAME_TIME,
             "pinId": "p-B",
             "reactions": [{"id": "r-B1", "userId": "b-host", "reaction": ":thumbs_up:"}]},
        ]},
    ]}


class Clock:
    """A controllable `now`: every call advances by one millisecond."""

    def __init__(self):
        self.value = T0

    def __call__(self):
        self.value += timedelta(milliseconds=1)
        return self.value


@pytest.fixture
def store() -> Store:
    return Store(build_sessions(document()), now=Clock())


def user(store: Store, token: str):
    found = store.user_for_token(token)
    assert found is not None, token
    return found


@pytest.fixture
def host(store):
    return user(store, "a-host-token")


@pytest.fixture
def cid(store):
    return user(store, "a-cli1-token")


@pytest.fixture
def dee(store):
    return user(store, "a-cli2-token")


@pytest.fixture
def bea(store):
    return user(store, "b-host-token")


def ids(store, caller, **kw) -> list[str]:
    return [m.chat_id for m in store.list_messages(caller, take=1000, **kw)[1]]


def snapshot(store: Store) -> dict:
    """Everything observable through the store, per session (messages, reactions, pins, tokens)."""
    state = {}
    for token in ("a-host-token", "b-host-token"):
        caller = user(store, token)
        total, views = store.list_messages(caller, take=1000)
        state[caller.session_id] = {
            "total": total,
            "messages": [asdict(v) for v in views],  # views compare by identity; compare contents
            "reactions": store.list_reactions(caller, [v.chat_id for v in views]),
        }
    state["users"] = store.users()
    return state


# -- construction ---------------------------------------------------------------
def test_a_store_needs_at_least_one_session():
    with pytest.raises(ValueError):
        Store([])


def test_the_first_session_is_the_default_one(store):
    assert store.default_session_id == "A"


def test_stores_built_from_the_same_sessions_do_not_share_state():
    sessions = build_sessions(document())
    first, second = Store(sessions), Store(sessions)
    first.delete_message(first.user_for_token("a-host-token"), "m-a")
    assert "m-a" in ids(second, second.user_for_token("a-host-token"))
    assert "m-a" in sessions[0].messages


# -- listing --------------------------------------------------------------------
def test_ties_on_created_at_fall_back_to_chat_id(store, host):
    assert ids(store, host) == ["m-0", "m-a", "m-b", "m-c", "m-z"]


def test_descending_is_the_exact_reverse_including_ties(store, host):
    assert ids(store, host, ascending=False) == ["m-z", "m-c", "m-b", "m-a", "m-0"]


def test_pinned_sort_puts_unpinned_first_then_created_at_then_chat_id(store, host):
    assert ids(store, host, sort_by="Pinned") == ["m-0", "m-a", "m-c", "m-b", "m-z"]
    assert ids(store, host, sort_by="Pinned", ascending=False) == ["m-z", "m-b", "m-c", "m-a", "m-0"]


@pytest.mark.parametrize("sort_by", [":thumbs_up:", ":thumbsup:", ":THUMBS_UP:", " :Thumbs_Up: "])
def test_reaction_sort_orders_by_count_then_created_at_then_chat_id(store, host, sort_by):
    # thumbs up: m-0 0, m-c 0, m-a 1, m-b 1, m-z 1
    assert ids(store, host, sort_by=sort_by) == ["m-0", "m-c", "m-a", "m-b", "m-z"]


@pytest.mark.parametrize("sort_by", [":thumbs_down:", ":thumbsdown:", ":ThumbsDown:"])
def test_thumbs_down_sort_counts_only_thumbs_down(store, host, sort_by):
    assert ids(store, host, sort_by=sort_by) == ["m-0", "m-a", "m-c", "m-z", "m-b"]


def test_negative_skip_counts_as_zero(store, host):
    total, page = store.list_messages(host, skip=-5, take=2)
    assert total == 5
    assert [m.chat_id for m in page] == ["m-0", "m-a"]


def test_skip_and_take_cut_one_page_while_total_counts_the_session(store, host):
    total, page = store.list_messages(host, skip=1, take=2)
    assert total == 5
    assert [m.chat_id for m in page] == ["m-a", "m-b"]


def test_skip_past_the_end_gives_an_empty_page(store, host):
    assert store.list_messages(host, skip=99) == (5, [])


def test_listing_shows_only_the_callers_session(store, bea):
    assert store.list_messages(bea)[0] == 1
    assert ids(store, bea) == ["m-B"]


def test_message_view_carries_author_pin_and_grouped_reactions(store, host):
    view = next(v for v in store.list_messages(host)[1] if v.chat_id == "m-b")
    assert (view.user_id, view.user_name, view.pin_id) == ("a-cli2", "Dee", "p-b")
    assert view.reactions == ((THUMBS_UP, ("a-cli1",)), (THUMBS_DOWN, ("a-host",)))


# -- creating and deleting messages ----------------------------------------------
def test_created_message_is_listed_with_its_author_and_the_clock_time(store, cid):
    view = store.create_message(cid, "hi")
    listed = next(v for v in store.list_messages(cid, take=20)[1] if v.chat_id == view.chat_id)
    assert listed == view
    assert (view.user_id, view.text, view.pin_id, view.reactions) == ("a-cli1", "hi", None, ())
    assert view.created_at == T0 + timedelta(milliseconds=1)


def test_created_message_ids_are_fresh(store, cid):
    assert store.create_message(cid, "x").chat_id != store.create_message(cid, "x").chat_id


def test_new_ids_are_version_4_guids_in_dotnet_form():
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert {text[19] for text in ids} == set("89ab")  # every variant nibble turns up


def test_author_may_delete_own_message(store, cid):
    store.delete_message(cid, "m-a")
    assert "m-a" not in ids(store, cid)


def test_host_may_delete_anyones_message(store, host):
    store.delete_message(host, "m-b")
    assert "m-b" not in ids(store, host)


def test_another_client_may_not_delete_a_message(store, dee):
    with pytest.raises(Forbidden):
        store.delete_message(dee, "m-a")
    assert "m-a" in ids(store, dee)


def test_deleting_a_message_removes_its_reactions_and_pin(store, host):
    store.delete_message(host, "m-b")
    assert store.list_reactions(host, ["m-b"]) == []
    with pytest.raises(NotFound):
        store.delete_pin(host, "m-b", "p-b")


@pytest.mark.parametrize("chat_id", ["nope", "m-B"])
def test_deleting_an_unknown_or_foreign_message_is_not_found(store, host, chat_id):
    with pytest.raises(NotFound):
        store.delete_message(host, chat_id)


# -- reactions ------------------------------------------------------------------
def test_any_member_may_react(store, host, cid, dee):
    for caller in (host, cid, dee):
        store.add_reaction(caller, "m-0", THUMBS_UP)
    view = next(v for v in store.list_messages(host)[1] if v.chat_id == "m-0")
    assert view.reactions == ((THUMBS_UP, ("a-host", "a-cli1", "a-cli2")),)


def test_reacting_twice_the_same_way_returns_the_same_reaction(store, dee):
    first = store.add_reaction(dee, "m-0", THUMBS_UP)
    assert store.add_reaction(dee, "m-0", THUMBS_UP) == first
    assert store.list_reactions(dee, ["m-0"]) == [first]


def test_reacting_again_to_a_loaded_reaction_returns_its_id(store, dee):
    assert store.add_reaction(dee, "m-a", THUMBS_UP).id == "r-a1"


def test_a_user_may_give_both_reactions(store, dee):
    up = store.add_reaction(dee, "m-0", THUMBS_UP)
    down = store.add_reaction(dee, "m-0", THUMBS_DOWN)
    assert up.id != down.id
    assert store.list_reactions(dee, ["m-0"]) == [up, down]


@pytest.mark.parametrize("name", [":thumbsup:", ":heart:", ""])
def test_unknown_reaction_names_are_refused(store, dee, name):
    with pytest.raises(ValueError):
        store.add_reaction(dee, "m-0", name)


@pytest.mark.parametrize("chat_id", ["nope", "m-B"])
def test_reacting_to_an_unknown_or_foreign_message_is_not_found(store, dee, chat_id):
    with pytest.raises(NotFound):
        store.add_reaction(dee, chat_id, THUMBS_UP)


def test_list_reactions_ignores_unknown_and_foreign_ids_and_repeats(store, host):
    listed = store.list_reactions(host, ["nope", "m-b", "m-B", "m-b", "m-a"])
    assert [(r.id, r.chat_id, r.name) for r in listed] == [
        ("r-b1", "m-b", THUMBS_UP), ("r-b2", "m-b", THUMBS_DOWN), ("r-a1", "m-a", THUMBS_UP)]


def test_list_reactions_without_ids_is_empty(store, host):
    assert store.list_reactions(host, []) == []


def test_reaction_author_may_remove_it(store, dee):
    store.delete_reaction(dee, "m-a", "r-a1")
    assert store.list_reactions(dee, ["m-a"]) == []


def test_host_may_remove_anyones_reaction(store, host):
    store.delete_reaction(host, "m-a", "r-a1")
    assert store.list_reactions(host, ["m-a"]) == []


def test_another_client_may_not_remove_a_reaction(store, cid):
    with pytest.raises(Forbidden):
        store.delete_reaction(cid, "m-a", "r-a1")
    assert [r.id for r in store.list_reactions(cid, ["m-a"])] == ["r-a1"]


@pytest.mark.parametrize("chat_id, reaction_id", [
    ("m-b", "r-a1"),   # a real reaction, paired with another message
    ("m-a", "nope"),
    ("nope", "r-a1"),
    ("m-B", "r-B1"),   # another session's message and reaction
])
def test_removing_a_reaction_needs_the_right_pair_in_the_session(store, host, chat_id, reaction_id):
    with pytest.raises(NotFound):
        store.delete_reaction(host, chat_id, reaction_id)


# -- pins -----------------------------------------------------------------------
def test_pin_message_is_idempotent(store, host):
    first = store.pin_message("A", "m-0")
    assert store.pin_message("A", "m-0") == first
    view = next(v for v in store.list_messages(host)[1] if v.chat_id == "m-0")
    assert view.pin_id == first


def test_pinning_a_pinned_message_keeps_its_loaded_pin(store):
    assert store.pin_message("A", "m-b") == "p-b"


def test_pin_message_only_finds_messages_of_the_given_session(store):
    with pytest.raises(NotFound):
        store.pin_message("B", "m-a")


def test_host_removes_a_pin(store, host):
    store.delete_pin(host, "m-b", "p-b")
    view = next(v for v in store.list_messages(host)[1] if v.chat_id == "m-b")
    assert view.pin_id is None


def test_removing_a_pin_twice_is_not_found(store, host):
    store.delete_pin(host, "m-b", "p-b")
    with pytest.raises(NotFound):
        store.delete_pin(host, "m-b", "p-b")


@pytest.mark.parametrize("chat_id, pin_id", [
    ("m-b", "p-b"), ("m-b", "p-z"), ("nope", "nope"), ("m-B", "p-B")])
def test_a_client_may_not_remove_any_pin_whatever_the_ids(store, cid, chat_id, pin_id):
    with pytest.raises(Forbidden):
        store.delete_pin(cid, chat_id, pin_id)


@pytest.mark.parametrize("chat_id, pin_id", [
    ("m-b", "p-z"),    # a real pin, on another message
    ("m-a", "p-b"),    # a message with no pin
    ("m-b", "nope"),
    ("nope", "p-b"),
    ("m-B", "p-B"),    # another session's pin
])
def test_removing_a_pin_needs_the_right_pair_in_the_session(store, host, chat_id, pin_id):
    with pytest.raises(NotFound):
        store.delete_pin(host, chat_id, pin_id)
    assert [v.pin_id for v in store.list_messages(host)[1] if v.pin_id] == ["p-b", "p-z"]


# -- identity -------------------------------------------------------------------
def test_unknown_tokens_are_unknown(store):
    assert store.user_for_token("nope") is None


def test_a_guest_joins_the_default_session_as_a_client(store):
    guest = store.admit_guest("guest-token", "g-1", "Gus")
    assert (guest.role, guest.session_id, guest.is_host) == ("Client", "A", False)
    assert store.user_for_token("guest-token") is guest
    assert "g-1" in [u.id for u in store.users()]


def test_a_guest_with_a_known_user_id_is_that_user(store, cid):
    assert store.admit_guest("another-key", "a-cli1", "ignored") is cid
    assert store.user_for_token("another-key") is cid


def test_a_guest_is_a_client_for_the_rules(store):
    guest = store.admit_guest("guest-token", "g-1", "Gus")
    with pytest.raises(Forbidden):
        store.delete_message(guest, "m-a")
    with pytest.raises(Forbidden):
        store.delete_pin(guest, "m-b", "p-b")


# -- reset ----------------------------------------------------------------------
def test_reset_restores_the_loaded_state_exactly(store, host, cid, dee, bea):
    before = snapshot(store)
    created = store.create_message(cid, "new")
    store.add_reaction(dee, created.chat_id, THUMBS_UP)
    store.add_reaction(dee, "m-0", THUMBS_DOWN)
    store.delete_reaction(host, "m-b", "r-b1")
    store.delete_pin(host, "m-z", "p-z")
    store.pin_message("A", "m-0")
    store.delete_message(host, "m-b")
    store.delete_message(bea, "m-B")
    assert snapshot(store) != before
    store.reset()
    assert snapshot(store) == before


def test_reset_forgets_admitted_guests_and_their_tokens(store):
    guest = store.admit_guest("guest-token", "g-1", "Gus")
    store.create_message(guest, "from a guest")
    store.admit_guest("another-key", "a-cli1", "ignored")
    store.reset()
    assert store.user_for_token("guest-token") is None
    assert store.user_for_token("another-key") is None
    assert "g-1" not in [u.id for u in store.users()]
    assert "from a guest" not in [v.text for v in store.list_messages(user(store, "a-host-token"))[1]]


def test_reset_keeps_the_fixture_tokens(store):
    store.reset()
    assert {t: store.user_for_token(t).id for t in ("a-host-token", "a-cli1-token", "b-host-token")} == {
        "a-host-token": "a-host", "a-cli1-token": "a-cli1", "b-host-token": "b-host"}


def view_of(store, caller, chat_id):
    return next(v for v in store.list_messages(caller, take=1000)[1] if v.chat_id == chat_id)


def test_a_message_keeps_its_view_until_it_changes(store, host, dee):
    before = view_of(store, host, "m-c")
    assert view_of(store, host, "m-c") is before  # what callers cache against stays valid
    store.add_reaction(dee, "m-c", THUMBS_UP)
    reacted = view_of(store, host, "m-c")
    assert reacted is not before and reacted.reactions == ((THUMBS_UP, ("a-cli2",)),)
    store.pin_message("A", "m-c")
    pinned = view_of(store, host, "m-c")
    assert pinned.pin_id is not None and pinned.reactions == reacted.reactions
    reaction_id = store.add_reaction(dee, "m-c", THUMBS_UP).id
    store.delete_reaction(dee, "m-c", reaction_id)
    unreacted = view_of(store, host, "m-c")
    assert unreacted.reactions == () and unreacted.pin_id == pinned.pin_id
    store.delete_pin(host, "m-c", pinned.pin_id)
    assert view_of(store, host, "m-c").pin_id is None


def test_views_made_before_a_change_survive_a_reset(store, host, dee):
    loaded = asdict(view_of(store, host, "m-a"))
    store.add_reaction(dee, "m-a", THUMBS_DOWN)
    store.reset()
    assert asdict(view_of(store, user(store, "a-host-token"), "m-a")) == loaded


def test_reset_can_be_repeated(store, host):
    store.delete_message(host, "m-a")
    store.reset()
    store.delete_message(user(store, "a-host-token"), "m-a")
    store.reset()
    assert "m-a" in ids(store, user(store, "a-host-token"))
