"""The Session API's model: wallet proofs, sessions and their members, with the API's rules.

This module knows nothing of HTTP. :class:`SessionStore` holds the nonces it issued, the
sessions and the API keys; its methods apply the rules the Session API states (nonces used up
once, proofs recovered for real, capacity, passwords, whitelists, the Host's privileges,
expiry on the mock's clock) and raise the :mod:`~mockchats.core.errors` outcomes the pipeline
answers: :class:`BadRequest` (400), :class:`Unauthorized` (401 problem), :class:`NotFound`,
:class:`Forbidden`, :class:`Unprocessable` (422); a refused token raises
:class:`~mockchats.core.tokens.InvalidToken` or :class:`~mockchats.core.tokens.ExpiredToken`
(the 401 challenge). Every change is published as an :class:`~mockchats.core.events.Event`
while the lock is held, so subscribers see changes in the order they were committed.

One lock guards all state; it is never held across a signature's recovery.
"""
from __future__ import annotations

import heapq
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ..core import wordlists
from ..core.clock import utcnow
from ..core.errors import BadRequest, Forbidden, NotFound, Unauthorized, Unprocessable
from ..core.events import SESSION_CREATED, SESSION_DESTROYED, SESSION_EXPIRED, USER_ADDED, USER_REMOVED, Event, Events
from ..core.tokens import SESSION, WALLET, InvalidToken, TokenIssuer
from .wallet import BadSignature, is_address, recover

HOST = "Host"
CLIENT = "Client"

#: The only chain the beta verifies ("Only ERC-20 wallets are supported for now").
CHAIN = "Ethereum"
NONCE_LIFETIME = timedelta(minutes=5)
WALLET_TOKEN_LIFETIME = timedelta(minutes=5)
#: How long a nonce is remembered after it expires, so a late replay is told why it fails.
NONCE_MEMORY = timedelta(hours=1)
NONCE_MESSAGE = "Sign this message to prove you own this wallet. Nonce: {nonce}"

#: What a session's rules are when the request leaves them out or null.
DEFAULT_CAPACITY = 10
DEFAULT_EXPIRY_SECONDS = 3600
#: Every session's upload limits: the request cannot set them.
MAX_FILES = 10
MAX_TOTAL_MEGABYTES = 100
INT32_MAX = 2**31 - 1


# -- values ------------------------------------------------------------------
@dataclass(frozen=True)
class Nonce:
    """A nonce and the message that holds it, for a wallet to sign."""
    value: int
    message: str
    expires_at: datetime

    def to_dto(self) -> dict:
        """``NonceDto``."""
        return {"nonce": self.value, "message": self.message}


@dataclass(frozen=True)
class WalletProof:
    """A wallet token and what it proves: ``address`` (lower case) until ``expires_at``."""
    token: str
    address: str
    expires_at: datetime

    def to_dto(self) -> dict:
        """``WalletTokenDto``."""
        return {"token": self.token}


@dataclass(frozen=True)
class Member:
    """A user of one session. ``address`` is the wallet's, in lower case (None for a fixture
    user who never proved one)."""
    id: str
    name: str
    role: str
    address: str | None = None

    @property
    def is_host(self) -> bool:
        """Whether the user has the session's privileges (the Host only)."""
        return self.role == HOST

    def to_dto(self) -> dict:
        """``SessionUserDto``, also the ``data`` of ``UserAdded`` and ``UserRemoved``."""
        return {"id": self.id, "role": self.role, "name": self.name, "address": self.address}


@dataclass(frozen=True)
class Rules:
    """A session's rules. ``whitelist`` holds the addresses as the creator wrote them; they
    compare in any letter case."""
    capacity: int = DEFAULT_CAPACITY
    expiry_seconds: int = DEFAULT_EXPIRY_SECONDS
    password: str | None = None
    whitelist_only: bool = False
    whitelist: tuple[str, ...] = ()
    max_files: int = MAX_FILES
    max_total_megabytes: int = MAX_TOTAL_MEGABYTES

    @property
    def password_protected(self) -> bool:
        """Whether joining takes a password."""
        return self.password is not None

    def admits(self, address: str) -> bool:
        """Whether the whitelist lets ``address`` in (always, when it is not required)."""
        if not self.whitelist_only:
            return True
        folded = address.casefold()
        return any(entry.casefold() == folded for entry in self.whitelist)

    def to_dto(self, *, expiry: bool = True) -> dict:
        """``SessionRulesDto``; without ``expiry``, ``JoinSessionRulesDto``."""
        dto = {"expiry": self.expiry_seconds} if expiry else {}
        dto.update(maxFiles=self.max_files, maxUsers=self.capacity, maxTotalMegaBytes=self.max_total_megabytes,
                   passwordProtected=self.password_protected, whiteListAddresses=list(self.whitelist))
        return dto


