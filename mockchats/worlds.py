"""Fixture files: the one format the mock loads its world from.

A fixture document (YAML or JSON, schema in ``fixtures/fixtures.schema.json``)
lists sessions with their users, messages, reactions and pins. Loading validates
it against the schema, then checks what a schema cannot (unique ids and tokens,
references to users of the same session), and names the place of any fault.
A session may ask for generated content (``generate: {messages: N, users: M}``):
generated Clients and messages with reactions and pins, identical under the same
seed from run to run and from release to release (the names and words come from
:mod:`mockchats.core.wordlists`, never from an installed Faker). ``--messages N`` asks the
same for the default (first) session.

A document also holds what the Session API knows of each session (its rules, creator, expiry
and the users' wallet addresses) and the API keys the world accepts: :func:`build_world` gives
both services' records as a :class:`World`; :func:`build_sessions` and :func:`load` give the
Chats API's sessions alone, as they always did.

Named scenarios are fixture documents in ``fixtures/scenarios/`` (plus ``default``,
which is the shipped default fixtures file itself, so the two can never drift);
:func:`list_scenarios` and :func:`load_scenario` find them by name.
"""
from __future__ import annotations

import json
import os
import random
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from .aspnet.habits import DotNetValidator, format_datetime, parse_datetime
from .chats.models import CLIENT, THUMBS_DOWN, THUMBS_UP, ChatSession, Message, Reaction, User
from .core import wordlists
from .core.clock import utcnow
from .core.errors import Unprocessable
from .core.resources import DEFAULT_FIXTURES_PATH, FIXTURE_SCHEMA_PATH, data_path
from .core.wording import clip, describe, place_of, quote
from .sessions.models import HOST, Member, Rules, Session, rules_from_request

DEFAULT_SEED = 0
#: The shipped scenarios: one fixture document per file, named by its file name.
SCENARIOS_DIR = data_path("fixtures/scenarios")
#: The scenario that is the shipped default fixtures file itself rather than a copy of it.
DEFAULT_SCENARIO = "default"

#: Where generated history ends when the fixtures hold no message to anchor it.
_GENERATED_ANCHOR = datetime(2025, 6, 26, 8, 0, tzinfo=UTC)
#: How many sentences each generation draws up front; messages pick from them, since
#: a sentence per message would make 100,000 messages take many seconds.
_SENTENCE_POOL_SIZE = 400
#: Share of generated messages made of several pooled sentences (the long ones).
_PARAGRAPH_RATE = 0.08
#: Pareto shape of the number of users reacting to a generated message: about 60% get
#: no reaction, a few percent are popular with ten or more.
_REACTION_TAIL = 1.3
#: Pareto shape of how much each user writes: some users talk much more than others.
_CHATTINESS_TAIL = 1.5
_PIN_RATE = 0.02
_MAX_MESSAGE_UNITS = 280


