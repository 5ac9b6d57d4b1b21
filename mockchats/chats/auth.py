"""Bearer-token authentication, answered as ASP.NET Core's JwtBearer handler answers.

A token stands for one user in one session. ``strict`` mode knows only the
fixture tokens and the session tokens the mock signed; ``open`` mode (the default) also
lets any well-formed unknown token in as a Client of the default session, with an id and a
name derived stably from the token (a JWT's ``sub`` and ``name`` claims, read without
verification). A token the mock issued is never a guest: once its user or session is gone
it names nobody, and the caller's session is not found (404), as for a JWT-authenticated
ASP.NET service whose data no longer holds the token's subject.
"""
from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable

from ..core import wordlists
from ..core.errors import NotFound
from ..core.identity import B64TOKEN, CHALLENGE, CHALLENGE_INVALID, Unauthenticated, bearer_token, jwt_claims
from .models import Store, User

OPEN = "open"
STRICT = "strict"
AUTH_MODES = (OPEN, STRICT)

#: The journal's warning on a request whose token open auth let in as a guest.
GUEST_WARNING = "token not issued by the mock: admitted as a guest Client"

_GUEST_NAMESPACE = uuid.UUID("9b7f3c52-4c1e-4b8e-9d7a-6a4f0c2d1e11")

#: Reads a token the mock may have signed: (session id, user id) of a session token; None when
#: the mock did not sign it; Unauthenticated for one of its tokens that is expired or not a
#: session token. The Session API's, given by the composition root (a service imports no other).
SignedReader = Callable[[str], "tuple[str, str] | None"]


class Authenticator:
    """Turns an ``Authorization`` header into the calling :class:`User`."""

    def __init__(self, store: Store, mode: str = OPEN, *, signed: SignedReader | None = None):
        self.store = store
        self.signed = signed
        self.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        """Switch between open and strict auth."""
        if mode not in AUTH_MODES:
            raise ValueError(f"auth mode must be one of {AUTH_MODES}, not {mode!r}")
        self.mode = mode

    def authenticate(self, header: str | None, warnings: list[str] | None = None) -> User:
        """The user behind the header; Unauthenticated (401) otherwise.

        A token the mock did not issue, let in by open auth, adds a warning to
        ``warnings`` on every request that uses it, so a mistyped token shows in the journal.
        """
        token = bearer_token(header)
        if token is None:
            # No credentials at all: the handler's plain challenge, no error.
            raise Unauthenticated(CHALLENGE)
        user, issued = self.store.identify(token)
        if user is None:
            member = self.signed(token) if self.signed is not None and token.count(".") == 2 else None
            if member is not None:  # the mock's own session token
                user = self.store.member(*member)
                if user is None:
                    raise NotFound(f"session {member[0]} with user {member[1]}")
                return user
            if self.store.departed(token):
                raise NotFound("the token's user left its session")
            if self.mode == STRICT or not B64TOKEN.fullmatch(token):
                raise Unauthenticated(CHALLENGE_INVALID)
            user_id, name = self.guest_identity(token)
            user, issued = self.store.admit_guest(token, user_id, name), False
        if not issued and warnings is not None:
            warnings.append(guest_warning(user, token))
        return user

    def guest_identity(self, token: str) -> tuple[str, str]:
        """A stable (id, name) for an unknown token: its JWT claims, else derived from it."""
        claims = jwt_claims(token)
        user_id = _claim(claims, "sub") or str(uuid.uuid5(_GUEST_NAMESPACE, token))
        name = _claim(claims, "name")
        if not name:
            digest = int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "big")
            name = wordlists.name(random.Random(digest))  # the name a Faker seeded so gave
        return user_id, name


def guest_warning(user: User, token: str) -> str:
    """The journal's warning for a request whose token the mock did not issue."""
    if user.token == token:  # a guest of its own
        return GUEST_WARNING
    # A JWT whose sub is a known user's id: that user, let in by a token nobody issued.
    return f"token not issued by the mock: admitted as {user.name} ({user.role}), the user its sub claim names"


def _claim(claims: dict, name: str) -> str | None:
    value = claims.get(name)
    return str(value) if isinstance(value, (str, int)) and str(value).strip() else None
