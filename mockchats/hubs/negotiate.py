"""SignalR's negotiate step as ASP.NET Core answers it, without I/O.

``POST {hub}/negotiate`` hands the client a connection id (and, under version 1, a separate
connection token) and the transports it may use. The texts and the field order are
HttpConnectionDispatcher's and NegotiateProtocol.WriteResponse's: the official clients parse
the answer, and partners' tests may compare it. Randomness is passed in, so the answer is
reproducible in tests.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence

#: The highest negotiate version ASP.NET Core speaks; a client asking for more gets this.
NEGOTIATE_VERSION = 1
#: HttpConnectionDispatcherOptions.MinimumProtocolVersion's default.
MINIMUM_NEGOTIATE_VERSION = 0

#: What the server offers, in the order the JavaScript client tries them.
AVAILABLE_TRANSPORTS: tuple[dict, ...] = (
    {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
    {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
    {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
)

NON_INTEGER_VERSION = "The client requested a non-integer protocol version."

# The plain-text bodies HttpConnectionDispatcher answers on the transport URLs.
#: 400 on a transport request without ``?id=``.
CONNECTION_ID_REQUIRED = "Connection ID required"
#: 404 on an ``?id=`` the server does not know.
NO_CONNECTION_WITH_ID = "No Connection with that ID"
#: 405 on a POST to a WebSocket connection.
POST_NOT_ALLOWED_FOR_WEBSOCKETS = "POST requests are not allowed for WebSocket connections."
#: 400 on a DELETE to a connection that is not long polling.
DELETE_NOT_ALLOWED = "Cannot terminate this connection using the DELETE endpoint."
#: 400 when a connection started on one transport is requested on another.
CANNOT_CHANGE_TRANSPORT = "Cannot change transports mid-connection"

#: The bytes of randomness in a connection id or token (128 bits, as HttpConnectionManager).
ID_BYTES = 16

# int.TryParse under NumberStyles.Integer: blanks around, an optional sign, ASCII digits.
_DOTNET_INTEGER = re.compile(r"[ \t\n\v\f\r]*([+-]?)0*([0-9]+)[ \t\n\v\f\r]*")


class NegotiateError(ValueError):
    """A negotiate request ASP.NET refuses; ``error`` is the text of its 200 ``{"error"}`` body."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _dotnet_int32(text: str) -> int | None:
    match = _DOTNET_INTEGER.fullmatch(text)
    if match is None or len(match.group(2)) > 10:  # past Int32 (and int()'s digit limit)
        return None
    value = int(match.group(1) + match.group(2))
    return value if -2**31 <= value < 2**31 else None


def query_values(pairs: Iterable[tuple[str, str]], name: str) -> list[str]:
    """The values of one query key, matched case-insensitively as ASP.NET's IQueryCollection
    does (``NegotiateVersion`` and ``negotiateVersion`` are one key)."""
    folded = name.casefold()
    return [value for key, value in pairs if key.casefold() == folded]


def negotiate_version(value: str | Sequence[str] | None) -> int:
    """The version to answer with, from the ``negotiateVersion`` query value(s).

    Absent is 0 (what both Python clients send); above 1 is 1; not an integer (several values
    join with commas, as StringValues.ToString does, so they never parse) or below 0 raises
    :class:`NegotiateError` with ASP.NET's text.
    """
    if value is None or (not isinstance(value, str) and len(value) == 0):
        return MINIMUM_NEGOTIATE_VERSION
    text = value if isinstance(value, str) else ",".join(value)
    version = _dotnet_int32(text)
    if version is None:
        raise NegotiateError(NON_INTEGER_VERSION)
    if version < MINIMUM_NEGOTIATE_VERSION:
        raise NegotiateError(
            f"The client requested version '{version}', but the server does not support this version.")
    return min(version, NEGOTIATE_VERSION)


def new_connection_id(random_bytes: bytes) -> str:
    """A connection id or token as HttpConnectionManager makes one: 16 random bytes in base64url
    without padding (WebEncoders.Base64UrlEncode), 22 characters."""
    if len(random_bytes) != ID_BYTES:
        raise ValueError(f"a connection id takes {ID_BYTES} random bytes, not {len(random_bytes)}")
    return base64.urlsafe_b64encode(random_bytes).rstrip(b"=").decode("ascii")


def connection_ids(version: int, id_bytes: bytes, token_bytes: bytes) -> tuple[str, str]:
    """``(connectionId, connectionToken)`` for a negotiated version.

    Under version 0 the token is the id (clients send the id as ``?id=``); under version 1 it is
    a second random value, and only the token opens the transports.
    """
    connection_id = new_connection_id(id_bytes)
    return connection_id, (new_connection_id(token_bytes) if version > 0 else connection_id)


def negotiate_response(version: int, connection_id: str, connection_token: str) -> dict:
    """The negotiate answer, keys in NegotiateProtocol.WriteResponse's order: ``negotiateVersion``
    (written even when 0), ``connectionId``, ``connectionToken`` (version 1 only),
    ``availableTransports``."""
    body: dict = {"negotiateVersion": version, "connectionId": connection_id}
    if version > 0:
        body["connectionToken"] = connection_token
    body["availableTransports"] = [dict(t, transferFormats=list(t["transferFormats"]))
                                   for t in AVAILABLE_TRANSPORTS]
    return body


def negotiate(value: str | Sequence[str] | None, id_bytes: bytes, token_bytes: bytes) -> dict:
    """The whole negotiate step: the ``negotiateVersion`` query value(s) and 32 bytes of
    randomness in, the JSON body out (always status 200): the answer, or ``{"error"}`` alone,
    in which case ASP.NET creates no connection."""
    try:
        version = negotiate_version(value)
    except NegotiateError as refused:
        return {"error": refused.error}
    connection_id, token = connection_ids(version, id_bytes, token_bytes)
    return negotiate_response(version, connection_id, token)
