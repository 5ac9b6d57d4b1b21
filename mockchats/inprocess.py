"""In-process mode: calls to the real host answered by a mock in this process, as moto does for AWS.

``with mockchats.intercept() as mock:`` (or ``@mockchats.intercept()`` on a function, sync or
async) makes ``requests`` and ``httpx`` (sync and async clients) calls to
``https://api.quicksync.me`` reach a fresh mock with no server, no port and no thread, so a client
that hard-codes the real host is tested unchanged. Every other host is left alone.

Why the mock's WSGI app and not a stub: each call goes through the same pipeline as over HTTP
(routing, binding, auth, faults, the journal and the contract checks), so a test here sees the
answers a test over loopback sees. Why ``responses`` and ``respx``: they are how partners already
patch these clients, they nest (a partner's own stubs for other hosts keep working: the block
passes what it does not answer on to whatever patched the client before it), and they restore
the clients on exit.

The libraries are an optional extra (``pip install mockchats[intercept]``), imported on entry.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import io
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import unquote_to_bytes, urlsplit

from .core.pipeline import IN_PROCESS, whole_answer

if TYPE_CHECKING:
    from .app import Mock
    from .pytest_plugin import MockchatsHandle

__all__ = ["intercept"]

#: Where the mock answers unless told otherwise: the real API's host.
DEFAULT_BASE_URLS = ("https://api.quicksync.me",)
#: What to install when the interception libraries are missing.
EXTRA = "pip install mockchats[intercept]"
#: The methods the block answers on its base URLs (``responses`` registers a callback per method).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
#: What the mock names itself as (the loopback server adds it to every answer as well).
SERVER_HEADER = ("Server", "mockchats")

F = TypeVar("F", bound=Callable[..., Any])


def _libraries() -> tuple[Any, Any, Any]:
    """``responses``, ``respx`` and ``httpx``, or an ImportError naming the extra."""
    try:
        # Loaded on entry to a block: they are an optional extra.
        import httpx
        import responses
        import respx
    except ImportError as exc:
        raise ImportError(f"mockchats.intercept needs responses, respx and httpx ({exc.name} is missing): "
                          f"{EXTRA}") from exc
    return responses, respx, httpx


class Dropped(Exception):
    """A ``drop`` fault struck: the caller raises its client's own connection error."""


class _Wsgi:
    """One HTTP exchange with the mock's WSGI app, as the loopback server would make it."""

    def __init__(self, mock: Mock):
        self.mock = mock

    def __call__(self, method: str, url: str, body: bytes | None,
                 headers: Iterable[tuple[str, str]]) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(url)
        target = parts.path or "/"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        body = body or b""
        dropped: list[bool] = []
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method.upper(),
            "SCRIPT_NAME": "",
            # As the server decodes it: percent escapes undone, the bytes as latin-1 (PEP 3333).
            "PATH_INFO": unquote_to_bytes(target).decode("latin-1"),
            "QUERY_STRING": parts.query,
            "REQUEST_URI": target + "?" + parts.query if parts.query else target,  # as sent: routing reads it
            "SERVER_NAME": parts.hostname or "localhost",
            "SERVER_PORT": str(port),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "0",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme or "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            # The pipeline calls it once the request is journaled: the client then sees no answer.
            "mockchats.drop_connection": lambda: dropped.append(True),
            IN_PROCESS: True,
        }
        if body:
            environ["CONTENT_LENGTH"] = str(len(body))
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if "_" in name or key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue  # the length is the body's own, as the server hands the app a whole body
            if key != "CONTENT_TYPE":
                key = "HTTP_" + key
            environ[key] = environ[key] + ", " + value if key in environ else value
        environ.setdefault("HTTP_HOST", parts.netloc)
        started: list[Any] = []

        def start_response(status: str, answered: list[tuple[str, str]], exc_info: object = None) -> None:
            started[:] = [int(status[:3]), list(answered)]

        data = whole_answer(self.mock.app, environ, start_response)
        if dropped:
            raise Dropped(f"the mock dropped the connection of {method} {url}")
        status, answered = started
        if not any(name.lower() == "server" for name, _ in answered):
            answered.append(SERVER_HEADER)
        return status, answered, data


