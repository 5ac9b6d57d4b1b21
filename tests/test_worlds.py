"""Fixture files: the shipped defaults, validation with named places, seeded generation."""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import requests
import yaml
from support import ServeProcess, data_of

from mockchats import FixtureError, worlds
from mockchats.aspnet.habits import utf16_length
from mockchats.chats.models import CLIENT, HOST, REACTIONS
from mockchats.core.resources import DEFAULT_FIXTURES_PATH

pytest_plugins = ["pytester"]


def minimal() -> dict:
    return {"sessions": [{
        "id": "s-1",
        "users": [
            {"id": "u-host", "name": "Host", "role": "Host", "token": "host-token"},
            {"id": "u-zed", "name": "Zed", "role": "Client", "token": "zed-token"},
        ],
        "messages": [
            {"chatId": "m-1", "userId": "u-zed", "message": "Hello",
             "createdAt": "2025-06-26T08:48:07.13Z", "pinId": "p-1",
             "reactions": [{"id": "r-1", "userId": "u-host", "reaction": ":thumbs_up:"}]},
            {"chatId": "m-2", "userId": "u-host", "message": "Hi",
             "createdAt": "2025-06-26T08:49:00Z"},
        ],
    }]}


def second_session() -> dict:
    return {"id": "s-2",
            "users": [{"id": "u-other", "name": "Other", "role": "Host", "token": "other-token"}],
            "messages": [{"chatId": "m-9", "userId": "u-other", "message": "Elsewhere",
                          "createdAt": "2025-06-26T09:00:00Z"}]}


