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
from typing import cast

from flask import Flask, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from . import worlds
from .chats import responses as chats_responses
from .chats.auth import OPEN, STRICT, Authenticator
from .chats.models import MESSAGE_CREATED, ChatSession, MessageView, Store, User
from .contract.checks import route_findings
from .control.dashboard import dashboard
from .control.stream import JournalStream
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
from .hubs.models import CHAT_HUB, SESSION_HUB, Closing, Hubs
from .sessions import responses as sessions_responses
from .sessions.auth import SessionAuth
from .sessions.models import Caller, Session, SessionStore

__all__ = ["DEMO_API_KEY", "Mock", "Origin", "StartupError", "build", "create_app"]

#: The Close error every hub connection gets when the mock's world is replaced.
RESET_CLOSE_ERROR = "The mock was reset."
#: The API key the shipped fixtures list (``apiKeys``): strict auth accepts it (open auth, any key).
DEMO_API_KEY = "demo-api-key"


@dataclass(frozen=True)
class Origin:
    """How the start state was made, so a reset can make it again with another seed."""

    fixtures_path: Path | None = None
    seed: int = worlds.DEFAULT_SEED
    messages: int = 0
    auth: str = OPEN

    def load(self, seed: int | None = None) -> worlds.World:
        """The start world, made again (with another seed when given)."""
        return worlds.load_world(self.fixtures_path, seed=self.seed if seed is None else seed,
                                 messages=self.messages)


