"""The Chats model: sessions, users, messages, reactions and pins, with the API's rules.

This module knows nothing of HTTP. Every public method of :class:`Store` takes the
calling user, applies the rules the public docs state (ownership, Host privileges,
session isolation) and raises :class:`NotFound` or :class:`Forbidden`; the HTTP
layer decides what those look like on the wire. One lock guards all state, so
concurrent requests never lose an update; it is never held across I/O.

Every change to a session's messages is published as an :class:`~mockchats.core.events.Event`
on the ``events`` the store is given (the chat hub's, when it is on), while the lock is held: so
subscribers see the changes in the order they were committed, and a refused call publishes none.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sortedcontainers import SortedList

from ..core.clock import utcnow
from ..core.errors import Forbidden, NotFound, UnknownCaller
from ..core.events import Event, Events

HOST = "Host"
CLIENT = "Client"
ROLES = (HOST, CLIENT)

THUMBS_UP = ":thumbs_up:"
THUMBS_DOWN = ":thumbs_down:"
#: The reactions the beta accepts, in the spelling of the page's limits.
REACTIONS = (THUMBS_UP, THUMBS_DOWN)
#: The spelling the `SortBy` description uses for the same two reactions.
REACTION_ALIASES = {":thumbsup:": THUMBS_UP, ":thumbsdown:": THUMBS_DOWN}

SORT_CREATED_AT = "CreatedAt"
SORT_PINNED = "Pinned"
#: Every value `SortBy` accepts, in its canonical spelling.
SORT_KEYS = (SORT_CREATED_AT, SORT_PINNED, *REACTIONS, *REACTION_ALIASES)

# The chat hub's events (the mock's design: the real chat hub is not published yet). Their
# ``data`` is the envelope's, but for MESSAGE_CREATED: ``{"message": MessageView}``, which the
# composition root writes as the MessageDto the API answers (this layer knows no wire format).
MESSAGE_CREATED = "MessageCreated"
MESSAGE_DELETED = "MessageDeleted"
REACTION_ADDED = "ReactionAdded"
REACTION_REMOVED = "ReactionRemoved"
PIN_ADDED = "PinAdded"
PIN_REMOVED = "PinRemoved"


@dataclass(frozen=True)
class User:
    """A member of one session: a Host or a Client, known by its token."""
    id: str
    name: str
    role: str
    token: str | None
    session_id: str

    @property
    def is_host(self) -> bool:
        """Whether the user has the session's privileges (today only the Host does)."""
        return self.role == HOST


@dataclass(frozen=True)
class Reaction:
    """One user's reaction to one message (immutable: changes add or remove whole reactions)."""
    id: str
    chat_id: str
    user_id: str
    name: str


@dataclass
class Message:
    """A chat message with its reactions, in order of arrival, and its pin, if pinned."""
    chat_id: str
    user_id: str
    text: str
    created_at: datetime
    reactions: list[Reaction] = field(default_factory=list)
    pin_id: str | None = None
    #: The last view made of this message; every change goes through ChatSession.change,
    #: which drops it. Forks share unchanged messages, so a view outlives a reset.
    _view: MessageView | None = field(default=None, repr=False, compare=False)

    def reaction_count(self, name: str) -> int:
        """How many users gave the reaction ``name``."""
        return sum(1 for r in self.reactions if r.name == name)

    def clone(self) -> Message:
        # Users and reactions are immutable and shared; only the mutable parts are copied.
        """A copy that can change without touching this one."""
        return Message(self.chat_id, self.user_id, self.text, self.created_at,
                       list(self.reactions), self.pin_id)