class _Origin:
    """What the handle takes for a server: where the block answers."""

    def __init__(self, base_url: str):
        self.root_url = base_url
        self.base_url = base_url + "/v1"


def _handle_class() -> type[MockchatsHandle]:
    # The plugin's handle, loaded with the first block: importing it loads pytest.
    from .pytest_plugin import MockchatsHandle

    class InterceptHandle(MockchatsHandle):
        """The plugin's handle on an in-process mock: every call goes to the mock's app directly."""

        def __repr__(self) -> str:
            return f"<mockchats intercepting {self.root_url}>"

        def hub_url(self, hub: str = "session") -> str:
            raise NotImplementedError("hubs are not served in-process: use the mockchats fixture (a live server)")

    return InterceptHandle


def __getattr__(name: str) -> Any:
    if name == "InterceptHandle":  # the plugin (and pytest) load only when asked
        return _handle_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class intercept:  # noqa: N801 -- used as a function, like moto's mock_aws
    """Answer ``requests`` and ``httpx`` calls to ``base_urls`` with an in-process mock.

    A context manager (``with mockchats.intercept() as mock:``, ``mock`` the plugin's handle) and
    a decorator (``@mockchats.intercept()``, each call in a fresh world; ``.handle`` is the handle
    while it runs). The mock is built as ``mockchats.build(fixtures, seed=seed, auth=auth)``, then
    ``scenario`` loaded when given. Blocks nest: the innermost answers its base URLs, and what it
    does not answer goes on to the block (or the partner's own stubs) outside it.
    """

    def __init__(self, *, base_urls: Iterable[str] = DEFAULT_BASE_URLS,
                 fixtures: str | Path | None = None, seed: int = 0, scenario: str | None = None,
                 auth: str = "open", _mock: Mock | None = None):
        if isinstance(base_urls, str):
            base_urls = (base_urls,)
        self.base_urls = tuple(url.rstrip("/").removesuffix("/v1") for url in base_urls)
        if not self.base_urls:
            raise ValueError("intercept(base_urls=...) needs at least one base URL")
        self.fixtures, self.seed, self.scenario, self.auth = fixtures, seed, scenario, auth
        self._mock = _mock
        self._active: list[tuple[MockchatsHandle, Callable[[], None]]] = []

    @property
    def handle(self) -> MockchatsHandle:
        """The innermost running block's handle of this intercept."""
        if not self._active:
            raise RuntimeError("mockchats.intercept is not active: use it as `with` or as a decorator")
        return self._active[-1][0]

    # -- a block ------------------------------------------------------------------------
    def __enter__(self) -> MockchatsHandle:
        responses, respx, httpx = _libraries()
        mock = self._mock
        if mock is None:
            # The server side loads with the first block, not with the module.
            from .app import build

            mock = build(self.fixtures, seed=self.seed, auth=self.auth)
        wsgi = _Wsgi(mock)
        control = _control(wsgi, self.base_urls[0])
        handle = _handle_class()(cast(Any, _Origin(self.base_urls[0])), control)  # a server's two URLs
        if self._mock is None:  # a fresh world: its status (and the scenario asked for) as a reset gives it
            handle.reset(scenario=self.scenario)
        stop = _patch(wsgi, self.base_urls, responses, respx, httpx)
        self._active.append((handle, stop))
        return handle

    def __exit__(self, *exc_info: object) -> None:
        _, stop = self._active.pop()
        stop()

    async def __aenter__(self) -> MockchatsHandle:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__(*exc_info)

    # -- a decorator --------------------------------------------------------------------
    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]