@dataclass
class Session:
    """A session as the Session API holds it.

    ``expires_at`` None is a session that never expires (a fixture's); ``expired`` is set once
    the clock has passed ``expires_at`` and ``SessionExpired`` was published. ``creator_address``
    is the wallet that made the session: it joins again as the Host. ``members`` are the users
    in the session now, in the order they joined.
    """
    id: str
    rules: Rules
    creator_id: str | None
    created_at: datetime
    expires_at: datetime | None = None
    creator_address: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    expired: bool = False

    def copy(self) -> Session:
        """An independent copy (members are immutable and shared)."""
        return replace(self, members=dict(self.members))

    def member_by_address(self, address: str) -> Member | None:
        """The member with this wallet address (any letter case), if any."""
        folded = address.casefold()
        return next((m for m in self.members.values() if m.address is not None and m.address == folded), None)


@dataclass(frozen=True)
class Caller:
    """Who calls a session operation: a user of a session (from a session token, or a fixture's).
    ``name`` and ``role`` are as the token or the fixture gave them, for the journal."""
    session_id: str
    user_id: str
    name: str = ""
    role: str = ""

    @property
    def id(self) -> str:
        """The user's id (the journal reads users by ``id``, ``name`` and ``role``)."""
        return self.user_id


@dataclass(frozen=True)
class Credentials:
    """What creating or joining answers: a session token for ``member`` in the session."""
    session_id: str
    token: str
    expires_in: int
    member: Member
    rules: Rules
    #: The session's users, for a join; None for a create, whose answer has none.
    users: tuple[Member, ...] | None = None

    def to_dto(self) -> dict:
        """``SessionCredentialsDto`` (create) or ``JoinSessionDto`` (join)."""
        dto = {
            "sessionId": self.session_id,
            "expiresIn": self.expires_in,
            "credentials": {"token": self.token, "id": self.member.id, "pseudonym": self.member.name,
                            "role": self.member.role},
            "rules": self.rules.to_dto(expiry=self.users is None),
        }
        if self.users is not None:
            dto["users"] = [user.to_dto() for user in self.users]
        return dto


@dataclass(frozen=True)
class SessionView:
    """A consistent snapshot of one session, safe to read after the lock is released."""
    id: str
    creator_id: str | None
    rules: Rules
    users: tuple[Member, ...]
    created_at: datetime
    expires_at: datetime | None
    expired: bool

    def to_dto(self) -> dict:
        """The current session (``CurrentSessionDto``)."""
        return {"id": self.id, "creatorId": self.creator_id, **self.rules.to_dto(),
                "users": [user.to_dto() for user in self.users]}


# -- rules from a request --------------------------------------------------------
def _optional_int(value: object, name: str) -> int | None:
    if value is None:
        return None
    # Binding refuses these first (int32 fields); the model stays safe without it.
    if isinstance(value, bool) or not isinstance(value, int) or value > INT32_MAX:
        raise Unprocessable(f"{name} must be a whole number (an int32).")
    return value


