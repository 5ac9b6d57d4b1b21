"""The request journal: what partners' clients sent, and what the mock answered.

A ring buffer (``collections.deque`` with a bound), so a long run keeps only the
latest entries and never grows without limit. Entries are plain dicts, ready to
serve as JSON.
"""
from __future__ import annotations

import itertools
import re
import threading
from collections import deque

DEFAULT_SIZE = 1000
_WHOLE_NUMBER = re.compile(r"[0-9]+")


def parse_limit(text: str | None) -> int | None:
    """The ``limit`` filter of a journal query: None when absent; ValueError unless 0-9 digits."""
    if text is None:
        return None
    if not _WHOLE_NUMBER.fullmatch(text):  # str.isdigit() would take "²" and then fail in int()
        raise ValueError(f"{text!r} is not a whole number >= 0.")
    return int(text)


class Journal:
    """The latest partner requests and what was answered, oldest first."""
    def __init__(self, size: int = DEFAULT_SIZE):
        if size < 1:
            raise ValueError("the journal holds at least one entry")
        self.size = size
        self._entries: deque[dict] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, entry: dict) -> None:
        """Add one entry (numbered in arrival order); the oldest falls out when full."""
        with self._lock:
            self._entries.append({"id": next(self._ids), **entry})

    def entries(self, *, operation_id: str | None = None, method: str | None = None,
                path: str | None = None, limit: int | None = None) -> list[dict]:
        """Entries oldest first, filtered; ``limit`` keeps the latest ``limit`` of them."""
        with self._lock:
            found = list(self._entries)
        if operation_id is not None:
            found = [e for e in found if e["operationId"] == operation_id]
        if method is not None:
            found = [e for e in found if e["method"] == method.upper()]
        if path is not None:
            found = [e for e in found if e["path"].casefold() == path.casefold()]
        if limit is not None:
            found = found[-limit:] if limit else []
        return found

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
