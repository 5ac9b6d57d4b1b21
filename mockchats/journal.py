"""The request journal: what partners' clients sent, and what was answered.

A ring buffer (``collections.deque`` with a bound), so a long run keeps only the
latest entries and never grows without limit. An entry is an :class:`Exchange`:
the raw facts of one request, recorded cheaply while serving and written out as
JSON-ready dicts only when someone reads the journal.
"""
from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs

from .aspnet import format_datetime

DEFAULT_SIZE = 1000
#: Request bodies are kept up to this many bytes.
BODY_BYTES = 64 * 1024
_WHOLE_NUMBER = re.compile(r"[0-9]+")


def parse_limit(text: str | None) -> int | None:
    """The ``limit`` filter of a journal query: None when absent; ValueError unless 0-9 digits."""
    if text is None:
        return None
    if not _WHOLE_NUMBER.fullmatch(text):  # str.isdigit() would take "²" and then fail in int()
        raise ValueError(f"{text!r} is not a whole number >= 0.")
    return int(text)


@dataclass(slots=True)
class Exchange:
    """One request and its answer, as the serving side saw them.

    ``query_string`` is WSGI's ``QUERY_STRING`` (latin-1 text of the raw bytes);
    ``user`` is any object with ``id``, ``name`` and ``role`` (the store's User).
    ``response_violations`` is for checkers of someone else's answers (the proxy).
    """

    method: str
    path: str
    query_string: str = ""
    body: bytes | None = None
    user: object | None = None
    operation_id: str | None = None
    status: int | None = None
    duration_ms: float = 0.0
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    response_violations: list[str] | None = None
    time: float = field(default_factory=time.time)
    id: int = 0

    def as_dict(self) -> dict:
        """The entry as ``GET /_mock/requests`` serves it."""
        query = self.query_string.encode("latin-1").decode("utf-8", "replace")
        user = self.user
        entry = {
            "id": self.id,
            "time": format_datetime(datetime.fromtimestamp(self.time, timezone.utc)),
            "method": self.method,
            "path": self.path,
            "query": parse_qs(query, keep_blank_values=True),
            "body": self.body.decode("utf-8", "replace") if self.body else None,
            "user": {"id": user.id, "name": user.name, "role": user.role} if user else None,
            "operationId": self.operation_id,
            "status": self.status,
            "durationMs": round(self.duration_ms, 3),
            "violations": list(self.violations),
            "warnings": list(self.warnings),
        }
        if self.response_violations is not None:
            entry["responseViolations"] = list(self.response_violations)
        return entry


class Journal:
    """The latest partner requests and what was answered, oldest first."""
    def __init__(self, size: int = DEFAULT_SIZE):
        if size < 1:
            raise ValueError("the journal holds at least one entry")
        self.size = size
        self._entries: deque[Exchange] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, exchange: Exchange) -> None:
        """Add one exchange (numbered in arrival order); the oldest falls out when full."""
        if exchange.body is not None and len(exchange.body) > BODY_BYTES:
            exchange.body = exchange.body[:BODY_BYTES]  # a full journal of 1 MiB bodies is 1 GiB
        with self._lock:
            exchange.id = next(self._ids)
            self._entries.append(exchange)

    def entries(self, *, operation_id: str | None = None, method: str | None = None,
                path: str | None = None, limit: int | None = None) -> list[dict]:
        """Entries oldest first, filtered; ``limit`` keeps the latest ``limit`` of them."""
        with self._lock:
            found = list(self._entries)
        if operation_id is not None:
            found = [e for e in found if e.operation_id == operation_id]
        if method is not None:
            found = [e for e in found if e.method == method.upper()]
        if path is not None:
            found = [e for e in found if e.path.casefold() == path.casefold()]
        if limit is not None:
            found = found[-limit:] if limit else []
        return [e.as_dict() for e in found]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
