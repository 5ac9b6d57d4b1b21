"""Who a request says it is: bearer tokens, answered as ASP.NET Core's JwtBearer handler answers.

Service-agnostic: reading the ``Authorization`` header, a JWT's claims (unverified), and the
challenge a refusal carries. Which tokens a service knows is the service's business.
"""
from __future__ import annotations

import base64
import json
import re

#: WWW-Authenticate values of the JwtBearer challenge.
CHALLENGE = "Bearer"
CHALLENGE_INVALID = 'Bearer error="invalid_token"'
# RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

class Unauthenticated(Exception):
    """401: ``challenge`` is the WWW-Authenticate value to send."""

    def __init__(self, challenge: str):
        super().__init__(challenge)
        self.challenge = challenge


def bearer_token(header: str | None) -> str | None:
    """The token of a ``Bearer`` Authorization header (scheme matched case-insensitively)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.casefold() != "bearer":
        return None
    token = token.strip()
    return token or None


#: Bounds on a JWT segment worth reading: a longer or more deeply nested one is simply
#: malformed, and never reaches a JSON parser (whose recursion a deep one could exhaust, in a
#: process whose recursion limit a test tool has raised).
MAX_SEGMENT_CHARS = 16_384
MAX_SEGMENT_NESTING = 64


def jwt_segment(segment: str) -> dict | None:
    """A JWT segment (base64url of a JSON object) read, within bounds; None when it is not one."""
    if len(segment) > MAX_SEGMENT_CHARS:
        return None
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        if data.count(b"[") + data.count(b"{") > MAX_SEGMENT_NESTING:
            return None
        value = json.loads(data)
    except (ValueError, TypeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def jwt_claims(token: str) -> dict:
    """The payload of a JWT, unverified; ``{}`` when the token is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    return jwt_segment(parts[1]) or {}
