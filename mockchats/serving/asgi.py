"""The mock's WSGI app served to an ASGI server (granian: ``mockchats serve``'s worker process,
and the embedded server of :class:`mockchats.Server` in a thread of this one).

Why ASGI and not granian's own WSGI mode: that mode hands the app a decoded path (an
encoded slash in an id is lost before routing) and no client port (a fault cannot find
the connection to drop). ASGI's scope carries both the raw request target and the peer;
and ASGI carries WebSockets, which WSGI cannot.

Why the app is called on the event loop, one request at a time: its work is in-memory
Python under the GIL, where a pool of threads costs more in hand-overs than it gives
(about 0.4x the throughput with 8 threads). The one exception is a delay fault: while
one is armed, calls go to a thread pool, so a delayed request holds only itself. An app
that waits on the network (the contract proxy) asks for the pool always (``threads``).

Why the garbage collector is run between two requests (``keep_collections_short``): see there.
"""
from __future__ import annotations

import asyncio
import gc
import io
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol
from wsgiref.types import WSGIApplication

import psutil

from ..core.journal import RAW_HEADERS
from ..core.pipeline import DROPPED, whole_answer

#: What an ASGI server gives an app: the connection's scope, and callables to read the request
#: and to answer it.
Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
SERVER_HEADER = (b"server", b"mockchats")
#: How much of an over-limit body is still read (and dropped) so its 413 arrives cleanly.
DRAIN_BYTES = 16 * 1024 * 1024
#: How long a client sending a refused body may pause before its connection is closed.
DRAIN_IDLE = 0.2
#: Threads that answer requests off the event loop (while a delay fault is armed, as many
#: delayed requests at once; with ``threads``, as many requests at once).
APP_THREADS = 8
#: Set (to anything but "" or "0") for `mockchats serve` to write one line per garbage
#: collection on stderr: its generation and how long it stopped the process (the bench reads them).
GC_LOG_ENV = "MOCKCHATS_GC_LOG"
#: Young collections after which the next pause between two requests collects and freezes.
REST_AFTER = 10
#: 0 until keep_collections_short(): then REST_AFTER.
_rest_after = 0


