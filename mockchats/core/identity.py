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


def jwt_claims(token: str) -> dict:
    """The payload of a JWT, unverified; ``{}`` when the token is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError, RecursionError):  # a payload nested past Python's limit too
        return {}
    return claims if isinstance(claims, dict) else {}
