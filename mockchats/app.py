"""The composition root: a mock's world, and the app that serves it.

:func:`build` loads the fixtures and makes a :class:`Mock`, which holds every part of one
running mock (the Chats store, its auth, the clock, faults, journal) and builds its WSGI app:
the Chats API's operations through :mod:`.core.pipeline`, the control plane
(:mod:`.control.views`) and ``/openapi.json``, in one Flask app. This is the one module that
puts the services, the control plane and the pipeline together.
:meth:`Mock.reset` puts every part back as it was at start (or into another world: a seed, a
scenario, an auth mode) in one call; :meth:`Mock.load_scenario`, :meth:`Mock.load_own_scenario`
and :meth:`Mock.replace_state` change the world alone. The control plane only translates HTTP
into these calls.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from . import worlds
from .chats.auth import OPEN, Authenticator
from .chats.models import ChatSession, Store
from .chats.responses import HANDLERS
from .contract.checks import route_findings
from .control.views import MAX_STATE_BYTES, control_plane
from .core.clock import Clock
from .core.faults import Faults
from .core.journal import DEFAULT_SIZE, Journal
from .core.pipeline import MAX_BODY_BYTES, Pipeline, StartupError, error_log
from .core.responses import empty_response, is_control_path, json_response
from .core.spec import HTTP_METHODS, Spec, default_spec

__all__ = ["Mock", "Origin", "StartupError", "build", "create_app"]


@dataclass(frozen=True)
class Origin:
    """How the start state was made, so a reset can make it again with another seed."""

    fixtures_path: Path | None = None
    seed: int = worlds.DEFAULT_SEED
    messages: int = 0
    auth: str = OPEN

    def load(self, seed: int | None = None) -> list[ChatSession]:
        """The start sessions, made again (with another seed when given)."""
        return worlds.load(self.fixtures_path, seed=self.seed if seed is None else seed,
                             messages=self.messages)


class Mock:
    """Everything one running mock holds; ``app`` is its WSGI application."""

    def __init__(self, sessions: list[ChatSession], *, origin: Origin | None = None,
                 auth: str | None = None, journal_size: int = DEFAULT_SIZE,
                 admin_token: str | None = None, cors: bool = True):
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

    @staticmethod
    def body_limit(path: str) -> int:
        """The largest request body taken on ``path``: a state document on the control plane."""
        return MAX_STATE_BYTES if is_control_path(path) else MAX_BODY_BYTES

    @property
    def auth(self) -> str:
        """The auth mode in force (open or strict)."""
        return self.authenticator.mode

    def reset(self, *, seed: int | None = None, scenario: str | None = None,
              auth: str | None = None) -> None:
        """Back to the start state (or to ``scenario`` / ``seed``), real time, no faults,
        an empty journal, and the start auth mode (or ``auth``).

        All or nothing: :class:`worlds.FixtureError` (``UnknownScenario`` for a name no
        scenario has) or ``ValueError`` for an unknown auth mode, and nothing changed."""
        seed = self.origin.seed if seed is None else seed
        sessions = None
        if scenario is not None:
            sessions = worlds.load_scenario(scenario, seed=seed)
        elif seed != self.origin.seed:
            sessions = self.origin.load(seed)
        self.authenticator.set_mode(auth or self.origin.auth)  # validates before anything changes
        self._become(sessions, scenario, seed)
        self.clock.real()
        self.faults.clear()
        self.journal.clear()

    def load_scenario(self, name: str, *, seed: int | None = None) -> None:
        """Make the shipped scenario ``name`` (made under ``seed``, the start seed by default) the
        state. Unlike a reset it keeps the clock, faults, journal and auth mode: a test switches
        worlds without losing what it set up. Refused as :meth:`reset` refuses, nothing changed."""
        seed = self.origin.seed if seed is None else seed
        self._become(worlds.load_scenario(name, seed=seed), name, seed)

    def load_own_scenario(self, *, path: str | None = None, document: dict | None = None,
                          seed: int | None = None) -> None:
        """Make a partner's scenario the state, as :meth:`load_scenario` does a shipped one: the
        fixture file at ``path`` on this machine, or else the fixture ``document`` itself. The
        scenario is then called by its path, or ``"document"``."""
        seed = self.origin.seed if seed is None else seed
        if path is not None:
            self._become(worlds.load(path, seed=seed), path, seed)
        elif document is not None:
            # The seed counts for a document's `generate` as for a file's.
            self._become(worlds.build_sessions(document, "document", seed=seed), "document", seed)
        else:
            raise TypeError("load_own_scenario() needs a path or a document")

    def replace_state(self, document: dict) -> None:
        """Make a fixture document (as :func:`worlds.to_document` writes the state) the state,
        all or nothing. The seed, clock, faults and journal stay; the state comes from no scenario."""
        self.store.replace(worlds.build_sessions(document, "state"))
        self.scenario = None

    def _become(self, sessions: list[ChatSession] | None, scenario: str | None, seed: int) -> None:
        """Make ``sessions`` (the start ones when None), from ``scenario`` under ``seed``, the
        world. Fault probabilities follow the world's seed, so a run can be replayed."""
        if sessions is None:
            self.store.reset()
        else:
            self.store.replace(sessions)
        self.scenario, self.seed = scenario, seed
        self.faults.reseed(seed)