class Realtime(Protocol):
    """What serves the paths a WSGI app cannot: long-lived HTTP answers and WebSockets (the hubs)."""

    def handles(self, path: str) -> bool:
        """Whether ``path`` (the scope's, decoded) is this app's; called on every request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class AsgiBridge:
    """An ASGI application that serves ``app`` (WSGI) with the raw target and the peer.

    ``delaying`` says whether a delay fault is armed (then calls run on threads); with
    ``threads``, every call runs on the thread pool. ``body_limit`` is the app's largest body
    for a path (the app answers 413 past it). ``realtime`` (one handler or several), when given, serves the
    paths each handles and every WebSocket (the first's when none handles its path), on the event
    loop itself. :meth:`close_realtime` ends what they hold open (the server is stopping).
    """

    def __init__(self, app: WSGIApplication, *, body_limit: Callable[[str], int],
                 delaying: Callable[[], bool] = lambda: False, threads: bool = False,
                 realtime: Realtime | Sequence[Realtime] | None = None):
        self.app = app
        handlers = () if realtime is None else tuple(realtime) if isinstance(realtime, (list, tuple)) \
            else (realtime,)
        #: The realtime handlers, in the order they are asked.
        self.handlers: tuple[Realtime, ...] = handlers
        #: The first handler (the hubs'): every WebSocket no other handler claims goes to it.
        self.realtime = handlers[0] if handlers else None
        self.body_limit = body_limit
        self.delaying = delaying
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._on_threads = 0  # requests in the app on the delay threads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, self._end_realtime_on_signal, self._end_realtime)
            return
        if scope["type"] != "http":
            realtime = self._handler(scope["path"]) or self.realtime
            if realtime is not None and scope["type"] == "websocket":
                await realtime(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1000})  # nothing here takes one
            return
        realtime = self._handler(scope["path"])
        if realtime is not None:
            await realtime(scope, receive, send)
            # A burst of hub connections (each a negotiate) leaves young garbage too: collected
            # here in small steps, not in one long pause on the next REST request.
            if _rest_after and not self._on_threads:
                collect_at_rest()
            return
        environ, body_expected, declared = _environ(scope)
        body = await self._body(environ, body_expected, declared, receive, send)
        if body is None:
            return  # refused already
        environ["wsgi.input"] = io.BytesIO(body)
        environ["mockchats.drop_connection"] = lambda: drop_connection(scope.get("client"), scope.get("server"))
        if self.threads or self.delaying():
            if self._pool is None:
                self._pool = ThreadPoolExecutor(APP_THREADS, thread_name_prefix="mockchats-app")
            self._on_threads += 1
            try:
                answer = await asyncio.get_running_loop().run_in_executor(self._pool, self._call, environ)
            finally:
                self._on_threads -= 1
        else:
            answer = self._call(environ)
        if environ.get(DROPPED):
            return  # the connection is gone: nothing can be sent
        status, headers, data = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})
        if _rest_after and not self._on_threads:  # no request is half-way through the app now
            collect_at_rest()

    def _handler(self, path: str) -> Realtime | None:
        for handler in self.handlers:
            if handler.handles(path):
                return handler
        return None

    def close_realtime(self) -> None:
        """From any thread, as the server stops: each handler that holds answers open
        (a ``close`` method) ends them, so that the server need not wait for their clients."""
        for handler in self.handlers:
            close = getattr(handler, "close", None)
            if close is not None:
                close()

    def _end_realtime_on_signal(self) -> None:
        """At the server's start (``mockchats serve``'s worker, in its main thread): have the signal
        that stops the worker end the answers held open too. granian stops its worker gracefully,
        waiting for every connection to end before the shutdown the app hears (then killing it
        after a second): a stream that waited for that would stop ``serve`` for the whole second."""
        if threading.current_thread() is not threading.main_thread():
            return
        for number in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(number)
            if not callable(previous):
                continue  # SIG_DFL or SIG_IGN: granian is not handling it, so neither is this

            def chained(signum: int, frame: object, previous: Callable = previous) -> None:
                self.close_realtime()
                previous(signum, frame)
            # The event loop still hears the signal (the wakeup fd is written whatever the handler).
            signal.signal(number, chained)

    async def _end_realtime(self, within: float = 0.5) -> None:
        """At the server's shutdown (``mockchats serve``'s worker): end the answers held open, and
        give them ``within`` seconds to finish, so that granian need not wait for (then kill) them."""
        self.close_realtime()
        deadline = time.monotonic() + within
        while any(getattr(handler, "open_answers", 0) for handler in self.handlers) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def _body(self, environ: dict, body_expected: bool, declared: int | None, receive: Receive,
                    send: Send) -> bytes | None:
        """The request's body for the app; None once the request is answered here instead."""
        # The app says 413 past its limit: past it, the body is read and dropped (a little of
        # it) or not read at all (a declared length far over it).
        limit = self.body_limit(environ["PATH_INFO"])
        body = b""
        if body_expected and (declared is None or declared <= limit + DRAIN_BYTES):
            body = await read_body(receive, limit)
            if body is None:
                # The body did not arrive whole: its framing was malformed (a bad chunk size)
                # or the client stopped sending. Either way nothing is acted on; Kestrel says
                # an empty 400 and closes (left unanswered, granian would say 500).
                await refuse(send, 400)
                return None
            if declared is None:  # chunked: the length is what came
                environ["CONTENT_LENGTH"] = str(len(body))
        return body

    def close(self) -> None:
        """Let the threads go once the server has stopped (a held request still finishes)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def _call(self, environ: dict) -> tuple[int, list, bytes]:
        started: list = []

        def start_response(status: str, headers: list, exc_info: object = None) -> None:
            encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
            if not any(k.lower() == "server" for k, _ in headers):
                encoded.append(SERVER_HEADER)  # the mock names itself (granian would say granian)
            started[:] = [int(status[:3]), encoded]

        data = whole_answer(self.app, environ, start_response)
        return started[0], started[1], data


def keep_collections_short() -> None:
    """Keep Python's cyclic garbage collector from stopping the server for long (`mockchats serve`).

    A full collection walks every object the process holds, so its pause grows with the store
    (100,000 creates in process with the oldest generation collected ten times less often than
    Python's default: one of 460 ms, stopping every request). What start built is frozen here:
    the collector never walks it again. Nothing else ever reaches the oldest generation either
    (the AsgiBridge serving calls :func:`collect_at_rest` between requests):
    automatic collections keep to the youngest one (at most 700 new objects), and every
    ``REST_AFTER`` of them, the next moment between two requests collects the young generations
    and freezes what survives, which is live data then (a message, a journal entry), never a
    request half-way through the app.

    Frozen objects are still freed by reference counting (a reset frees the messages it drops);
    a reference cycle among them would not be, and neither the store nor a request makes one
    (tests/serving/test_collections.py).
    """
    global _rest_after
    gc.collect()
    gc.freeze()
    young, _, _ = gc.get_threshold()
    gc.set_threshold(young, _NEVER, _NEVER)
    _rest_after = REST_AFTER
    if os.environ.get(GC_LOG_ENV, "") not in ("", "0"):
        gc.callbacks.append(_log_collection)


_NEVER = 2**30  # a threshold no count reaches


def collect_at_rest() -> None:
    """Once ``REST_AFTER`` young collections have come, collect the young generations and
    freeze what survives. Only between two requests, on the thread that serves them."""
    if gc.get_count()[1] >= _rest_after:
        # Not a full one: it would untrack the caches' dicts (theirs are untracked keys and values),
        # and their next insertion would track each again as a young object, walked whole each time.
        gc.collect(1)
        gc.freeze()


_collection_started = [0.0]


def _log_collection(phase: str, info: dict) -> None:
    if phase == "start":
        _collection_started[0] = time.perf_counter()
        return
    pause_ms = (time.perf_counter() - _collection_started[0]) * 1000
    sys.stderr.write(f"gc: pid {os.getpid()} generation {info['generation']} paused {pause_ms:.3f} ms, "
                     f"{info['collected']} collected\n")


async def refuse(send: Send, status: int) -> None:
    """An empty answer that closes the connection, as Kestrel refuses a malformed request."""
    try:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", b"0"), (b"connection", b"close"), SERVER_HEADER]})
        await send({"type": "http.response.body", "body": b""})
    except Exception:  # the client is gone already: nobody is left to answer
        pass


async def drain(receive: Receive, idle: float = DRAIN_IDLE, most: int = DRAIN_BYTES) -> None:
    """After a refusal sent before the body was read: read and drop what the client still sends
    (at most ``most`` bytes, until it pauses for ``idle`` seconds), so that a client still
    sending reads the answer instead of a reset connection."""
    drained = 0
    while drained <= most:
        try:
            message = await asyncio.wait_for(receive(), idle)
        except Exception:  # a pause (TimeoutError), or a server that raises on a broken body
            return
        if message["type"] != "http.request":  # http.disconnect
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def read_body(receive: Receive, limit: int, extra: int = DRAIN_BYTES) -> bytes | None:
    """The whole body, or its first ``limit + 1`` bytes; None if it did not come whole
    (granian reports malformed framing as a disconnect, as it does a client that left).

    Past the limit the rest is read and dropped (up to ``extra`` bytes), so the client,
    still sending, gets its 413 instead of a reset connection.
    """
    parts, size = [], 0
    while True:
        try:
            message = await receive()
        except Exception:  # a server that raises on a broken body instead: the same case
            return None
        if message["type"] != "http.request":  # http.disconnect
            return None
        if size <= limit:
            parts.append(message.get("body", b""))
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > limit + extra:
            return b"".join(parts)[:limit + 1]


def _environ(scope: Scope) -> tuple[dict, bool, int | None]:
    """The WSGI environ of an ASGI http scope; whether a body follows; its declared length."""
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string", b"").decode("latin-1")
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    target = raw_path.decode("latin-1")
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": query,
        "REQUEST_URI": target + "?" + query if query else target,  # as sent: routing reads it
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        RAW_HEADERS: scope["headers"],  # the headers as sent, for the journal
    }
    body_expected, declared = False, None
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        if "_" in key:  # it would pass for its dashed twin (Content_Type): dropped, as nginx drops it
            continue
        key = key.upper().replace("-", "_")
        text = value.decode("latin-1")
        if key == "CONTENT_LENGTH":
            declared = int(text) if text.isdigit() else None
            body_expected = declared != 0
        elif key == "TRANSFER_ENCODING":  # the body is read whole here: the app sees a length
            body_expected = True
            continue
        elif key != "CONTENT_TYPE":
            key = "HTTP_" + key
        environ[key] = environ[key] + ", " + text if key in environ else text  # repeats as one value (RFC 9110)
    return environ, body_expected, declared


def drop_connection(client: tuple[str, int] | None, server: tuple[str, int] | None) -> None:
    """Shut down this process's TCP connection with ``client`` on ``server``'s port.

    The server owns the socket; a duplicate of its descriptor shuts the connection down
    for both, so the client sees it closed with no answer, as when a server falls over.
    """
    if not client or not server:
        raise RuntimeError("the server did not say which connection this request came on")
    peer, local_port = (client[0], int(client[1])), int(server[1])
    for connection in psutil.Process().net_connections(kind="tcp"):
        if connection.raddr and (connection.raddr.ip, connection.raddr.port) == peer \
                and connection.laddr.port == local_port and connection.fd >= 0:
            duplicate = socket.socket(fileno=os.dup(connection.fd))
            try:
                duplicate.shutdown(socket.SHUT_RDWR)
            finally:
                duplicate.close()
            return


async def _lifespan(receive: Receive, send: Send, on_startup: Callable[[], None],
                    on_shutdown: Callable[[], Awaitable[None]]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            on_startup()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
