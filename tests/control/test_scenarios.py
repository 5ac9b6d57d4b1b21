"""Named scenarios and the fixture format's `description` and `generate` keys (in process)."""
from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import Counter

import pytest
import requests
import yaml
from support import SCENARIOS, data_of, reset

import mockchats
from mockchats import FixtureError, worlds
from mockchats.aspnet.habits import utf16_length
from mockchats.chats.models import CLIENT, HOST, THUMBS_DOWN, THUMBS_UP
from mockchats.core.resources import DEFAULT_FIXTURES_PATH

DEFAULT_USERS = {"host-token": (HOST, "Host"), "alice-token": (CLIENT, "Alice"),
                 "bob-token": (CLIENT, "Bob")}
HAND_WRITTEN = ["default", "edge-cases", "empty", "pinned-and-reacted"]
#: A code point that only the multi-code-point emoji of the edge cases use.
ZWJ, REGIONAL_INDICATORS, SKIN_TONES = "\u200d", range(0x1F1E6, 0x1F200), range(0x1F3FB, 0x1F400)


def world(users=None, messages=None) -> dict:
    """A partner's own fixture document: one Host, one Client, a message, and a `generate`."""
    session = {"id": "partner-session",
               "users": [{"id": "p-host", "name": "Host", "role": "Host", "token": "host-token"},
                         {"id": "p-zed", "name": "Zed", "role": "Client", "token": "zed-token"}],
               "messages": [{"chatId": "p-1", "userId": "p-zed", "message": "Newest",
                             "createdAt": "2025-06-26T08:00:00Z"}]}
    generate = {key: value for key, value in (("users", users), ("messages", messages))
                if value is not None}
    session["generate"] = generate
    return {"description": "A partner's world", "sessions": [session]}


