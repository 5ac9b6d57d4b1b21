"""``GET /_mock/requests/stream``: the request journal, live, as Server-Sent Events.

One journal entry per event (``id: <entry id>``, ``data: <the entry as GET /_mock/requests
gives it>``), from the moment the client connects; a client that reconnects with
``Last-Event-ID`` (as ``EventSource`` does) or asks ``?since=<id>`` first gets the entries after
that id still in the journal (the header wins over the query: it is the newer). It takes GET
/_mock/requests' filters but ``limit``. An ``epoch`` event names the journal first, and again
whenever it is cleared, so a reader can drop what it shows (:func:`_epoch_event`).

Served on the ASGI server's event loop beside the app (as the hubs are, :mod:`mockchats.hubs.asgi`):
the app is WSGI, and the bridge hands it whole answers only. The stream reads the journal
(:meth:`~mockchats.core.journal.Journal.since`) every ``POLL`` seconds rather than being told of each
entry: the partner's requests pay nothing for it. Its own request is not journaled.

Who may read it is the control plane's rule (``control.views.require_admin_token``): never a web
page of another site; only this machine without ``--admin-token``; with one, its bearer, which
may come as ``?access_token=`` here only, since a browser's ``EventSource`` sends no headers.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers

from .. import aspnet
from ..core.identity import bearer_token
from ..core.journal import Journal, QueryRefused, header_object, parse_query
from ..core.responses import CONTROL_PREFIX
from ..core.wording import quote
from .views import admin_refusal

log = logging.getLogger("mockchats.control")

#: Where the stream is served.
PATH = CONTROL_PREFIX + "/requests/stream"
#: How often (seconds) the stream looks for new entries.
POLL = 0.1
#: After this many seconds without an event, a comment line keeps proxies and clients from
#: taking the stream for dead.
KEEP_ALIVE = 15.0
#: What EventSource waits before reconnecting (ms), sent once at the start.
RETRY_MS = 1000
#: The query parameters of the stream's own, besides the journal's filters.
_OWN = ("access_token", "since")


class JournalStream:
    """The ASGI endpoint of ``GET /_mock/requests/stream`` (a realtime handler of the
    :class:`~mockchats.serving.asgi.AsgiBridge`).

    ``admin_token`` gives the mock's token now (None: none); ``operation_ids`` the operations a
    filter may name. :meth:`close` ends every open stream (the server is stopping).
    """

    def __init__(self, journal: Journal, *, admin_token: Callable[[], str | None],
                 operation_ids: Callable[[], Collection[str]], poll: float = POLL, keep_alive: float = KEEP_ALIVE):
        self.journal = journal
        self.admin_token = admin_token
        self.operation_ids = operation_ids
        self.poll = poll
        self.keep_alive = keep_alive
        self._closing: asyncio.Event | None = None
        #: How many streams are open now.
        self.open_answers = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def handles(self, path: str) -> bool:
        return path == PATH

    def close(self) -> None:
        """From any thread: end the open streams (each finishes its answer) and refuse new ones."""
        loop, closing = self._loop, self._closing
        if loop is not None and closing is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(closing.set)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})  # nothing here takes one
            return
        if self._closing is None or self._loop is not asyncio.get_running_loop():
            self._loop, self._closing = asyncio.get_running_loop(), asyncio.Event()
        # Read by name in any case, a repeated header's values joined as the journal joins them.
        headers = Headers(header_object(scope.get("headers", ())).items())
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, headers=[(b"allow", b"GET, HEAD")])
            return
        refusal = self._refusal(scope, headers, pairs)
        if refusal is not None:
            await refusal(send)
            return
        try:
            filters, after = self._query(pairs, headers)
        except QueryRefused as exc:
            await _problem(send, 400, exc.detail, exc.errors)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache, no-store"),
            (b"x-accel-buffering", b"no"), (b"server", b"mockchats")]})
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        self.open_answers += 1
        try:
            await self._stream(receive, send, filters, after)
        except Exception:  # the client is gone (a send failed): nothing left to answer
            log.debug("the journal stream ended", exc_info=True)
        finally:
            self.open_answers -= 1

    def _refusal(self, scope: dict, headers: Headers, pairs: list[tuple[str, str]]):
        """The control plane's rule (:func:`~mockchats.control.views.admin_refusal`) as an answer to
        send, or None when it passes; the token may also come as one ``?access_token=``."""
        host = headers.get("Host") or "{}:{}".format(*(scope.get("server") or ("localhost", 80)))
        given = [value for name, value in pairs if name == "access_token"]
        offered = [bearer_token(headers.get("Authorization")), *(given if len(given) == 1 else ())]
        refusal = admin_refusal(headers, scope.get("scheme", "http"), host, (scope.get("client") or ("", 0))[0],
                                self.admin_token(), offered)
        if refusal is None:
            return None
        status, detail = refusal
        if detail is None:
            return lambda send: _answer(send, 401, headers=[(b"www-authenticate", b"Bearer")])
        return lambda send: _problem(send, status, detail)

    def _query(self, pairs: list[tuple[str, str]], headers: Headers) -> tuple[dict, int]:
        """(the journal's filters, the id after which to start); QueryRefused as GET /_mock/requests'."""
        errors: dict[str, list[str]] = {}
        since = [value for name, value in pairs if name == "since"]
        resume = headers.get("Last-Event-ID")
        if len(since) > 1:
            errors["since"] = ["since is given more than once."]
        elif since or resume is not None:
            # Last-Event-ID wins: EventSource reconnects to the URL it was given (its first
            # since) and says in this header how far it got since.
            text = resume if resume is not None else since[0]
            if not text.isascii() or not text.isdigit():
                place = "since" if resume is None else "Last-Event-ID"
                errors[place] = [f"{quote(text)} is not an entry id (a whole number >= 0)."]
        filters: dict = {}
        try:
            filters = parse_query([(name, value) for name, value in pairs if name not in _OWN], self.operation_ids())
        except QueryRefused as exc:
            errors.update(exc.errors)
        if filters.get("limit") is not None:
            errors["limit"] = ["limit does not apply to a stream: it sends every entry from now (or from since)."]
        if errors:
            raise QueryRefused(" ".join(messages[0] for messages in errors.values()), errors)
        filters.pop("limit", None)
        if since or resume is not None:
            text = resume if resume is not None else since[0]
            return filters, int(text) if len(text) <= 18 else 10**18
        return filters, self.journal.last_id

    async def _stream(self, receive: Callable, send: Callable, filters: dict, after: int) -> None:
        closing = self._closing
        assert closing is not None
        left = asyncio.ensure_future(_until_disconnected(receive))
        ended = asyncio.ensure_future(closing.wait())
        try:
            # Written at once, so that the client (and any proxy) sees the stream open; then
            # which journal this is (an "epoch" event, again whenever it changes).
            epoch = self.journal.epoch
            await _body(send, f"retry: {RETRY_MS}\n\n".encode() + _epoch_event(epoch))
            quiet_since = time.monotonic()
            while not left.done() and not ended.done():
                news = b""
                if self.journal.epoch != epoch:  # cleared (a reset) since the last look
                    epoch = self.journal.epoch
                    news = _epoch_event(epoch)
                after, entries = self.journal.since(after, **filters)
                news += b"".join(b"id: %d\ndata: %s\n\n" % (entry["id"], aspnet.dumps(entry)) for entry in entries)
                if news:
                    await _body(send, news)
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= self.keep_alive:
                    await _body(send, b": keep-alive\n\n")
                    quiet_since = time.monotonic()
                await asyncio.wait((left, ended), timeout=self.poll)
            if not left.done():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            left.cancel()
            ended.cancel()


def _epoch_event(epoch: str) -> bytes:
    """The ``epoch`` event: the journal's :attr:`~mockchats.core.journal.Journal.epoch`. A reader
    that sees it change drops what it shows: the journal was cleared, or is another one (a
    restarted mock, whose ids start again at 1: read it again from ``since=0``)."""
    return b'event: epoch\ndata: {"epoch":"%s"}\n\n' % epoch.encode()


async def _body(send: Callable, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _answer(send: Callable, status: int, body: bytes = b"", headers: list | None = None,
                  content_type: bytes | None = None) -> None:
    head = [(b"server", b"mockchats"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    if content_type is not None:
        head.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def _problem(send: Callable, status: int, detail: str, errors: dict | None = None) -> None:
    """A refusal in the control plane's shape (problem+json, as ``control.views.refused``)."""
    await _answer(send, status, aspnet.dumps(aspnet.problem(status, detail=detail, errors=errors)),
                  content_type=aspnet.PROBLEM_JSON.encode())


async def _until_disconnected(receive: Callable) -> None:
    """Returns once the client has gone (``http.disconnect``)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