def build(fixtures_path: Path | str | None = None, *, seed: int = worlds.DEFAULT_SEED,
          messages: int = 0, auth: str = OPEN, journal_size: int = DEFAULT_SIZE,
          admin_token: str | None = None, cors: bool = True) -> Mock:
    """Load the fixtures (the shipped defaults when None) and build a mock over them."""
    origin = Origin(Path(fixtures_path) if fixtures_path else None, seed, messages, auth)
    return Mock(origin.load(), origin=origin, journal_size=journal_size, admin_token=admin_token,
                cors=cors)


def create_app(mock: Mock, *, spec: Spec | None = None) -> Flask:
    """Build the WSGI app serving ``mock``: the operations of ``spec``, the control plane
    and ``/openapi.json``."""
    spec = spec or default_spec()  # parsed once per process, not once per mock
    _check_handlers(spec)
    app = Flask("mockchats")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # OPTIONS is served nowhere (entry 48): Flask's automatic answer would list the control
    # plane's methods in a random order and look like a preflight's success to a page.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    # The control plane's views find the mock and its spec here (control.views.current_mock).
    app.extensions["mockchats"] = mock
    app.extensions["mockchats.spec"] = spec

    @app.route("/openapi.json", methods=["GET"], provide_automatic_options=False)
    def openapi_document():
        base_url = request.host_url.rstrip("/") + spec.base_path
        return json_response(200, spec.served(base_url))

    app.register_blueprint(control_plane)

    @app.errorhandler(MethodNotAllowed)
    def method_not_allowed(error: MethodNotAllowed):
        # Control routes only (the API's 405s are the pipeline's). Allow names the methods
        # they declare: not the HEAD Werkzeug adds to every GET rule, nor OPTIONS.
        methods = [m for m in HTTP_METHODS if m.upper() in (error.valid_methods or ())
                   and m not in ("head", "options")]
        return empty_response(405, {"Allow": ", ".join(m.upper() for m in methods)})

    @app.errorhandler(HTTPException)
    def framework_error(error: HTTPException):
        # Unknown routes and oversize bodies: Kestrel answers both with no body.
        return empty_response(error.code or 500)

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        # Never a client's doing (the tests make sure); answered as Kestrel does, empty.
        error_log.exception("unhandled error")
        return empty_response(500)

    # The spec's operations are routed by the pipeline; Flask serves what is left.
    app.wsgi_app = Pipeline(app, mock, spec, handlers=HANDLERS, check_route=route_findings)
    return app


def _check_handlers(spec: Spec) -> None:
    declared = {op.operation_id for op in spec.operations}
    missing = sorted(declared - HANDLERS.keys())
    extra = sorted(HANDLERS.keys() - declared)
    problems = [f"operation {name!r} in {spec.path} has no handler" for name in missing]
    problems += [f"handler {name!r} has no operation in {spec.path}" for name in extra]
    if problems:
        raise StartupError("; ".join(problems))