@dataclass
class ChatSession:
    """A session as the Chats API holds it: its users and messages, with sorted indexes built
    on demand. (Named apart from the Session API's session and from ``requests.Session``.)

    Forks share Message objects with the session they came from until they change
    one (copy-on-write), so a reset costs a dict copy, not a copy of every message.
    Each index is a SortedList of ``(primary key, createdAt, chatId)`` tuples for one
    ``SortBy`` value, built at its first listing and kept up to date from then on, so
    a page of a large session costs O(log n + page), not a sort.
    """

    id: str
    users: dict[str, User] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    _owned: set = field(default_factory=set, repr=False, compare=False)
    _indexes: dict = field(default_factory=dict, repr=False, compare=False)

    def fork(self) -> ChatSession:
        """A copy that shares unchanged messages with this one (this one must not change)."""
        return ChatSession(self.id, dict(self.users), dict(self.messages))

    def copy(self) -> ChatSession:
        """A fully independent copy (for export)."""
        return ChatSession(self.id, dict(self.users),
                       {chat_id: m.clone() for chat_id, m in self.messages.items()})

    def own(self, chat_id: str) -> Message:
        """The message, made this session's own before it is changed."""
        message = self.messages[chat_id]
        if chat_id not in self._owned:
            message = self.messages[chat_id] = message.clone()
            self._owned.add(chat_id)
        return message

    # -- sorted indexes ---------------------------------------------------
    def index(self, sort_key: str) -> SortedList:
        """The sorted index for ``sort_key``, built now if this is its first use."""
        index = self._indexes.get(sort_key)
        if index is None:
            index = self._indexes[sort_key] = SortedList(
                _index_entry(sort_key, m) for m in self.messages.values())
        return index

    def add(self, message: Message) -> None:
        """Add a new message, to the dict and to every built index."""
        self.messages[message.chat_id] = message
        self._owned.add(message.chat_id)
        for sort_key, index in self._indexes.items():
            index.add(_index_entry(sort_key, message))

    def remove(self, chat_id: str) -> None:
        """Remove a message, from the dict and from every built index."""
        message = self.messages.pop(chat_id)
        for sort_key, index in self._indexes.items():
            index.remove(_index_entry(sort_key, message))

    def change(self, chat_id: str, sort_key: str, mutate: Callable[[Message], None]) -> None:
        """Apply ``mutate`` to a message, keeping the index of ``sort_key`` in order."""
        message = self.own(chat_id)
        index = self._indexes.get(sort_key)
        if index is not None:
            index.remove(_index_entry(sort_key, message))
        mutate(message)
        message._view = None
        if index is not None:
            index.add(_index_entry(sort_key, message))


def _index_entry(sort_key: str, message: Message) -> tuple:
    if sort_key == SORT_PINNED:
        return (message.pin_id is not None, message.created_at, message.chat_id)
    if sort_key in REACTIONS:
        return (message.reaction_count(sort_key), message.created_at, message.chat_id)
    return (message.created_at, message.chat_id)


@dataclass(frozen=True, eq=False)
class MessageView:
    """A consistent snapshot of one message, safe to read after the lock is released.

    Compared and hashed by identity: a message keeps one view until it changes, so the
    layers above can cache what they make of a view (its JSON) against the view itself.
    """

    chat_id: str
    text: str
    created_at: datetime
    user_id: str
    user_name: str
    pin_id: str | None
    #: (reaction name, ids of the users who gave it), in order of first use.
    reactions: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ReactionView:
    """One reaction as listReactions returns it."""
    id: str
    chat_id: str
    name: str


def canonical_sort_key(value: str) -> str | None:
    """Map a `SortBy` value, matched case-insensitively, to its canonical spelling."""
    folded = value.strip().casefold()
    for key in SORT_KEYS:
        if key.casefold() == folded:
            return REACTION_ALIASES.get(key, key)
    return None


def _sort_key(sort_by: str) -> str:
    """The canonical key of a `SortBy` value binding accepted."""
    key_name = canonical_sort_key(sort_by)
    if key_name is None:  # binding refuses these; reaching here is a programming error
        raise ValueError(f"unknown sort key {sort_by!r}")
    return key_name


#: Seeded from the OS once per process; ids must be unique, not secret.
_id_bits = random.Random().getrandbits