def _control(wsgi: _Wsgi, root_url: str) -> Any:
    """A :class:`~mockchats.Control` whose calls go to the app directly."""
    # Loaded with the first block, as the server side it goes with.
    from werkzeug.datastructures import Headers

    from .control.client import Control

    def transport(method: str, url: str, body: bytes | None,
                  headers: dict[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        try:
            status, answered, data = wsgi(method, url, body, headers.items())
        except Dropped as exc:  # as Control says a lost connection over HTTP
            raise ConnectionError(f"lost the mock at {root_url}: {exc}") from None
        return status, cast(Mapping[str, str], Headers(answered)), data  # read in any case, as urllib3's

    return Control(root_url, transport=transport)


#: Whether respx is answering an async client's call in this context (see ``_router_class``).
_ASYNC: contextvars.ContextVar[bool] = contextvars.ContextVar("mockchats_intercept_async", default=False)


def _router_class(respx: Any) -> type:
    """respx's router, telling the side effect whether an async client called (respx calls the
    same side effect for both, and awaits what it answers only for an async one)."""

    class Router(respx.MockRouter):  # type: ignore[misc]
        async def async_handler(self, request: Any) -> Any:
            token = _ASYNC.set(True)
            try:
                return await super().async_handler(request)
            finally:
                _ASYNC.reset(token)

    return Router


def _patch(wsgi: _Wsgi, base_urls: tuple[str, ...], responses: Any, respx: Any, httpx: Any) -> Callable[[], None]:
    """Patch requests and httpx for ``base_urls``; answers what undoes it."""
    # Loaded with the first block: the module itself stays as cheap as the package.
    import requests.adapters

    answered = re.compile("(?:" + "|".join(re.escape(url) for url in base_urls) + r")(?:[/?#]|$)")

    def on_requests(request: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):  # a file or a generator: read whole
            body = body.read() if hasattr(body, "read") else b"".join(body)
        try:
            return wsgi(request.method, request.url, body, request.headers.items())
        except Dropped as exc:
            raise requests.exceptions.ConnectionError(str(exc), request=request) from None

    # What the block does not answer goes to the client's send as it was before the block: the
    # partner's own `responses` stubs, an outer block, or the network.
    requests_mock = responses.RequestsMock(assert_all_requests_are_fired=False,
                                           real_adapter_send=requests.adapters.HTTPAdapter.send)
    for method in METHODS:
        requests_mock.add_callback(method, answered, callback=on_requests, content_type=None)
    requests_mock.add_passthru(re.compile(".*"))
    # A partner's `@responses.activate` (or `responses.start()`) begun inside the block, as on a
    # test that also takes the mockchats_intercept fixture, patches over this block's mock: the
    # module's default mock is given the block's routes too while it lasts, so the real host is
    # still answered by the mock there, beside the partner's stubs for other hosts.
    in_default = [responses.mock.add_callback(method, answered, callback=on_requests, content_type=None)
                  for method in METHODS]

    def exchange(request: Any) -> Any:
        try:
            status, headers, data = wsgi(request.method, str(request.url), request.read(),
                                         request.headers.multi_items())
        except Dropped:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                            request=request) from None
        return httpx.Response(status, headers=headers, content=data)

    def on_httpx(request: Any) -> Any:
        if not _ASYNC.get():
            return exchange(request)
        # An async client: the app runs on a thread (respx awaits this), so a delay fault waits
        # without stopping the event loop, and the client's own timeouts still fire.
        import asyncio  # loaded by the async client already: this only names it

        return asyncio.to_thread(exchange, request)

    # respx asks its routers in order and the first to answer wins: this block's goes first (the
    # innermost answers). A call it does not answer is declined (None) when a router after it has
    # a route for it (an outer block, the partner's stubs), and passed through to the network
    # otherwise; declining makes respx ask the next router.
    router = _router_class(respx)(assert_all_called=False)

    def onward(request: Any) -> Any:
        later = router.Mocker.routers if router.Mocker else []
        for other in later:
            if other is not router and any(not route.pattern or route.pattern.match(request)
                                           for route in other.routes):
                return None
        return request  # respx's sign for a pass-through

    router.route(url__regex=answered.pattern).mock(side_effect=on_httpx)
    router.route().mock(side_effect=onward)

    requests_mock.start()
    try:
        router.start()
        routers = router.Mocker.routers
        routers.insert(0, routers.pop(routers.index(router)))
    except BaseException:
        requests_mock.stop(allow_assert=False)
        raise

    def stop() -> None:
        try:
            router.stop(quiet=True)
        finally:
            requests_mock.stop(allow_assert=False)
            requests_mock.reset()
            for route in in_default:
                with contextlib.suppress(ValueError):  # gone already: the partner's mock reset it
                    responses.mock.remove(route)

    return stop

