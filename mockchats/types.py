"""The control plane's documents as Python types, for partners' type checkers.

Each TypedDict is what a call of :class:`~mockchats.Control` (or of the ``mockchats`` fixture)
returns, key for key as ``GET /_mock/openapi.json`` describes it. At run time they are plain dicts;
this module imports nothing but :mod:`typing`, so annotating with it costs nothing.
"""
from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "Clock", "Fault", "HubConnection", "HubEvent", "HubJournalEntry", "JournalEntry", "JournalResponse", "JournalUser",
    "MessagePin", "Pin", "Scenario", "Session", "SessionUser", "Status",
]


class Status(TypedDict):
    """What a reset or a scenario load answers: the world the mock is in now."""

    auth: Literal["open", "strict"]
    seed: int
    #: The shipped scenario's name, the path or ``"document"`` of a partner's own; None at start.
    scenario: str | None
    sessions: int
    messages: int


class Scenario(TypedDict):
    """A shipped scenario (``GET /_mock/scenarios``)."""

    name: str
    description: str


class SessionUser(TypedDict):
    id: str
    name: str
    role: Literal["Host", "Client"]
    #: None for a user who has no token (cannot call the API).
    token: str | None


class Session(TypedDict):
    """A session with its users (``GET /_mock/sessions``, ``POST /_mock/sessions``)."""

    sessionId: str
    users: list[SessionUser]
    #: How many messages the session holds.
    messages: int


class Pin(TypedDict):
    """What ``POST /_mock/sessions/{id}/pins`` answers."""

    chatId: str
    pinId: str


class MessagePin(TypedDict):
    """What ``POST /_mock/pins`` answers: the pin and the session the message was found in."""

    sessionId: str
    chatId: str
    pinId: str


class Fault(TypedDict):
    """An active fault (``GET /_mock/faults``, ``POST /_mock/faults``)."""

    id: str
    operationId: str | None
    method: str | None
    path: str | None
    status: int | None
    #: Sent as JSON, as given; None: the default problem+json body.
    body: Any
    headers: dict[str, str]
    delayMs: int
    drop: bool
    when: Literal["before", "after"]
    #: None: every matching request.
    times: int | None
    probability: float | None
    #: How often the fault has struck.
    fired: int


class Clock(TypedDict):
    """The mock's time (``GET /_mock/clock``)."""

    now: str
    frozen: bool


class JournalUser(TypedDict):
    id: str
    name: str
    role: Literal["Host", "Client"]


class JournalResponse(TypedDict):
    """The answer a journaled request got: status None and no headers when it was dropped."""

    status: int | None
    headers: dict[str, str]
    #: As text, up to 64 KiB; None when empty.
    body: str | None
    #: The body was longer than 64 KiB (``body`` is its start).
    bodyTruncated: bool


class JournalEntry(TypedDict):
    """One request and its answer (``GET /_mock/requests``)."""

    id: int
    #: ISO 8601, UTC.
    time: str
    kind: Literal["http"]
    method: str
    #: As sent, without the query string: ``/v1/chats``.
    path: str
    query: dict[str, list[str]]
    #: The raw body as text (up to 64 KiB), None when there was none.
    body: str | None
    #: The body was longer than 64 KiB (``body`` is its start).
    bodyTruncated: bool
    #: The body parsed as JSON; None when it is not JSON.
    json: Any
    #: Who the token belongs to; None without a valid token.
    user: JournalUser | None
    #: None for a request no operation matches.
    operationId: str | None
    #: None when a fault dropped the connection.
    status: int | None
    durationMs: float
    #: What the real service would refuse the request for.
    violations: list[str]
    #: What it would accept but is likely a mistake (a misspelt property, a guest's token...).
    warnings: list[str]
    #: Only from ``mockchats proxy``: what the upstream's answer broke.
    responseViolations: NotRequired[list[str]]
    #: The request's headers as sent (repeated ones joined with ", "); the admin token redacted.
    headers: dict[str, str]
    #: What the client was answered.
    response: JournalResponse


class HubJournalEntry(TypedDict):
    """One step of a hub connection (``GET /_mock/requests?kind=hub``)."""

    id: int
    #: ISO 8601, UTC.
    time: str
    kind: Literal["hub"]
    hub: Literal["session", "chat"]
    action: Literal["negotiate", "connect", "disconnect", "sent", "received"]
    #: None where there is none yet (a negotiate refused).
    connectionId: str | None
    sessionId: str | None
    userId: str | None
    #: ``WebSockets``, ``ServerSentEvents`` or ``LongPolling``; None before one is picked.
    transport: str | None
    #: negotiate ``{"status", "version"}``, connect ``{}``, disconnect ``{"reason"}``,
    #: sent ``{"target", "arguments"}``, received ``{"message"}``.
    detail: dict[str, Any]


class HubConnection(TypedDict):
    """An open hub connection (``GET /_mock/hubs/connections``)."""

    connectionId: str
    hub: Literal["session", "chat"]
    sessionId: str
    userId: str
    transport: Literal["WebSockets", "ServerSentEvents", "LongPolling"]
    #: ISO 8601, UTC, on the mock's clock.
    connectedAt: str


class HubEvent(TypedDict):
    """An event a hub sent to a session's connections (``GET /_mock/hubs/events``)."""

    hub: Literal["session", "chat"]
    sessionId: str
    #: The invocation's target and the envelope's ``eventType``: ``UserAdded``, ``MessageCreated``...
    eventType: str
    #: The envelope's ``data``.
    data: dict[str, Any]
    #: How many connections it reached.
    delivered: int
    #: ISO 8601, UTC, on the mock's clock.
    sentAt: str