def rules_from_request(request: Mapping[str, object] | None) -> Rules:
    """The rules a ``CreateSessionRequest`` (as bound, camelCase) asks for, defaults filled in.

    ``rules.password`` and ``rules.whiteListAddresses`` win over the deprecated top-level
    ``password`` and ``whiteListAddresses`` when they are not null; an empty password is none.
    Rules that cannot hold are :class:`Unprocessable`.
    """
    if request is None:
        request = {}
    if not isinstance(request, Mapping):
        raise Unprocessable("The request must be an object.")
    rules = request.get("rules")
    if rules is None:
        rules = {}
    if not isinstance(rules, Mapping):
        raise Unprocessable("rules must be an object.")
    capacity = _optional_int(rules.get("userCapacity"), "userCapacity")
    if capacity is None:
        capacity = DEFAULT_CAPACITY
    elif capacity < 1:
        raise Unprocessable(f"userCapacity must be at least 1 (the Host counts), not {capacity}.")
    expiry = _optional_int(rules.get("expiryDurationInSeconds"), "expiryDurationInSeconds")
    if expiry is None:
        expiry = DEFAULT_EXPIRY_SECONDS
    elif expiry <= 0:
        raise Unprocessable(f"expiryDurationInSeconds must be positive, not {expiry}.")

    password = rules.get("password")
    if password is None:
        password = request.get("password")
    if password is not None and not isinstance(password, str):
        raise Unprocessable("password must be text.")

    entries = rules.get("whiteListAddresses")
    if entries is not None:
        if not isinstance(entries, list):
            raise Unprocessable("rules.whiteListAddresses must be a list.")
        addresses = [entry.get("address") if isinstance(entry, Mapping) else None for entry in entries]
        where = "rules.whiteListAddresses[{}].address"
    else:
        addresses = request.get("whiteListAddresses") or []
        if not isinstance(addresses, list):
            raise Unprocessable("whiteListAddresses must be a list.")
        where = "whiteListAddresses[{}]"
    for index, address in enumerate(addresses):
        if not is_address(address):
            raise Unprocessable(f"{where.format(index)} is not a wallet address (0x and 40 hex digits).")
    only = rules.get("allowOnlyWhitelistedAddresses")
    if only is not None and not isinstance(only, bool):
        raise Unprocessable("allowOnlyWhitelistedAddresses must be true or false.")
    if only and not addresses:
        raise Unprocessable("allowOnlyWhitelistedAddresses needs at least one address in whiteListAddresses.")
    return Rules(capacity=capacity, expiry_seconds=expiry, password=password or None,
                 whitelist_only=bool(only), whitelist=tuple(addresses))


def pseudonym(session_id: str, address: str) -> str:
    """The name a wallet goes by in a session when none is given: the same for the same wallet
    in the same session, every time (it joins again under the name it had)."""
    return wordlists.name(random.Random(f"{session_id}/{address.casefold()}"))


@dataclass
class _NonceRecord:
    nonce: Nonce
    used: bool = False


