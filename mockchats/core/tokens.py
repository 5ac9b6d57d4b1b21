"""The JWTs the mock signs, for every service: wallet tokens and session tokens.

One :class:`TokenIssuer` per mock signs with HS256 and a random key of its own, so a token
is the mock's exactly when its signature holds; nothing else about it is trusted. Reading
checks the lifetime as ASP.NET Core's JwtBearer does: on the mock's clock (``now`` is given,
never read from the system), with the handler's default clock skew of 5 minutes. A refused
token raises :class:`InvalidToken` or :class:`ExpiredToken`, both :class:`~.identity.Unauthenticated`
carrying the ``WWW-Authenticate`` value JwtBearer would send.
"""
from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from .identity import CHALLENGE_INVALID, Unauthenticated, jwt_segment

#: JwtBearer's default ``TokenValidationParameters.ClockSkew``: a token stays valid this long past ``exp``.
CLOCK_SKEW = timedelta(minutes=5)
ALGORITHM = "HS256"
WALLET = "wallet"
SESSION = "session"
TOKEN_TYPES = (WALLET, SESSION)
#: The shortest key HS256 is given: RFC 7518 section 3.2 asks for at least the hash's size.
MIN_KEY_BYTES = 32
#: How many verified tokens are remembered, so a token used on every request is verified once.
_CACHE_SIZE = 4096


class InvalidToken(Unauthenticated):
    """Not the mock's token: malformed, signed by another key or algorithm, or of the wrong type.

    ``description`` is JwtBearer's ``error_description`` for the failure, or None when it
    writes none (a token that is not a readable JWT).
    """

    def __init__(self, reason: str, description: str | None = None):
        super().__init__(_challenge(description))
        self.reason = reason
        self.description = description

    def __str__(self) -> str:
        return self.reason


class ExpiredToken(Unauthenticated):
    """The mock's token, past its ``exp`` plus the clock skew; ``expires_at`` is its ``exp``."""

    def __init__(self, expires_at: datetime):
        self.expires_at = expires_at
        self.description = f"The token expired at '{invariant_datetime(expires_at)}'"
        super().__init__(_challenge(self.description))

    def __str__(self) -> str:
        return self.description


#: JwtBearer's description of a token whose signature does not hold (SecurityTokenInvalidSignatureException).
SIGNATURE_INVALID = "The signature is invalid"


def _challenge(description: str | None) -> str:
    if description is None:
        return CHALLENGE_INVALID
    return f'{CHALLENGE_INVALID}, error_description="{description}"'


def invariant_datetime(value: datetime) -> str:
    """``DateTime.ToString(CultureInfo.InvariantCulture)`` of a UTC instant: ``06/26/2025 08:48:07``."""
    return value.astimezone(UTC).strftime("%m/%d/%Y %H:%M:%S")


def _seconds(lifetime: timedelta | float) -> float:
    return lifetime.total_seconds() if isinstance(lifetime, timedelta) else float(lifetime)


class TokenIssuer:
    """Signs and reads the mock's JWTs. Thread-safe: it holds only its key and a cache of
    tokens whose signature was checked (a token's claims never change)."""

    def __init__(self, key: bytes | None = None):
        if key is None:
            key = secrets.token_bytes(MIN_KEY_BYTES)
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"an HS256 key needs {MIN_KEY_BYTES} bytes or more, not {len(key)}")
        self._key = key
        self._verified: dict[str, dict] = {}

    def issue(self, claims: Mapping[str, object], lifetime: timedelta | float, now: datetime) -> str:
        """A token with ``claims`` (``sub`` and ``typ`` at least), issued at ``now`` and valid
        for ``lifetime`` (seconds or a timedelta).

        ``iat`` and ``exp`` are whole seconds since the epoch, as JWTs carry them, ``exp - iat``
        the whole seconds of ``lifetime``; a random ``jti`` makes every token unique, even two
        issued in one second with the same claims.
        """
        # Imported on first use: PyJWT is no concern of a process that never signs (the pytest
        # plugin's import budget, the start-up of `mockchats serve`).
        import jwt

        if claims.get("typ") not in TOKEN_TYPES:
            raise ValueError(f"typ must be one of {TOKEN_TYPES}, not {claims.get('typ')!r}")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise ValueError("a token needs a sub")
        issued = int(now.timestamp())
        payload = {**claims, "iat": issued, "exp": issued + int(_seconds(lifetime)),
                   "jti": secrets.token_hex(8)}
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def read(self, token: str, now: datetime, typ: str | None = None) -> dict:
        """The claims of a token the mock signed, if it is still valid at ``now``.

        Raises :class:`InvalidToken` for anything the mock did not sign (checked first, as
        JwtBearer checks the signature before the lifetime), then :class:`ExpiredToken` once
        ``exp`` plus :data:`CLOCK_SKEW` lies before ``now``, then :class:`InvalidToken` (no
        description) when ``typ`` is given and the token is of the other type.
        """
        if not isinstance(token, str):
            raise InvalidToken("a token is text")
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) >= _CACHE_SIZE:  # a bound, not an LRU: tokens are cheap to verify again
                self._verified.clear()
            self._verified[token] = claims
        expires = claims["exp"]
        if now.timestamp() > expires + CLOCK_SKEW.total_seconds():
            raise ExpiredToken(datetime.fromtimestamp(expires, UTC))
        if typ is not None and claims["typ"] != typ:
            raise InvalidToken(f"a {claims['typ']} token where a {typ} token is needed")
        return dict(claims)  # a copy: the cached claims stay as signed

    def _verify(self, token: str) -> dict:
        header, _, rest = token.partition(".")
        if header != _HEADER:
            # Never handed to a JSON parser unbounded: C's json recursion on a header nested
            # 100,000 deep can crash the process when the recursion limit has been raised.
            if rest.count(".") == 1 and _is_json_object(header) and _is_json_object(rest.split(".")[0]):
                raise InvalidToken("another algorithm or header than the mock's", SIGNATURE_INVALID)
            raise InvalidToken("not a JWT the mock can read")
        # Imported on first use, as in issue().
        import jwt

        try:
            # The payload is parsed only once the signature holds: it is then the mock's own.
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], options={
                # The lifetime is checked on the mock's clock (read()), not the system's.
                "verify_exp": False, "verify_iat": False, "verify_nbf": False,
                "require": ["exp", "iat", "sub", "typ"],
            })
        except jwt.InvalidSignatureError as exc:
            # IdentityModel reads the whole token before its signature: an unreadable payload is malformed.
            readable = _is_json_object(rest.split(".")[0])
            raise InvalidToken(f"not signed by the mock: {exc}", SIGNATURE_INVALID if readable else None) from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:  # text that is no UTF-8, a bad segment
            raise InvalidToken(f"not a JWT the mock can read: {exc}") from None
        if not isinstance(claims.get("exp"), int) or claims.get("typ") not in TOKEN_TYPES:
            raise InvalidToken("signed by the mock but not one of its token types")  # only with a leaked key
        return claims


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


#: The header of every token the mock signs, as PyJWT writes it (compact JSON, keys sorted).
_HEADER = _b64url(json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":")).encode())


def _is_json_object(segment: str) -> bool:
    """Whether a JWT segment is base64url of a JSON object (as IdentityModel must read one
    before it can even check the signature)."""
    return jwt_segment(segment) is not None
