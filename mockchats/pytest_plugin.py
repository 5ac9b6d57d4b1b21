"""The mockchats pytest plugin: a real mock server for partners' test suites.

Registered through the ``pytest11`` entry point, so installing mockchats is enough:

- ``mockchats_server`` (session scope): one :class:`~mockchats.Server` per test session (per
  xdist worker) on a free loopback port, in a background thread; started once, stopped at the end.
- ``mockchats`` (function scope): a :class:`MockchatsHandle` on that server, reset before the test.
- ``mockchats_intercept`` (function scope): the same handle on a mock in this process that answers
  calls to https://api.quicksync.me (:mod:`mockchats.inprocess`), reset before the test.

Why a real server rather than the WSGI app: the partner's own HTTP client is what is under test,
so it must meet real sockets, status codes and headers. Why one server reset per test rather than
one server per test: a reset over the control plane costs a few milliseconds, a server start far
more; and the reset goes through the same ``POST /_mock/reset`` that any other client uses, so the
journal, faults and clock are clean per test exactly as the control plane documents.

``@pytest.mark.mockchats(scenario=..., seed=..., auth=..., fixtures=...)`` passes its options to that
reset (``fixtures``, a partner's file beside the test, is loaded after it); ``chat_hub=True`` gives the
test a second server, started on first use, that serves the chat hub's preview as well;
``--mockchats-seed`` / ``--mockchats-fixtures`` (ini: ``mockchats_seed``, ``mockchats_fixtures``)
say what the server starts with, and so what a plain reset returns to.

Importing this module must stay cheap: pytest loads it into every run of every project that has
mockchats installed, mock or no mock. The server side (Flask, the spec, jsonschema) is imported when the
first test asks for the mock, and the control client's transport when it is first made.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import pytest

from .control.client import Control, ControlError

if TYPE_CHECKING:  # types only: this module loads into every partner's test run
    from .serving.server import Server
    from .sessions.wallet import Wallet
    from .types import Clock, Fault, HubEvent, HubJournalEntry, JournalEntry, MessagePin, Status

__all__ = ["LoginError", "MockchatsHandle"]

#: What the ``mockchats`` marker accepts: the options of ``POST /_mock/reset``, ``fixtures`` and ``chat_hub``.
MARKER_OPTIONS = ("scenario", "seed", "auth", "fixtures", "chat_hub")
#: The marker options that say which world: a closer marker's one replaces a farther one's.
WORLDS = ("scenario", "fixtures")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockchats", "mockchats: the QuickSync Chats API mock")
    group.addoption("--mockchats-seed", type=int, default=None, metavar="N",
                    help="seed for the mock's generated data (ini: mockchats_seed; default 0)")
    group.addoption("--mockchats-fixtures", default=None, metavar="PATH",
                    help="fixture file the mock starts with (ini: mockchats_fixtures; "
                         "default: the shipped fixtures)")
    parser.addini("mockchats_seed", "seed for the mock's generated data", default="")
    parser.addini("mockchats_fixtures", "fixture file the mock starts with (relative to the ini "
                                        "file)", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mockchats(scenario=None, seed=None, auth=None, fixtures=None, chat_hub=False): reset "
                   "the mock into this world before the test (a shipped scenario or your own fixture file, "
                   "relative to the test file; a seed; auth 'open' or 'strict'); chat_hub=True: a mock that "
                   "serves the chat hub's preview too")
    _start_options(config)  # a bad mockchats_seed is a usage error at once, not in every test


def _start_options(config: pytest.Config) -> tuple[Path | None, int]:
    """The fixtures path and seed the server starts with: the command line, else the ini file."""
    seed = config.getoption("mockchats_seed")
    if seed is None:
        raw = config.getini("mockchats_seed").strip()
        try:
            seed = int(raw) if raw else 0
        except ValueError:
            raise pytest.UsageError(f"mockchats_seed = {raw!r} is not a whole number") from None
    fixtures_path = config.getoption("mockchats_fixtures")
    if fixtures_path:
        return config.invocation_params.dir / fixtures_path, seed
    fixtures_path = config.getini("mockchats_fixtures").strip()
    if fixtures_path:
        ini_dir = config.inipath.parent if config.inipath else config.rootpath
        return ini_dir / fixtures_path, seed
    return None, seed


@pytest.fixture(scope="session")
def mockchats_server(pytestconfig: pytest.Config) -> Iterator[Server]:
    """One mock server for the whole session (per xdist worker), on a free loopback port."""
    yield from _serve(pytestconfig)


@pytest.fixture(scope="session")
def _mockchats_chat_hub_server(pytestconfig: pytest.Config) -> Iterator[Server]:
    # The chat hub is chosen when a mock is built: the tests marked chat_hub=True share a second
    # server, started for the first of them, so the others keep a mock without it (its path a 404).
    yield from _serve(pytestconfig, chat_hub=True)


@pytest.fixture(scope="session")
def _mockchats_chat_hub_control(_mockchats_chat_hub_server: Server) -> Iterator[Control]:
    control = Control(_mockchats_chat_hub_server.root_url)
    yield control
    control.close()


def _serve(pytestconfig: pytest.Config, *, chat_hub: bool = False) -> Iterator[Server]:
    """A mock server of the run's start world on a free loopback port, until the session ends."""
    # Imported here, not with the plugin: only a run that uses the mock pays for the server side.
    from .app import build
    from .serving.server import Server
    from .worlds import FixtureError

    fixtures_path, seed = _start_options(pytestconfig)
    refusal: str | None
    try:
        mock = build(fixtures_path, seed=seed, chat_hub=chat_hub)
    except FixtureError as exc:
        refusal = str(exc)  # failed outside the except: no "during handling" chain in the report
    else:
        refusal = None
    if refusal:
        pytest.fail(f"mockchats: {refusal}", pytrace=False)
    server = Server(mock.app, port=0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _mockchats_control(mockchats_server: Server) -> Iterator[Control]:
    # One client for the session: its kept-alive connection makes each reset a single round trip.
    control = Control(mockchats_server.root_url)
    yield control
    control.close()


@pytest.fixture
def mockchats(request: pytest.FixtureRequest, mockchats_server: Server,
              _mockchats_control: Control) -> MockchatsHandle:
    """The mock, reset before this test (into the world its ``mockchats`` markers ask for)."""
    options = _marker_options(request)
    if options.pop("chat_hub", False):
        mockchats_server = request.getfixturevalue("_mockchats_chat_hub_server")
        _mockchats_control = request.getfixturevalue("_mockchats_chat_hub_control")
    handle = MockchatsHandle(mockchats_server, _mockchats_control)
    _reset_or_fail(handle, options)
    return handle


@pytest.fixture(scope="session")
def _mockchats_intercept_mock(pytestconfig: pytest.Config) -> Any:
    # One in-process mock for the session, reset per test as the server is: a build per test
    # would cost far more than a reset.
    from .app import build
    from .worlds import FixtureError

    fixtures_path, seed = _start_options(pytestconfig)
    try:
        return build(fixtures_path, seed=seed)
    except FixtureError as exc:
        refusal = str(exc)
    pytest.fail(f"mockchats: {refusal}", pytrace=False)


@pytest.fixture
def mockchats_intercept(request: pytest.FixtureRequest, _mockchats_intercept_mock: Any) -> Iterator[MockchatsHandle]:
    """The mock answering calls to https://api.quicksync.me in this process (``requests`` and
    ``httpx``, no server), reset before this test into the world its ``mockchats`` markers ask for."""
    # Loaded only by a test that asks for it: the interception libraries are an optional extra.
    from .inprocess import intercept

    options = _marker_options(request)
    options.pop("chat_hub", None)  # hubs are not served in-process: hub_url says so
    with intercept(_mock=_mockchats_intercept_mock) as handle:
        _reset_or_fail(handle, options)
        yield handle


def _reset_or_fail(handle: MockchatsHandle, options: dict[str, Any]) -> None:
    """Reset into the world the markers ask for; a refusal fails the test in the control plane's
    words (raised outside the ``except``, so no chained traceback buries them)."""
    try:
        handle.reset(**options)
    except ControlError as exc:
        refusal = str(exc)
    else:
        return
    pytest.fail(f"mockchats: reset with {_keywords(options)} refused: {refusal}", pytrace=False)


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """What the test's ``mockchats`` markers ask for; a wrong marker fails the test, naming why."""
    options: dict[str, Any] = {}
    # Closest marker last, so a test's own marker overrides its class's or module's, key by key.
    for marker in reversed(list(request.node.iter_markers("mockchats"))):
        wrong = [repr(arg) for arg in marker.args] + sorted(set(marker.kwargs) - set(MARKER_OPTIONS))
        if wrong:
            pytest.fail(f"@pytest.mark.mockchats takes only the keyword options "
                        f"{', '.join(MARKER_OPTIONS)}; got {', '.join(wrong)}", pytrace=False)
        worlds = [key for key in WORLDS if marker.kwargs.get(key) is not None]
        if len(worlds) > 1:
            pytest.fail("@pytest.mark.mockchats takes scenario= or fixtures=, not both", pytrace=False)
        if worlds:  # a closer marker's world replaces the farther one's, whichever kind it is
            for key in WORLDS:
                options.pop(key, None)
        options.update(marker.kwargs)
    if options.get("fixtures") is not None:
        # Relative to the test file, as a partner keeps a test's world beside it.
        options["fixtures"] = str(request.path.parent / os.fspath(options["fixtures"]))
    return options


def _keywords(options: dict[str, Any]) -> str:
    """``scenario='busy-room', seed=7``: the options as the marker spells them."""
    return ", ".join(f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
                     for key, value in options.items() if value is not None) or "no options"


class _Tokens(dict[str, str]):
    """Fixture users' tokens by name in lower case, read in any case; a miss names the users."""

    def __getitem__(self, name: str) -> str:
        try:
            return super().__getitem__(name.lower() if isinstance(name, str) else name)
        except KeyError:
            pass
        raise KeyError(f"{name!r} is not a fixture user's name; known: {', '.join(self)}")

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name.lower() if isinstance(name, str) else name)

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default