class Mock:
    """Everything one running mock holds; ``app`` is its WSGI application.

    ``sessions`` is the start world (or only its Chats sessions, which then have the Session
    API's defaults). ``api_keys`` are accepted besides the world's own ``apiKeys`` whatever
    world is loaded (``mockchats serve --api-key``). A world loaded later that lists no
    ``apiKeys`` keeps the start world's. ``chat_hub`` serves the chat hub's preview
    (``mockchats serve --chat-hub``): the Chats API's changes, sent to ``/v1/hubs/chat``.
    """

    def __init__(self, sessions: worlds.World | list[ChatSession], *, origin: Origin | None = None,
                 auth: str | None = None, journal_size: int = DEFAULT_SIZE,
                 admin_token: str | None = None, cors: bool = True, api_keys: tuple[str, ...] = (),
                 chat_hub: bool = False):
        self.origin = origin or Origin(auth=auth or OPEN)
        self.clock = Clock()
        world = sessions if isinstance(sessions, worlds.World) else self._world_of(list(sessions))
        #: Whether the chat hub is served; without it the Chats store publishes nothing at all.
        self.chat_hub = chat_hub
        #: What happens to the Chats API's messages, reactions and pins (the chat hub's events).
        self.chat_events = Events() if chat_hub else None
        self.store = Store(world.chat_sessions, now=self.clock.now, events=self.chat_events)
        #: Signs and reads the Session API's JWTs; the Chats API accepts its session tokens.
        self.tokens = TokenIssuer()
        #: What happens to sessions: the Chats API's sessions follow it (and the hubs will).
        self.events = Events()
        self._extra_api_keys = frozenset(api_keys)
        self._start_world_keys = frozenset(world.api_keys or ())
        self.sessions = SessionStore(world.sessions, tokens=self.tokens, events=self.events,
                                     api_keys=self._api_keys_of(world), now=self.clock.now, seed=self.origin.seed)
        self.events.subscribe(self._follow)
        #: Who is connected to the hubs; the session hub is sent every event (after the Chats
        #: API has followed it), and HubServer serves them next to the app (serving/asgi.py).
        self.hubs = Hubs(now=self.clock.now, journal=lambda **entry: self.journal.record_hub(**entry))
        self.events.subscribe(self._to_hubs)
        if self.chat_events is not None:
            self.chat_events.subscribe(self._to_chat_hub)
        served = (SESSION_HUB, CHAT_HUB) if chat_hub else (SESSION_HUB,)  # otherwise /v1/hubs/chat is a 404
        self.hub_server = HubServer(self.hubs, self._hub_caller, base_path=default_spec().base_path,
                                    hubs=served, now=self.clock.now, tick=self.sessions.expire_due,
                                    cors=lambda: self.cors,
                                    strike=lambda method, path, when: self.faults.strike(None, method, path, when),
                                    drop_connection=_drop_hub_connection,
                                    journal=lambda **entry: self.journal.record_hub(**entry))
        self.sessions.expire_due()  # sessions the world holds as expired leave the Chats API at once
        self.authenticator = Authenticator(self.store, auth or self.origin.auth, signed=self._signed_member)
        self.session_auth = SessionAuth(self.sessions, known=self._known_caller,
                                        strict=lambda: self.authenticator.mode == STRICT)
        self.faults = Faults(self.origin.seed)
        self.journal = Journal(journal_size, secret=lambda: self.admin_token)  # hidden in what it shows
        self.admin_token = admin_token
        #: Whether the API and /openapi* answer browsers' cross-origin requests (never /_mock).
        self.cors = cors
        #: The scenario the current state came from (None: the start fixtures).
        self.scenario: str | None = None
        self.seed = self.origin.seed
        self.app = create_app(self)
        #: GET /_mock/requests/stream, served beside the app on the ASGI server (serving/server.py).
        self.journal_stream = JournalStream(self.journal, admin_token=lambda: self.admin_token,
                                            operation_ids=self.operation_ids)

    def operation_ids(self) -> list[str]:
        """Every operation the app serves, of both documents: what a journal filter may name."""
        return [op.operation_id for spec in self.app.extensions["mockchats.specs"] for op in spec.operations]

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
        world = None  # made on real time, which the reset returns to
        if scenario is not None:
            world = worlds.load_scenario_world(scenario, seed=seed)
        elif seed != self.origin.seed:
            world = worlds.load_world(self.origin.fixtures_path, seed=seed, messages=self.origin.messages)
        self.authenticator.set_mode(auth or self.origin.auth)  # validates before anything changes
        self.clock.real()  # first: sessions expire by the clock the world starts on
        self._become(world, scenario, seed)
        self.faults.clear()
        self.journal.clear()

    def load_scenario(self, name: str, *, seed: int | None = None) -> None:
        """Make the shipped scenario ``name`` (made under ``seed``, the start seed by default) the
        state. Unlike a reset it keeps the clock, faults, journal and auth mode: a test switches
        worlds without losing what it set up. Refused as :meth:`reset` refuses, nothing changed."""
        seed = self.origin.seed if seed is None else seed
        self._become(worlds.load_scenario_world(name, seed=seed, now=self.clock.now()), name, seed)

    def load_own_scenario(self, *, path: str | None = None, document: dict | None = None,
                          seed: int | None = None) -> None:
        """Make a partner's scenario the state, as :meth:`load_scenario` does a shipped one: the
        fixture file at ``path`` on this machine, or else the fixture ``document`` itself. The
        scenario is then called by its path, or ``"document"``."""
        seed = self.origin.seed if seed is None else seed
        if path is not None:
            self._become(worlds.load_world(path, seed=seed, now=self.clock.now()), path, seed)
        elif document is not None:
            # The seed counts for a document's `generate` as for a file's.
            self._become(worlds.build_world(document, "document", seed=seed, now=self.clock.now()),
                         "document", seed)
        else:
            raise TypeError("load_own_scenario() needs a path or a document")

    def replace_state(self, document: dict) -> None:
        """Make a fixture document (as :meth:`state` writes it) the state, all or nothing. The seed,
        clock, faults and journal stay; the state comes from no scenario. The tokens this mock
        signed stay good: a session token names its session and user, which the document keeps."""
        self._install(worlds.build_world(document, "state", now=self.clock.now()))
        self.scenario = None

    def state(self) -> worlds.World:
        """The whole state, both services' (``GET /_mock/state`` writes it with
        :func:`worlds.to_document`). Its ``api_keys`` are None while they are the start ones, so
        a world of plain fixtures exports as it always did."""
        records = self.sessions.snapshot()  # first: expiring what is due drops it from the Chats API
        keys = self.sessions.api_keys
        start = self._api_keys_of(worlds.World([], [], None))
        return worlds.World(self.store.snapshot(), records, None if keys == start else tuple(sorted(keys)))

    def create_session(self, users: list[tuple[str, str]]) -> ChatSession:
        """A new, empty session with fresh ids and tokens for the (name, role) pairs, held by
        both APIs (the control plane's ``POST /_mock/sessions``)."""
        session = self.store.create_session(users)
        for record in self._session_records([session]):
            self.sessions.add(record)
        return session

    def _become(self, world: worlds.World | None, scenario: str | None, seed: int) -> None:
        """Make ``world`` (the start one when None), from ``scenario`` under ``seed``, the
        world. Fault probabilities follow the world's seed, so a run can be replayed."""
        if world is None:
            self._end_hub_connections()
            self.store.reset()
            self.sessions.reset()
            self.sessions.expire_due()  # the start world's expired sessions leave the Chats API again
        else:
            self._install(world)
        self.scenario, self.seed = scenario, seed
        self.faults.reseed(seed)

    def _install(self, world: worlds.World) -> None:
        """Make ``world`` both services' state; sessions past their expiry expire at once."""
        self._end_hub_connections()
        self.store.replace(world.chat_sessions)
        self.sessions.replace(world.sessions, self._api_keys_of(world))
        self.sessions.expire_due()

    def _end_hub_connections(self) -> None:
        """A new world: no client keeps hearing of the old one (nor a test of the test before)."""
        self.hubs.end_world(Closing(RESET_CLOSE_ERROR))

    def _api_keys_of(self, world: worlds.World) -> frozenset[str]:
        """The keys strict auth accepts in ``world``: its own (the start world's when it lists
        none) and those given at start."""
        own = self._start_world_keys if world.api_keys is None else frozenset(world.api_keys)
        return own | self._extra_api_keys

    def _world_of(self, sessions: list[ChatSession]) -> worlds.World:
        """A world of Chats sessions alone: the Session API's defaults, no keys of its own."""
        return worlds.World(sessions, self._session_records(sessions))

    # -- the two services, linked -------------------------------------------
    def _session_records(self, sessions: list[ChatSession]) -> list[Session]:
        """The Session API's view of Chats sessions that say nothing more (the control plane's):
        default rules, no expiry, the first Host its creator, no wallet addresses."""
        return worlds.default_records(sessions, self.clock.now())

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

    def _to_chat_hub(self, event: Event) -> None:
        """Send the chat hub's connections their session's change (called under the Chats store's
        lock, so in commit order); a new message goes out as the MessageDto the API answers.

        A change in a session nobody listens to on the chat hub is not sent, nor remembered as
        sent: every message the API creates comes here, and writing and keeping its MessageDto for
        nobody would cost more than storing the message does."""
        if not self.hubs.connections(hub=CHAT_HUB, session_id=event.session_id):
            return
        data = event.data
        if event.event_type == MESSAGE_CREATED:
            data = chats_responses.message_dto(cast(MessageView, data["message"]))
        envelope = {"sessionId": event.session_id, "eventType": event.event_type, "data": dict(data)}
        self.hubs.send(CHAT_HUB, event.session_id, event.event_type, envelope)

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

def _drop_hub_connection(scope: dict) -> None:
    # Deferred: serving loads psutil, which a mock that never serves (the plugin's import) skips.
    from .serving.asgi import drop_connection
    drop_connection(scope.get("client"), scope.get("server"))


def _caller(user: User) -> Caller:
    return Caller(user.session_id, user.id, user.name, user.role)


def build(fixtures_path: Path | str | None = None, *, seed: int = worlds.DEFAULT_SEED,
          messages: int = 0, auth: str = OPEN, journal_size: int = DEFAULT_SIZE,
          admin_token: str | None = None, cors: bool = True, api_keys: tuple[str, ...] = (),
          chat_hub: bool = False) -> Mock:
    """Load the fixtures (the shipped defaults when None) and build a mock over them. ``api_keys``
    are accepted besides the fixtures' own ``apiKeys`` (the shipped ones list demo-api-key);
    ``chat_hub`` serves the chat hub's preview."""
    origin = Origin(Path(fixtures_path) if fixtures_path else None, seed, messages, auth)
    return Mock(origin.load(), origin=origin, journal_size=journal_size, admin_token=admin_token,
                cors=cors, api_keys=api_keys, chat_hub=chat_hub)


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
    app.register_blueprint(dashboard)

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
