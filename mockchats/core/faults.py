"""Injected faults: make chosen operations fail, slow down or drop the connection.

A fault matches requests by operationId, or by method and path (a path may use the
spec's ``{param}`` placeholders). It strikes ``before`` the operation (nothing
changes) or ``after`` it (the state changed, but the client never hears). It fires
``times`` times, or with a ``probability`` drawn from a seeded generator, or
forever. Knows nothing of HTTP beyond the numbers it carries.
"""
from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from ..aspnet.routing import Template, kestrel_segments

BEFORE = "before"
AFTER = "after"


@dataclass
class Fault:
    """One injected fault: what it matches, what it does, and how often it has fired."""
    id: str
    operation_id: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    body: object = None  # sent as given (JSON) when set; else a problem+json body
    headers: dict = field(default_factory=dict)
    delay_ms: int = 0
    drop: bool = False
    when: str = BEFORE
    times: int | None = None
    probability: float | None = None
    fired: int = 0

    def to_dict(self) -> dict:
        """The fault as the control plane shows it (camelCase)."""
        raw = asdict(self)
        return {
            "id": raw["id"], "operationId": raw["operation_id"], "method": raw["method"],
            "path": raw["path"], "status": raw["status"], "body": raw["body"],
            "headers": raw["headers"], "delayMs": raw["delay_ms"], "drop": raw["drop"],
            "when": raw["when"], "times": raw["times"], "probability": raw["probability"],
            "fired": raw["fired"],
        }


class Faults:
    """The active faults, matched in the order they were added."""

    def __init__(self, seed: int = 0):
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._faults: list[Fault] = []
        self._templates: dict[str, Template] = {}
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the generator behind ``probability`` (a reset does, with its seed)."""
        with self._lock:
            self._random = random.Random(seed)

    def add(self, **settings) -> Fault:
        """Register a fault; ``settings`` are the Fault's fields."""
        with self._lock:
            fault = Fault(id=f"fault-{next(self._ids)}", **settings)
            if fault.method:
                fault.method = fault.method.upper()
            if fault.path:  # matched by the API's own routing rules, {placeholders} included
                self._templates[fault.id] = Template(fault.path)
            self._faults.append(fault)
            return fault

    def list(self) -> list[Fault]:
        """The active faults, in the order they match."""
        with self._lock:
            return list(self._faults)

    def delaying(self) -> bool:
        """Whether a fault that can still fire delays its answer (a server may then answer
        on threads); a fault whose ``times`` are spent no longer counts."""
        return any(f.delay_ms and (f.times is None or f.fired < f.times)
                   for f in self._faults)  # a list read: no lock needed

    def remove(self, fault_id: str) -> bool:
        """Remove one fault; False when there is none with that id."""
        with self._lock:
            kept = [f for f in self._faults if f.id != fault_id]
            found = len(kept) != len(self._faults)
            self._faults = kept
            self._templates.pop(fault_id, None)  # a removed fault's path would stay forever
            return found

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()
            self._templates.clear()

    def strike(self, operation_id: str, method: str, path: Sequence[str] | str, when: str) -> Fault | None:
        """The fault of this moment (``before`` or ``after``) that fires for this request, if any.

        ``path`` is the routed path's segments (the pipeline segments a path once), or a
        decoded path, segmented here.
        """
        segments = kestrel_segments(path, None) if isinstance(path, str) else path
        with self._lock:
            for fault in self._faults:
                if fault.when != when or not self._matches(fault, operation_id, method, segments):
                    continue
                if fault.times is not None and fault.fired >= fault.times:
                    continue
                if fault.probability is not None and self._random.random() >= fault.probability:
                    continue
                fault.fired += 1
                return fault
            return None

    def _matches(self, fault: Fault, operation_id: str, method: str, segments: Sequence[str]) -> bool:
        if fault.operation_id is not None and fault.operation_id != operation_id:
            return False
        if fault.method is not None and fault.method != method:
            return False
        template = self._templates.get(fault.id)
        return template is None or template.canonical(segments) is not None