class MockchatsHandle:
    """A test's view of the running mock: where it is, who can call it, and what it saw.

    ``url`` is the base URL to give the client under test (in place of
    https://api.quicksync.me/v1); ``control`` is the full :class:`~mockchats.Control` client.
    """

    def __init__(self, server: Server, control: Control):
        self.root_url: str = server.root_url
        #: The base URL, ending in ``/v1``.
        self.url: str = server.base_url
        self.control: Control = control
        #: What the last reset or load answered: auth, seed, scenario, sessions, messages.
        self.status: Status = cast("Status", {})
        self._tokens: _Tokens | None = None

    def __repr__(self) -> str:
        return f"<mockchats at {self.url}>"

    def url_for(self, path: str) -> str:
        """``url_for("/chats")`` -> ``http://127.0.0.1:<port>/v1/chats``."""
        return self.url + path

    def hub_url(self, hub: str = "session") -> str:
        """``hub_url()`` -> ``http://127.0.0.1:<port>/v1/hubs/session``: what a SignalR client is
        given. The chat hub (``hub_url("chat")``) answers only under ``mockchats(chat_hub=True)``."""
        return f"{self.url}/hubs/{hub}"

    # -- who can call ----------------------------------------------------------------
    @property
    def tokens(self) -> dict[str, str]:
        """Each fixture user's token by name: ``tokens["alice"] == tokens["Alice"] == "alice-token"``.

        Keyed in lower case, read in any case. Read from the mock once per world: again after
        :meth:`reset` or a load through this handle (after changing the world through ``control``
        directly, call :meth:`refresh_tokens`). Where two sessions have a user of the same name,
        the first session's wins.
        """
        if self._tokens is None:
            return self.refresh_tokens()
        return self._tokens

    def refresh_tokens(self) -> dict[str, str]:
        """Read the users' tokens from the mock again."""
        tokens = _Tokens()
        for session in self.control.sessions():
            for user in session["users"]:
                if user["token"]:
                    tokens.setdefault(user["name"].lower(), user["token"])
        self._tokens = tokens
        return tokens

    def headers(self, user: str) -> dict[str, str]:
        """``headers("alice")`` -> ``{"Authorization": "Bearer alice-token"}`` (any case)."""
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    # -- who signs in ----------------------------------------------------------------
    def login(self, name: str | None, *, wallet: Wallet | None = None, session_id: str | None = None,
              password: str | None = None, host: bool = False, api_key: str | None = None) -> dict[str, Any]:
        """Sign in as a partner's app does, over HTTP: ``GET /v1/wallet-proof/nonce``, the
        ``wallet`` signs its message (a new :class:`~mockchats.Wallet` when None), ``POST
        /v1/wallet-proof/verify``, then a session.

        With ``host=True``, ``POST /v1/session`` creates one whose Host is called ``name``
        (protected by ``password`` when given), sending ``api_key`` (the first of the mock's keys,
        ``control.api_keys()``, when None); answers the ``SessionCredentialsDto``. Otherwise
        ``POST /v1/session/join`` joins ``session_id`` (the first of ``control.sessions()``, the
        fixtures' own, when None) with ``password``; answers the ``JoinSessionDto``, its
        ``users`` included. A join takes no name: the Session API calls the new user by the
        pseudonym it makes (``["credentials"]["pseudonym"]``), so ``name`` is not sent (and
        ``api_key`` neither). Pass the same ``wallet`` again to be the same user again.

        ``["credentials"]["token"]`` is the session token both APIs take as a bearer. A refusal
        at any step raises :class:`LoginError` (a :class:`~mockchats.ControlError`) naming the
        step, the status and the problem's detail.
        """
        if host and session_id is not None:
            raise TypeError("login(host=True) creates a session: it takes no session_id")
        if wallet is None:
            from .sessions.wallet import Wallet  # deferred: eth-account loads only when a test signs in
            wallet = Wallet()
        nonce = self._login_step("getNonce", "GET", "/wallet-proof/nonce")
        proof = self._login_step("verifyWalletProof", "POST", "/wallet-proof/verify",
                                 {"walletAddress": wallet.address, "message": nonce["message"],
                                  "signature": wallet.sign(nonce["message"])})
        bearer = {"Authorization": f"Bearer {proof['token']}"}
        if host:
            if api_key is None:
                known = self.control.api_keys()
                if not known:
                    raise LookupError("login(host=True): the mock knows no API key; pass api_key=")
                api_key = known[0]
            request: dict[str, Any] = {"identity": {"name": name}}
            if password is not None:
                request["rules"] = {"password": password}
            return cast("dict[str, Any]", self._login_step("createSession", "POST", "/session", request,
                                                           {**bearer, "X-API-KEY": api_key}))
        if session_id is None:
            sessions = self.control.sessions()
            if not sessions:
                raise LookupError("login(): the mock holds no session to join; pass session_id= or host=True")
            session_id = sessions[0]["sessionId"]
        join: dict[str, Any] = {"sessionId": session_id}
        if password is not None:
            join["password"] = password
        return cast("dict[str, Any]", self._login_step("joinSession", "POST", "/session/join", join, bearer,
                                                       f"session {session_id!r}"))

    def _login_step(self, step: str, method: str, path: str, body: Any = None,
                    headers: dict[str, str] | None = None, what: str = "") -> Any:
        """One call of :meth:`login` to the Session API; :class:`LoginError` unless it is a 200."""
        # Through the control client's urllib3 connections, as every call of the handle: a test's
        # own `responses` or `requests_mock` patching would otherwise catch the login.
        status, answered, payload = self.control._send(method, f"/v1{path}", body,
                                                       {"Accept": "application/json", **(headers or {})})
        if status != 200:
            hint = _LOGIN_HINTS.get((step, status)) if isinstance(payload, dict) else None
            raise LoginError(step, f"{method} /v1{path}" + (f" of {what}" if what else ""), status,
                             payload or answered.get("WWW-Authenticate") or "no body", hint)
        return payload

    # -- which world -----------------------------------------------------------------
    def reset(self, *, scenario: str | None = None, seed: int | None = None, auth: str | None = None,
              fixtures: str | os.PathLike[str] | None = None) -> Status:
        """Back to the start state (or ``scenario`` / ``seed`` / ``auth``): real time, no faults,
        an empty journal. Done before every test already. ``fixtures``: then load your own fixture
        file (relative to the working directory) under that seed."""
        status = self.control.reset(scenario=scenario, seed=seed, auth=auth)
        if fixtures is not None:
            status = self.control.load_own_scenario(path=str(Path(fixtures).resolve()), seed=seed)
        return self._new_world(status)

    def load_scenario(self, name: str, seed: int | None = None) -> Status:
        """Replace the state with the shipped scenario ``name`` (faults, clock, journal stay)."""
        return self._new_world(self.control.load_scenario(name, seed=seed))

    def load_own_scenario(self, *, path: str | os.PathLike[str] | None = None,
                          document: dict[str, Any] | None = None, seed: int | None = None) -> Status:
        """Replace the state with your own fixture file (by ``path``) or ``document``."""
        return self._new_world(self.control.load_own_scenario(
            path=None if path is None else str(Path(path).resolve()), document=document, seed=seed))

    def _new_world(self, status: Status) -> Status:
        self.status = status
        self._tokens = None
        return status

    # -- what is in it ---------------------------------------------------------------
    def pin(self, chat_id: str) -> MessagePin:
        """Pin the message ``chat_id`` as its session's Host would (the public API cannot);
        answers ``{"sessionId", "chatId", "pinId"}``."""
        return self.control.pin_message(chat_id)

    def unpin(self, pin_id: str, *, session_id: str | None = None) -> None:
        """Remove the pin ``pin_id`` as its session's Host would (``session_id`` defaults to the
        first of ``control.sessions()``, the fixtures' own; a pin from :meth:`pin` names its own)."""
        self.control.unpin(self._session_or_first(session_id, "unpin"), pin_id)

    def delete_message(self, chat_id: str, *, session_id: str | None = None) -> None:
        """Delete a message as its session's Host would, its reactions and pin with it
        (``session_id`` as for :meth:`unpin`)."""
        self.control.delete_message(self._session_or_first(session_id, "delete_message"), chat_id)

    def messages(self, *, session_id: str | None = None, **query: Any) -> dict[str, Any]:
        """A session's messages as ``GET /v1/chats`` lists them for its members (``query``: ``Skip``,
        ``Take``, ``SortBy``, ``Ascending``), without a token: ``{"totalCount", "messages"}``."""
        return self.control.messages(self._session_or_first(session_id, "messages"), **query)

    def _session_or_first(self, session_id: str | None, call: str) -> str:
        """``session_id``, or when None the first of ``control.sessions()`` (the fixtures' own)."""
        if session_id is not None:
            return session_id
        sessions = self.control.sessions()
        if not sessions:
            raise LookupError(f"{call}(): the mock holds no session; pass session_id=")
        return sessions[0]["sessionId"]

    # -- the hubs --------------------------------------------------------------------
    def events(self, hub: str | None = None) -> list[HubEvent]:
        """The events the hubs (or ``hub``: ``"session"``, ``"chat"``) sent since the test began,
        oldest first: ``[{"hub", "sessionId", "eventType", "data", "delivered", "sentAt"}]``,
        ``delivered`` how many connections each reached."""
        return self.control.hub_events(hub)

    def push_event(self, event_type: str, data: dict[str, Any], *, hub: str = "session",
                   session_id: str | None = None) -> int:
        """Send any event (``FileAdded``, which no API makes, say) to a session's connections on
        ``hub``, in the envelope of the mock's own; ``session_id`` defaults to the first of
        ``control.sessions()``, the fixtures' own. Answers how many connections it reached."""
        return self.control.send_hub_event(self._session_or_first(session_id, "push_event"), event_type, data,
                                           hub=hub)

    def close_hub_connections(self, *, allow_reconnect: bool = False, drop: bool = False) -> int:
        """End every hub connection, for a client's reconnect logic: a Close (with
        ``allow_reconnect``, Microsoft's client reconnects by itself) or, with ``drop``, the socket
        closed without one, as a lost network would. Answers how many; ``control.close_hub_connections``
        picks by hub, session or user."""
        return self.control.close_hub_connections(allow_reconnect=allow_reconnect, drop=drop)

    # -- faults and time -------------------------------------------------------------
    def fail(self, operation_id: str, status: int = 503, *, times: int | None = 1,
             when: str = "before", **more: Any) -> Fault:
        """Make the next ``times`` calls of ``operation_id`` answer ``status`` (``times=None``:
        every call). ``when="after"`` fails them once the state has changed; ``more`` takes the
        control plane's other fault fields (``headers``, ``body``, ``delayMs``, ``probability``)."""
        fault = {"operationId": operation_id, "status": status, "when": when, **more}
        if times is not None:
            fault["times"] = times
        return self.control.add_fault(**fault)

    def inject_fault(self, **fault: Any) -> Fault:
        """Any fault the control plane takes, e.g. ``inject_fault(method="DELETE", drop=True)``."""
        return self.control.add_fault(**fault)

    def freeze_clock(self, at: datetime | str = "now") -> Clock:
        """Stop the mock's clock at ``at``: a datetime (a naive one is UTC), an ISO 8601 instant,
        or ``"now"``."""
        return self.control.freeze_clock(at)

    def advance_clock(self, by: timedelta | float) -> Clock:
        """Move the mock's clock forward by a timedelta or a number of seconds."""
        return self.control.advance_clock(by)

    # -- what the client sent --------------------------------------------------------
    @overload
    def requests(self, operation_id: str | None = None, *, method: str | None = None,
                 path: str | None = None, status: int | str | None = None, user: str | None = None,
                 kind: Literal["http"] | None = None, limit: int | None = None) -> list[JournalEntry]: ...

    @overload
    def requests(self, *, user: str | None = None, kind: Literal["hub"],
                 hub: Literal["session", "chat"] | None = None, limit: int | None = None) -> list[HubJournalEntry]: ...

    @overload
    def requests(self, *, user: str | None = None, hub: Literal["session", "chat"],
                 limit: int | None = None) -> list[HubJournalEntry]: ...

    @overload
    def requests(self, operation_id: str | None = None, *, method: str | None = None,
                 path: str | None = None, status: int | str | None = None, user: str | None = None,
                 kind: Literal["all"], hub: Literal["session", "chat"] | None = None,
                 limit: int | None = None) -> list[JournalEntry | HubJournalEntry]: ...

    def requests(self, operation_id: str | None = None, *, method: str | None = None,
                 path: str | None = None, status: int | str | None = None, user: str | None = None,
                 kind: str | None = None, hub: str | None = None, limit: int | None = None) -> list[Any]:
        """The journal entries of this test's partner requests, oldest first (the latest 1000).
        ``status``: ``404`` or a class, ``"4xx"``; ``user``: an id or a name. An unknown
        ``operation_id`` raises :class:`~mockchats.ControlError` naming the known ones.
        ``kind="hub"`` gives the hubs' traffic instead (``"all"``: both), ``hub="session"`` or
        ``"chat"`` one hub's."""
        # Passed on as given: the overloads above say which combinations type-check.
        found: list[Any] = cast(Any, self.control).requests(
            operation_id=operation_id, method=method, path=path, status=status, user=user, kind=kind, hub=hub,
            limit=limit)
        return found

    def assert_no_violations(self) -> None:
        """Fail, listing each offending request, if the client sent anything the real service
        would refuse for breaking the contract (bad query or body, no token, unknown path...)."""
        __tracebackhide__ = True
        # REST requests only (the default kind): the hubs' traffic is never a contract violation.
        broken = [entry for entry in self.requests() if entry["violations"]]
        if broken:
            lines = [f"{len(broken)} request(s) broke the QuickSync Chats contract:"]
            lines += [f"  {_described(entry)}" for entry in broken]
            raise AssertionError("\n".join(lines))