def write(tmp_path, document, name="fixtures.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return str(path)


def load_error(tmp_path, document) -> str:
    path = write(tmp_path, document)
    with pytest.raises(FixtureError) as caught:
        worlds.load(path)
    return str(caught.value)


# -- the shipped defaults -------------------------------------------------------
@pytest.fixture(scope="module")
def default_session():
    sessions = worlds.load()
    assert len(sessions) == 1
    return sessions[0]


def test_default_fixtures_hold_one_host_and_two_clients_with_known_tokens(default_session):
    roles = {u.token: (u.role, u.name) for u in default_session.users.values()}
    assert roles == {"host-token": (HOST, "Host"), "alice-token": (CLIENT, "Alice"),
                     "bob-token": (CLIENT, "Bob")}


def test_default_fixtures_fill_more_than_one_page(default_session):
    assert len(default_session.messages) >= 20


def test_default_fixtures_have_messages_with_and_without_reactions(default_session):
    with_reactions = [m for m in default_session.messages.values() if m.reactions]
    assert with_reactions
    assert len(with_reactions) < len(default_session.messages)
    assert {r.name for m in with_reactions for r in m.reactions} == set(REACTIONS)


def test_default_fixtures_have_a_pinned_and_an_unpinned_message(default_session):
    pins = [m.pin_id for m in default_session.messages.values()]
    assert any(pins) and not all(pins)


def test_default_fixtures_messages_fit_the_limit(default_session):
    assert all(1 <= utf16_length(m.text) <= 280 for m in default_session.messages.values())


def test_load_accepts_json_documents(tmp_path):
    path = tmp_path / "fixtures.json"
    path.write_text(json.dumps(minimal()), encoding="utf-8")
    assert list(worlds.load(path)[0].messages) == ["m-1", "m-2"]


def test_a_valid_document_becomes_sessions_users_messages_reactions_and_pins():
    [session] = worlds.build_sessions(minimal())
    assert session.id == "s-1"
    assert [(u.id, u.role, u.token, u.session_id) for u in session.users.values()] == [
        ("u-host", HOST, "host-token", "s-1"), ("u-zed", CLIENT, "zed-token", "s-1")]
    message = session.messages["m-1"]
    assert (message.user_id, message.text, message.pin_id) == ("u-zed", "Hello", "p-1")
    assert message.created_at.isoformat() == "2025-06-26T08:48:07.130000+00:00"
    assert [(r.id, r.chat_id, r.user_id, r.name) for r in message.reactions] == [
        ("r-1", "m-1", "u-host", ":thumbs_up:")]
    assert session.messages["m-2"].reactions == [] and session.messages["m-2"].pin_id is None


def test_created_at_offsets_are_converted_to_utc():
    document = minimal()
    document["sessions"][0]["messages"][0]["createdAt"] = "2025-06-26T10:48:07+02:00"
    [session] = worlds.build_sessions(document)
    assert session.messages["m-1"].created_at.isoformat() == "2025-06-26T08:48:07+00:00"


def test_seven_digit_times_are_cut_to_microseconds_not_rounded():
    document = minimal()
    document["sessions"][0]["messages"][0]["createdAt"] = "2025-06-26T08:59:59.9999999Z"
    [session] = worlds.build_sessions(document)
    assert session.messages["m-1"].created_at.isoformat() == "2025-06-26T08:59:59.999999+00:00"


def test_users_without_a_token_are_allowed():
    document = minimal()
    del document["sessions"][0]["users"][1]["token"]
    [session] = worlds.build_sessions(document)
    assert session.users["u-zed"].token is None


# -- invalid documents name the place --------------------------------------------
def mutate(change):
    document = minimal()
    change(document)
    return document


def _set(path, value):
    def change(document):
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


def _append(path, item):
    def change(document):
        target = document
        for part in path:
            target = target[part]
        target.append(item)
    return change


S0 = ["sessions", 0]
M0 = S0 + ["messages", 0]
OTHER_MESSAGE = {"chatId": "m-3", "userId": "u-zed", "message": "x", "createdAt": "2025-06-26T08:50:00Z"}

INVALID = {
    "bad role": (_set(S0 + ["users", 1, "role"], "Admin"), "sessions[0].users[1].role"),
    "missing user name": (lambda d: d["sessions"][0]["users"][0].pop("name"), "sessions[0].users[0]"),
    "duplicate user id": (_append(S0 + ["users"], {"id": "u-zed", "name": "Z2", "role": "Client"}),
                          "sessions[0].users[2].id"),
    "duplicate token": (_append(S0 + ["users"], {"id": "u-new", "name": "N", "role": "Client",
                                                 "token": "zed-token"}),
                        "sessions[0].users[2].token"),
    "token with a space": (_set(S0 + ["users", 1, "token"], "zed token"), "sessions[0].users[1].token"),
    "message by a stranger": (_set(M0 + ["userId"], "u-nobody"), "sessions[0].messages[0].userId"),
    "duplicate chatId": (_append(S0 + ["messages"], {**OTHER_MESSAGE, "chatId": "m-1"}),
                         "sessions[0].messages[2].chatId"),
    "chatId with a slash": (_set(M0 + ["chatId"], "m/1"), "sessions[0].messages[0].chatId"),
    "createdAt without a zone": (_set(M0 + ["createdAt"], "2025-06-26T08:48:07"),
                                 "sessions[0].messages[0].createdAt"),
    "createdAt not a date": (_set(M0 + ["createdAt"], "yesterday"), "sessions[0].messages[0].createdAt"),
    "createdAt impossible month": (_set(M0 + ["createdAt"], "2025-13-26T08:48:07Z"),
                                   "sessions[0].messages[0].createdAt"),
    "createdAt unquoted in YAML": (_set(M0 + ["createdAt"], datetime(2025, 6, 26)),
                                   "sessions[0].messages[0].createdAt"),
    "unknown reaction": (_set(M0 + ["reactions", 0, "reaction"], ":heart:"),
                         "sessions[0].messages[0].reactions[0].reaction"),
    "alias spelling of a reaction": (_set(M0 + ["reactions", 0, "reaction"], ":thumbsup:"),
                                     "sessions[0].messages[0].reactions[0].reaction"),
    "same reaction twice by one user": (
        _append(M0 + ["reactions"], {"id": "r-2", "userId": "u-host", "reaction": ":thumbs_up:"}),
        "sessions[0].messages[0].reactions[1]"),
    "reaction by a stranger": (_set(M0 + ["reactions", 0, "userId"], "u-nobody"),
                               "sessions[0].messages[0].reactions[0].userId"),
    "duplicate reaction id": (
        _append(M0 + ["reactions"], {"id": "r-1", "userId": "u-zed", "reaction": ":thumbs_up:"}),
        "sessions[0].messages[0].reactions[1].id"),
    "duplicate pinId": (_append(S0 + ["messages"], {**OTHER_MESSAGE, "pinId": "p-1"}),
                        "sessions[0].messages[2].pinId"),
    "blank message": (_set(M0 + ["message"], "   "), "sessions[0].messages[0].message"),
    "message over 280": (_set(M0 + ["message"], "x" * 281), "sessions[0].messages[0].message"),
    "message over 280 UTF-16 units": (_set(M0 + ["message"], "x" * 279 + "😀"),
                                      "sessions[0].messages[0].message"),
    "empty message": (_set(M0 + ["message"], ""), "sessions[0].messages[0].message"),
    "unknown message field": (_set(M0 + ["pinned"], True), "sessions[0].messages[0]"),
    "no users": (_set(S0 + ["users"], []), "sessions[0].users"),
    "no sessions": (_set(["sessions"], []), "sessions"),
}


@pytest.mark.parametrize("change, place", INVALID.values(), ids=INVALID.keys())
def test_invalid_documents_name_the_place(tmp_path, change, place):
    message = load_error(tmp_path, mutate(change))
    assert f": {place}:" in message


@pytest.mark.parametrize("document", [None, [], "sessions", {"sessions": [], "extra": 1}, {}])
def test_documents_of_the_wrong_shape_are_fixture_errors(tmp_path, document):
    with pytest.raises(FixtureError):
        worlds.build_sessions(document)


def test_errors_name_the_source(tmp_path):
    path = write(tmp_path, mutate(_set(S0 + ["users", 1, "role"], "Admin")))
    with pytest.raises(FixtureError, match=r"^" + re.escape(path) + r": sessions\[0\]"):
        worlds.load(path)


def test_a_message_author_must_belong_to_the_same_session(tmp_path):
    document = minimal()
    document["sessions"].append(second_session())
    document["sessions"][1]["messages"][0]["userId"] = "u-zed"
    assert ": sessions[1].messages[0].userId:" in load_error(tmp_path, document)


def test_a_reaction_author_must_belong_to_the_same_session(tmp_path):
    document = minimal()
    document["sessions"].append(second_session())
    document["sessions"][0]["messages"][0]["reactions"][0]["userId"] = "u-other"
    assert ": sessions[0].messages[0].reactions[0].userId:" in load_error(tmp_path, document)


@pytest.mark.parametrize("field, value, place", [
    ("token", "host-token", "sessions[1].users[0].token"),
    ("id", "u-host", "sessions[1].users[0].id"),
])
def test_tokens_and_user_ids_are_unique_across_sessions(tmp_path, field, value, place):
    document = minimal()
    document["sessions"].append(second_session())
    document["sessions"][1]["users"][0][field] = value
    assert f": {place}:" in load_error(tmp_path, document)


def test_chat_ids_are_unique_across_sessions(tmp_path):
    document = minimal()
    document["sessions"].append(second_session())
    document["sessions"][1]["messages"][0]["chatId"] = "m-1"
    assert ": sessions[1].messages[0].chatId:" in load_error(tmp_path, document)


def test_session_ids_are_unique(tmp_path):
    document = minimal()
    document["sessions"].append(second_session())
    document["sessions"][1]["id"] = "s-1"
    assert ": sessions[1].id:" in load_error(tmp_path, document)


def test_a_message_of_exactly_280_utf16_units_is_accepted():
    document = mutate(_set(M0 + ["message"], "x" * 278 + "😀"))
    assert utf16_length(worlds.build_sessions(document)[0].messages["m-1"].text) == 280


def test_a_missing_file_is_a_fixture_error(tmp_path):
    with pytest.raises(FixtureError, match="cannot read"):
        worlds.load(tmp_path / "absent.yaml")


def test_a_directory_is_a_fixture_error(tmp_path):
    with pytest.raises(FixtureError, match="cannot read"):
        worlds.load(tmp_path)


def test_a_file_that_is_not_utf8_is_a_fixture_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"sessions: \xff\xfe\n")
    with pytest.raises(FixtureError, match="cannot read"):
        worlds.load(path)


