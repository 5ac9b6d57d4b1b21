"""Serving the mock over ASGI (:mod:`mockchats.serving.asgi`), on granian, in two ways.

``GranianServer`` is ``mockchats serve``: one worker process, forked from this one so it holds
the mock already built; it runs in the foreground only. ``Server`` is granian's embedded server
on an event loop in a thread of this process: what the pytest plugin, the suite and ``mockchats
proxy`` run. Both serve the same ASGI app, WebSockets included, so a fault, a header or a
WebSocket behaves alike on either.
Both check the address when made, so a port in use fails at once with OSError (port 0: the OS
picks one).
"""
from __future__ import annotations

import asyncio
import ctypes
import importlib.util
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.pipeline import MAX_BODY_BYTES
from .asgi import AsgiBridge

if TYPE_CHECKING:
    from ..app import Mock

#: How long ``start`` waits for the port to answer, and ``stop`` for the server's thread to end.
START_TIMEOUT = 30
STOP_TIMEOUT = 5
#: granian logs through the ``_granian`` logger; configured incrementally, so starting a server
#: changes that logger's level only and leaves the process's handlers (a test run's) alone.
_QUIET_LOGGING = {"version": 1, "incremental": True, "handlers": {}, "loggers": {}}


class _Addresses:
    host: str
    port: int

    @property
    def root_url(self) -> str:
        """The server's root, e.g. http://127.0.0.1:8080 (the control plane is under it)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL to configure in place of https://api.quicksync.me/v1."""
        return self.root_url + "/v1"


class Server(_Addresses):
    """The app on granian's embedded server, in a daemon thread of this process; ``port=0``
    lets the OS pick (``port`` then tells).

    ``app`` is a WSGI app (``mock.app``, or any other), a :class:`~mockchats.Mock`, or an
    :class:`~mockchats.serving.asgi.AsgiBridge` made already. A mock's app is answered as ``mockchats
    serve`` answers it: on the event loop, but while a delay fault is armed.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 8080):
        self.host = host
        # granian takes an IP address only: resolve a name (localhost) here, once.
        family, *_, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        self._address = address[0]
        self.port = _bindable_port(family, self._address, port)
        # Held until granian listens, so no other program takes the port in between (and the
        # wait for it to answer cannot be fooled by another listener).
        self._reservation = _reserve(family, self._address, self.port)
        self.asgi = app if isinstance(app, AsgiBridge) else _bridge(app)
        self._granian: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def start(self) -> Server:
        """Serve in a daemon thread; return once the port answers."""
        if self._thread is not None:
            raise RuntimeError("this server is serving already")
        # Imported here, not with the module: the pytest plugin pays for granian only when
        # a test asks for the mock.
        from granian.constants import HTTPModes, Interfaces
        from granian.log import LogLevels
        from granian.server.embed import Server as Embedded

        # HTTP/1.1 only, as the real service's endpoint (and serve); ASGINL: the bridge needs
        # no lifespan. Errors only: granian warns that embedding is experimental on every start.
        self._granian = Embedded(self.asgi, address=self._address, port=self.port,
                                 interface=Interfaces.ASGINL, http=HTTPModes.http1, websockets=True,
                                 log_level=LogLevels.error, log_dictconfig=_QUIET_LOGGING)
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), name=f"mockchats:{self.port}",
                                        daemon=True)
        self._thread.start()
        started.wait()
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(self._address, self.port):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise OSError(f"the server did not start on {self._address}:{self.port}") from self._failure
            time.sleep(0.002)
        self._release()
        return self

    def _release(self) -> None:
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None

    def _run(self, started: threading.Event) -> None:
        # A Runner cancels whatever is still pending once granian has stopped, so nothing is
        # left to finish on a closed loop.
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            self._loop = runner.get_loop()
            started.set()
            try:
                runner.run(self._granian.serve())
            except BaseException as exc:  # granian could not serve: start() says so
                self._failure = exc
            finally:
                self.asgi.close()

    def serve_forever(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Serve until stopped (Ctrl-C in the CLI): the server's thread serves, this one waits.
        ``on_ready`` runs once the port answers."""
        self.start()
        on_ready()
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(0.5)  # with a timeout, so Ctrl-C reaches this thread at once

    def stop(self) -> None:
        """Stop serving: idle (kept-alive) connections close at once, requests in progress
        finish (``stop`` waits ``STOP_TIMEOUT`` seconds at most), and the port is free again."""
        self._release()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if thread.is_alive() and self._loop is not None:
            self.asgi.close_realtime()  # answers held open (the journal's stream) end now
            try:
                self._loop.call_soon_threadsafe(self._granian.stop)
            except RuntimeError:  # the loop has ended already
                pass
        thread.join(timeout=STOP_TIMEOUT)


