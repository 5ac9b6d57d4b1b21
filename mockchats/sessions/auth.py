"""Who calls the Session API, by each operation's security requirement.

The document names three schemes: none (``security: []``: the nonce and the proof), the
wallet token (create and join; create also needs an ``X-API-KEY``), and the session token
(everything else). As ASP.NET Core's JwtBearer handler runs before the action, a missing or
refused bearer is the challenge (an empty 401), checked before the API key (a 401
problem). Session tokens are the mock's JWTs or a fixture user's token; the Session API
admits no guests, in either auth mode: open auth's guests are the Chats API's.
"""
from __future__ import annotations

from collections.abc import Callable
from wsgiref.types import WSGIEnvironment

from ..core.identity import CHALLENGE, Unauthenticated, bearer_token
from ..core.spec import Operation
from .models import Caller, SessionStore

#: The document's security scheme names.
SESSION_BEARER = "Session Bearer"
WALLET_BEARER = "Wallet Ownership Bearer"
API_KEY = "API Key"

#: A fixture user's token -> the caller it names; None when it is no fixture user's. Given by the
#: composition root, from the Chats API's users (a service imports no other).
KnownToken = Callable[[str], "Caller | None"]


class SessionAuth:
    """The Session API's token stage: the caller each operation is given (None, a wallet's
    address in lower case, or a :class:`Caller`)."""

    def __init__(self, store: SessionStore, *, known: KnownToken, strict: Callable[[], bool]):
        self.store = store
        self.known = known
        self.strict = strict

    def authenticate(self, op: Operation, environ: WSGIEnvironment, warnings: list[str]) -> object:
        """The caller of ``op``; Unauthenticated (the challenge), or Unauthorized (the API key)."""
        schemes = op.security
        if not schemes:
            return None
        token = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        if token is None:
            raise Unauthenticated(CHALLENGE)
        if WALLET_BEARER in schemes:
            address = self.store.wallet_of(token)
            if API_KEY in schemes:
                self.store.check_api_key(environ.get("HTTP_X_API_KEY"), strict=self.strict())
            return address
        caller = self.known(token)
        if caller is not None:
            return caller
        return self.store.caller_of(token)
