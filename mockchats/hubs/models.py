"""The hubs' model: who is connected to which hub, for which session, and what each is sent.

No I/O here (moto's rule for a model): a :class:`Connection` is given an ``outbox`` by its
transport (a WebSocket, a Server-Sent Events stream, long polls), a callable that takes a
:class:`Push` or a :class:`Closing` and must return at once from any thread: it hands the item
to the transport's event loop, where the connection's protocol state turns it into messages.
:class:`Hubs` routes the mock's session events to the connections of that session, in the order
they were published, and records what it sent, so the control plane and the plugin can say
what a test's clients received.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .protocol import invocation

SESSION_HUB = "session"
CHAT_HUB = "chat"
HUBS = (SESSION_HUB, CHAT_HUB)

#: How many sent events are remembered for ``events()`` (oldest dropped first).
SENT_MEMORY = 10_000


@dataclass(frozen=True)
class Push:
    """An event for the client: an invocation of ``target`` with the one ``argument``, framed
    once (``message``) however many connections it goes to."""
    target: str
    argument: object
    message: str


@dataclass(frozen=True)
class Closing:
    """A Close to send, then the socket closed; ``drop`` closes the socket with no Close."""
    error: str | None = None
    allow_reconnect: bool = False
    drop: bool = False


@dataclass(eq=False)
class Connection:
    """One client connection to a hub, for one user of one session."""
    connection_id: str
    token: str  # the connectionToken later requests carry (the id itself under negotiate version 0)
    hub: str
    session_id: str
    user_id: str
    connected_at: datetime
    #: ``None`` until the client has picked a transport (negotiated, not yet connected).
    transport: str | None = None
    #: The transport's sink for a :class:`Push` or a :class:`Closing`; set once the handshake is done.
    outbox: Callable[[object], None] | None = field(default=None, repr=False)
    #: Why the connection must close right after its handshake (its session is gone), if it must.
    doomed: str | None = None
    #: Set when the world it belonged to is replaced: what it does afterwards (its disconnect
    #: noticed late, a last message) is the old world's, and the new journal does not hear it.
    retired: bool = False

    def to_dto(self) -> dict:
        """As ``GET /_mock/hubs/connections`` lists it."""
        return {"connectionId": self.connection_id, "hub": self.hub, "sessionId": self.session_id,
                "userId": self.user_id, "transport": self.transport,
                "connectedAt": self.connected_at.isoformat().replace("+00:00", "Z")}


@dataclass(frozen=True)
class Sent:
    """An event sent to a session's connections on a hub, and how many got it."""
    hub: str
    session_id: str
    event_type: str
    data: dict
    delivered: int
    sent_at: datetime

    def to_dto(self) -> dict:
        return {"hub": self.hub, "sessionId": self.session_id, "eventType": self.event_type,
                "data": self.data, "delivered": self.delivered,
                "sentAt": self.sent_at.isoformat().replace("+00:00", "Z")}


def each_outbox(item: object, connections: list[Connection]) -> None:
    """Hand ``item`` to each connection's outbox in turn (what :attr:`Hubs.fan_out` does unless
    the transport serving the connections hands it over at once)."""
    for connection in connections:
        connection.outbox(item)


class Hubs:
    """Every hub connection of one mock, found by its token (the id later requests carry)."""

    def __init__(self, now: Callable[[], datetime], journal: Callable[..., None] = lambda **entry: None):
        self.now = now
        #: Told once per event sent (not once per connection: a thousand would flood the journal).
        self.journal = journal
        #: Hands one :class:`Push` to many connections, from any thread, in the order of the calls
        #: (and of their outboxes' items). The transport replaces it to take an event for a
        #: thousand connections as one item, not a thousand (HubServer).
        self.fan_out: Callable[[object, list[Connection]], None] = each_outbox
        self._lock = threading.Lock()
        self._connections: dict[str, Connection] = {}
        self._sent: list[Sent] = []

    # -- connections ---------------------------------------------------------
    def add(self, connection: Connection) -> None:
        with self._lock:
            self._connections[connection.token] = connection

    def get(self, token: str) -> Connection | None:
        with self._lock:
            return self._connections.get(token)

    def remove(self, connection: Connection) -> None:
        with self._lock:
            if self._connections.get(connection.token) is connection:
                del self._connections[connection.token]

    def connections(self, *, hub: str | None = None, session_id: str | None = None,
                    user_id: str | None = None) -> list[Connection]:
        """The connected ones (a transport chosen), in the order they negotiated."""
        with self._lock:
            found = [c for c in self._connections.values() if c.outbox is not None]
        return [c for c in found if (hub is None or c.hub == hub) and (session_id is None or c.session_id == session_id)
                and (user_id is None or c.user_id == user_id)]

    # -- what goes out -------------------------------------------------------------
    def send(self, hub: str, session_id: str, event_type: str, envelope: dict) -> int:
        """Send the event ``event_type`` (its ``envelope``: sessionId, eventType, data) to every
        connection of ``session_id`` on ``hub``, and remember it as :class:`Sent`; how many got it."""
        targets = self.connections(hub=hub, session_id=session_id)
        push = Push(event_type, envelope, invocation(event_type, envelope))
        if targets:
            self.fan_out(push, targets)
        with self._lock:
            self._sent.append(Sent(hub, session_id, event_type, dict(envelope.get("data") or {}), len(targets),
                                   self.now()))
            del self._sent[:-SENT_MEMORY]
        self.journal(hub=hub, action="sent", connection_id=None, session_id=session_id, user_id=None, transport=None,
                     detail={"target": event_type, "argument": envelope, "delivered": len(targets)})
        return len(targets)

    def close(self, closing: Closing, *, hub: str | None = None, session_id: str | None = None,
              user_id: str | None = None) -> int:
        """End the matching connections with ``closing``; how many."""
        targets = self.connections(hub=hub, session_id=session_id, user_id=user_id)
        for connection in targets:
            self.remove(connection)
            connection.outbox(closing)
        return len(targets)

    def sent(self, hub: str | None = None) -> list[Sent]:
        """What was sent since the last :meth:`forget`, oldest first."""
        with self._lock:
            return [s for s in self._sent if hub is None or s.hub == hub]

    def end_world(self, closing: Closing) -> int:
        """A new world (a reset, a scenario, a state): every connection retired and closed with
        ``closing``, the negotiated ones forgotten, what was sent forgotten; how many were closed."""
        with self._lock:
            everyone = list(self._connections.values())
            for connection in everyone:
                connection.retired = True
            self._sent.clear()
            for connection in everyone:
                if connection.outbox is None:  # negotiated but never connected: their ids die with the world
                    del self._connections[connection.token]
        return self.close(closing)