class LoginError(ControlError):
    """A step of :meth:`MockchatsHandle.login` refused: ``step`` is its operationId
    (``getNonce``, ``verifyWalletProof``, ``createSession`` or ``joinSession``), ``status`` and
    ``body`` (the problem, or the ``WWW-Authenticate`` challenge of an empty 401) say why."""

    def __init__(self, step: str, request: str, status: int, body: Any, hint: str | None = None):
        super().__init__(status, body)
        self.step = step
        self.args = (f"login refused at {step} ({request}): {self.args[0]}" + (f" ({hint})" if hint else ""),)


#: What a refusal without a detail means at a step of login (the Session API answers these as
#: ASP.NET's Unauthorized() and NotFound() do: a title alone).
_LOGIN_HINTS = {
    ("createSession", 401): "the X-API-KEY is missing or not one the mock knows: see control.api_keys()",
    ("joinSession", 401): "the session is password-protected: the password is missing or wrong",
    ("joinSession", 404): "no such session, or it was deleted",
}


def _described(entry: JournalEntry) -> str:
    """``GET /v1/chats?take=0 -> 400: Take: The field Take must be between 1 and 20.``"""
    query = "&".join(f"{name}={value}" for name, values in entry["query"].items() for value in values)
    status = "connection dropped" if entry["status"] is None else entry["status"]
    return (f"{entry['method']} {entry['path']}{'?' + query if query else ''} -> {status}: "
            + "; ".join(entry["violations"]))