# -- the store -----------------------------------------------------------------
class SessionStore:
    """The Session API's state: issued nonces, sessions with their members, and API keys.

    ``sessions`` and ``api_keys`` are the loaded world; :meth:`reset` returns to them (and
    forgets every nonce). ``now`` is the mock's clock: nonces, tokens and sessions expire by
    it. ``seed`` makes the ids, nonces and generated names the same from run to run.
    """

    def __init__(self, sessions: Iterable[Session] = (), *, tokens: TokenIssuer, events: Events | None = None,
                 api_keys: Iterable[str] = (), now: Callable[[], datetime] = utcnow, seed: int | None = None):
        self.now = now
        self.tokens = tokens
        self.events = events if events is not None else Events()
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._loaded = [s.copy() for s in sessions]
        self._loaded_keys = frozenset(api_keys)
        self.reset()

    # -- state as a whole -------------------------------------------------
    def reset(self) -> None:
        """Forget everything since loading: sessions made, nonces issued, keys added."""
        self.replace(self._loaded, self._loaded_keys)

    def replace(self, sessions: Iterable[Session], api_keys: Iterable[str] | None = None) -> None:
        """Make ``sessions`` (and ``api_keys``, when given) the current state; :meth:`reset` still
        returns to the loaded one. Sessions past their expiry are expired at the next call."""
        sessions = [s.copy() for s in sessions]
        with self._lock:
            self._sessions = {s.id: s for s in sessions}
            self._expiries = [(s.expires_at, s.id) for s in sessions if s.expires_at is not None and not s.expired]
            heapq.heapify(self._expiries)
            self._nonces: dict[str, _NonceRecord] = {}
            if api_keys is not None:
                self._api_keys = frozenset(api_keys)

    def snapshot(self) -> list[Session]:
        """A copy of every session, for export; later changes do not reach it."""
        with self._lock:
            self._expire_due(self.now())
            return [s.copy() for s in self._sessions.values()]

    def sessions(self) -> list[SessionView]:
        """Every session, expired ones included, in the order they were made or loaded."""
        with self._lock:
            self._expire_due(self.now())
            return [self._view(s) for s in self._sessions.values()]

    def add(self, session: Session) -> None:
        """Hold ``session`` (one the control plane made for the Chats API) as it is, unannounced."""
        with self._lock:
            self._sessions[session.id] = session.copy()
            if session.expires_at is not None and not session.expired:
                heapq.heappush(self._expiries, (session.expires_at, session.id))

    @property
    def api_keys(self) -> frozenset[str]:
        """The API keys strict auth accepts."""
        return self._api_keys

    def add_api_key(self, key: str) -> None:
        """Accept ``key`` from now on (until a reset or replace)."""
        if not isinstance(key, str) or not key.strip():
            raise ValueError("an API key is non-empty text")
        with self._lock:
            self._api_keys = self._api_keys | {key.strip()}

    # -- expiry -------------------------------------------------------------
    def expire_due(self) -> list[str]:
        """Expire every session whose time has come on the clock, publishing ``SessionExpired``
        for each; the ids expired now. Every other call does this first; call it when the
        clock moves (``POST /_mock/clock``) or at :meth:`next_expiry`, so the event goes out
        when the time comes rather than at the next request."""
        expiries = self._expiries
        if not expiries or expiries[0][0] > self.now():  # the common case, without the lock: nothing due
            return []
        with self._lock:
            return self._expire_due(self.now())

    def next_expiry(self) -> datetime | None:
        """When the next live session expires, or None when none will."""
        with self._lock:
            while self._expiries:
                expires_at, session_id = self._expiries[0]
                session = self._sessions.get(session_id)
                if session is not None and not session.expired and session.expires_at == expires_at:
                    return expires_at
                heapq.heappop(self._expiries)  # deleted, or already expired
            return None

    def _expire_due(self, now: datetime) -> list[str]:
        expired = []
        while self._expiries and self._expiries[0][0] <= now:
            expires_at, session_id = heapq.heappop(self._expiries)
            session = self._sessions.get(session_id)
            if session is None or session.expired or session.expires_at != expires_at:
                continue
            session.expired = True
            expired.append(session_id)
            self.events.publish(Event(session_id, SESSION_EXPIRED, {}))
        return expired

    # -- wallet proof -------------------------------------------------------
    def issue_nonce(self) -> Nonce:
        """A new nonce and its message, valid for :data:`NONCE_LIFETIME`."""
        with self._lock:
            now = self.now()
            self._forget_nonces(now)
            while True:
                value = self._rng.randint(1, INT32_MAX)
                message = NONCE_MESSAGE.format(nonce=value)
                if message not in self._nonces:
                    break
            nonce = Nonce(value, message, now + NONCE_LIFETIME)
            self._nonces[message] = _NonceRecord(nonce)
            return nonce

    def verify_proof(self, wallet_address: str | None, message: str | None, signature: str | None,
                     chain: str = CHAIN) -> WalletProof:
        """A wallet token for ``wallet_address``, if ``signature`` is its personal_sign of
        ``message`` and ``message`` is a nonce message issued, unused and unexpired.

        The nonce ``message`` names is used up whatever the outcome. Anything refused is
        :class:`BadRequest`, saying why.
        """
        with self._lock:
            now = self.now()
            self._forget_nonces(now)
            record = self._nonces.get(message) if isinstance(message, str) else None
            used = record is not None and record.used
            if record is not None:
                record.used = True
        if not isinstance(chain, str) or chain.casefold() != CHAIN.casefold():
            raise BadRequest(f"Only {CHAIN} (ERC-20) wallets are supported.")
        if not message:
            raise BadRequest("The message is required: the message of a nonce from GET /wallet-proof/nonce.")
        if record is None:
            raise BadRequest("The message is not the message of a nonce this service issued.")
        if used:
            raise BadRequest("The nonce was already used: get a new one.")
        if now >= record.nonce.expires_at:
            raise BadRequest("The nonce expired: get a new one.")
        if not wallet_address:
            raise BadRequest("The wallet address is required.")
        if not is_address(wallet_address):
            raise BadRequest("The wallet address is not an Ethereum address (0x and 40 hex digits).")
        if not signature:
            raise BadRequest("The signature is required.")
        try:
            signer = recover(message, signature)  # milliseconds of curve arithmetic: outside the lock
        except BadSignature as exc:
            raise BadRequest(f"The signature is invalid: {exc}.") from None
        if signer.casefold() != wallet_address.casefold():
            raise BadRequest("The signature was not made by the wallet address's key.")
        return self.wallet_token(wallet_address, now=now)

    def wallet_token(self, address: str, *, now: datetime | None = None) -> WalletProof:
        """A wallet token for ``address`` without a proof (the control plane's
        ``POST /_mock/wallet-tokens``); ValueError when it is not an address."""
        if not is_address(address):
            raise ValueError(f"not a wallet address (0x and 40 hex digits): {address!r}")
        now = now or self.now()
        address = address.lower()
        token = self.tokens.issue({"sub": address, "typ": WALLET}, WALLET_TOKEN_LIFETIME, now)
        return WalletProof(token, address, now + WALLET_TOKEN_LIFETIME)

    def _forget_nonces(self, now: datetime) -> None:
        # Issued in order of the clock (which may move back; then forgetting waits).
        while self._nonces:
            message, record = next(iter(self._nonces.items()))
            if record.nonce.expires_at + NONCE_MEMORY > now:
                break
            del self._nonces[message]

    # -- who calls ----------------------------------------------------------
    def wallet_of(self, token: str) -> str:
        """The address (lower case) a wallet token proves; InvalidToken or ExpiredToken otherwise
        (a session token is InvalidToken)."""
        return self.tokens.read(token, self.now(), WALLET)["sub"]

    def caller_of(self, token: str) -> Caller:
        """The caller a session token names; InvalidToken or ExpiredToken otherwise (a wallet
        token is InvalidToken). Whether the caller is still in its session is each operation's
        question (NotFound)."""
        claims = self.tokens.read(token, self.now(), SESSION)
        session_id = claims.get("sid")
        if not isinstance(session_id, str):
            raise InvalidToken("a session token without a session")
        return Caller(session_id, claims["sub"], str(claims.get("name", "")), str(claims.get("role", "")))

    def signed_caller(self, token: str) -> Caller | None:
        """The caller a session token of the mock's names; None when the mock did not sign the
        token; ExpiredToken past its lifetime; InvalidToken for a wallet token. Sessions whose
        time has come are expired first, so the answer is as of now."""
        now = self.now()
        try:
            claims = self.tokens.read(token, now)
        except InvalidToken:
            return None
        if claims["typ"] != SESSION or not isinstance(claims.get("sid"), str):
            raise InvalidToken(f"a {claims['typ']} token where a session token is needed")
        self.expire_due()
        return Caller(claims["sid"], claims["sub"], str(claims.get("name", "")), str(claims.get("role", "")))

    def check_api_key(self, key: str | None, *, strict: bool) -> None:
        """Unauthorized unless ``key`` is acceptable: any non-empty key in open auth, one of
        :attr:`api_keys` in strict auth."""
        if key is None or not key.strip():
            raise Unauthorized("The X-API-KEY header is missing.")
        if strict and key.strip() not in self._api_keys:
            raise Unauthorized("The API key is not known.")

    # -- sessions -------------------------------------------------------------
    def create_session(self, wallet_address: str, request: Mapping[str, object] | None = None) -> Credentials:
        """A new session whose Host is the wallet, with the rules ``request`` (a
        ``CreateSessionRequest`` as bound) asks for; the Host's credentials."""
        rules = rules_from_request(request)
        identity = (request or {}).get("identity") or {}
        name = identity.get("name") if isinstance(identity, Mapping) else None
        address = wallet_address.lower()
        with self._lock:
            now = self.now()
            self._expire_due(now)
            session_id = self._new_id()
            host = Member(self._new_id(), name if isinstance(name, str) and name.strip()
                          else pseudonym(session_id, address), HOST, address)
            session = Session(session_id, rules, host.id, now, now + timedelta(seconds=rules.expiry_seconds),
                              address, {host.id: host})
            self._sessions[session_id] = session
            heapq.heappush(self._expiries, (session.expires_at, session_id))
            self.events.publish(Event(session_id, SESSION_CREATED, host.to_dto()))
            return self._credentials(session, host, now, users=False)

    def join(self, wallet_address: str, session_id: str | None, password: str | None = None) -> Credentials:
        """The wallet's credentials in the session, and the session's users.

        A wallet already in the session is the same user again (a new token; the older ones
        stay valid); a wallet that left or was kicked joins as a new user. The session's
        creator joins as its Host, whatever the whitelist.
        """
        address = wallet_address.lower()
        with self._lock:
            now = self.now()
            self._expire_due(now)
            session = self._sessions.get(session_id) if isinstance(session_id, str) else None
            if session is None:
                raise NotFound(f"session {session_id}")
            if session.expired:
                raise Unprocessable("The session has expired.")
            if session.rules.password_protected and password != session.rules.password:
                raise Unauthorized("The session's password is missing." if not password
                                   else "The session's password is wrong.")
            member = session.member_by_address(address)
            if member is None:
                creator = address == session.creator_address
                if not creator and not session.rules.admits(address):
                    raise Unprocessable("The wallet address is not on the session's whitelist.")
                if len(session.members) >= session.rules.capacity:
                    raise Unprocessable(f"The session is full: it holds {session.rules.capacity} users, "
                                        "the Host included.")
                member = Member(self._new_id(), pseudonym(session.id, address), HOST if creator else CLIENT,
                                address)
                session.members[member.id] = member
                if creator:
                    session.creator_id = member.id
                self.events.publish(Event(session.id, USER_ADDED, member.to_dto()))
            return self._credentials(session, member, now, users=True)

    def current(self, caller: Caller) -> SessionView:
        """The caller's session; NotFound once it is deleted or expired or the caller left it."""
        with self._lock:
            session, _ = self._membership(caller)
            return self._view(session)

    def kick(self, caller: Caller, user_id: str | None) -> Member:
        """Remove a user from the caller's session: the Host only (Forbidden), not itself
        (Unprocessable), a user in the session (NotFound). The user removed."""
        with self._lock:
            session, me = self._membership(caller)
            if not me.is_host:
                raise Forbidden("only the Host may kick a user")
            if user_id == me.id:
                raise Unprocessable("The Host cannot kick itself: disconnect, or delete the session.")
            target = session.members.get(user_id) if isinstance(user_id, str) else None
            if target is None:
                raise NotFound(f"user {user_id} in session {session.id}")
            self._remove(session, target)
            return target

    def disconnect(self, caller: Caller) -> Member:
        """The caller leaves its session (the Host too: the session stays). The user removed."""
        with self._lock:
            session, me = self._membership(caller)
            self._remove(session, me)
            return me

    def delete(self, caller: Caller) -> None:
        """Delete the caller's session: the Host only (Forbidden)."""
        with self._lock:
            session, me = self._membership(caller)
            if not me.is_host:
                raise Forbidden("only the Host may delete the session")
            del self._sessions[session.id]
            self.events.publish(Event(session.id, SESSION_DESTROYED, {}))

    # -- internals ----------------------------------------------------------
    def _membership(self, caller: Caller) -> tuple[Session, Member]:
        """The caller's live session and the caller in it, or NotFound."""
        self._expire_due(self.now())
        session = self._sessions.get(caller.session_id)
        if session is None or session.expired:
            raise NotFound(f"session {caller.session_id}")
        member = session.members.get(caller.user_id)
        if member is None:
            raise NotFound(f"user {caller.user_id} in session {caller.session_id}")
        return session, member

    def _remove(self, session: Session, member: Member) -> None:
        del session.members[member.id]
        self.events.publish(Event(session.id, USER_REMOVED, member.to_dto()))

    def _credentials(self, session: Session, member: Member, now: datetime, *, users: bool) -> Credentials:
        if session.expires_at is None:  # a session that never expires: tokens for its rules' lifetime
            lifetime = session.rules.expiry_seconds
        else:  # a session token expires with its session
            lifetime = int((session.expires_at - now).total_seconds())
        token = self.tokens.issue({"sub": member.id, "name": member.name, "role": member.role,
                                   "sid": session.id, "typ": SESSION}, lifetime, now)
        return Credentials(session.id, token, lifetime, member, session.rules,
                           tuple(session.members.values()) if users else None)

    @staticmethod
    def _view(session: Session) -> SessionView:
        return SessionView(session.id, session.creator_id, session.rules, tuple(session.members.values()),
                           session.created_at, session.expires_at, session.expired)

    def _new_id(self) -> str:
        """A fresh random (version 4) identifier, formatted as .NET formats a Guid."""
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
