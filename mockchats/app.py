"""The composition root: a mock's world, and the app that serves it.

:func:`build` loads the fixtures and makes a :class:`Mock`, which holds every part of one
running mock (the Chats store and its auth, the Session API's store, the tokens both read, the
clock, faults, journal) and builds its WSGI app: both APIs' operations through
:mod:`.core.pipeline`, the control plane (:mod:`.control.views`) and the documents, in one
Flask app. This is the one module that puts the services, the control plane and the pipeline
together, and the one that links the two services: the Session API's changes reach the Chats
API's sessions through the events it publishes (:meth:`Mock._follow`), and the Chats API reads
the Session API's tokens through :meth:`Mock._signed_member`.
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
from .chats import responses as chats_responses
from .chats.auth import OPEN, STRICT, Authenticator
from .chats.models import ChatSession, Store, User
from .contract.checks import route_findings
from .control.views import MAX_STATE_BYTES, control_plane
from .core.clock import Clock
from .core.errors import NotFound
from .core.events import SESSION_CREATED, SESSION_DESTROYED, SESSION_EXPIRED, USER_ADDED, USER_REMOVED, Event, Events
from .core.faults import Faults
from .core.identity import CHALLENGE_INVALID, Unauthenticated
from .core.journal import DEFAULT_SIZE, Journal
from .core.pipeline import DOCUMENTS, MAX_BODY_BYTES, Pipeline, Service, StartupError, error_log
from .core.responses import empty_response, is_control_path, json_response
from .core.spec import HTTP_METHODS, Operation, Spec, default_spec, sessions_spec
from .core.tokens import TokenIssuer
from .hubs.asgi import HubServer
from .hubs.models import SESSION_HUB, Closing, Hubs
from .sessions import responses as sessions_responses
from .sessions.auth import SessionAuth
from .sessions.models import Caller, Member, Rules, Session, SessionStore

__all__ = ["DEMO_API_KEY", "Mock", "Origin", "StartupError", "build", "create_app"]

#: The Close error every hub connection gets when the mock's world is replaced.
RESET_CLOSE_ERROR = "The mock was reset."
#: The API key the mock knows when none is given: strict auth accepts it (open auth, any key).
DEMO_API_KEY = "demo-api-key"


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
                 admin_token: str | None = None, cors: bool = True, api_keys: tuple[str, ...] = (DEMO_API_KEY,)):
        self.origin = origin or Origin(auth=auth or OPEN)
        self.clock = Clock()
        self.store = Store(sessions, now=self.clock.now)
        #: Signs and reads the Session API's JWTs; the Chats API accepts its session tokens.
        self.tokens = TokenIssuer()
        #: What happens to sessions: the Chats API's sessions follow it (and the hubs will).
        self.events = Events()
        self.sessions = SessionStore(self._session_records(), tokens=self.tokens, events=self.events,
                                     api_keys=api_keys, now=self.clock.now, seed=self.origin.seed)
        self.events.subscribe(self._follow)
        #: Who is connected to the hubs; the session hub is sent every event (after the Chats
        #: API has followed it), and HubServer serves them next to the app (serving/asgi.py).
        self.hubs = Hubs(now=self.clock.now)
        self.events.subscribe(self._to_hubs)
        self.hub_server = HubServer(self.hubs, self._hub_caller, base_path=default_spec().base_path,
                                    hubs=(SESSION_HUB,), now=self.clock.now, tick=self.sessions.expire_due)
        self.authenticator = Authenticator(self.store, auth or self.origin.auth, signed=self._signed_member)
        self.session_auth = SessionAuth(self.sessions, known=self._known_caller,
                                        strict=lambda: self.authenticator.mode == STRICT)
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
        self.sessions.replace(self._session_records())
        self._end_hub_connections()
        self.scenario = None

    def create_session(self, users: list[tuple[str, str]]) -> ChatSession:
        """A new, empty session with fresh ids and tokens for the (name, role) pairs, held by
        both APIs (the control plane's ``POST /_mock/sessions``)."""
        session = self.store.create_session(users)
        for record in self._session_records([session]):
            self.sessions.add(record)
        return session

    def _become(self, sessions: list[ChatSession] | None, scenario: str | None, seed: int) -> None:
        """Make ``sessions`` (the start ones when None), from ``scenario`` under ``seed``, the
        world. Fault probabilities follow the world's seed, so a run can be replayed."""
        if sessions is None:
            self.store.reset()
            self.sessions.reset()
        else:
            self.store.replace(sessions)
            self.sessions.replace(self._session_records())
        self._end_hub_connections()
        self.scenario, self.seed = scenario, seed
        self.faults.reseed(seed)

    def _end_hub_connections(self) -> None:
        """A new world: no client keeps hearing of the old one (nor a test of the test before)."""
        self.hubs.close(Closing(RESET_CLOSE_ERROR))
        self.hubs.forget()

    # -- the two services, linked -------------------------------------------
    def _session_records(self, sessions: list[ChatSession] | None = None) -> list[Session]:
        """The Session API's view of the Chats API's sessions (the fixtures', the control
        plane's): default rules, no expiry, the first Host its creator, no wallet addresses."""
        if sessions is None:
            sessions = self.store.snapshot_sessions()
        now = self.clock.now()
        records = []
        for session in sessions:
            members = {u.id: Member(u.id, u.name, u.role) for u in session.users.values()}
            creator = next((m.id for m in members.values() if m.is_host), None)
            records.append(Session(session.id, Rules(), creator, now, members=members))
        return records

    def _follow(self, event: Event) -> None:
        """Keep the Chats API's sessions in step with the Session API's (called under its lock,
        in the order its changes were made)."""
        data = event.data
        if event.event_type == SESSION_CREATED:
            self.store.add_session(event.session_id, [(data["id"], data["name"], data["role"])])
        elif event.event_type == USER_ADDED:
            self.store.add_user(event.session_id, data["id"], data["name"], data["role"])
        elif event.event_type == USER_REMOVED:
            self.store.remove_user(event.session_id, data["id"])
        elif event.event_type in (SESSION_EXPIRED, SESSION_DESTROYED):
            self.store.remove_session(event.session_id)

    def chats_caller(self, op: Operation, environ: dict, warnings: list[str]) -> User:
        """The Chats API's token stage: sessions whose time has come expire first, so no
        request is served in a session that has expired on the mock's clock."""
        self.sessions.expire_due()
        return self.authenticator.authenticate(environ.get("HTTP_AUTHORIZATION"), warnings)

    def _to_hubs(self, event: Event) -> None:
        """Send the session hub's connections their session's event; then close those whose
        session ended, or whose user was removed (they heard why first)."""
        if event.event_type == SESSION_CREATED:
            return  # the mock's own: nobody can be connected to a session not yet made
        self.hubs.send(SESSION_HUB, event.session_id, event.event_type, event.envelope())
        if event.event_type in (SESSION_EXPIRED, SESSION_DESTROYED):
            self.hubs.close(Closing(), session_id=event.session_id)
        elif event.event_type == USER_REMOVED:
            self.hubs.close(Closing(), session_id=event.session_id, user_id=event.data["id"])

    def _hub_caller(self, token: str) -> tuple[str, str, bool]:
        """(session id, user id, still there) for a hub's token: a session token the mock signed
        or a fixture user's; Unauthenticated for any other, or an expired one."""
        self.sessions.expire_due()
        caller = self.sessions.signed_caller(token)
        if caller is not None:
            alive = self.store.member(caller.session_id, caller.user_id) is not None
            return caller.session_id, caller.user_id, alive
        user, issued = self.store.identify(token)
        if user is not None and issued:
            return user.session_id, user.id, True
        if self.store.departed(token):
            return "", "", False
        raise Unauthenticated(CHALLENGE_INVALID)

    def _signed_member(self, token: str) -> tuple[str, str] | None:
        """(session id, user id) of a session token the mock signed, for the Chats API; None when
        the mock did not sign ``token`` (expired and wallet tokens raise the challenge)."""
        caller = self.sessions.signed_caller(token)
        return None if caller is None else (caller.session_id, caller.user_id)

    def _known_caller(self, token: str) -> Caller | None:
        """The Session API's caller for a fixture user's token; None for a token no fixture
        user holds (a guest's included: the Session API admits none). NotFound once that
        user has left."""
        user, issued = self.store.identify(token)
        if user is not None and issued:
            return _caller(user)
        if user is None and self.store.departed(token):
            raise NotFound("the token's user left its session")
        return None

def _caller(user: User) -> Caller:
    return Caller(user.session_id, user.id, user.name, user.role)


def build(fixtures_path: Path | str | None = None, *, seed: int = worlds.DEFAULT_SEED,
          messages: int = 0, auth: str = OPEN, journal_size: int = DEFAULT_SIZE,
          admin_token: str | None = None, cors: bool = True, api_keys: tuple[str, ...] = (DEMO_API_KEY,)) -> Mock:
    """Load the fixtures (the shipped defaults when None) and build a mock over them."""
    origin = Origin(Path(fixtures_path) if fixtures_path else None, seed, messages, auth)
    return Mock(origin.load(), origin=origin, journal_size=journal_size, admin_token=admin_token,
                cors=cors, api_keys=api_keys)


def create_app(mock: Mock, *, spec: Spec | None = None) -> Flask:
    """Build the WSGI app serving ``mock``: the Chats API's operations (of ``spec``, the shipped
    document by default), the Session API's, the control plane and the documents."""
    spec = spec or default_spec()  # parsed once per process, not once per mock
    documents = dict(zip(DOCUMENTS, (spec, spec, sessions_spec()), strict=True))
    services = [
        Service(spec, mock.store, chats_responses.HANDLERS, mock.chats_caller),
        Service(sessions_spec(), mock.sessions, sessions_responses.HANDLERS, mock.session_auth.authenticate),
    ]
    app = Flask("mockchats")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # OPTIONS is served nowhere (entry 48): Flask's automatic answer would list the control
    # plane's methods in a random order and look like a preflight's success to a page.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    # The control plane's views find the mock and its spec here (control.views.current_mock).
    app.extensions["mockchats"] = mock
    app.extensions["mockchats.specs"] = (spec, sessions_spec())

    def openapi_document():
        # /openapi.json is the Chats API's, as it always was; /openapi/{chats,sessions}.json name theirs.
        served = documents[request.path]
        return json_response(200, served.served(request.host_url.rstrip("/") + served.base_path))

    for path in DOCUMENTS:
        app.add_url_rule(path, path, openapi_document, methods=["GET"], provide_automatic_options=False)

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
    app.wsgi_app = Pipeline(app, mock, services, check_route=route_findings)
    return app