class FixtureError(ValueError):
    """A fixture document is unreadable or invalid; the message names the place.

    A fault inside a valid-looking document also carries its ``place`` (``sessions[0].users[1]``)
    and its ``reason`` apart, so the control plane can key it by JSON path without reading words.
    """

    def __init__(self, message: str, *, place: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.place, self.reason = place, reason


def _fault_at(source: str, place: str, reason: str) -> FixtureError:
    return FixtureError(f"{source}: {place}: {reason}", place=place, reason=reason)


class UnknownScenario(FixtureError):
    """No shipped scenario has this name; the message (and ``known``) lists those that do."""

    def __init__(self, name: str, known: list[str], reason: str = "unknown scenario"):
        self.name = name
        self.known = known
        super().__init__(f"{reason} {quote(name)}; known scenarios: {', '.join(known)}")


def _schema_validator() -> DotNetValidator:
    with FIXTURE_SCHEMA_PATH.open(encoding="utf-8") as handle:
        return DotNetValidator(json.load(handle))


_VALIDATOR = _schema_validator()
#: The most messages one ``generate`` (and ``--messages``) may ask for: the schema's own bound.
MAX_GENERATED_MESSAGES: int = _VALIDATOR.schema["definitions"]["generate"]["properties"]["messages"]["maximum"]


def read_document(path: Path | str) -> dict:
    """Parse a fixture file (YAML, of which JSON is a subset).

    Only a regular file is read, and only up to :data:`MAX_FILE_BYTES`: a device such as
    ``/dev/zero`` or a named pipe would never end, or never begin. Faults name the file and
    the line, never quote it.
    """
    text = _read_text(path)
    shown = _show_path(path)
    loader = None
    try:
        loader = _Loader(text)  # which checks the characters at once
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise FixtureError(f"{shown}:{_yaml_place(exc)} not valid YAML or JSON: "
                           f"{_yaml_problem(exc)}") from None
    except _LoneSurrogate as exc:
        raise FixtureError(f"{shown}: line {exc.mark.line + 1}, column {exc.mark.column + 1}: a string "
                           "holds a lone UTF-16 surrogate (an escape such as \\ud800 without its "
                           "pair), which is not text") from None
    except (ValueError, OverflowError, TypeError, AttributeError):  # what construct_object does not catch
        raise FixtureError(f"{shown}: line {_line(loader)}: not valid YAML or JSON: a value there "
                           "cannot be read") from None
    except RecursionError:
        raise FixtureError(f"{shown}: line {_line(loader)}: not valid YAML or JSON: nested too "
                           "deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def _line(loader: _Loader | None) -> int:
    """Where the loader stopped: the place to name when PyYAML's error carries none."""
    return loader.line + 1 if loader is not None else 1


#: The largest fixture file read: a state may be as large whichever way it comes, so this is
#: the control plane's limit for a state or scenario document in a request (MAX_STATE_BYTES).
MAX_FILE_BYTES = 256 * 1024 * 1024


def _read_text(path: Path | str) -> str:
    """The text of a regular file of at most MAX_FILE_BYTES; FixtureError otherwise."""
    shown = _show_path(path)

    def refused(reason: str) -> FixtureError:
        return FixtureError(f"cannot read fixtures file {shown}: {reason}")

    if "\x00" in os.fspath(path):
        raise refused("a path cannot hold a NUL character")
    try:
        # Looked at before it is opened: opening a device or a pipe can block or act.
        _check_regular(os.stat(path), refused)
        # O_NONBLOCK: should a pipe take the file's place in between, opening it cannot block.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
        with open(descriptor, "rb") as handle:
            _check_regular(os.fstat(handle.fileno()), refused)
            data = handle.read(MAX_FILE_BYTES + 1)  # a file may grow, or (/proc) say it is empty
    except OSError as exc:
        raise refused(exc.strerror or "the system refused to read it") from None
    if len(data) > MAX_FILE_BYTES:
        raise refused(_too_large())
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise refused(f"line {line} is not UTF-8 text") from None


def _check_regular(status: os.stat_result, refused: Callable[[str], Exception]) -> None:
    mode = status.st_mode
    if stat.S_ISREG(mode):
        if status.st_size > MAX_FILE_BYTES:
            raise refused(_too_large())
        return
    kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else None)
    raise refused(f"it is {kind}, not a regular file" if kind else "it is not a regular file")


def _too_large() -> str:
    mib, rest = divmod(MAX_FILE_BYTES, 1024 * 1024)
    size = f"{MAX_FILE_BYTES:,} bytes" if rest else f"{mib} MiB"
    return f"it is larger than {size}, the most a state may be"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases that multiply the document (a "billion laughs"):
    a few lines of anchors would otherwise expand into more nodes than validation can walk."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._expanded: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded
        self._composed = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        node = super().compose_node(parent, index)
        if id(node) in self._expanded:  # an alias of a node composed before
            size = self._expanded[id(node)]
        else:
            self._composed += 1
            children = (node.value if isinstance(node, yaml.SequenceNode)
                        else [part for pair in node.value for part in pair]
                        if isinstance(node, yaml.MappingNode) else [])
            size = 1 + sum(self._expanded.get(id(child), 1) for child in children)
            self._expanded[id(node)] = size
        if size > 2 * self._composed + _ALIAS_ALLOWANCE:
            raise yaml.composer.ComposerError(
                None, None, "its aliases expand it far beyond its own size", self.get_mark())
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        try:
            return super().construct_object(node, deep)
        # A number past int()'s digit limit, a date past the calendar, a tag its value does not
        # fit (PyYAML's !!timestamp raises AttributeError on one): the place, not a traceback.
        except (ValueError, OverflowError, TypeError, AttributeError):
            raise yaml.constructor.ConstructorError(
                None, None, "a number, date or tagged value there cannot be read",
                node.start_mark) from None

    def construct_yaml_str(self, node: yaml.ScalarNode) -> str:
        """A string, with the UTF-16 pairs of its escapes joined (``"\\ud83d\\ude00"`` is one
        emoji, as JSON reads it; PyYAML leaves two halves) and a lone half refused: the mock
        could not give such a string back (JSON readers, its own control plane, refuse it)."""
        value = super().construct_yaml_str(node)
        if not _SURROGATE.search(value):
            return value
        try:
            return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            raise _LoneSurrogate(node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_yaml_str)

_SURROGATE = re.compile("[\ud800-\udfff]")


class _LoneSurrogate(Exception):
    """A string (a key or a value) of a fixture file holds half of a UTF-16 pair."""

    def __init__(self, mark: yaml.Mark):
        super().__init__()
        self.mark = mark


#: Nodes aliases may add beyond twice those written out (aliases of ids and names are fine).
_ALIAS_ALLOWANCE = 100_000


def _yaml_place(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f" line {mark.line + 1}, column {mark.column + 1}:"
    if isinstance(exc, yaml.reader.ReaderError):
        return f" character {exc.position + 1}:"
    return ""


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """What PyYAML found wrong, without the excerpt of the document its message carries."""
    if isinstance(exc, yaml.reader.ReaderError):
        if isinstance(exc.character, int):
            return f"the character U+{exc.character:04X} is not allowed"
        return "it is not readable text"
    problem = getattr(exc, "problem", None) or "it cannot be parsed"
    context = getattr(exc, "context", None)
    return clip(f"{problem} ({context})" if context else problem, 120)


@dataclass
class World:
    """A loaded fixture document, as both services hold it: the Chats API's sessions (messages,
    users with tokens), the Session API's records of the same sessions (rules, creator, expiry,
    wallet addresses; expired ones too), and the API keys the document lists (None when it
    lists none: the mock then decides, see ``Mock``)."""

    chat_sessions: list[ChatSession]
    sessions: list[Session]
    api_keys: tuple[str, ...] | None = None


def default_records(sessions: Iterable[ChatSession], now: datetime) -> list[Session]:
    """The Session API's records of Chats sessions that say nothing more (a control-plane session,
    a document without rules): default rules, no expiry, the first Host the creator, no addresses."""
    records = []
    for session in sessions:
        members = {u.id: Member(u.id, u.name, u.role) for u in session.users.values()}
        creator = next((m.id for m in members.values() if m.is_host), None)
        records.append(Session(session.id, Rules(), creator, now, members=members))
    return records


def build_sessions(document: object, source: str = "fixtures", *, seed: int = DEFAULT_SEED,
                   messages: int = 0) -> list[ChatSession]:
    """Validate a fixture document and turn it into the Chats API's sessions, generated content
    included (:func:`build_world` gives the Session API's records too)."""
    return build_world(document, source, seed=seed, messages=messages).chat_sessions


def build_world(document: object, source: str = "fixtures", *, seed: int = DEFAULT_SEED,
                messages: int = 0, now: datetime | None = None) -> World:
    """Validate a fixture document and turn it into model objects, generated content included.

    Each session's ``generate`` is carried out under ``seed`` once the whole document
    is checked; ``messages`` more generated messages go to the default (first) session.
    ``now`` is when a session without ``createdAt`` was made (the clock's now by default).
    """
    error = next(iter(sorted(_VALIDATOR.iter_errors(document), key=lambda e: list(e.path))), None)
    if error is not None:
        raise _fault_at(source, place_of(error.absolute_path, root=""), describe(error))
    sessions = _listed_sessions(document, source)
    tokens = {u.token for s in sessions for u in s.users.values() if u.token}
    for index, (session, raw_session) in enumerate(zip(sessions, document["sessions"])):
        plan = raw_session.get("generate", {})
        count = plan.get("messages", 0) + (messages if index == 0 else 0)
        if count and not session.users and not plan.get("users"):
            raise _fault_at(source, f"sessions[{index}]" + (".generate.messages" if "messages" in plan else ""),
                            "generated messages need a user of the session to write them")
        try:
            generate(session, seed=_session_seed(seed, index), users=plan.get("users", 0),
                     messages=count, taken_tokens=tokens)
        except _BeforeYearOne as exc:
            place = f"sessions[{index}]" + (".generate.messages" if "messages" in plan else "")
            extra = ("" if not (index == 0 and messages) else " (--messages)" if "messages" not in plan
                     else f" ({messages:,} of them from --messages)")
            raise _fault_at(
                source, place, f"{count:,} generated messages{extra}, 5 s to 15 min apart before "
                f"the oldest listed one ({format_datetime(exc.oldest)}), would be older than "
                f"{format_datetime(_EARLIEST)}, the earliest instant") from None
    now = now or utcnow()
    records = [_record(session, raw, source, f"sessions[{index}]", now)
               for index, (session, raw) in enumerate(zip(sessions, document["sessions"]))]
    return World(sessions, records, _api_keys(document, source))


def _api_keys(document: dict, source: str) -> tuple[str, ...] | None:
    if "apiKeys" not in document:
        return None
    keys: dict[str, int] = {}
    for index, key in enumerate(document["apiKeys"]):
        place = f"apiKeys[{index}]"
        if key != key.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
            raise _fault_at(source, place, f"{quote(key)} is not an API key: text without blanks at "
                                           "either end or control characters")
        if key in keys:
            raise _fault_at(source, place, f"API key {quote(key)} is already listed at apiKeys[{keys[key]}]")
        keys[key] = index
    return tuple(keys)


def _instant(raw: dict, name: str, source: str, place: str) -> datetime | None:
    if name not in raw:
        return None
    try:
        return parse_datetime(raw[name])
    except ValueError:
        raise _fault_at(source, f"{place}.{name}", f"{quote(raw[name])} is not a valid instant") from None


def _record(session: ChatSession, raw: dict, source: str, place: str, now: datetime) -> Session:
    """The Session API's record of one valid session (generated users included), after the checks
    a schema cannot make: an address used twice, a creator who is no Host, rules that cannot hold."""
    addresses: dict[str, str] = {}
    seen: dict[str, str] = {}
    for u_index, raw_user in enumerate(raw["users"]):
        if "address" in raw_user:
            address, u_place = raw_user["address"].lower(), f"{place}.users[{u_index}].address"
            if address in seen:
                raise _fault_at(source, u_place, f"address {quote(raw_user['address'])} is already used at "
                                                 f"{seen[address]}: a wallet is one user of a session")
            seen[address] = u_place
            addresses[raw_user["id"]] = address
    members = {u.id: Member(u.id, u.name, u.role, addresses.get(u.id)) for u in session.users.values()}
    raw_rules = raw.get("rules", {})
    request = {"rules": {**raw_rules, "whiteListAddresses": [{"address": a} for a in raw_rules["whiteListAddresses"]]}
               if "whiteListAddresses" in raw_rules else raw_rules}
    try:  # the Session API's own checks, so a fixture holds no rules a request could not make
        rules = rules_from_request(request)
    except Unprocessable as exc:
        raise _fault_at(source, f"{place}.rules", exc.detail.rstrip(".")) from None
    former = set(raw.get("formerUsers", []))
    creator = raw.get("creatorId")
    if creator is None:
        creator = next((m.id for m in members.values() if m.is_host), None)
    elif creator in members and not members[creator].is_host:
        raise _fault_at(source, f"{place}.creatorId", f"{quote(creator)} is a Client; the creator is a Host")
    elif creator not in members and creator not in former:
        raise _fault_at(source, f"{place}.creatorId", f"{quote(creator)} is not a user of session "
                        f"{quote(session.id)} (nor in its formerUsers)")
    created_at = _instant(raw, "createdAt", source, place)
    expires_at = _instant(raw, "expiresAt", source, place)
    if created_at is None:
        created_at = now if expires_at is None else min(now, expires_at)
    elif expires_at is not None and expires_at < created_at:
        raise _fault_at(source, f"{place}.expiresAt", f"the session expires ({format_datetime(expires_at)}) "
                        f"before it was made ({format_datetime(created_at)})")
    creator_address = raw.get("creatorAddress")
    return Session(session.id, rules, creator, created_at, expires_at,
                   creator_address.lower() if creator_address else None, members)


def _listed_sessions(document: dict, source: str) -> list[ChatSession]:
    """The sessions a valid document lists, after the checks a schema cannot make."""
    sessions: list[ChatSession] = []
    seen_ids: dict[str, str] = {}
    tokens: dict[str, str] = {}

    def unique(kind: str, value: str, place: str) -> None:
        key = f"{kind}:{value}"
        if key in seen_ids:
            raise _fault_at(source, place, f"{kind} {quote(value)} is already used at {seen_ids[key]}")
        seen_ids[key] = place

    for s_index, raw_session in enumerate(document["sessions"]):
        s_place = f"sessions[{s_index}]"
        unique("session id", raw_session["id"], f"{s_place}.id")
        session = ChatSession(raw_session["id"])
        for u_index, raw_user in enumerate(raw_session["users"]):
            u_place = f"{s_place}.users[{u_index}]"
            unique("user id", raw_user["id"], f"{u_place}.id")
            token = raw_user.get("token")
            if token is not None:
                if token in tokens:
                    raise _fault_at(source, f"{u_place}.token",
                                    f"token {quote(token)} is already used at {tokens[token]}")
                tokens[token] = f"{u_place}.token"
            session.users[raw_user["id"]] = User(raw_user["id"], raw_user["name"], raw_user["role"],
                                                 token, session.id)
        former = _former_users(session, raw_session, source, s_place)
        for m_index, raw in enumerate(raw_session.get("messages", [])):
            m_place = f"{s_place}.messages[{m_index}]"
            unique("chatId", raw["chatId"], f"{m_place}.chatId")
            _require_member(session, raw["userId"], source, f"{m_place}.userId", former)
            try:
                created_at = parse_datetime(raw["createdAt"])
            except ValueError:
                raise _fault_at(source, f"{m_place}.createdAt",
                                f"{quote(raw['createdAt'])} is not a valid instant") from None
            message = Message(raw["chatId"], raw["userId"], raw["message"], created_at,
                              pin_id=raw.get("pinId"))
            if message.pin_id:
                unique("pinId", message.pin_id, f"{m_place}.pinId")
            given: set[tuple[str, str]] = set()
            for r_index, raw_reaction in enumerate(raw.get("reactions", [])):
                r_place = f"{m_place}.reactions[{r_index}]"
                unique("reaction id", raw_reaction["id"], f"{r_place}.id")
                _require_member(session, raw_reaction["userId"], source, f"{r_place}.userId", former)
                pair = (raw_reaction["userId"], raw_reaction["reaction"])
                if pair in given:
                    raise _fault_at(source, r_place, f"user {quote(pair[0])} already gave {pair[1]} "
                                                     "to this message")
                given.add(pair)
                message.reactions.append(Reaction(raw_reaction["id"], message.chat_id,
                                                  raw_reaction["userId"], raw_reaction["reaction"]))
            session.messages[message.chat_id] = message
        sessions.append(session)
    return sessions


def _former_users(session: ChatSession, raw_session: dict, source: str, place: str) -> set[str]:
    """The ids of the users who left the session (their messages and reactions stay); a session
    without users is one whose users all left."""
    former: dict[str, int] = {}
    for index, user_id in enumerate(raw_session.get("formerUsers", [])):
        f_place = f"{place}.formerUsers[{index}]"
        if user_id in session.users:
            raise _fault_at(source, f_place, f"{quote(user_id)} is a user of the session, not one who left it")
        if user_id in former:
            raise _fault_at(source, f_place, f"{quote(user_id)} is already listed at "
                                             f"{place}.formerUsers[{former[user_id]}]")
        former[user_id] = index
    if not session.users and not former:
        raise _fault_at(source, f"{place}.users", "a session needs at least one user (a session whose "
                                                  "users all left lists them in formerUsers)")
    return set(former)


def load(path: Path | str | None = None, *, seed: int = DEFAULT_SEED, messages: int = 0) -> list[ChatSession]:
    """Load a fixture file (the shipped defaults when ``path`` is None) with its generated content,
    plus ``messages`` generated messages in the default session."""
    return load_world(path, seed=seed, messages=messages).chat_sessions


def load_world(path: Path | str | None = None, *, seed: int = DEFAULT_SEED, messages: int = 0,
               now: datetime | None = None) -> World:
    """:func:`load`, with the Session API's records and the document's API keys."""
    path = Path(path) if path is not None else DEFAULT_FIXTURES_PATH
    return build_world(read_document(path), _show_path(path), seed=seed, messages=messages, now=now)


# -- scenarios -------------------------------------------------------------------
def list_scenarios() -> list[dict]:
    """Every shipped scenario as ``{"name", "description"}``, sorted by name."""
    return [{"name": name, "description": _description(path)}
            for name, path in _scenario_paths().items()]


def scenario_path(name: str) -> Path:
    """The fixture file behind scenario ``name``.

    Names are looked up among the shipped ones, never joined to a directory, so a
    name cannot reach another file; one with a path separator is refused outright.
    """
    paths = _scenario_paths()
    if any(separator in name for separator in ("/", "\\")):
        raise UnknownScenario(name, list(paths), "a scenario is named, not a path:")
    if name not in paths:
        raise UnknownScenario(name, list(paths))
    return paths[name]


def load_scenario(name: str, *, seed: int = DEFAULT_SEED) -> list[ChatSession]:
    """Load the shipped scenario ``name`` (see :func:`list_scenarios`) under ``seed``."""
    return load_scenario_world(name, seed=seed).chat_sessions


def load_scenario_world(name: str, *, seed: int = DEFAULT_SEED, now: datetime | None = None) -> World:
    """:func:`load_scenario`, with the Session API's records and the scenario's API keys."""
    return load_world(scenario_path(name), seed=seed, now=now)


def _scenario_paths() -> dict[str, Path]:
    """Scenario names and their files, sorted by name.

    ``default`` is the shipped default fixtures file, which ``mockchats serve`` loads
    without ``--fixtures``: one file, so the scenario and the defaults cannot drift.
    """
    paths = {path.stem: path for path in SCENARIOS_DIR.glob("*.yaml")}
    paths[DEFAULT_SCENARIO] = DEFAULT_FIXTURES_PATH
    return dict(sorted(paths.items()))


def _description(path: Path) -> str:
    document = read_document(path)
    return document.get("description", "") if isinstance(document, dict) else ""


# -- generation ------------------------------------------------------------------
def generate(session: ChatSession, *, seed: int | str, users: int = 0, messages: int = 0,
             taken_tokens: set[str] | None = None) -> None:
    """Add ``users`` generated Clients, then ``messages`` generated messages by all the
    session's users, with reactions and a few pins, before its existing messages.

    Everything, ids included, comes from ``seed`` (an int or a string): the same seed
    gives the same result, in every release (tests/test_worlds.py pins it). Generated
    tokens avoid ``taken_tokens`` (the session's own when None), which is updated with them.
    """
    if not users and not messages:
        return
    rng = random.Random(seed)
    # Names and words come from a stream of their own, as they came from a seeded Faker
    # before: the same seed gives the same world it gave then.
    words = random.Random(seed)
    if taken_tokens is None:
        taken_tokens = {u.token for u in session.users.values() if u.token}
    _generate_users(session, users, rng, words, taken_tokens)
    if messages:
        _generate_messages(session, messages, rng, _sentence_pool(words, rng))


def _session_seed(seed: int, index: int) -> str:
    """Each session generates from its own stream: same seed, same data, and no shared ids."""
    return f"{seed}/{index}"


def _generate_users(session: ChatSession, count: int, rng: random.Random, words: random.Random,
                    taken_tokens: set[str]) -> None:
    """Add ``count`` Clients with generated names and tokens ``<first name>-<n>-token``."""
    number = 0
    for _ in range(count):
        first = wordlists.first_name(words)
        name = f"{first} {wordlists.last_name(words)}"
        stem = re.sub(r"[^a-z0-9]", "", first.lower()) or "user"
        while True:  # b64token-safe by construction; n makes it unique
            number += 1
            token = f"{stem}-{number}-token"
            if token not in taken_tokens:
                break
        taken_tokens.add(token)
        user = User(_seeded_id(rng), name, CLIENT, token, session.id)
        session.users[user.id] = user


def _sentence_pool(words: random.Random, rng: random.Random) -> list[str]:
    """Sentences of about 3 to 30 words, drawn once per generation for messages to pick from."""
    return [_fit(wordlists.sentence(words, rng.randint(3, 30))) for _ in range(_SENTENCE_POOL_SIZE)]


def _generate_messages(session: ChatSession, count: int, rng: random.Random, texts: list[str]) -> None:
    """Add ``count`` messages by the session's users (some chattier than others), each 5 s
    to 15 min before the next, ending where the session's own messages begin."""
    users = list(session.users.values())
    chattiness = [rng.paretovariate(_CHATTINESS_TAIL) for _ in users]
    authors = rng.choices(users, weights=chattiness, k=count)
    existing = [m.created_at for m in session.messages.values()]
    oldest = moment = min(existing) if existing else _GENERATED_ANCHOR
    generated = []
    for author in authors:
        try:
            moment -= timedelta(milliseconds=rng.randrange(5_000, 900_000))  # 5 s to 15 min earlier
        except OverflowError:  # a listed message near 0001-01-01 leaves no room before it
            raise _BeforeYearOne(oldest) from None
        message = Message(_seeded_id(rng), author.id, _message_text(texts, rng), moment)
        message.reactions = _generated_reactions(message.chat_id, users, rng)
        if rng.random() < _PIN_RATE:
            message.pin_id = _seeded_id(rng)
        generated.append(message)
    # Oldest first, then the session's own messages, so the dict keeps creation order.
    ordered = {m.chat_id: m for m in reversed(generated)}
    ordered.update(session.messages)
    session.messages = ordered


class _BeforeYearOne(FixtureError):
    """Generated history would start before the first instant a date can hold; a loader names
    the place (which :func:`generate` does not know)."""

    def __init__(self, oldest: datetime):
        super().__init__(f"generated messages before the oldest listed one ({format_datetime(oldest)}) "
                         f"would be older than {format_datetime(_EARLIEST)}, the earliest instant")
        self.oldest = oldest


#: The first instant (UTC) a message can be at: .NET's DateTimeOffset.MinValue, Python's too.
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _message_text(texts: list[str], rng: random.Random) -> str:
    """Mostly one sentence; now and then a paragraph of several, cut to the limit."""
    if rng.random() < _PARAGRAPH_RATE:
        return _fit(" ".join(rng.choices(texts, k=rng.randint(2, 6))))
    return rng.choice(texts)


def _generated_reactions(chat_id: str, users: list[User], rng: random.Random) -> list[Reaction]:
    """A skewed number of distinct reacting users (most messages none, a few many), each
    giving a thumbs up with the message's own probability, or a thumbs down."""
    reacting = min(len(users), int(rng.paretovariate(_REACTION_TAIL)) - 1)
    if reacting <= 0:
        return []
    liking = rng.random() ** (1 / 3)  # Beta(3, 1): mostly liked, now and then disputed
    return [Reaction(_seeded_id(rng), chat_id, user.id,
                     THUMBS_UP if rng.random() < liking else THUMBS_DOWN)
            for user in rng.sample(users, reacting)]


def _fit(text: str) -> str:
    """``text`` cut to at most 280 UTF-16 code units (what a message may hold).

    Cut in UTF-16 itself; a surrogate pair split at the end is dropped whole.
    """
    encoded = text.encode("utf-16-le")
    if len(encoded) <= 2 * _MAX_MESSAGE_UNITS:
        return text
    return encoded[:2 * _MAX_MESSAGE_UNITS].decode("utf-16-le", "ignore").rstrip()


def to_document(sessions: list[ChatSession] | World, *, description: str | None = None) -> dict:
    """The fixture document describing ``sessions`` (the inverse of :func:`build_sessions`), or a
    whole :class:`World` (the inverse of :func:`build_world`).

    Generated content is listed item by item, so the document loads to the same state
    under any seed; ``description`` makes it a scenario-like document. What the Session API
    holds is written only where it differs from what a document that leaves it out loads to
    (default rules, no expiry, the first Host the creator), so a world of plain fixtures
    exports as it always did. A session the Session API still holds after the Chats API dropped
    it (expired) is written from the Session API's record: its users, no messages.
    """
    world = sessions if isinstance(sessions, World) else World(list(sessions), [])
    document = {"description": description} if description is not None else {}
    if world.api_keys is not None:
        document["apiKeys"] = list(world.api_keys)
    document["sessions"] = []
    chats = {session.id: session for session in world.chat_sessions}
    records = {record.id: record for record in world.sessions}
    order = list(records) + [session_id for session_id in chats if session_id not in records]
    for session_id in order:
        session, record = chats.get(session_id), records.get(session_id)
        if session is None:  # expired: the Chats API holds it no more
            session = ChatSession(session_id, {m.id: User(m.id, m.name, m.role, None, session_id)
                                               for m in record.members.values()})
        raw_session = {"id": session.id}
        if record is not None:
            raw_session.update(_record_document(record, session))
        raw_session.update(users=[], messages=[])
        members = record.members if record is not None else {}
        for user in session.users.values():
            raw_user = {"id": user.id, "name": user.name, "role": user.role}
            if user.token:
                raw_user["token"] = user.token
            member = members.get(user.id)
            if member is not None and member.address:
                raw_user["address"] = member.address
            raw_session["users"].append(raw_user)
        former = {}  # users who left, named by what stays of them (in order of first mention)
        if record is not None and record.creator_id is not None and record.creator_id not in session.users:
            former[record.creator_id] = None
        for message in session.messages.values():
            raw = {"chatId": message.chat_id, "userId": message.user_id, "message": message.text,
                   "createdAt": format_datetime(message.created_at)}
            if message.pin_id:
                raw["pinId"] = message.pin_id
            raw["reactions"] = [{"id": r.id, "userId": r.user_id, "reaction": r.name}
                                for r in message.reactions]
            raw_session["messages"].append(raw)
            for user_id in (message.user_id, *(r.user_id for r in message.reactions)):
                if user_id not in session.users:
                    former[user_id] = None
        if former:
            raw_session["formerUsers"] = list(former)
        document["sessions"].append(raw_session)
    return document


def _record_document(record: Session, session: ChatSession) -> dict:
    """What a session's fixture entry says of its Session API record, beyond its defaults."""
    raw: dict = {}
    defaults, rules = Rules(), {}
    if record.rules.capacity != defaults.capacity:
        rules["userCapacity"] = record.rules.capacity
    if record.rules.expiry_seconds != defaults.expiry_seconds:
        rules["expiryDurationInSeconds"] = record.rules.expiry_seconds
    if record.rules.password is not None:
        rules["password"] = record.rules.password
    if record.rules.whitelist_only:
        rules["allowOnlyWhitelistedAddresses"] = True
    if record.rules.whitelist:
        rules["whiteListAddresses"] = list(record.rules.whitelist)
    if rules:
        raw["rules"] = rules
    if record.expires_at is not None:  # the instant it was made matters to a session that ends
        raw["createdAt"] = format_datetime(record.created_at)
        raw["expiresAt"] = format_datetime(record.expires_at)
    first_host = next((u.id for u in session.users.values() if u.role == HOST), None)
    if record.creator_id is not None and record.creator_id != first_host:
        raw["creatorId"] = record.creator_id
    if record.creator_address:
        raw["creatorAddress"] = record.creator_address
    return raw


#: The bits that make 128 random bits a version 4, RFC 4122 variant UUID.
_UUID4_KEEP = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (0x4000 << 64)


def _seeded_id(rng: random.Random) -> str:
    """A Guid-formatted version 4 UUID from ``rng``: ``str(uuid.UUID(int=..., version=4))``,
    written out directly because generation makes hundreds of thousands of them."""
    digits = f"{rng.getrandbits(128) & _UUID4_KEEP | _UUID4_SET:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _require_member(session: ChatSession, user_id: str, source: str, place: str,
                    former: set[str] = frozenset()) -> None:
    if user_id not in session.users and user_id not in former:
        raise _fault_at(source, place, f"{quote(user_id)} is not a user of session {quote(session.id)}")


#: The most of a path a message shows.
_SHOWN_PATH_CHARS = 200


def _show_path(path: Path | str) -> str:
    return clip(os.fspath(path), _SHOWN_PATH_CHARS)