def _bridge(app: Any) -> AsgiBridge:
    """``app`` (a Mock, or a WSGI app) behind the ASGI bridge; a mock's delay faults move
    its calls onto threads while armed."""
    mock = app if hasattr(app, "faults") and hasattr(app, "app") else \
        getattr(app, "extensions", {}).get("mockchats")  # the mock's Flask app knows its mock
    wsgi = app.app if mock is app else app
    if mock is None:
        return AsgiBridge(wsgi, body_limit=lambda _path: MAX_BODY_BYTES)
    return AsgiBridge(wsgi, body_limit=mock.body_limit, delaying=mock.faults.delaying, realtime=_realtime(mock))


def _realtime(mock: Any) -> tuple:
    """What a mock serves beside its WSGI app, on the event loop: the hubs, the journal's stream."""
    return tuple(handler for handler in (getattr(mock, "hub_server", None), getattr(mock, "journal_stream", None))
                 if handler is not None)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    if _has("uvloop"):
        import uvloop  # optional: present only where it was installed
        return uvloop.new_event_loop
    return asyncio.new_event_loop


def _answers(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=1).close()
    except OSError:
        return False
    return True


class GranianServer(_Addresses):
    """The mock on granian: one worker process, forked when serving starts, holds the state.

    One worker because the state is in this process's memory; ``in_worker`` runs first in
    the worker (logging threads do not survive a fork, so they start there).
    """

    def __init__(self, mock: Mock, host: str = "127.0.0.1", port: int = 8080,
                 in_worker: Callable[[], None] = lambda: None):
        if not hasattr(os, "fork"):
            raise OSError("a worker process needs fork(); serve with Server on this platform")
        self.host = host
        # granian takes an IP address only: resolve a name (localhost) here, once.
        family, *_, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        self._address = address[0]
        self.port = _bindable_port(family, self._address, port)
        self._mock = mock
        self._in_worker = in_worker

    def serve_forever(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Serve in the foreground until SIGINT or SIGTERM (granian stops the worker).

        ``on_ready`` runs, on another thread, once the worker accepts connections.
        """
        # granian (and the app's bridge) load when serving starts, not with the package.
        from granian import Granian
        from granian.constants import HTTPModes, Interfaces, Loops
        from granian.log import LogLevels

        bridge = AsgiBridge(self._mock.app, delaying=self._mock.faults.delaying,
                            body_limit=self._mock.body_limit, realtime=_realtime(self._mock))

        def load(_target: str):  # runs in the worker, just after the fork
            _end_with_parent()
            self._in_worker()
            return bridge

        # The worker binds the port itself, after the fork: watch for it from here.
        threading.Thread(target=self._announce_when_listening, args=(on_ready,), daemon=True).start()
        # The worker must inherit the built mock: fork, whatever the platform's default.
        multiprocessing.set_start_method("fork", force=True)
        # HTTP/1.1 only, as the real service's endpoint: a drop fault then cuts one exchange.
        Granian("mockchats", address=self._address, port=self.port, interface=Interfaces.ASGI,
                workers=1, http=HTTPModes.http1,
                loop=Loops.uvloop if _has("uvloop") else Loops.asyncio,  # uvloop: about 8% more
                log_level=LogLevels.warning, workers_kill_timeout=1).serve(target_loader=load)

    def _announce_when_listening(self, on_ready: Callable[[], None], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(self._address, self.port):
                on_ready()
                return
            time.sleep(0.005)

    def stop(self) -> None:
        """Nothing to do: serve_forever returns once granian has stopped its worker."""


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _bindable_port(family: int, address: str, port: int) -> int:
    """``port`` (or, for 0, one the OS picks), checked free now.

    granian binds with SO_REUSEPORT, so two mocks on one port would share it in silence
    and port 0 would give the worker a port nobody learns: a plain bind here refuses both.
    """
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((address, port))
        return probe.getsockname()[1]


def _reserve(family: int, address: str, port: int) -> socket.socket | None:
    """A socket bound to the port and not listening: while it is held, only a socket that
    shares the port (granian's, with SO_REUSEPORT) can bind it. None where ports cannot be shared."""
    if not hasattr(socket, "SO_REUSEPORT"):
        return None
    reservation = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Not SO_REUSEADDR: with it, a second such socket (another Server's check) could bind too.
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reservation.bind((address, port))
    except OSError:
        reservation.close()
        raise
    return reservation


def _end_with_parent() -> None:
    """Linux: have the kernel stop this (worker) process when its parent dies, even by
    SIGKILL, so no orphan keeps serving the port. Elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
