"""What happens to a session, told inside the mock: a tiny in-process event bus.

A service's model publishes an :class:`Event` for every change it commits (a user added or
removed, a session expired or destroyed); whoever delivers them (the real-time hubs) subscribes.
No I/O and no threads of its own: :meth:`Events.publish` calls each subscriber in the
publishing thread, in the order they subscribed. A model publishes while it still holds its
lock, so events arrive in the order the changes were committed; a subscriber must therefore
return quickly (hand the event to a queue) and not wait on another thread that calls the model.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: A subscriber that raised: logged, never the publisher's failure (the change is committed).
log = logging.getLogger("mockchats.events")

#: A session made through the Session API, ``data`` its Host (``SessionUserDto``). The mock's
#: own: it keeps the Chats API's sessions in step, and no hub connection can exist for it yet.
SESSION_CREATED = "SessionCreated"
USER_ADDED = "UserAdded"
USER_REMOVED = "UserRemoved"
SESSION_EXPIRED = "SessionExpired"
SESSION_DESTROYED = "SessionDestroyed"


@dataclass(frozen=True)
class Event:
    """One change to one session; ``data`` is the event's payload (read-only)."""
    session_id: str
    event_type: str
    data: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen all the way down: every subscriber gets the same object.
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))

    def envelope(self) -> dict:
        """The published envelope: ``{"sessionId", "eventType", "data"}``."""
        return {"sessionId": self.session_id, "eventType": self.event_type, "data": dict(self.data)}


Subscriber = Callable[[Event], object]


class Events:
    """Subscribers and the events published to them. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscriber, ...] = ()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` on every event from now on; returns what unsubscribes it."""
        with self._lock:
            self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            with self._lock:
                subscribers = list(self._subscribers)
                if callback in subscribers:
                    subscribers.remove(callback)
                    self._subscribers = tuple(subscribers)
        return unsubscribe

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every subscriber; one that raises is logged and the rest still get it."""
        for callback in self._subscribers:  # a tuple, replaced whole: safe to read without the lock
            try:
                callback(event)
            except Exception:
                log.exception("an event subscriber failed on %s for session %s", event.event_type,
                              event.session_id)
