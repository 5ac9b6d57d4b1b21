"""Fixture files: the one format the mock loads its world from.

A fixture document (YAML or JSON, schema in ``fixtures/fixtures.schema.json``)
lists sessions with their users, messages, reactions and pins. Loading validates
it against the schema, then checks what a schema cannot (unique ids and tokens,
references to users of the same session), and names the place of any fault.
Faker can add generated messages to the default (first) session; under the same
seed the result is identical from run to run.
"""
from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from faker import Faker

from .aspnet import format_datetime, parse_datetime
from .binding import DotNetValidator
from .resources import DEFAULT_FIXTURES_PATH, FIXTURE_SCHEMA_PATH
from .store import THUMBS_DOWN, THUMBS_UP, Message, Reaction, Session, User

DEFAULT_SEED = 0
#: Where generated history ends when the fixtures hold no message to anchor it.
_GENERATED_ANCHOR = datetime(2025, 6, 26, 8, 0, tzinfo=timezone.utc)


class FixtureError(ValueError):
    """A fixture document is unreadable or invalid; the message names the place."""


def _schema_validator() -> DotNetValidator:
    with FIXTURE_SCHEMA_PATH.open(encoding="utf-8") as handle:
        return DotNetValidator(json.load(handle))


_VALIDATOR = _schema_validator()


def read_document(path: Path | str) -> dict:
    """Parse a fixture file (YAML, of which JSON is a subset)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        # UnicodeDecodeError has no strerror; reading it raised AttributeError, not FixtureError.
        raise FixtureError(f"cannot read fixtures file {path}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FixtureError(f"{path}:{where} not valid YAML or JSON: "
                           f"{getattr(exc, 'problem', None) or exc}") from None


def build_sessions(document, source: str = "fixtures") -> list[Session]:
    """Validate a fixture document and turn it into model objects."""
    error = next(iter(sorted(_VALIDATOR.iter_errors(document), key=lambda e: list(e.path))), None)
    if error is not None:
        raise FixtureError(f"{source}: {_place(error.absolute_path)}: {error.message}")

    sessions: list[Session] = []
    seen_ids: dict[str, str] = {}
    tokens: dict[str, str] = {}

    def unique(kind: str, value: str, place: str) -> None:
        key = f"{kind}:{value}"
        if key in seen_ids:
            raise FixtureError(f"{source}: {place}: {kind} {value!r} is already used at {seen_ids[key]}")
        seen_ids[key] = place

    for s_index, raw_session in enumerate(document["sessions"]):
        s_place = f"sessions[{s_index}]"
        unique("session id", raw_session["id"], f"{s_place}.id")
        session = Session(raw_session["id"])
        for u_index, raw_user in enumerate(raw_session["users"]):
            u_place = f"{s_place}.users[{u_index}]"
            unique("user id", raw_user["id"], f"{u_place}.id")
            token = raw_user.get("token")
            if token is not None:
                if token in tokens:
                    raise FixtureError(f"{source}: {u_place}.token: token {token!r} is already "
                                       f"used at {tokens[token]}")
                tokens[token] = f"{u_place}.token"
            session.users[raw_user["id"]] = User(raw_user["id"], raw_user["name"], raw_user["role"],
                                                 token, session.id)
        for m_index, raw in enumerate(raw_session.get("messages", [])):
            m_place = f"{s_place}.messages[{m_index}]"
            unique("chatId", raw["chatId"], f"{m_place}.chatId")
            _require_member(session, raw["userId"], f"{source}: {m_place}.userId")
            try:
                created_at = parse_datetime(raw["createdAt"])
            except ValueError:
                raise FixtureError(f"{source}: {m_place}.createdAt: {raw['createdAt']!r} "
                                   "is not a valid instant") from None
            message = Message(raw["chatId"], raw["userId"], raw["message"], created_at,
                              pin_id=raw.get("pinId"))
            if message.pin_id:
                unique("pinId", message.pin_id, f"{m_place}.pinId")
            given: set[tuple[str, str]] = set()
            for r_index, raw_reaction in enumerate(raw.get("reactions", [])):
                r_place = f"{m_place}.reactions[{r_index}]"
                unique("reaction id", raw_reaction["id"], f"{r_place}.id")
                _require_member(session, raw_reaction["userId"], f"{source}: {r_place}.userId")
                pair = (raw_reaction["userId"], raw_reaction["reaction"])
                if pair in given:
                    raise FixtureError(f"{source}: {r_place}: user {pair[0]!r} already gave "
                                       f"{pair[1]} to this message")
                given.add(pair)
                message.reactions.append(Reaction(raw_reaction["id"], message.chat_id,
                                                  raw_reaction["userId"], raw_reaction["reaction"]))
            session.messages[message.chat_id] = message
        sessions.append(session)
    return sessions


def load(path: Path | str | None = None, *, seed: int = DEFAULT_SEED, messages: int = 0) -> list[Session]:
    """Load a fixture file (the shipped defaults when ``path`` is None) and add generated messages."""
    path = Path(path) if path is not None else DEFAULT_FIXTURES_PATH
    document = read_document(path)
    sessions = build_sessions(document, str(path))
    if messages:
        generate_messages(sessions[0], messages, seed)
    return sessions


def generate_messages(session: Session, count: int, seed: int) -> None:
    """Add ``count`` Faker-made messages, with reactions and a few pins, before the existing ones.

    Everything, ids included, comes from ``seed``: the same seed gives the same history.
    """
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    users = list(session.users.values())
    existing = [m.created_at for m in session.messages.values()]
    moment = min(existing) if existing else _GENERATED_ANCHOR
    generated = []
    for _ in range(count):
        moment -= timedelta(seconds=rng.randint(5, 900), microseconds=rng.randint(0, 999) * 1000)
        author = rng.choice(users)
        text = fake.sentence(nb_words=rng.randint(3, 30))[:280]
        message = Message(_seeded_id(rng), author.id, text, moment)
        for user in users:
            roll = rng.random()
            name = THUMBS_UP if roll < 0.25 else THUMBS_DOWN if roll < 0.32 else None
            if name:
                message.reactions.append(Reaction(_seeded_id(rng), message.chat_id, user.id, name))
        if rng.random() < 0.02:
            message.pin_id = _seeded_id(rng)
        generated.append(message)
    # Oldest first, then the fixture's own messages, so the dict keeps creation order.
    ordered = {m.chat_id: m for m in reversed(generated)}
    ordered.update(session.messages)
    session.messages = ordered


def to_document(sessions: list[Session]) -> dict:
    """The fixture document describing ``sessions`` (the inverse of :func:`build_sessions`)."""
    document = {"sessions": []}
    for session in sessions:
        raw_session = {"id": session.id, "users": [], "messages": []}
        for user in session.users.values():
            raw_user = {"id": user.id, "name": user.name, "role": user.role}
            if user.token:
                raw_user["token"] = user.token
            raw_session["users"].append(raw_user)
        for message in session.messages.values():
            raw = {"chatId": message.chat_id, "userId": message.user_id, "message": message.text,
                   "createdAt": format_datetime(message.created_at)}
            if message.pin_id:
                raw["pinId"] = message.pin_id
            raw["reactions"] = [{"id": r.id, "userId": r.user_id, "reaction": r.name}
                                for r in message.reactions]
            raw_session["messages"].append(raw)
        document["sessions"].append(raw_session)
    return document


def _seeded_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _require_member(session: Session, user_id: str, place: str) -> None:
    if user_id not in session.users:
        raise FixtureError(f"{place}: {user_id!r} is not a user of session {session.id!r}")


def _place(path) -> str:
    place = ""
    for part in path:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    return place or "(document)"

