"""Serving the mock: granian for ``mockchats serve``, waitress inside a test process.

``GranianServer`` is the fast one (see the benchmark): one worker process, forked from this
one so it holds the mock already built, serving it through :mod:`mockchats.serving.asgi`. It runs in
the foreground only. ``Server`` (waitress, multi-threaded) serves in a background thread too,
which the pytest plugin and the suite need, and is what ``--server waitress`` runs.
Both check the address when made, so a port in use fails at once with OSError (port 0: the OS
picks one).
"""
from __future__ import annotations

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
from typing import TYPE_CHECKING

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.receiver import ChunkedReceiver
from waitress.server import create_server
from waitress.task import WSGITask
from waitress.utilities import BadRequest

if TYPE_CHECKING:
    from ..app import Mock

#: Worker threads answering requests; the store's lock keeps their updates whole.
THREADS = 8
#: The servers ``mockchats serve`` can run, the default first.
SERVERS = ("granian", "waitress")


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


class _KeepAliveTask(WSGITask):
    """waitress closes the connection after any answer without a Content-Length; a 204 or 304
    has no body to delimit and may not carry one, so Kestrel keeps the connection: so do we."""

    def set_close_on_finish(self) -> None:
        keep = (not self.has_body and self.version == "1.1"
                and self.request.headers.get("CONNECTION", "").lower() != "close")
        if not keep:
            super().set_close_on_finish()


#: The largest chunk size taken: Kestrel reads it into a 32-bit int and refuses what overflows.
MAX_CHUNK_SIZE = 0x7FFFFFFF
#: The longest chunk-size line (size and extensions) held while waiting for its end.
MAX_CHUNK_LINE = 4096


class _ChunkedReceiver(ChunkedReceiver):
    """waitress's chunked decoder, with its chunk-size line bounded: unbounded, a size of
    thousands of hex digits makes it wait for more data than any body may hold."""

    def received(self, s: bytes) -> int:
        consumed = super().received(s)
        if not self.error and (self.chunk_remainder > MAX_CHUNK_SIZE
                               or len(self.control_line) > MAX_CHUNK_LINE):
            self.error = BadRequest("Bad chunk size data")
            self.all_chunks_received = True
        return consumed


class RequestParser(HTTPRequestParser):
    """waitress's parser, minus a crash and two hangs.

    - For a request that is complete without a body (an ``Expect: 100-continue`` with none,
      or one already refused) waitress still sends "100 Continue" and then waits for a body
      that never comes. Kestrel answers such a request.
    - A Content-Length of over 4300 digits makes its ``int()`` raise, and the connection
      closes unanswered; Kestrel says 400, as for any Content-Length it cannot read.
    - A chunk size too large to hold (see ``_ChunkedReceiver``) is a 400 too.
    """

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.completed:
            self.expect_continue = False
        return consumed

    def parse_header(self, header_plus: bytes) -> None:
        try:
            super().parse_header(header_plus)
        except ValueError:  # int() past its digit limit: only digits reach it
            raise ParsingError("Content-Length is invalid") from None
        if self.chunked:  # nothing has been fed to it yet
            self.body_rcv = _ChunkedReceiver(self.body_rcv.buf)


class KeepAliveChannel(HTTPChannel):
    """A connection as Kestrel keeps it: a client that ends its side with a body still owed
    gets a 400 (the body ended early), where waitress would close without a word."""

    task_class = _KeepAliveTask
    parser_class = RequestParser
    _reading = False
    _cut_short = None

    def recv(self, buffer_size: int) -> bytes:
        self._reading = True  # a close from in here is the client's end of stream
        try:
            return super().recv(buffer_size)
        finally:
            self._reading = False

    def handle_close(self) -> None:
        request = self.request
        if (self._reading and self.connected and request is not None and request.headers_finished
                and not request.completed and request.body_rcv is not None):
            self._cut_short = request  # answered in handle_read, once waitress has had its say
            return
        super().handle_close()

    def handle_read(self) -> None:
        super().handle_read()
        request, self._cut_short = self._cut_short, None
        if request is None:
            return
        self.connected = True  # waitress took the end of stream for a client gone: not yet
        request.error = BadRequest("Unexpected end of request content")
        request.completed = True
        request.expect_continue = False
        with self.requests_lock:
            self.request = None
            self.requests.append(request)
            if len(self.requests) == 1:  # else the task in progress starts it after itself
                self.server.add_task(self)
        # The error answer closes the connection once it is sent.


class Server(_Addresses):
    """The app on waitress, bound to a loopback (or any) address; ``port=0`` lets the OS pick."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 8080, threads: int = THREADS):
        # Binding happens here, so a port in use fails at once with OSError.
        self._server = create_server(self._with_connection_drop(app), host=host, port=port,
                                     threads=threads,
                                     ident="mockchats", clear_untrusted_proxy_headers=True)
        self._server.channel_class = KeepAliveChannel
        self.host = host
        self.port = self._server.effective_port
        self._thread: threading.Thread | None = None

    def serve_forever(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Serve in the calling thread until stopped (Ctrl-C in the CLI); ``on_ready`` runs
        first (the socket has listened since the server was made)."""
        on_ready()
        self._server.run()

    def start(self) -> Server:
        """Serve in a daemon thread and return at once."""
        self._thread = threading.Thread(target=self._server.run, name="mockchats", daemon=True)
        self._thread.start()
        return self

    def _with_connection_drop(self, app):
        """Give the app a way to drop the request's connection without answering (faults)."""
        def wsgi(environ, start_response):
            peer = (environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT"))
            environ["mockchats.drop_connection"] = lambda: self._drop(*peer)
            return app(environ, start_response)
        return wsgi

    def _drop(self, address: str, port: str) -> None:
        for channel in list(self._server._map.values()):  # waitress keeps its channels here
            peer = getattr(channel, "addr", None)
            if isinstance(peer, tuple) and peer[:2] == (address, int(port)):
                channel.socket.shutdown(socket.SHUT_RDWR)
                return

    def stop(self) -> None:
        """Stop serving: requests in progress finish; open (kept-alive) connections close."""
        if self._thread is None:
            self._server.close()
            return
        self._server.task_dispatcher.shutdown()  # in-flight requests finish first
        # Close every socket inside the loop's own thread, so it never selects on a closed
        # descriptor, and ends as soon as nothing is left to watch.
        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._server._map, ignore_all=True))
        self._thread.join(timeout=5)


class GranianServer(_Addresses):
    """The mock on granian: one worker process, forked when serving starts, holds the state.

    One worker because the state is in this process's memory; ``in_worker`` runs first in
    the worker (logging threads do not survive a fork, so they start there).
    """

    def __init__(self, mock: Mock, host: str = "127.0.0.1", port: int = 8080,
                 in_worker: Callable[[], None] = lambda: None):
        if not hasattr(os, "fork"):
            raise OSError("granian serving needs fork(); use --server waitress on this platform")
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

        from .asgi import AsgiBridge

        bridge = AsgiBridge(self._mock.app, delaying=self._mock.faults.delaying,
                            body_limit=self._mock.body_limit)

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
            try:
                socket.create_connection((self._address, self.port), timeout=1).close()
            except OSError:
                time.sleep(0.005)
                continue
            on_ready()
            return

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


def _end_with_parent() -> None:
    """Linux: have the kernel stop this (worker) process when its parent dies, even by
    SIGKILL, so no orphan keeps serving the port. Elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
