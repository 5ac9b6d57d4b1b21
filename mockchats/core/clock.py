"""The mock's clock: real time, or frozen at an instant, or shifted by an offset.

``createdAt`` of new messages comes from here, so a test can freeze time, step it
forward, and get predictable timestamps. Thread-safe; reading it is cheap.
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """Real time in UTC: a model's clock when no mock's :class:`Clock` is given to it."""
    return datetime.now(UTC)


class Clock:
    """The time the mock stamps new messages with."""
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The current instant (UTC): frozen, shifted, or real."""
        frozen = self._frozen
        if frozen is not None:
            return frozen
        try:
            return datetime.now(UTC) + self._offset
        except OverflowError:  # advanced to the end of time and still running: stay there
            return datetime.max.replace(tzinfo=UTC)

    @property
    def frozen(self) -> bool:
        """Whether time stands still."""
        return self._frozen is not None

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop time at ``at`` (default: the clock's current reading)."""
        with self._lock:
            self._frozen = (at or self.now()).astimezone(UTC)
            return self._frozen

    def advance(self, by: timedelta) -> datetime:
        """Move time forward (frozen or not); a running clock keeps running from there."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += by
            else:
                self._offset += by
            return self.now()

    def real(self) -> datetime:
        """Back to real time."""
        with self._lock:
            self._frozen = None
            self._offset = timedelta(0)
            return self.now()