def write(tmp_path, document, name="partner.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def loaded():
    return {name: worlds.load_scenario(name) for name in SCENARIOS}


def only_session(sessions):
    assert len(sessions) == 1
    return sessions[0]


# -- the list ----------------------------------------------------------------------
def test_the_listed_scenarios_are_exactly_the_five_sorted_by_name():
    assert [s["name"] for s in worlds.list_scenarios()] == SCENARIOS


def test_every_scenario_describes_itself():
    for scenario in worlds.list_scenarios():
        assert set(scenario) == {"name", "description"}
        assert isinstance(scenario["description"], str) and scenario["description"].strip()


def test_every_scenario_file_is_a_described_fixture_document():
    for name in SCENARIOS:
        document = worlds.read_document(worlds.scenario_path(name))
        assert document["description"].strip()
        worlds.build_sessions(document, name)  # valid: no FixtureError


def test_default_scenario_is_the_shipped_default_fixtures_file():
    assert worlds.scenario_path("default") == DEFAULT_FIXTURES_PATH
    assert worlds.to_document(worlds.load_scenario("default")) == \
        worlds.to_document(worlds.load())


def test_scenario_files_live_in_the_scenarios_dir():
    assert worlds.SCENARIOS_DIR.is_dir()
    for name in SCENARIOS:
        if name != "default":
            assert worlds.scenario_path(name) == worlds.SCENARIOS_DIR / f"{name}.yaml"


# -- every scenario -----------------------------------------------------------------
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_has_the_default_users_and_tokens(loaded, name):
    session = loaded[name][0]
    by_token = {u.token: (u.role, u.name) for u in session.users.values()}
    assert {t: by_token.get(t) for t in DEFAULT_USERS} == DEFAULT_USERS
    assert [u for u in session.users.values() if u.role == HOST] == \
        [u for u in session.users.values() if u.token == "host-token"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_keeps_the_default_user_ids(loaded, name):
    default_ids = {u.token: u.id for u in loaded["default"][0].users.values()}
    ids = {u.token: u.id for u in loaded[name][0].users.values() if u.token in DEFAULT_USERS}
    assert ids == default_ids


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_message_fits_the_limit(loaded, name):
    for session in loaded[name]:
        assert all(1 <= utf16_length(m.text) <= 280 for m in session.messages.values())


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_hand_written_scenarios_round_trip_through_to_document(name):
    document = worlds.read_document(worlds.scenario_path(name))
    assert "generate" not in str(document["sessions"])
    assert worlds.to_document(worlds.build_world(document)) == data_of(document)


def test_to_document_can_carry_a_description():
    sessions = worlds.load_scenario("empty")
    document = worlds.to_document(sessions, description="Saved state")
    assert document["description"] == "Saved state"
    assert worlds.to_document(worlds.build_sessions(document)) == data_of(document)


# -- empty ------------------------------------------------------------------------------
def test_empty_holds_the_three_default_users_and_no_messages(loaded):
    session = only_session(loaded["empty"])
    assert {u.token: (u.role, u.name) for u in session.users.values()} == DEFAULT_USERS
    assert session.messages == {}


# -- busy-room --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def busy_room(loaded):
    return only_session(loaded["busy-room"])


def test_busy_room_holds_thousands_of_messages_from_many_users(busy_room):
    assert len(busy_room.messages) >= 2000
    assert len(busy_room.users) >= 30
    authors = Counter(m.user_id for m in busy_room.messages.values())
    assert len(authors) >= 30
    assert max(authors.values()) > 2 * min(authors.values())  # some talk more than others


def test_busy_room_generated_users_are_clients_with_unique_safe_tokens(busy_room):
    generated = [u for u in busy_room.users.values() if u.token not in DEFAULT_USERS]
    assert len(generated) >= 30
    assert all(u.role == CLIENT and u.name.strip() for u in generated)
    tokens = [u.token for u in busy_room.users.values()]
    assert len(tokens) == len(set(tokens))
    assert all(re.fullmatch(r"[a-z0-9]+-\d+-token", u.token) for u in generated)


def test_busy_room_has_some_pins_and_skewed_reactions(busy_room):
    messages = list(busy_room.messages.values())
    counts = [len(m.reactions) for m in messages]
    assert any(m.pin_id for m in messages) and not all(m.pin_id for m in messages)
    assert counts.count(0) > len(messages) / 3          # most messages get none
    assert sum(1 for c in counts if c >= 10) >= 5       # a few popular ones get many
    assert sum(1 for c in counts if c >= 10) < len(messages) / 10
    names = {r.name for m in messages for r in m.reactions}
    assert names == {THUMBS_UP, THUMBS_DOWN}


def test_busy_room_reactions_are_legal(busy_room):
    for message in busy_room.messages.values():
        pairs = [(r.user_id, r.name) for r in message.reactions]
        assert len(pairs) == len(set(pairs))
        assert all(user in busy_room.users for user, _ in pairs)
        assert all(r.chat_id == message.chat_id for r in message.reactions)


def test_busy_room_generated_history_comes_before_its_own_messages(busy_room):
    times = [m.created_at for m in busy_room.messages.values()]
    assert times == sorted(times)
    assert len(set(times)) == len(times)


def test_busy_room_export_is_a_plain_document_that_loads_the_same(busy_room):
    document = worlds.to_document([busy_room])
    assert "generate" not in document["sessions"][0]
    assert worlds.to_document(worlds.build_sessions(copy.deepcopy(document), seed=99)) == document


# Taken from mockchats with Faker 40.63: the shipped busy-room is the same room it was then,
# under every seed (its names and words now come from mockchats.core.wordlists).
BUSY_ROOM_DIGESTS = {0: "a77a26862400721e6d9762d4495c2948e754124592d1631fcd26928d9b61f0d9",
                     1: "b834617201c35973cde48288c3ebe73bc10cbf8888810c5d5e95b29abf04e19b",
                     3: "3971d731e41f8cf5b49e5fe46f5ee1060da52f431bdfe0c44ba80730708dbb40",
                     5: "ecd8cf809b9b8f8d6e479695e84f105f002531bb6ca9f7d22fd0e615c26bc079",
                     42: "e3cb8eeb242a1208b85f52452413500a3203c7048c3b32e1860115d5bbd85402"}


@pytest.mark.parametrize("seed", BUSY_ROOM_DIGESTS)
def test_busy_room_is_the_room_it_was_for_each_seed(seed):
    document = worlds.to_document(worlds.load_scenario("busy-room", seed=seed))
    text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    assert hashlib.sha256(text.encode()).hexdigest() == BUSY_ROOM_DIGESTS[seed]


#: GET /_mock/state after loading each shipped scenario, as it was with Faker 40.63.
STATE_DIGESTS = {("busy-room", 0): BUSY_ROOM_DIGESTS[0], ("busy-room", 3): BUSY_ROOM_DIGESTS[3],
                 ("default", 0): "ecbbb6d54979ce8d81d55329f2a11dd4ce4ed5d9097cbc0006bfa87a4ba1a3d7",
                 ("edge-cases", 0): "59b471bd14aa66d9169481f9f0336f12ab7ef20b225f614f03092be2e89b3a3b",
                 ("empty", 0): "9b98d812f8e4d040bf4df0a974278ae32a1e247bfcc2afe7571a5808655d3da5",
                 ("pinned-and-reacted", 0): "466096453663cff5b1c2f3b944728f540a6d7852793bc6eb7b171621817a8d50",
                 ("pinned-and-reacted", 3): "466096453663cff5b1c2f3b944728f540a6d7852793bc6eb7b171621817a8d50"}


@pytest.fixture(scope="module")
def own_server():
    server = mockchats.Server(mockchats.build().app, port=0).start()
    yield server.root_url
    server.stop()


@pytest.mark.parametrize("name, seed", STATE_DIGESTS)
def test_every_shipped_scenario_exports_as_it_did(own_server, name, seed):
    loaded = requests.post(f"{own_server}/_mock/scenarios/{name}", json={"seed": seed}, timeout=30)
    assert loaded.status_code == 200, loaded.text
    state = requests.get(f"{own_server}/_mock/state", timeout=30).json()
    text = json.dumps(state, ensure_ascii=False, sort_keys=True)
    assert hashlib.sha256(text.encode()).hexdigest() == STATE_DIGESTS[name, seed]


def test_same_seed_gives_the_same_scenario():
    first = worlds.to_document(worlds.load_scenario("busy-room", seed=5))
    assert worlds.to_document(worlds.load_scenario("busy-room", seed=5)) == first


def test_different_seeds_give_different_scenarios(loaded):
    assert worlds.to_document(worlds.load_scenario("busy-room", seed=1)) != \
        worlds.to_document(loaded["busy-room"])


def test_a_scenario_without_generate_ignores_the_seed(loaded):
    assert worlds.to_document(worlds.load_scenario("edge-cases", seed=42)) == \
        worlds.to_document(loaded["edge-cases"])


# -- pinned-and-reacted -----------------------------------------------------------------
def test_pinned_and_reacted_has_pins_and_many_reactions_by_everyone(loaded):
    session = only_session(loaded["pinned-and-reacted"])
    messages = list(session.messages.values())
    pinned = [m for m in messages if m.pin_id]
    assert len(pinned) >= 3 and len(pinned) < len(messages)
    assert {r.user_id for m in messages for r in m.reactions} == set(session.users)
    ups = [m.reaction_count(THUMBS_UP) for m in messages]
    downs = [m.reaction_count(THUMBS_DOWN) for m in messages]
    assert max(ups) >= 5 and max(downs) >= 4
    assert any(u >= 3 and d >= 3 for u, d in zip(ups, downs))   # many of both kinds
    assert 0 in ups and 0 in downs
    assert len(set(ups)) < len(ups) and len(set(downs)) < len(downs)   # ties to break


# -- edge-cases -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def edge_texts(loaded):
    return {m.text: m for m in only_session(loaded["edge-cases"]).messages.values()}


def has_multi_code_point_emoji(text: str) -> bool:
    return (ZWJ in text and any(ord(c) in REGIONAL_INDICATORS for c in text)
            and any(ord(c) in SKIN_TONES for c in text))


def test_edge_cases_hold_280_unit_messages_with_and_without_emoji(edge_texts):
    at_limit = [t for t in edge_texts if utf16_length(t) == 280]
    assert any(t.isascii() and len(t) == 280 for t in at_limit)
    with_emoji = [t for t in at_limit if has_multi_code_point_emoji(t)]
    assert with_emoji and all(len(t) < 280 for t in with_emoji)


def test_edge_cases_hold_right_to_left_text(edge_texts):
    assert any(any("\u0600" <= c <= "\u06ff" for c in t) for t in edge_texts)   # Arabic
    assert any(any("\u0590" <= c <= "\u05ff" for c in t) for t in edge_texts)   # Hebrew


def test_edge_cases_hold_markup_looking_text(edge_texts):
    texts = " ".join(edge_texts)
    for fragment in ("<script>alert(1)</script>", "**bold**", '{"json": true', "'; DROP TABLE chats;--"):
        assert fragment in texts


def test_edge_cases_have_messages_with_no_one_and_both_reactions(edge_texts):
    kinds = [frozenset(r.name for r in m.reactions) for m in edge_texts.values()]
    assert frozenset() in kinds
    assert frozenset({THUMBS_UP}) in kinds
    assert frozenset({THUMBS_UP, THUMBS_DOWN}) in kinds


def test_edge_cases_have_identical_instants_listed_out_of_chat_id_order(edge_texts):
    by_time: dict = {}
    for message in edge_texts.values():
        by_time.setdefault(message.created_at, []).append(message.chat_id)
    ties = [ids for ids in by_time.values() if len(ids) >= 2]
    assert ties and any(ids != sorted(ids) for ids in ties)


def test_edge_cases_have_a_whole_second_created_at(edge_texts):
    assert any(m.created_at.microsecond == 0 for m in edge_texts.values())


# -- unknown names ------------------------------------------------------------------------
def test_an_unknown_scenario_names_the_known_ones():
    with pytest.raises(worlds.UnknownScenario) as raised:
        worlds.load_scenario("nope")
    assert isinstance(raised.value, FixtureError)
    assert "'nope'" in str(raised.value)
    for name in SCENARIOS:
        assert name in str(raised.value)
    assert raised.value.known == SCENARIOS


@pytest.mark.parametrize("name", ["../x", "../fixtures/default", "scenarios/empty", "..\\empty",
                                  "/etc/passwd", "", ".", "..", "empty.yaml", "Default"])
def test_names_that_are_paths_or_not_listed_are_refused(name):
    with pytest.raises(worlds.UnknownScenario, match="known scenarios: busy-room, default"):
        worlds.load_scenario(name)


def test_a_name_with_a_path_separator_is_refused_as_a_path():
    with pytest.raises(worlds.UnknownScenario, match="named, not a path"):
        worlds.scenario_path("../x")


# -- a partner's own file with generate ------------------------------------------------------
def test_a_partners_file_with_generate_loads(tmp_path):
    [session] = worlds.load(write(tmp_path, world(users=5, messages=50)), seed=3)
    assert len(session.users) == 2 + 5
    assert len(session.messages) == 1 + 50
    assert list(session.messages)[-1] == "p-1"   # generated history comes first
    assert len({u.token for u in session.users.values()}) == 7


def test_generate_with_only_users_or_only_messages(tmp_path):
    [users_only] = worlds.build_sessions(world(users=3))
    assert (len(users_only.users), len(users_only.messages)) == (5, 1)
    [messages_only] = worlds.build_sessions(world(messages=4))
    assert (len(messages_only.users), len(messages_only.messages)) == (2, 5)
    [nothing] = worlds.build_sessions(world(users=0, messages=0))
    assert (len(nothing.users), len(nothing.messages)) == (2, 1)


def test_generated_tokens_avoid_tokens_already_used_anywhere():
    document = world(users=30)
    first_names = {re.sub(r"[^a-z0-9]", "", u.name.split()[0].lower()) for u in
                   worlds.build_sessions(copy.deepcopy(document))[0].users.values()}
    # Claim every token the generator would try first, in another session.
    document["sessions"].append({"id": "other", "users": [
        {"id": f"o-{i}-{name}", "name": name, "role": "Host", "token": f"{name}-{i}-token"}
        for name in sorted(first_names) for i in range(1, 31)]})
    sessions = worlds.build_sessions(document)
    tokens = [u.token for s in sessions for u in s.users.values()]
    assert len(tokens) == len(set(tokens))


def test_every_generating_session_gets_its_own_data():
    document = world(users=3, messages=20)
    second = copy.deepcopy(document["sessions"][0])
    second.update(id="second", users=[{"id": "s-host", "name": "Host", "role": "Host"}], messages=[])
    document["sessions"].append(second)
    first_session, second_session = worlds.build_sessions(document)
    assert len(first_session.messages) == 21 and len(second_session.messages) == 20
    assert not set(first_session.messages) & set(second_session.messages)
    assert not set(first_session.users) & set(second_session.users)


def test_messages_argument_adds_to_the_default_sessions_generate(tmp_path):
    [session] = worlds.load(write(tmp_path, world(messages=10)), messages=5)
    assert len(session.messages) == 1 + 10 + 5


def test_generating_100000_messages_completes():
    [session] = worlds.build_sessions(world(users=40, messages=100_000))
    assert len(session.messages) == 100_001
    assert all(utf16_length(m.text) <= 280 for m in session.messages.values())


# -- invalid generate ---------------------------------------------------------------------
@pytest.mark.parametrize("generate, place", [
    ({"messages": -1}, "sessions[0].generate.messages"),
    ({"messages": 200_001}, "sessions[0].generate.messages"),
    ({"messages": "5"}, "sessions[0].generate.messages"),
    ({"messages": 2.5}, "sessions[0].generate.messages"),
    ({"messages": True}, "sessions[0].generate.messages"),
    ({"users": -3}, "sessions[0].generate.users"),
    ({"users": None}, "sessions[0].generate.users"),
    ({"people": 3}, "sessions[0].generate"),
    (10, "sessions[0].generate"),
])
def test_invalid_generate_values_name_the_place(tmp_path, generate, place):
    document = world()
    document["sessions"][0]["generate"] = generate
    path = write(tmp_path, document)
    with pytest.raises(FixtureError, match=re.escape(f"{path}: {place}:")):
        worlds.load(path)


def test_the_generate_cap_is_accepted(tmp_path):
    document = world()
    document["sessions"][0]["generate"] = {"messages": 200_000, "users": 0}
    assert worlds._VALIDATOR.is_valid(document)


@pytest.mark.parametrize("description", [3, None, ["a"]])
def test_a_description_must_be_text(description):
    document = world()
    document["description"] = description
    with pytest.raises(FixtureError, match=r"^fixtures: description:"):
        worlds.build_sessions(document)


# -- generated history that would reach back before year 1 -----------------------------------
def at_year_one(messages: int = 50, created_at: str = "0001-01-01T00:00:00Z") -> dict:
    """The reviewer's document: a listed message at the first instant, and history before it."""
    return {"sessions": [{"id": "s", "generate": {"messages": messages},
                          "users": [{"id": "u", "name": "A", "role": "Host", "token": "t"}],
                          "messages": [{"chatId": "m", "userId": "u", "message": "hi",
                                        "createdAt": created_at}]}]}


BEFORE_YEAR_ONE = ("sessions[0].generate.messages: 50 generated messages, 5 s to 15 min apart before "
                   "the oldest listed one (0001-01-01T00:00:00Z), would be older than "
                   "0001-01-01T00:00:00Z, the earliest instant")


def test_history_generated_before_year_one_is_a_fixture_error_naming_the_place():
    with pytest.raises(FixtureError) as caught:
        worlds.build_sessions(at_year_one())
    assert str(caught.value) == "fixtures: " + BEFORE_YEAR_ONE


def test_messages_argument_before_year_one_names_it(tmp_path):
    document = at_year_one()
    del document["sessions"][0]["generate"]
    with pytest.raises(FixtureError) as caught:
        worlds.load(write(tmp_path, document), messages=5)
    assert str(caught.value).startswith(f"{tmp_path / 'partner.yaml'}: sessions[0]: 5 generated "
                                        "messages (--messages), 5 s to 15 min apart")


def test_history_that_fits_after_year_one_still_loads():
    # 3 messages of at most 15 min each fit in the hour after the first instant.
    [session] = worlds.build_sessions(at_year_one(3, "0001-01-01T01:00:00Z"))
    assert len(session.messages) == 4
    assert min(m.created_at for m in session.messages.values()).year == 1


@pytest.fixture
def year_one_server(own_server):
    """own_server on the default world again after each test, whatever the test loaded."""
    yield own_server
    reset(own_server)


def refused_as_before_year_one(root: str, method: str, path: str, body: dict, source: str) -> None:
    before = requests.get(f"{root}/_mock/state", timeout=30).json()
    response = requests.request(method, f"{root}{path}", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    # The control plane words an inline document's place its own way ($.document...).
    assert BEFORE_YEAR_ONE in detail and detail.startswith(source), detail
    assert requests.get(f"{root}/_mock/state", timeout=30).json() == before


def test_http_post_scenarios_document_before_year_one_is_a_400(year_one_server):
    refused_as_before_year_one(year_one_server, "POST", "/_mock/scenarios",
                               {"document": at_year_one()}, "")


def test_http_put_state_before_year_one_is_a_400(year_one_server):
    refused_as_before_year_one(year_one_server, "PUT", "/_mock/state", at_year_one(), "")


def test_http_post_scenarios_path_before_year_one_is_a_400(year_one_server, tmp_path):
    path = tmp_path / "year-one.json"
    path.write_text(json.dumps(at_year_one()), encoding="utf-8")
    refused_as_before_year_one(year_one_server, "POST", "/_mock/scenarios", {"path": str(path)}, f"{path}: ")


def test_generate_called_directly_before_year_one_raises_a_fixture_error():
    [session] = worlds.build_sessions(at_year_one(0))
    with pytest.raises(FixtureError, match=r"^generated messages before the oldest listed one "
                                           r"\(0001-01-01T00:00:00Z\) would be older than"):
        worlds.generate(session, seed=1, messages=5)