def new_id() -> str:
    """A fresh random (version 4) identifier, formatted as .NET formats a Guid.

    Written from 128 random bits directly: uuid4() reads the kernel's random source on
    every call, and with str(UUID) that was a twentieth of a message's creation.
    """
    h = f"{_id_bits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


class Store:
    """All sessions and their messages, plus the tokens that identify their users.

    ``sessions`` is the loaded world; the first session is the default one, where
    unknown tokens are admitted in open auth mode. :meth:`reset` returns to it.
    ``generation`` counts the worlds: every reset or replace (a scenario load, a state
    import) makes a new one, so a request that began in an older one can tell.
    ``events``, when given, is told of every change to a session's messages, reactions and pins.
    """

    def __init__(self, sessions: Iterable[ChatSession], *, now: Callable[[], datetime] = utcnow,
                 events: Events | None = None):
        self.now = now
        self.events = events
        self._lock = threading.RLock()
        self.generation = 0
        self._loaded = self._checked(sessions)
        self.reset()

    # -- state as a whole -------------------------------------------------
    def reset(self) -> None:
        """Forget everything that happened since loading."""
        self.replace(self._loaded)

    def replace(self, sessions: Iterable[ChatSession]) -> None:
        """Make ``sessions`` the current state; :meth:`reset` still returns to the loaded one."""
        sessions = [s.fork() for s in self._checked(sessions)]
        users = {u.id: u for s in sessions for u in s.users.values()}
        tokens = {u.token: u for u in users.values() if u.token}
        with self._lock:
            self._sessions = {s.id: s for s in sessions}
            self._default_session_id = sessions[0].id
            self._users = users
            self._tokens = tokens
            #: Tokens let in by open auth, which the mock never issued.
            self._guest_tokens: set[str] = set()
            #: Tokens of users who left or were removed with their session: never a guest's.
            self._departed: set[str] = set()
            self.generation += 1

    def snapshot(self) -> list[ChatSession]:
        """A copy of every session, for export; later changes do not reach it."""
        with self._lock:
            return [s.copy() for s in self._sessions.values()]

    def snapshot_sessions(self) -> list[ChatSession]:
        """Every session with its users and no messages: a cheap view of who is where."""
        with self._lock:
            return [ChatSession(s.id, dict(s.users)) for s in self._sessions.values()]

    def size(self) -> tuple[int, int]:
        """(sessions, messages in all of them), without copying anything."""
        with self._lock:
            return len(self._sessions), sum(len(s.messages) for s in self._sessions.values())

    @property
    def default_session_id(self) -> str:
        """The first loaded session: where open auth admits unknown tokens."""
        return self._default_session_id

    def users(self) -> list[User]:
        """Every user of every session, in load order."""
        with self._lock:
            return [u for s in self._sessions.values() for u in s.users.values()]

    def create_session(self, users: Iterable[tuple[str, str]]) -> ChatSession:
        """A new, empty session with fresh ids and tokens for the given (name, role) pairs."""
        session = ChatSession(new_id())
        for name, role in users:
            if role not in ROLES:
                raise ValueError(f"role must be one of {ROLES}, not {role!r}")
            user = User(new_id(), name, role, f"{new_id()}", session.id)
            session.users[user.id] = user
        with self._lock:
            self._sessions[session.id] = session
            for user in session.users.values():
                self._users[user.id] = user
                self._tokens[user.token] = user
            return session.copy()

    # -- membership, as the Session API changes it ------------------------
    def add_session(self, session_id: str, users: Iterable[tuple[str, str, str]]) -> None:
        """A new, empty session with the users (id, name, role) the Session API made. They hold
        no token here: theirs are the JWTs the Session API signs, read by the authenticator."""
        session = ChatSession(session_id)
        for user_id, name, role in users:
            session.users[user_id] = User(user_id, name, role, None, session_id)
        with self._lock:
            self._sessions[session_id] = session
            self._users.update(session.users)

    def add_user(self, session_id: str, user_id: str, name: str, role: str) -> None:
        """A user who joined ``session_id`` (nothing when the session is not held here)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                user = session.users[user_id] = User(user_id, name, role, None, session_id)
                self._users[user_id] = user

    def remove_user(self, session_id: str, user_id: str) -> None:
        """A user who left or was kicked: their messages stay, their tokens name nobody."""
        with self._lock:
            session = self._sessions.get(session_id)
            user = session.users.pop(user_id, None) if session is not None else None
            if user is not None:
                self._forget(user)

    def remove_session(self, session_id: str) -> None:
        """A session expired or deleted: gone with its messages; its users' tokens name nobody."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
            if session is not None:
                for user in session.users.values():
                    self._forget(user)

    def member(self, session_id: str, user_id: str) -> User | None:
        """The user ``user_id`` of ``session_id``, if both are still held."""
        with self._lock:
            session = self._sessions.get(session_id)
            return session.users.get(user_id) if session is not None else None

    def has_session(self, session_id: str) -> bool:
        """Whether ``session_id`` is held (to tell an unknown session from an unknown message)."""
        with self._lock:
            return session_id in self._sessions

    def departed(self, token: str) -> bool:
        """Whether ``token`` was a user's who has since left (their session gone, or they)."""
        with self._lock:
            return token in self._departed

    def _forget(self, user: User) -> None:
        if self._users.get(user.id) is user:
            del self._users[user.id]
        for token in [t for t, u in self._tokens.items() if u is user]:
            del self._tokens[token]
            if token not in self._guest_tokens:
                self._departed.add(token)

    @staticmethod
    def _checked(sessions: Iterable[ChatSession]) -> list[ChatSession]:
        sessions = list(sessions)
        if not sessions:
            raise ValueError("a store needs at least one session")
        return sessions

    # -- identity ---------------------------------------------------------
    def user_for_token(self, token: str) -> User | None:
        """The user a token stands for, or None."""
        with self._lock:
            return self._tokens.get(token)

    def identify(self, token: str) -> tuple[User | None, bool]:
        """The user a token stands for (or None), and whether the mock issued the token
        (a fixture's or the control plane's) rather than admitting it as a guest."""
        with self._lock:
            return self._tokens.get(token), token not in self._guest_tokens

    def admit_guest(self, token: str, user_id: str, name: str) -> User:
        """Let an unknown token in as a Client of the default session (open auth).

        A ``user_id`` that is already known (a fixture user's id, say) makes the
        token another key to that user.
        """
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                if self._default_session_id not in self._sessions:  # deleted through the Session API
                    raise NotFound(f"session {self._default_session_id}")
                user = User(user_id, name, CLIENT, token, self._default_session_id)
                self._sessions[user.session_id].users[user.id] = user
                self._users[user.id] = user
            self._tokens[token] = user
            self._guest_tokens.add(token)
            return user

    # -- messages ---------------------------------------------------------
    def list_messages(
        self, caller: User, *, skip: int = 0, take: int = 20,
        sort_by: str = SORT_CREATED_AT, ascending: bool = True,
    ) -> tuple[int, list[MessageView]]:
        """One page of the caller's session, and how many messages it holds in all.

        Ties on the sort key fall back to createdAt, then chatId; the whole order
        flips when ``ascending`` is false. A negative ``skip`` counts as 0.
        """
        key_name = _sort_key(sort_by)
        with self._lock:
            return self._page(self._session_of(caller), key_name, skip, take, ascending)

    def list_session_messages(
        self, session_id: str, *, skip: int = 0, take: int = 20,
        sort_by: str = SORT_CREATED_AT, ascending: bool = True,
    ) -> tuple[int, list[MessageView]]:
        """The page :meth:`list_messages` gives any member of ``session_id`` (the mock's own view
        of a session, with no caller); NotFound when the session is not held."""
        key_name = _sort_key(sort_by)
        with self._lock:
            return self._page(self._held(session_id), key_name, skip, take, ascending)

    def _page(self, session: ChatSession, key_name: str, skip: int, take: int,
              ascending: bool) -> tuple[int, list[MessageView]]:
        """The paging rule of both listings (called under the lock)."""
        start = max(skip, 0)
        index = session.index(key_name)
        total = len(index)
        if ascending:
            entries = index[start:start + take]
        else:  # the same order read from the end
            entries = index[max(total - start - take, 0):max(total - start, 0)][::-1]
        return total, [self._view(session, session.messages[entry[-1]]) for entry in entries]

    def create_message(self, caller: User, text: str) -> MessageView:
        """Store a new message by the caller, stamped with the clock's time."""
        with self._lock:
            session = self._session_of(caller)
            message = Message(new_id(), caller.id, text, self.now())
            session.add(message)
            view = self._view(session, message)
            if self.events is not None:
                self._publish(session.id, MESSAGE_CREATED, {"message": view})
            return view

    def delete_message(self, caller: User, chat_id: str) -> None:
        """Delete a message with its reactions and pin: its author or the Host only."""
        with self._lock:
            session = self._session_of(caller)
            message = self._message(session, chat_id)
            if message.user_id != caller.id and not caller.is_host:
                raise Forbidden("only the author or the Host may delete a message")
            self._delete(session, chat_id)

    def delete_message_as_host(self, session_id: str, chat_id: str) -> None:
        """Delete a message of ``session_id`` as its Host would (the Host may delete any):
        NotFound when the session or the message is not held."""
        with self._lock:
            session = self._held(session_id)
            self._message(session, chat_id)
            self._delete(session, chat_id)

    def _delete(self, session: ChatSession, chat_id: str) -> None:
        """Remove a message, its reactions and pin with it, and say so (called under the lock)."""
        session.remove(chat_id)
        if self.events is not None:
            self._publish(session.id, MESSAGE_DELETED, {"chatId": chat_id})

    # -- reactions --------------------------------------------------------
    def add_reaction(self, caller: User, chat_id: str, name: str) -> ReactionView:
        """Any member may react; reacting again the same way returns the same reaction."""
        if name not in REACTIONS:
            raise ValueError(f"unknown reaction {name!r}")
        with self._lock:
            session = self._session_of(caller)
            message = self._message(session, chat_id)
            for reaction in message.reactions:
                if reaction.user_id == caller.id and reaction.name == name:
                    return ReactionView(reaction.id, chat_id, name)
            reaction = Reaction(new_id(), chat_id, caller.id, name)
            session.change(chat_id, name, lambda m: m.reactions.append(reaction))
            if self.events is not None:
                self._publish(session.id, REACTION_ADDED,
                              {"chatId": chat_id, "id": reaction.id, "reaction": name, "userId": caller.id})
            return ReactionView(reaction.id, chat_id, name)

    def list_reactions(self, caller: User, chat_ids: Iterable[str]) -> list[ReactionView]:
        """The reactions of the given messages; ids not in the session give nothing."""
        with self._lock:
            session = self._session_of(caller)
            found = []
            for chat_id in dict.fromkeys(chat_ids):
                message = session.messages.get(chat_id)
                if message is not None:
                    found.extend(ReactionView(r.id, r.chat_id, r.name) for r in message.reactions)
            return found

    def delete_reaction(self, caller: User, chat_id: str, reaction_id: str) -> None:
        """Remove a reaction: its author or the Host only."""
        with self._lock:
            session = self._session_of(caller)
            message = self._message(session, chat_id)
            reaction = next((r for r in message.reactions if r.id == reaction_id), None)
            if reaction is None:
                raise NotFound(f"reaction {reaction_id} on message {chat_id}")
            if reaction.user_id != caller.id and not caller.is_host:
                raise Forbidden("only the reaction's author or the Host may remove it")
            session.change(chat_id, reaction.name, lambda m: m.reactions.remove(reaction))
            if self.events is not None:
                self._publish(session.id, REACTION_REMOVED, {"chatId": chat_id, "id": reaction_id})

    # -- pins -------------------------------------------------------------
    def pin_message(self, session_id: str, chat_id: str) -> str:
        """Pin a message as its session's Host would; pinning twice keeps the first pin."""
        with self._lock:
            session = self._held(session_id)
            message = self._message(session, chat_id)
            if message.pin_id is None:
                pin_id = new_id()
                session.change(chat_id, SORT_PINNED, lambda m: setattr(m, "pin_id", pin_id))
                if self.events is not None:
                    self._publish(session.id, PIN_ADDED, {"chatId": chat_id, "pinId": pin_id})
            return session.messages[chat_id].pin_id

    def delete_pin(self, caller: User, chat_id: str, pin_id: str) -> None:
        """Unpin a message: the Host only, whatever the ids (a role check comes first)."""
        if not caller.is_host:
            raise Forbidden("only the Host may remove a pin")
        with self._lock:
            session = self._session_of(caller)
            message = self._message(session, chat_id)
            if message.pin_id is None or message.pin_id != pin_id:
                raise NotFound(f"pin {pin_id} on message {chat_id}")
            self._unpin(session, chat_id, pin_id)

    def unpin_as_host(self, session_id: str, pin_id: str) -> str:
        """Remove the pin ``pin_id`` of ``session_id`` as its Host would, wherever it is; the
        message it pinned. NotFound when the session or the pin is not held."""
        with self._lock:
            session = self._held(session_id)
            chat_id = next((m.chat_id for m in session.messages.values() if m.pin_id == pin_id), None)
            if chat_id is None:
                raise NotFound(f"pin {pin_id}")
            self._unpin(session, chat_id, pin_id)
            return chat_id

    def _unpin(self, session: ChatSession, chat_id: str, pin_id: str) -> None:
        """Take the pin off a message and say so (called under the lock)."""
        session.change(chat_id, SORT_PINNED, lambda m: setattr(m, "pin_id", None))
        if self.events is not None:
            self._publish(session.id, PIN_REMOVED, {"chatId": chat_id, "pinId": pin_id})

    # -- internals --------------------------------------------------------
    def _publish(self, session_id: str, event_type: str, data: dict) -> None:
        """Tell ``events`` of a committed change (called under the lock: in commit order). The
        callers check ``events`` first, so a store with no events builds no data at all."""
        if self.events is not None:
            self.events.publish(Event(session_id, event_type, data))

    def _held(self, session_id: str) -> ChatSession:
        """A session by its id, for the calls made as its Host; NotFound when it is not held."""
        session = self._sessions.get(session_id)
        if session is None:
            raise NotFound(f"session {session_id}")
        return session

    def _session_of(self, caller: User) -> ChatSession:
        """The caller's session, checked under the lock: a reset may have come in between."""
        session = self._sessions.get(caller.session_id)
        if session is None or session.users.get(caller.id) is not caller:
            raise UnknownCaller(caller.id)
        return session

    @staticmethod
    def _message(session: ChatSession, chat_id: str) -> Message:
        message = session.messages.get(chat_id)
        if message is None:
            raise NotFound(f"message {chat_id}")
        return message

    @staticmethod
    def _view(session: ChatSession, message: Message) -> MessageView:
        view = message._view
        if view is not None:
            return view
        groups: dict[str, list[str]] = {}
        for reaction in message.reactions:
            groups.setdefault(reaction.name, []).append(reaction.user_id)
        author = session.users.get(message.user_id)
        view = message._view = MessageView(
            chat_id=message.chat_id,
            text=message.text,
            created_at=message.created_at,
            user_id=message.user_id,
            user_name=author.name if author else "",
            pin_id=message.pin_id,
            reactions=tuple((name, tuple(ids)) for name, ids in groups.items()),
        )
        return view
