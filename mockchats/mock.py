"""One mock instance: its state, clock, auth mode, faults and journal, and where it came from.

The app, the control plane and the pytest plugin all work on a :class:`Mock`.
:meth:`Mock.reset` puts every part back as it was at start (or into another world:
a seed, a scenario, an auth mode) in one call.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import fixtures
from .auth import OPEN, Authenticator
from .clock import Clock
from .faults import Faults
from .journal import DEFAULT_SIZE, Journal
from .store import Session, Store


@dataclass(frozen=True)
class Origin:
    """How the start state was made, so a reset can make it again with another seed."""

    fixtures_path: Path | None = None
    seed: int = fixtures.DEFAULT_SEED
    messages: int = 0
    auth: str = OPEN

    def load(self, seed: int | None = None) -> list[Session]:
        """The start sessions, made again (with another seed when given)."""
        return fixtures.load(self.fixtures_path, seed=self.seed if seed is None else seed,
                             messages=self.messages)


class Mock:
    """Everything one running mock holds; ``app`` is its WSGI application."""

    def __init__(self, sessions: list[Session], *, origin: Origin | None = None,
                 auth: str | None = None, journal_size: int = DEFAULT_SIZE,
                 admin_token: str | None = None, cors: bool = True):
        from .app import create_app  # the app is built on a Mock: import late, no cycle

        self.origin = origin or Origin(auth=auth or OPEN)
        self.clock = Clock()
        self.store = Store(sessions, now=self.clock.now)
        self.authenticator = Authenticator(self.store, auth or self.origin.auth)
        self.faults = Faults(self.origin.seed)
        self.journal = Journal(journal_size)
        self.admin_token = admin_token
        #: Whether the API and /openapi* answer browsers' cross-origin requests (never /_mock).
        self.cors = cors
        #: The scenario the current state came from (None: the start fixtures).
        self.scenario: str | None = None
        self.seed = self.origin.seed
        self.app = create_app(self)

    @property
    def auth(self) -> str:
        """The auth mode in force (open or strict)."""
        return self.authenticator.mode

    def reset(self, *, seed: int | None = None, scenario: str | None = None,
              auth: str | None = None) -> None:
        """Back to the start state (or to ``scenario`` / ``seed``), real time, no faults,
        an empty journal, and the start auth mode (or ``auth``)."""
        sessions = None
        if scenario is not None:
            sessions = fixtures.load_scenario(scenario, seed=self.origin.seed if seed is None else seed)
        elif seed is not None and seed != self.origin.seed:
            sessions = self.origin.load(seed)
        self.authenticator.set_mode(auth or self.origin.auth)  # validates before anything changes
        if sessions is None:
            self.store.reset()
        else:
            self.store.replace(sessions)
        self.scenario = scenario
        self.seed = self.origin.seed if seed is None else seed
        self.clock.real()
        self.faults.clear()
        self.faults.reseed(self.seed)
        self.journal.clear()


def build(fixtures_path: Path | str | None = None, *, seed: int = fixtures.DEFAULT_SEED,
          messages: int = 0, auth: str = OPEN, journal_size: int = DEFAULT_SIZE,
          admin_token: str | None = None, cors: bool = True) -> Mock:
    """Load the fixtures (the shipped defaults when None) and build a mock over them."""
    origin = Origin(Path(fixtures_path) if fixtures_path else None, seed, messages, auth)
    return Mock(origin.load(), origin=origin, journal_size=journal_size, admin_token=admin_token,
                cors=cors)