@pytest.mark.parametrize("text", ["sessions: [\n", "sessions:\n  - id: a\n   users: []\n", "{\"sessions\": "])
def test_invalid_yaml_is_a_fixture_error_with_its_position(tmp_path, text):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FixtureError, match=r"line \d+, column \d+"):
        worlds.load(path)


def test_an_empty_file_is_a_fixture_error(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(FixtureError, match=r"\(document\)"):
        worlds.load(path)


# -- seeded generation -----------------------------------------------------------
def generated(seed: int, messages: int = 30) -> dict:
    return worlds.to_document(worlds.load(messages=messages, seed=seed))


def test_same_seed_gives_identical_data():
    assert generated(seed=7) == generated(seed=7)


def test_different_seeds_give_different_data():
    assert generated(seed=7) != generated(seed=8)


def test_generation_adds_n_messages_to_the_first_session_only(tmp_path):
    document = minimal()
    document["sessions"].append(second_session())
    sessions = worlds.load(write(tmp_path, document), messages=25, seed=3)
    assert len(sessions[0].messages) == 2 + 25
    assert list(sessions[1].messages) == ["m-9"]


def test_generation_keeps_the_fixtures_own_messages():
    plain = worlds.to_document(worlds.load())["sessions"][0]["messages"]
    with_generated = generated(seed=1, messages=40)["sessions"][0]["messages"]
    assert len(with_generated) == len(plain) + 40
    assert with_generated[-len(plain):] == plain


def test_generated_messages_come_before_the_fixtures_own_and_in_order():
    sessions = worlds.load(messages=40, seed=2)
    times = [m.created_at for m in sessions[0].messages.values()]
    assert times == sorted(times)
    assert len(set(times)) == len(times)


def test_generated_data_is_a_valid_fixture_document():
    document = generated(seed=5, messages=200)
    rebuilt = worlds.build_sessions(copy.deepcopy(document))
    assert worlds.to_document(rebuilt) == document


def test_generated_texts_fit_the_limit():
    session = worlds.load(messages=300, seed=11)[0]
    assert all(1 <= utf16_length(m.text) <= 280 for m in session.messages.values())


def test_generated_messages_are_written_by_session_users_and_react_legally():
    session = worlds.load(messages=300, seed=4)[0]
    for message in session.messages.values():
        assert message.user_id in session.users
        pairs = [(r.user_id, r.name) for r in message.reactions]
        assert len(pairs) == len(set(pairs))
        assert all(user in session.users and name in REACTIONS for user, name in pairs)
        assert all(r.chat_id == message.chat_id for r in message.reactions)


def test_generated_history_has_reactions_and_pins():
    session = worlds.load(messages=300, seed=4)[0]
    generated_messages = list(session.messages.values())[:300]
    assert any(m.reactions for m in generated_messages)
    assert any(not m.reactions for m in generated_messages)
    assert any(m.pin_id for m in generated_messages)


def test_zero_generated_messages_changes_nothing():
    assert generated(seed=9, messages=0) == worlds.to_document(worlds.load())


# -- what a seed guarantees -------------------------------------------------------
# The digests below were taken from mockchats with Faker 40.63 (the last release line it was
# pinned to), and the vendored word lists reproduce them: a seed gives the same world it gave
# then, under any Faker release or none. A change here changes every partner's seeded data:
# it needs a note in the README, not a new digest.
def digest(document) -> str:
    return hashlib.sha256(json.dumps(document, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


GENERATING = {"sessions": [{"id": "s-1", "generate": {"users": 25, "messages": 2000},
                            "users": [{"id": "u-host", "name": "Host", "role": "Host", "token": "host-token"}]}]}
PINNED_GENERATION = {0: "5bb09e435beae134c76f1e17471e563b6dcc0ce2b4d6c28ad59e8cf32af0156f",
                     7: "055e9e0adc33862f5c02f39923f00d5a6359f5b887b98f0bb018a71b931bd827"}
PINNED_MESSAGES_500 = "355f3c2ec6f83488399f56f391aefa0a260e0ae5a01aaa1398dd2815e204301e"
PINNED_GUEST_NAMES = "0f16cf36bdd48d00c6be92c8406119394a9c4896c399a27aab69edb3a5da0043"


@pytest.mark.parametrize("seed", PINNED_GENERATION)
def test_generate_gives_the_pinned_world_for_a_seed(seed):
    sessions = worlds.build_sessions(copy.deepcopy(GENERATING), seed=seed)
    assert digest(worlds.to_document(sessions)) == PINNED_GENERATION[seed]


def test_generated_names_and_texts_read_as_before():
    [session] = worlds.build_sessions(copy.deepcopy(GENERATING), seed=0)
    assert [u.name for u in list(session.users.values())[1:5]] == [
        "Matthew Schwartz", "Mariah Sanders", "Ashley Owen", "Sara Kennedy"]
    assert next(iter(session.messages.values())).text == "Us population left full me could detail father."


def test_messages_option_gives_the_pinned_history():
    assert digest(worlds.to_document(worlds.load(messages=500, seed=0))) == PINNED_MESSAGES_500


def test_guest_names_are_pinned():
    from mockchats.chats.auth import Authenticator
    from mockchats.chats.models import Store

    authenticator = Authenticator(Store(worlds.load()))
    names = [authenticator.guest_identity(f"guest-{i}")[1] for i in range(200)]
    assert names[:3] == ["Mark Schmidt", "Joseph Morris", "Robert Rogers"]
    assert hashlib.sha256("\n".join(names).encode()).hexdigest() == PINNED_GUEST_NAMES


def test_generation_does_not_need_faker():
    # Faker made unimportable: generation and guest names still give the pinned data.
    script = (
        "import sys; sys.modules['faker'] = None\n"
        "import copy, hashlib, json\n"
        "from mockchats import worlds\n"
        "from mockchats.chats.auth import Authenticator\n"
        "from mockchats.chats.models import Store\n"
        f"document = {GENERATING!r}\n"
        "sessions = worlds.build_sessions(document, seed=7)\n"
        "text = json.dumps(worlds.to_document(sessions), ensure_ascii=False, sort_keys=True)\n"
        "print(hashlib.sha256(text.encode()).hexdigest())\n"
        "print(Authenticator(Store(worlds.load())).guest_identity('guest-0')[1])\n"
        "print('faker' in sys.modules and sys.modules['faker'] is not None)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [PINNED_GENERATION[7], "Mark Schmidt", "False"]


def test_faker_is_not_a_dependency():
    # A partner may pin any Faker release beside mockchats.
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text("utf-8"))["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    assert [r for r in requirements if r.lower().startswith("faker")] == []


# -- to_document -----------------------------------------------------------------


def test_to_document_round_trips_a_document():
    assert worlds.to_document(worlds.build_sessions(minimal())) == data_of(minimal())


def test_to_document_round_trips_the_default_fixture_document():
    document = worlds.read_document(DEFAULT_FIXTURES_PATH)
    assert worlds.to_document(worlds.build_world(document)) == data_of(document)


# -- what is read, and what an error shows ------------------------------------------------
# A path reaches read_document from `serve --fixtures`, the plugin's --mockchats-fixtures and
# POST /_mock/scenarios {"path"}: each refuses what is not a regular file before reading it,
# reads no more than a state may hold, and never quotes the file back.
def test_a_device_is_refused_before_it_is_read():
    with pytest.raises(FixtureError,
                       match=r"^cannot read fixtures file /dev/zero: it is a device, not a regular file$"):
        worlds.load("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FixtureError, match=r"it is a named pipe \(FIFO\), not a regular file$"):
        worlds.load(tmp_path / "pipe")


def test_a_folder_is_refused_as_not_a_regular_file(tmp_path):
    with pytest.raises(FixtureError, match=r"cannot read fixtures file .*: it is a folder, not a regular file$"):
        worlds.load(tmp_path)


def test_a_path_with_a_nul_is_refused(tmp_path):
    with pytest.raises(FixtureError, match=r"a path cannot hold a NUL character$"):
        worlds.load(str(tmp_path / "a\x00b.yaml"))


def test_the_file_limit_is_the_state_limit():
    from mockchats.control.views import MAX_STATE_BYTES

    assert worlds.MAX_FILE_BYTES == MAX_STATE_BYTES


def test_a_file_over_the_limit_is_refused_by_its_size(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: takes no disk, and is never read
        handle.truncate(worlds.MAX_FILE_BYTES + 1)
    with pytest.raises(FixtureError, match=r"it is larger than 256 MiB, the most a state may be$"):
        worlds.load(path)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="no /proc here")
def test_a_file_that_says_it_is_empty_is_read_only_up_to_the_limit(monkeypatch):
    # /proc files report a size of 0: the limit holds on what is read, not on what stat says.
    assert os.stat("/proc/self/status").st_size == 0
    monkeypatch.setattr(worlds, "MAX_FILE_BYTES", 64)
    with pytest.raises(FixtureError, match=r"larger than 64 bytes, the most a state may be$"):
        worlds.load("/proc/self/status")


def test_a_file_of_exactly_the_limit_is_read(tmp_path, monkeypatch):
    path = tmp_path / "exact.json"
    path.write_text(json.dumps(minimal()), encoding="utf-8")
    monkeypatch.setattr(worlds, "MAX_FILE_BYTES", path.stat().st_size)
    assert worlds.load(path)[0].id == "s-1"


@pytest.mark.skipif(not Path("/etc/passwd").is_file(), reason="no /etc/passwd here")
def test_a_text_file_that_is_not_a_fixture_document_is_not_quoted():
    with pytest.raises(FixtureError) as caught:
        worlds.load("/etc/passwd")
    assert str(caught.value) == "/etc/passwd: (document): Must be an object, not a string."


def long_line_file(tmp_path, text: str) -> Path:
    path = tmp_path / "long.yaml"
    path.write_text(text, encoding="utf-8")
    return path


SECRET = "s3cr3t-" * 2000


@pytest.mark.parametrize("text, place", [
    # YAML errors: the place, never the excerpt PyYAML's own message carries.
    (f"sessions: [{SECRET}\n  : : ]\n", "line 2, column"),
    (f"sessions:\n- id: {SECRET}\n\tusers: []\n", "line 3, column 1"),
    (f"sessions: !!python/object/apply:os.system ['{SECRET}']\n", "line 1, column"),
    # schema and reference errors: the JSON path, and at most 40 characters of the value.
    (f"sessions: {SECRET}\n", "sessions: Must be an array, not a string."),
    (f"sessions: [{{id: s, users: [{{id: u, name: n, role: {SECRET}}}]}}]\n",
     f"sessions[0].users[0].role: Must be one of 'Host', 'Client', not '{SECRET[:40]}…'."),
    (f"sessions: [{{id: s, users: [{{id: u, name: n, role: Host, x{SECRET[:900]}: 1}}]}}]\n",
     f"sessions[0].users[0]: 'x{SECRET[:39]}…' is not a property here; known: address, id, name, role, token."),
    (f"sessions: [{{id: s, users: [{{id: u, name: n, role: Host}}], messages: [{{chatId: c, userId: {SECRET}, "
     "message: hi, createdAt: '2025-06-26T08:00:00Z'}]}]\n", "sessions[0].messages[0].userId: 's3cr3t-"),
    (f"sessions: [{{id: s, users: [{{id: u, name: n, role: Host}}], messages: [{{chatId: c, userId: u, "
     f"message: '{SECRET}', createdAt: '2025-06-26T08:00:00Z'}}]}}]\n",
     "sessions[0].messages[0].message: Must be at most 280 characters long; 's3cr3t-"),
    (f"sessions: [{{id: s, users: [{{id: {SECRET}, name: n, role: Host}}, {{id: {SECRET}, name: m, role: Host}}]}}]\n",
     "sessions[0].users[1].id: user id 's3cr3t-"),
    (f"sessions: [{{id: s, users: [{{id: u, name: n, role: Host, token: {SECRET}}}, "
     f"{{id: v, name: m, role: Host, token: {SECRET}}}]}}]\n",
     f"sessions[0].users[1].token: token '{SECRET[:40]}…' is already used at sessions[0].users[0].token"),
])
def test_errors_name_the_place_and_quote_at_most_a_clipped_value(tmp_path, text, place):
    path = long_line_file(tmp_path, text)
    with pytest.raises(FixtureError) as caught:
        worlds.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and place in message, message
    assert "s3cr3t-" * 7 not in message and len(message) < len(str(path)) + 200, message
    assert "\n" not in message


@pytest.mark.parametrize("text, problem", [
    ("sessions: " + "1" * 5000 + "\n",
     "line 1, column 11: not valid YAML or JSON: a number, date or tagged value there cannot be read"),
    ("sessions: !!timestamp nope\n",
     "line 1, column 11: not valid YAML or JSON: a number, date or tagged value there cannot be read"),
    ("sessions: " + "[" * 50_000 + "]" * 50_000 + "\n", "not valid YAML or JSON: nested too deeply"),
    ("sessions: [a\x00b]\n", "character 13: not valid YAML or JSON: the character U+0000 is not allowed"),
    ("sessions: [{id: s, users: [{id: u, name: n, role: Host}], messages: [{chatId: c, userId: u, "
     "message: hi, createdAt: 2025-06-26T08:00:00Z}]}]\n",
     "sessions[0].messages[0].createdAt: Must be a string, not a YAML date and time (quote it)."),
])
def test_values_python_cannot_hold_are_fixture_errors(tmp_path, text, problem):
    path = long_line_file(tmp_path, text)
    with pytest.raises(FixtureError) as caught:
        worlds.load(path)
    assert problem in str(caught.value)


def yaml_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + f"\nsessions: *a{levels}\n"


def test_aliases_that_multiply_the_document_are_refused(tmp_path):
    path = long_line_file(tmp_path, yaml_bomb())
    with pytest.raises(FixtureError, match=r"its aliases expand it far beyond its own size"):
        worlds.load(path)


def test_aliases_of_ids_are_fine(tmp_path):
    messages = ", ".join(f"{{chatId: c{i}, userId: *u, message: hi, createdAt: '2025-06-26T08:00:00Z'}}"
                         for i in range(3000))
    path = long_line_file(tmp_path, f"sessions: [{{id: s, users: [{{id: &u u, name: n, role: Host}}], "
                                    f"messages: [{messages}]}}]\n")
    assert len(worlds.load(path)[0].messages) == 3000


def test_an_unknown_scenario_name_is_clipped():
    with pytest.raises(worlds.UnknownScenario) as caught:
        worlds.load_scenario("x" * 10_000)
    assert "x" * 41 not in str(caught.value) and "known scenarios: busy-room" in str(caught.value)


# -- over HTTP: POST /_mock/scenarios {"path"} and PUT /_mock/state ------------------------
@pytest.fixture(scope="module")
def served():
    """`mockchats serve` as a partner runs it: one granian worker, which a read of /dev/zero
    used to block for good."""
    with ServeProcess() as process:
        yield process.base_url.removesuffix("/v1")


def refused_path(root: str, path: str) -> str:
    """POST /_mock/scenarios with ``path``: a 400 problem+json changing nothing; its detail."""
    before = requests.get(root + "/_mock/state", timeout=10).json()
    response = requests.post(root + "/_mock/scenarios", json={"path": path}, timeout=10)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"] == {"$": [problem["detail"]]}
    assert len(response.content) < 1000, response.text
    assert requests.get(root + "/_mock/state", timeout=10).json() == before
    return problem["detail"]


def test_http_dev_zero_is_refused_and_the_server_keeps_answering(served):
    assert refused_path(served, "/dev/zero") == \
        "cannot read fixtures file /dev/zero: it is a device, not a regular file"
    assert requests.get(served + "/v1/chats", headers={"Authorization": "Bearer host-token"},
                        timeout=10).status_code == 200


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_http_a_named_pipe_is_refused_at_once(served, tmp_path):
    os.mkfifo(tmp_path / "pipe")
    assert refused_path(served, str(tmp_path / "pipe")).endswith("it is a named pipe (FIFO), not a regular file")


def test_http_a_folder_is_refused(served, tmp_path):
    assert refused_path(served, str(tmp_path)).endswith("it is a folder, not a regular file")


def test_http_a_path_with_a_nul_is_a_400(served, tmp_path):
    assert refused_path(served, str(tmp_path) + "/a\x00b.yaml").endswith("a path cannot hold a NUL character")


@pytest.mark.skipif(not Path("/etc/passwd").is_file(), reason="no /etc/passwd here")
def test_http_etc_passwd_is_not_quoted_back(served):
    assert refused_path(served, "/etc/passwd") == "/etc/passwd: (document): Must be an object, not a string."


def test_http_a_file_over_the_state_limit_is_refused(served, tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(worlds.MAX_FILE_BYTES + 1)
    assert refused_path(served, str(path)).endswith("it is larger than 256 MiB, the most a state may be")


def test_http_a_yaml_bomb_is_refused_at_once(served, tmp_path):
    path = long_line_file(tmp_path, yaml_bomb())
    assert "its aliases expand it far beyond its own size" in refused_path(served, str(path))


def test_http_a_long_syntax_error_is_not_quoted(served, tmp_path):
    path = long_line_file(tmp_path, f"sessions: [{SECRET}\n  : : ]\n")
    detail = refused_path(served, str(path))
    assert detail.startswith(f"{path}: line 2, column") and "s3cr3t" not in detail


NOT_A_STATE = "The body does not match the FixtureDocument schema: "


@pytest.mark.parametrize("document, place", [
    ({"sessions": SECRET}, NOT_A_STATE + "$.sessions: Must be an array, not a string."),
    ({"sessions": [{"id": "s", "users": [{"id": "u", "name": "n", "role": SECRET}]}]},
     NOT_A_STATE + f"$.sessions[0].users[0].role: Must be one of 'Host', 'Client', not '{SECRET[:40]}…'."),
    ({"sessions": [{"id": "s", "users": [{"id": "u", "name": "n", "role": "Host", SECRET: 1}]}]},
     NOT_A_STATE + f"$.sessions[0].users[0]: '{SECRET[:40]}…' is not a property here; "
                   "known: address, id, name, role, token."),
])
def test_http_put_state_errors_quote_at_most_a_clipped_value(served, document, place):
    before = requests.get(served + "/_mock/state", timeout=10).json()
    response = requests.put(served + "/_mock/state", json=document, timeout=10)
    assert response.status_code == 400, response.text
    assert len(response.content) < 1000 and "s3cr3t-" * 7 not in response.text, response.text
    assert response.json()["detail"].startswith(place), response.text
    assert requests.get(served + "/_mock/state", timeout=10).json() == before


# -- on the command line and in the plugin ---------------------------------------------
def serve_with(path: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mockchats", "serve", "--port", "0", "--fixtures", path],
                          capture_output=True, text=True, timeout=60)


def not_a_file(kind: str, tmp_path) -> str:
    if kind == "device":
        return "/dev/zero"
    if kind == "pipe":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        os.mkfifo(tmp_path / "pipe")
        return str(tmp_path / "pipe")
    return str(tmp_path)


@pytest.mark.parametrize("kind, reason", [("device", "it is a device, not a regular file"),
                                          ("pipe", "it is a named pipe (FIFO), not a regular file"),
                                          ("folder", "it is a folder, not a regular file")])
def test_serve_refuses_what_is_not_a_regular_file_in_one_line(tmp_path, kind, reason):
    path = not_a_file(kind, tmp_path)
    result = serve_with(path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: cannot read fixtures file {path}: {reason}"]


@pytest.mark.skipif(not Path("/etc/passwd").is_file(), reason="no /etc/passwd here")
def test_serve_does_not_quote_a_file_that_is_not_a_fixture_document():
    result = serve_with("/etc/passwd")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: /etc/passwd: (document): Must be an object, not a string."]


def test_serve_takes_a_path_with_a_nul_as_a_usage_error():
    # A shell cannot pass a NUL; a program driving the command in-process can.
    from click.testing import CliRunner

    from mockchats.cli import main

    result = CliRunner().invoke(main, ["serve", "--port", "0", "--fixtures", "fixtures\x00.yaml"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["Error: --fixtures: a path cannot hold a NUL character"]


def test_the_plugin_refuses_a_device_as_its_fixtures(pytester):
    pytester.makepyfile(test_it="def test_it(mockchats):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mockchats-fixtures", "/dev/zero",
                                           timeout=60)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*mockchats: cannot read fixtures file /dev/zero: it is a device, not a regular file*"])


# -- lone UTF-16 surrogates in a file ----------------------------------------------------------
LONE = "a string holds a lone UTF-16 surrogate (an escape such as \\ud800 without its pair), which is not text"
SESSION_WITH_ID = ('{"sessions": [{"id": %s, "users": [{"id": "u", "name": "A", "role": "Host"}]}]}')


@pytest.mark.parametrize("name, text, place", [
    ("value.json", SESSION_WITH_ID % '"\\ud800"', "line 1, column 22"),
    ("low-half.json", SESSION_WITH_ID % '"ok\\udc00"', "line 1, column 22"),
    ("reversed-pair.json", SESSION_WITH_ID % '"\\ude00\\ud83d"', "line 1, column 22"),
    ("key.json", '{"sessions": [{"id": "s", "users": [], "\\ud800": 1}]}', "line 1, column 40"),
    ("value.yaml", 'sessions:\n- id: s\n  users:\n  - {id: u, name: "A \\ud800", role: Host}\n',
     "line 4, column 19"),
    ("long-escape.yaml", 'sessions:\n- id: "\\U0000DFFF"\n  users: []\n', "line 2, column 7"),
    ("key.yaml", 'sessions:\n- id: s\n  "\\udbff": 1\n  users: []\n', "line 3, column 3"),
])
def test_a_lone_surrogate_in_a_file_is_refused_at_its_place(tmp_path, name, text, place):
    path = long_line_file(tmp_path, text).rename(tmp_path / name)
    with pytest.raises(FixtureError) as caught:
        worlds.load(path)
    assert str(caught.value) == f"{path}: {place}: {LONE}"


def test_an_escaped_surrogate_pair_in_a_file_is_the_one_character_it_encodes(tmp_path):
    # What json.dumps writes for an emoji by default: the mock reads it as JSON readers do.
    path = tmp_path / "emoji.json"
    path.write_text(json.dumps({"sessions": [{"id": "s\U0001F600", "users": [
        {"id": "u", "name": "A \U0001F600", "role": "Host"}]}]}), encoding="utf-8")
    assert "\\ud83d\\ude00" in path.read_text(encoding="utf-8")
    [session] = worlds.load(path)
    assert (session.id, session.users["u"].name) == ("s\U0001F600", "A \U0001F600")


def test_http_a_lone_surrogate_in_a_file_is_a_400_and_a_pair_loads_and_round_trips(served, tmp_path):
    lone = long_line_file(tmp_path, SESSION_WITH_ID % '"\\ud800"')
    assert refused_path(served, str(lone)) == f"{lone}: line 1, column 22: {LONE}"
    pair = tmp_path / "pair.json"
    pair.write_text(SESSION_WITH_ID % '"\\ud83d\\ude00"', encoding="utf-8")
    try:
        loaded = requests.post(served + "/_mock/scenarios", json={"path": str(pair)}, timeout=10)
        assert loaded.status_code == 200, loaded.text
        state = requests.get(served + "/_mock/state", timeout=10)
        assert state.json()["sessions"][0]["id"] == "\U0001F600"
        # What the mock exports, it takes back.
        assert requests.put(served + "/_mock/state", data=state.content, timeout=10,
                            headers={"Content-Type": "application/json"}).status_code == 200
    finally:
        requests.post(served + "/_mock/reset", json={}, timeout=10)


def test_serve_refuses_a_lone_surrogate_in_one_line(tmp_path):
    path = long_line_file(tmp_path, SESSION_WITH_ID % '"\\ud800"')
    result = serve_with(str(path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: {path}: line 1, column 22: {LONE}"]


# -- a file's schema faults in the one wording, wherever the file is loaded ------------------------
WORDED = [
    ("sessions:\n- id: s\n  users:\n  - {id: u, name: A, role: Admin}\n",
     "sessions[0].users[0].role: Must be one of 'Host', 'Client', not 'Admin'."),
    ("sessions:\n- id: s\n  users:\n  - {id: u, name: A, role: Host}\n  messages:\n"
     "  - {chatId: m, userId: u, message: hi, createdAt: 'yesterday'}\n",
     "sessions[0].messages[0].createdAt: Must be an ISO 8601 instant with a time zone "
     "(e.g. 2025-06-26T08:48:07.13Z), not 'yesterday'."),
]


@pytest.mark.parametrize("text, problem", WORDED)
def test_http_a_files_schema_fault_is_worded_by_the_describer(served, tmp_path, text, problem):
    path = long_line_file(tmp_path, text)
    assert refused_path(served, str(path)) == f"{path}: {problem}"


@pytest.mark.parametrize("text, problem", WORDED)
def test_serve_words_a_files_schema_fault_by_the_describer(tmp_path, text, problem):
    path = long_line_file(tmp_path, text)
    result = serve_with(str(path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: {path}: {problem}"]


def test_the_plugin_refuses_history_generated_before_year_one(pytester, tmp_path):
    path = tmp_path / "year-one.yaml"
    path.write_text("sessions:\n- id: s\n  generate: {messages: 50}\n  users:\n  - {id: u, name: A, role: Host}\n"
                    "  messages:\n  - {chatId: m, userId: u, message: hi, createdAt: '0001-01-01T00:00:00Z'}\n",
                    encoding="utf-8")
    pytester.makepyfile(test_it="def test_it(mockchats):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mockchats-fixtures", str(path),
                                           timeout=60)
    result.assert_outcomes(errors=1)
    # (fnmatch reads [0] as a character class: ? stands for each bracket)
    result.stdout.fnmatch_lines([f"*mockchats: {path}: sessions?0?.generate.messages: 50 generated messages, "
                                 "*would be older than 0001-01-01T00:00:00Z, the earliest instant"])
    assert "OverflowError" not in result.stdout.str() and "Traceback" not in result.stdout.str()
