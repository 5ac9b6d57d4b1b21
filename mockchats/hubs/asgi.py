"""The hubs over ASGI: negotiate, then WebSockets, Server-Sent Events or long polling.

What SignalR says and when is :mod:`.protocol`'s (no I/O); who is connected is
:mod:`.models`'s. This module only moves bytes: it reads the token, asks the mock who it
names, keeps each connection's outbox (an :class:`asyncio.Queue` fed from any thread), writes
what the protocol says to write, and pings when nothing else was sent for the keep-alive
interval. It runs on the server's event loop; nothing here blocks. An event for a session's
thousand connections crosses to the loop as one item, after the REST answer that caused it,
and is written to each waiting WebSocket in one go, with no task woken per connection.

One :class:`_Link` per connection drives its protocol state whatever carries it: a WebSocket
(frames both ways), Server-Sent Events (a streamed GET out, POSTs in) or long polling (GETs that
wait for what is due, POSTs in, a DELETE to leave). The requests answer as ASP.NET Core's
HttpConnectionDispatcher does, with its texts (:mod:`.negotiate`). Around them, as for the REST
API: CORS (:mod:`..core.cors`) and the injected faults matched by method and path.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl

from .. import aspnet
from ..core import cors as cors_rule
from ..core.faults import AFTER, BEFORE, Fault
from ..core.identity import CHALLENGE, Unauthenticated, bearer_token
from . import protocol
from .models import Closing, Connection, Hubs, Push, each_outbox
from .negotiate import (
    CANNOT_CHANGE_TRANSPORT,
    CONNECTION_ID_REQUIRED,
    DELETE_NOT_ALLOWED,
    NO_CONNECTION_WITH_ID,
    POST_NOT_ALLOWED_FOR_WEBSOCKETS,
    negotiate,
    new_connection_id,
    query_values,
)

#: Who a hub token names: (session id, user id, whether the session still holds that user);
#: Unauthenticated (the 401) for a token the mock does not know or that expired. A token whose
#: session or user is gone still connects, then gets a Close (as ASP.NET authenticates first).
Authenticate = Callable[[str], "tuple[str, str, bool]"]
#: The fault of this moment for a hub request, if one fires: (method, path as the scope has it,
#: ``before`` or ``after``) -> Fault or None. Only faults matched by method and path can fire:
#: a hub request has no operationId.
Strike = Callable[[str, str, str], "Fault | None"]
#: Shuts the TCP connection of an ASGI scope down with no answer (a ``drop`` fault).
DropConnection = Callable[[dict], None]
#: Told of the hubs' traffic: ``journal(hub=, action=, connection_id=, session_id=, user_id=,
#: transport=, detail={})``; ``action`` is ``negotiate`` (detail: status, version), ``connect``,
#: ``disconnect`` (reason), ``sent`` (target, argument) or ``received`` (the message).
Journal = Callable[..., None]

#: The Close error a connection whose session is gone gets right after its handshake.
SESSION_NOT_FOUND = "The session was not found."
#: The transports negotiate offers, in ASP.NET's order (the JavaScript client tries them in it).
SERVED_TRANSPORTS = ("WebSockets", "ServerSentEvents", "LongPolling")
#: LongPollingOptions.PollTimeout: a poll with nothing to say answers an empty 200 after it (seconds).
POLL_TIMEOUT = 90.0
#: HttpConnectionDispatcherOptions' DisconnectTimeout: a long-polling connection with no poll
#: for this long is over (its client went away without a DELETE).
DISCONNECT_TIMEOUT = 15.0
#: Seconds between two ticks (expiring what the mock's clock says is due) while connections are open.
TICK = 0.25
#: ASP.NET's no-cache headers on a long poll's answers (HttpConnectionDispatcher.AddNoCacheHeaders).
NO_CACHE = [(b"cache-control", b"no-cache, no-store"), (b"pragma", b"no-cache"),
            (b"expires", b"Thu, 01 Jan 1970 00:00:00 GMT")]
TEXT_PLAIN = b"text/plain"
log = logging.getLogger("mockchats.hubs")

Scope = dict


def _no_journal(**_entry: object) -> None:
    pass


class HubServer:
    """The mock's hubs under ``{base_path}/hubs/``: ``hubs`` names those served.

    ``cors`` says whether cross-origin requests are answered (the mock's switch, read on each
    request); ``strike`` finds the injected fault for a request; ``drop_connection`` carries out
    a ``drop`` fault; ``journal`` hears the traffic. ``poll_timeout`` and ``disconnect_timeout``
    are long polling's (seconds).
    """

    def __init__(self, connections: Hubs, authenticate: Authenticate, *, base_path: str = "/v1",
                 hubs: tuple[str, ...] = ("session",), now: Callable[[], datetime],
                 tick: Callable[[], object] = lambda: None, keep_alive: float = protocol.KEEP_ALIVE_INTERVAL,
                 poll_timeout: float = POLL_TIMEOUT, disconnect_timeout: float = DISCONNECT_TIMEOUT,
                 cors: Callable[[], bool] = lambda: False, strike: Strike | None = None,
                 drop_connection: DropConnection | None = None, journal: Journal = _no_journal):
        self.connections = connections
        self.authenticate = authenticate
        self.base_path = base_path.rstrip("/")
        self.prefix = (self.base_path + "/hubs/").casefold()
        self.hubs = hubs
        self.now = now
        self.keep_alive = keep_alive
        self.poll_timeout = poll_timeout
        self.disconnect_timeout = disconnect_timeout
        self.cors = cors
        self.strike = strike
        self.drop_connection = drop_connection
        self.journal = journal
        #: Called every TICK seconds while a connection is open: the mock expires what is due,
        #: so a SessionExpired goes out when the clock passes the expiry, not at the next request.
        self.tick = tick
        self._ticker: asyncio.Task | None = None
        self._open = 0
        #: The Server-Sent Events and long-polling connections by token, from their first request
        #: to their last answer (a closed long-polling connection still has its Close to hand over).
        self._links: dict[str, _Link] = {}
        #: Every connection past its handshake, by its model: whom an event is written to.
        self._live: dict[Connection, _Link] = {}
        #: What hands items to the loop the connections are served on (the latest one's).
        self._hand: _Hand | None = None
        # An event is handed to the loop once for all the connections it goes to, not once per connection.
        connections.fan_out = self._fan_out
        # The hubs sit under the Chats API's base path: CORS covers them whenever it is on.
        self._cors_roots = {base_path.strip("/").split("/", 1)[0].casefold()}

    def routes(self) -> list[str]:
        """The paths faults may name: each served hub's URL and its negotiate."""
        return [path for hub in self.hubs
                for path in (f"{self.base_path}/hubs/{hub}", f"{self.base_path}/hubs/{hub}/negotiate")]

    def handles(self, path: str) -> bool:
        """Whether ``path`` is under the hubs' prefix (in any letter case, as ASP.NET routes)."""
        return path[:len(self.prefix)].casefold() == self.prefix

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        rest = scope["path"][len(self.prefix):].strip("/").split("/")
        hub = rest[0].casefold()
        negotiating = len(rest) == 2 and rest[1].casefold() == "negotiate"
        known = hub in self.hubs and (len(rest) == 1 or negotiating)
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if scope["type"] == "websocket":
            if not known:
                await _deny(send, scope, 404)
            elif negotiating:  # negotiate takes a POST only
                await _deny(send, scope, 405)
            else:
                try:
                    await self._websocket(scope, receive, send, hub, pairs)
                except Exception:  # never a client's doing
                    log.exception("a hub WebSocket failed")
            return
        reply = _Reply(send, self._cors(scope))
        if reply.cors is not None and scope["method"] == "OPTIONS" \
                and _header(scope, b"access-control-request-method"):
            # A preflight is answered before anything else runs, as ASP.NET Core's CORS middleware does.
            await reply.preflight(_header(scope, b"access-control-request-method") or "",
                                  _header(scope, b"access-control-request-headers"))
            return
        if not known:
            await reply.whole(404)
            return
        try:
            if negotiating:
                await self._negotiate(scope, reply, hub, pairs)
            else:
                await self._transport_request(scope, receive, reply, hub, pairs)
        except Exception:  # never a client's doing; answered as Kestrel does, if not begun
            log.exception("a hub request failed")
            if not reply.started:
                with contextlib.suppress(Exception):
                    await reply.whole(500)

    def _cors(self, scope: Scope) -> list[tuple[bytes, bytes]] | None:
        origin = _header(scope, b"origin")
        if not origin or not self.cors() or not cors_rule.applies(scope["path"], self._cors_roots):
            return None
        return [(name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in cors_rule.allowed(origin)]

    # -- faults ----------------------------------------------------------------------
    async def _fault(self, scope: Scope, reply: _Reply | None, send: Callable, when: str) -> bool:
        """Carry out the fault that fires for this request now, if any: True when it answered
        (or dropped the connection) in the request's place."""
        if self.strike is None:
            return False
        method = "GET" if scope["type"] == "websocket" else scope["method"]
        fault = self.strike(method, scope["path"], when)
        if fault is None:
            return False
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)  # holds this request only
        if fault.drop:
            if self.drop_connection is None:
                raise RuntimeError("dropping a connection needs a mockchats server (mockchats.Server, "
                                   "or mockchats serve)")
            self.drop_connection(scope)
            return True
        if fault.status is None:
            return False
        status, body, content_type = _fault_answer(fault)
        headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in fault.headers.items()]
        if reply is None:  # a WebSocket upgrade: refused with the fault's answer
            if content_type:
                headers.append((b"content-type", content_type.encode("latin-1")))
            await _deny(send, scope, status, body, headers)
        else:
            await reply.whole(status, body, headers, content_type=content_type and content_type.encode("latin-1"))
        return True

    # -- negotiate ----------------------------------------------------------------
    async def _negotiate(self, scope: Scope, reply: _Reply, hub: str, pairs: list) -> None:
        if scope["method"] != "POST":
            await reply.whole(405, headers=[(b"allow", b"POST")], content_type=TEXT_PLAIN)
            return
        if await self._fault(scope, reply, reply.send, BEFORE):
            self._record(hub, "negotiate", None, detail={"status": reply.status})  # None: dropped
            return
        try:
            who = self.authenticate(self._token(scope, pairs))
        except Unauthenticated as exc:
            self._record(hub, "negotiate", None, detail={"status": 401})
            await reply.whole(401, headers=[(b"www-authenticate", exc.challenge.encode("latin-1"))])
            return
        answer = negotiate(query_values(pairs, "negotiateVersion") or None, os.urandom(16), os.urandom(16))
        connection = None
        if "connectionId" in answer:
            answer["availableTransports"] = [t for t in answer["availableTransports"]
                                             if t["transport"] in SERVED_TRANSPORTS]
            key = answer.get("connectionToken", answer["connectionId"])
            connection = self._connection(answer["connectionId"], key, hub, who)
            self.connections.add(connection)
        # An "after" fault: the connection was made, the client never hears of it.
        faulted = await self._fault(scope, reply, reply.send, AFTER)
        detail = {"status": reply.status, "version": answer.get("negotiateVersion")}
        if "error" in answer:
            detail["error"] = answer["error"]
        if not faulted:
            detail["status"] = 200
            await reply.json(200, answer)
        self._record(hub, "negotiate", connection, session_id=who[0], user_id=who[1], detail=detail)

    def _token(self, scope: Scope, pairs: list) -> str:
        """The bearer: the Authorization header, else ``access_token`` in the query (what
        browsers can send; JwtBearer's documented OnMessageReceived pattern for hubs)."""
        token = bearer_token(_header(scope, b"authorization"))
        if token is None:
            given = query_values(pairs, "access_token")
            token = given[0] if given and given[0] else None
        if token is None:
            raise Unauthenticated(CHALLENGE)
        return token

    def _connection(self, connection_id: str, key: str, hub: str, who: tuple[str, str, bool]) -> Connection:
        session_id, user_id, alive = who
        return Connection(connection_id, key, hub, session_id, user_id, self.now(),
                          doomed=None if alive else SESSION_NOT_FOUND)

    # -- the hub's URL over HTTP: Server-Sent Events, long polling, sends, DELETE -------------------
    async def _transport_request(self, scope: Scope, receive: Callable, reply: _Reply, hub: str,
                                 pairs: list) -> None:
        """As HttpConnectionDispatcher: POST sends, GET with ``Accept: text/event-stream`` is the
        event stream, another GET a poll, DELETE ends a long-polling connection."""
        method = scope["method"]
        if method not in ("GET", "POST", "DELETE", "CONNECT"):
            await reply.whole(405, content_type=TEXT_PLAIN)
            return
        streaming = method != "POST" and method != "DELETE" and _accepts_event_stream(scope)
        polling = method != "POST" and method != "DELETE" and not streaming
        if polling:
            reply.extra += NO_CACHE
        if await self._fault(scope, reply, reply.send, BEFORE):
            return
        ids = query_values(pairs, "id")
        if not ids or not ids[0]:
            await reply.whole(400, CONNECTION_ID_REQUIRED.encode(), content_type=TEXT_PLAIN)
            return
        connection, link = self._lookup(ids[0])
        if connection is None or connection.hub != hub:
            await reply.whole(404, NO_CONNECTION_WITH_ID.encode(), content_type=TEXT_PLAIN)
            return
        if method == "POST":
            await self._send(scope, receive, reply, connection, link)
        elif method == "DELETE":
            await self._delete(scope, reply, connection, link)
        elif streaming:
            await self._stream(receive, reply, connection, link)
        else:
            await self._poll(receive, reply, connection, link)

    def _lookup(self, token: str) -> tuple[Connection | None, _Link | None]:
        link = self._links.get(token)
        if link is None:
            return self.connections.get(token), None
        if not link.over and not link.closing and self.connections.get(token) is not link.connection:
            # The mock's world was replaced before this connection's handshake (Hubs.forget): gone.
            link.gone("the mock was reset")
            self._links.pop(token, None)
            return None, None
        return link.connection, link

    def _link(self, connection: Connection, link: _Link | None) -> _Link:
        if link is None:
            link = self._links[connection.token] = _Link(self, connection)
        return link

    async def _send(self, scope: Scope, receive: Callable, reply: _Reply, connection: Connection,
                    link: _Link | None) -> None:
        """``POST {hub}?id=``: the client's messages, ``0x1E``-framed, in the body."""
        if connection.transport == "WebSockets":
            await reply.whole(405, POST_NOT_ALLOWED_FOR_WEBSOCKETS.encode(), content_type=TEXT_PLAIN)
            return
        link = self._link(connection, link)
        if link.over:  # the connection has ended: its pipe takes nothing more
            await reply.whole(404, content_type=TEXT_PLAIN)
            return
        while True:  # fed as it comes: the protocol buffers a message cut across chunks
            message = await receive()
            if message["type"] != "http.request":  # the client left mid-body (Kestrel's IOException)
                await reply.whole(400, content_type=TEXT_PLAIN)
                return
            if message.get("body"):
                link.feed(message["body"])
            if not message.get("more_body", False):
                break
        if await self._fault(scope, reply, reply.send, AFTER):
            return
        await reply.whole(200, content_type=TEXT_PLAIN)

    async def _delete(self, scope: Scope, reply: _Reply, connection: Connection, link: _Link | None) -> None:
        """``DELETE {hub}?id=``: a long-polling client leaves; its waiting poll gets 204."""
        if connection.transport != "LongPolling" or link is None:
            await reply.whole(400, DELETE_NOT_ALLOWED.encode(), content_type=TEXT_PLAIN)
            return
        self._links.pop(connection.token, None)
        link.gone("closed by the client (DELETE)")
        if await self._fault(scope, reply, reply.send, AFTER):
            return
        await reply.whole(202, content_type=TEXT_PLAIN)

    async def _stream(self, receive: Callable, reply: _Reply, connection: Connection, link: _Link | None) -> None:
        """``GET {hub}?id=`` with ``Accept: text/event-stream``: everything the server sends, as
        events, on one long answer; it ends when the connection does."""
        if connection.transport not in (None, "ServerSentEvents"):
            await reply.whole(400, CANNOT_CHANGE_TRANSPORT.encode(), content_type=TEXT_PLAIN)
            return
        if connection.transport is not None:  # one stream per connection (TryActivatePersistentConnection)
            await reply.whole(409, content_type=TEXT_PLAIN)
            return
        connection.transport = "ServerSentEvents"
        link = self._link(connection, link)
        await reply.start(200, [(b"cache-control", b"no-cache,no-store"), (b"pragma", b"no-cache"),
                                (b"content-encoding", b"identity")],
                          content_type=protocol.SSE_CONTENT_TYPE.encode())
        # Written first so that proxies (and browsers' EventSource) see the stream open at once.
        await reply.body(protocol.SSE_PREAMBLE.encode(), more=True)
        link.start(_EventStream(reply))
        watcher = asyncio.ensure_future(_until_disconnected(receive))
        watcher.add_done_callback(lambda done: done.cancelled() or link.gone())
        try:
            await link.finished
        finally:
            watcher.cancel()
            if self._links.get(connection.token) is link:
                del self._links[connection.token]

    async def _poll(self, receive: Callable, reply: _Reply, connection: Connection, link: _Link | None) -> None:
        """``GET {hub}?id=&_=``: the first poll answers at once (the connection is up); each later
        one waits for what the server sends, or times out empty."""
        if connection.transport not in (None, "LongPolling"):
            await reply.whole(400, CANNOT_CHANGE_TRANSPORT.encode(), content_type=TEXT_PLAIN)
            return
        link = self._link(connection, link)
        if connection.transport is None:
            connection.transport = "LongPolling"
            # Long polling has an inherent keep-alive (its polls): ASP.NET neither pings over it nor
            # times its client out; a client gone is one that stops polling (disconnect_timeout).
            link.state.keep_alive_interval = math.inf
            link.state.client_timeout = math.inf
            link.start(_Polls(link))
            await reply.whole(200, content_type=protocol.LONG_POLL_CONTENT_TYPE.encode())
            link.polled()
            return
        polls = link.out
        assert isinstance(polls, _Polls)
        outcome, data = await polls.take(receive, self.poll_timeout)
        if outcome == _Polls.DATA:
            await reply.whole(200, data, content_type=protocol.LONG_POLL_CONTENT_TYPE.encode())
        elif outcome == _Polls.TIMED_OUT:
            await reply.whole(200, content_type=TEXT_PLAIN)
        elif outcome in (_Polls.SUPERSEDED, _Polls.OVER):
            # A poll that a newer one replaced gets 204, as ASP.NET's CancelPreviousPoll gives it
            # (its 409 for two polls at once is for a third racing in before the first is drained:
            # the JavaScript client never polls twice at once). 204 is also "the connection is over".
            if outcome == _Polls.OVER and self._links.get(connection.token) is link:
                del self._links[connection.token]
            await reply.whole(204, content_type=TEXT_PLAIN)
        # else the client went away: nobody to answer
        link.polled()

    # -- WebSockets ----------------------------------------------------------------------
    async def _websocket(self, scope: Scope, receive: Callable, send: Callable, hub: str, pairs: list) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if await self._fault(scope, None, send, BEFORE):
            return
        ids = query_values(pairs, "id")
        if not ids:  # skipNegotiation: the connection is made now, by the token on the upgrade
            try:
                who = self.authenticate(self._token(scope, pairs))
            except Unauthenticated as exc:
                await _deny(send, scope, 401, headers=[(b"www-authenticate", exc.challenge.encode("latin-1"))])
                return
            connection_id = new_connection_id(os.urandom(16))
            connection = self._connection(connection_id, connection_id, hub, who)
            self.connections.add(connection)
        else:
            connection, _ = self._lookup(ids[0])
            if connection is None or connection.hub != hub:
                await _deny(send, scope, 404, NO_CONNECTION_WITH_ID.encode())
                return
            if connection.transport == "WebSockets":
                await _deny(send, scope, 409)
                return
            if connection.transport is not None:
                await _deny(send, scope, 400, CANNOT_CHANGE_TRANSPORT.encode())
                return
        connection.transport = "WebSockets"
        await send({"type": "websocket.accept"})
        link = _Link(self, connection)
        out = _Socket(send)
        link.start(out)
        out.reader = asyncio.ensure_future(_read_socket(link, receive))
        try:
            await link.finished
        finally:
            out.reader.cancel()
            with contextlib.suppress(BaseException):
                await out.reader

    # -- shared ------------------------------------------------------------------------------
    def _hand_for(self, loop: asyncio.AbstractEventLoop) -> _Hand:
        if self._hand is None or self._hand.loop is not loop:
            self._hand = _Hand(loop)
        return self._hand

    def _fan_out(self, item: Push, connections: list[Connection]) -> None:
        """From any thread: one event for many connections, handed to the loop as one item
        (:attr:`Hubs.fan_out`)."""
        hand = self._hand
        if hand is None:  # nothing served yet
            each_outbox(item, connections)
            return
        hand.give(self._deliver, hand, item, connections, soon=True)  # the REST answer first

    def _deliver(self, hand: _Hand, item: Push, connections: list[Connection]) -> None:
        """On ``hand``'s loop: the event to each connection, in one go (see :meth:`_Link.take`)."""
        now = time.monotonic()
        live = self._live
        for connection in connections:
            link = live.get(connection)
            if link is not None and link.hand is hand:
                link.take(item, now)
            else:  # gone since, or served on another loop: through its own outbox
                connection.outbox(item)

    def _opened(self) -> None:
        self._open += 1
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._ticking())

    def _closed(self) -> None:
        self._open -= 1

    async def _ticking(self) -> None:
        while self._open > 0:
            await asyncio.sleep(TICK)
            try:
                self.tick()
            except Exception:  # never the connections' failure
                log.exception("the hubs' tick failed")

    def _record(self, hub: str, action: str, connection: Connection | None, *, session_id: str | None = None,
                user_id: str | None = None, detail: dict | None = None) -> None:
        """Tell the journal; its failure is never the connection's."""
        if connection is not None and connection.retired:
            return  # the old world's, heard after a reset: not the new journal's
        try:
            self.journal(hub=hub, action=action,
                         connection_id=connection.connection_id if connection else None,
                         session_id=connection.session_id if connection else session_id or None,
                         user_id=connection.user_id if connection else user_id or None,
                         transport=connection.transport if connection else None, detail=detail or {})
        except Exception:
            log.exception("the hubs' journal failed")


#: Queued by a connection's timer: something may be due (protocol.HubConnection.poll says what).
_WAKE = object()


class _Hand:
    """Hands work to one event loop from any thread, in the order it was given.

    On the loop's own thread (where the app answers, but for delay faults) the work is done at
    once, or at the loop's next turn when given ``soon``; from another thread it crosses with a
    thread-safe call (a write to the loop's pipe). While work is on its way, work given on the
    loop follows it, so the order the events were committed in holds. One per loop, shared by
    its connections: an event for a thousand of them crosses once, and a connection's Close
    still comes after its last event."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.thread = threading.get_ident()
        self._crossing = 0  # work given from another thread, not done yet
        self._lock = threading.Lock()

    def give(self, work: Callable[..., object], *args: object, soon: bool = False) -> None:
        """Do ``work(*args)`` on the loop; ``soon``: not before the loop's next turn (it may be long)."""
        with self._lock:
            on_loop = threading.get_ident() == self.thread
            now = on_loop and not self._crossing and not soon
            if not now:
                self._crossing += 1
        if now:
            work(*args)
        elif on_loop:
            self.loop.call_soon(self._arrive, work, args)
        else:
            self.loop.call_soon_threadsafe(self._arrive, work, args)

    def _arrive(self, work: Callable[..., object], args: tuple) -> None:
        with self._lock:
            self._crossing -= 1
        work(*args)  # on the loop: nothing given on it can come between


class _Gone:
    """In a link's queue: the client went away (or must be let go) without a Close."""

    def __init__(self, reason: str):
        self.reason = reason


class _Link:
    """One connection's protocol state and outbox, whatever transport carries it.

    What the client sends is fed in (:meth:`feed`: a WebSocket frame, a POST's body); what the
    server sends is queued (:meth:`outbox`, from any thread) and written by one task (:meth:`start`)
    through the transport's writer (``out``), which also ends the transport once the protocol says
    the connection is over. Only the event loop touches the state.
    """

    def __init__(self, server: HubServer, connection: Connection):
        self.server = server
        self.connection = connection
        self.loop = asyncio.get_running_loop()
        self.hand = server._hand_for(self.loop)
        self.queue: asyncio.Queue = asyncio.Queue()
        self.state = protocol.HubConnection(time.monotonic(), keep_alive_interval=server.keep_alive)
        self.out: _Socket | _EventStream | _Polls | None = None
        self.finished: asyncio.Future = self.loop.create_future()
        #: A Closing was queued: the server is ending the connection.
        self.closing = False
        #: The connection has ended (what it still had to say may wait for a poll).
        self.over = False
        #: The writer waits for its queue (with nothing in hand).
        self._waiting = False
        #: A send begun outside the writer (:meth:`take`), which the writer's next write follows.
        self._sending: asyncio.Future | None = None
        self._last_poll = time.monotonic()
        self._polling = 0

    def outbox(self, item: Push | Closing) -> None:
        """From any thread: an event or a Closing for this connection, handed to the loop in
        order (:class:`_Hand`)."""
        if isinstance(item, Closing):
            self.closing = True
        self.hand.give(self.take, item)

    def take(self, item: Push | Closing, now: float | None = None) -> None:
        """On the loop: queue ``item`` for the writer; but an event for a WebSocket whose writer
        waits with nothing in hand is written at once, with no task woken for it (a thousand
        connections would be a thousand tasks, their timers re-armed, per event)."""
        if self._waiting and type(item) is Push and isinstance(self.out, _Socket) and self.queue.empty() \
                and (self._sending is None or self._sending.done()):
            actions = self.state.push(item.message, time.monotonic() if now is None else now)
            for text in actions.send:  # the one message, the event (none once closed)
                self._sending = self.out.begin(text)
            return
        self.queue.put_nowait(item)

    def feed(self, data: str | bytes) -> None:
        """What the client sent, through the protocol; its answers go to the writer."""
        if self.over:
            return
        was_open = self.state.open
        actions = self.state.receive(data, time.monotonic())
        for message in actions.received:
            if message.get("type") != protocol.PING:
                self.server._record(self.connection.hub, "received", self.connection, detail={"message": message})
        self.queue.put_nowait(actions)
        if self.state.open and not was_open:
            if self.connection.doomed:
                self.queue.put_nowait(Closing(self.connection.doomed))
            else:
                self.server._live[self.connection] = self
                self.connection.outbox = self.outbox  # from now on it is sent its session's events

    def gone(self, reason: str = "the client went away") -> None:
        """On the loop: end the connection without a word (the client left, or must)."""
        if self.out is None:  # no transport yet: nothing runs to read the queue
            self._end(reason)
            return
        self.queue.put_nowait(_Gone(reason))

    def start(self, out: _Socket | _EventStream | _Polls) -> None:
        self.out = out
        self.server._opened()
        self.server._record(self.connection.hub, "connect", self.connection)
        asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        reason = "the server failed"
        try:
            reason = await self._write()
        except Exception:  # a failure of this connection's, not the server's
            log.exception("a hub connection failed")
        finally:
            self.server._closed()
            self._end(reason)

    def _end(self, reason: str) -> None:
        if self.over:
            return
        self.over = True
        self.server._live.pop(self.connection, None)
        self.server.connections.remove(self.connection)
        if self.out is not None:
            self.server._record(self.connection.hub, "disconnect", self.connection, detail={"reason": reason})
        if not self.finished.done():
            self.finished.set_result(reason)

    async def _write(self) -> str:
        """Until the connection ends: what is queued, turned into messages by the protocol and
        written; a Ping when the protocol says one is due. Returns why it ended."""
        state, out = self.state, self.out
        assert out is not None
        queue, loop = self.queue, self.loop
        while True:
            if queue.empty():
                # A timer that queues a wake-up rather than asyncio.wait_for, which makes a task per
                # wait: an event to a thousand connections would make a thousand.
                deadline = state.next_deadline()
                timer = None if deadline is None or math.isinf(deadline) else \
                    loop.call_later(max(0.0, deadline - time.monotonic()), queue.put_nowait, _WAKE)
                self._waiting = True
                try:
                    item = await queue.get()
                finally:
                    self._waiting = False
                if timer is not None:
                    timer.cancel()
            else:
                item = queue.get_nowait()
            if self._sending is not None:  # what take() began goes first, and must have gone
                sending, self._sending = self._sending, None
                try:
                    await sending
                except Exception:  # the socket is gone: ended by the _Gone branch below
                    item = _Gone("the client went away")
            if item is _WAKE:  # time alone: a Ping, or a timeout (a late wake-up finds nothing due)
                item = state.poll(time.monotonic())
            if isinstance(item, _Gone):
                state.drop(item.reason)
                await out.end(gone=True)
                return item.reason
            now = time.monotonic()
            if isinstance(item, Push):  # journaled once per event, by Hubs.send
                item = state.push(item.message, now)
            elif isinstance(item, Closing):
                item = state.drop() if item.drop else state.close(now, error=item.error,
                                                                  allow_reconnect=item.allow_reconnect)
            if item.send and not await out.write(item.send):
                state.drop("the client went away")
                await out.end(gone=True)
                return "the client went away"
            if item.close or state.closed:
                await out.end(gone=False)
                return item.reason or "closed"

    # -- long polling's liveness
    def polled(self) -> None:
        """A poll has ended: unless another comes within the disconnect timeout, the client is gone."""
        self._polling = max(0, self._polling - 1)
        self._last_poll = time.monotonic()
        self.loop.call_later(self.server.disconnect_timeout, self._check_alive)

    def polling(self) -> None:
        self._polling += 1

    def _check_alive(self) -> None:
        if self._polling or time.monotonic() - self._last_poll < self.server.disconnect_timeout * 0.99:
            return
        if self.server._links.get(self.connection.token) is self:
            del self.server._links[self.connection.token]
        if not self.over:
            self.gone(f"no poll for {self.server.disconnect_timeout:g} s")


# -- the transports' writers -----------------------------------------------------------------
class _Socket:
    """A WebSocket: one frame per message (never one message across frames)."""

    def __init__(self, send: Callable):
        self.send = send
        self.reader: asyncio.Future | None = None

    async def write(self, texts: tuple[str, ...]) -> bool:
        try:
            for text in texts:
                await self.send({"type": "websocket.send", "text": text})
        except Exception:  # the socket is gone
            return False
        return True

    def begin(self, text: str) -> asyncio.Future:
        """Send ``text`` without waiting: what to await for it to have gone (or failed).
        granian's ``send`` begins at once and returns a future; a server whose ``send`` is a
        coroutine gets a task to run it (whose failure, should nobody await it, is not reported
        as never retrieved)."""
        sending = self.send({"type": "websocket.send", "text": text})
        if asyncio.isfuture(sending):
            return sending
        task = asyncio.ensure_future(sending)
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return task

    async def end(self, gone: bool) -> None:
        if gone:
            return
        # granian: a close sent while a receive waits hangs until the client speaks; cancel it first.
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader
        with contextlib.suppress(BaseException):
            await self.send({"type": "websocket.close", "code": 1000})


async def _read_socket(link: _Link, receive: Callable) -> None:
    """What the client sends on its WebSocket, fed to the link until it disconnects."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            link.gone()
            return
        data = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        link.feed(data)


class _EventStream:
    """Server-Sent Events: each batch of messages one event (as ServerSentEventsServerTransport
    writes what it read at once), on an answer that ends with the connection."""

    def __init__(self, reply: _Reply):
        self.reply = reply

    async def write(self, texts: tuple[str, ...]) -> bool:
        try:
            await self.reply.body(protocol.sse_event("".join(texts)).encode(), more=True)
        except Exception:  # the client is gone
            return False
        return True

    async def end(self, gone: bool) -> None:
        if not gone:
            with contextlib.suppress(Exception):
                await self.reply.body(b"", more=False)


class _Polls:
    """Long polling: what the server sends waits here for the next poll to take it all."""

    DATA, TIMED_OUT, SUPERSEDED, OVER, LEFT = "data", "timed out", "superseded", "over", "left"

    def __init__(self, link: _Link):
        self.link = link
        self.pending: list[str] = []
        self.ended = False
        self._waiter: asyncio.Future | None = None

    def _wake(self, why: str) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(why)

    async def write(self, texts: tuple[str, ...]) -> bool:
        self.pending.extend(texts)
        self._wake(self.DATA)
        return True

    async def end(self, gone: bool) -> None:
        self.ended = True
        if gone:  # a DELETE, or a client that stopped polling: what was due is dropped
            self.pending.clear()
        self._wake(self.OVER)

    async def take(self, receive: Callable, timeout: float) -> tuple[str, bytes]:
        """One poll: (outcome, body). A newer poll makes a waiting one SUPERSEDED."""
        self._wake(self.SUPERSEDED)
        self.link.polling()
        if not self.pending and not self.ended:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            left = asyncio.ensure_future(_until_disconnected(receive))
            try:
                done, _ = await asyncio.wait({waiter, left}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                left.cancel()
                if self._waiter is waiter:
                    self._waiter = None
            if waiter.done() and waiter.result() == self.SUPERSEDED:
                return self.SUPERSEDED, b""
            if not waiter.done():
                return (self.LEFT if left in done else self.TIMED_OUT), b""
        if self.pending:
            body = "".join(self.pending).encode()
            self.pending.clear()
            return self.DATA, body
        return self.OVER, b""


async def _until_disconnected(receive: Callable) -> None:
    """Returns once the client has gone (``http.disconnect``): what tells a waiting answer its reader left."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if message["type"] == "http.request" and not message.get("more_body", False):
            continue


class _Reply:
    """One HTTP answer: the mock's Server header, and CORS's for a cross-origin request."""

    def __init__(self, send: Callable, cors: list[tuple[bytes, bytes]] | None):
        self.send = send
        self.cors = cors
        self.extra: list[tuple[bytes, bytes]] = []
        self.started = False
        self.status: int | None = None

    def _head(self, headers: list, content_type: bytes | None, preflight: bool = False) -> list:
        head = [(b"server", b"mockchats"), *self.extra, *headers]
        if content_type:
            head.append((b"content-type", content_type))
        if self.cors is not None:
            head += self.cors
            if not preflight:
                name, value = cors_rule.exposed()
                head.append((name.lower().encode(), value.encode()))
        return head

    async def start(self, status: int, headers: list | None = None, *, content_type: bytes | None = None,
                    preflight: bool = False) -> None:
        self.started, self.status = True, status
        await self.send({"type": "http.response.start", "status": status,
                         "headers": self._head(headers or [], content_type, preflight)})

    async def body(self, data: bytes, *, more: bool = False) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def whole(self, status: int, body: bytes = b"", headers: list | None = None, *,
                    content_type: bytes | None = None) -> None:
        if body and content_type is None:
            content_type = TEXT_PLAIN
        await self.start(status, headers, content_type=content_type)
        await self.body(body)

    async def json(self, status: int, document: dict) -> None:
        await self.whole(status, protocol.dumps(document).encode(), content_type=b"application/json")

    async def preflight(self, method: str, requested_headers: str | None) -> None:
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                   for k, v in cors_rule.preflight(method, requested_headers).items()]
        await self.start(204, headers, preflight=True)
        await self.body(b"")


def _fault_answer(fault: Fault) -> tuple[int, bytes, str | None]:
    """A fault's (status, body, content type), as the REST API's faults answer."""
    status = fault.status
    assert status is not None
    if fault.body is not None:
        return status, aspnet.dumps(fault.body), aspnet.JSON
    if status in (204, 304) or status < 200:
        return status, b"", None
    return status, aspnet.dumps(aspnet.problem(status)), aspnet.PROBLEM_JSON


def _accepts_event_stream(scope: Scope) -> bool:
    """Whether ``Accept`` lists ``text/event-stream`` (how ASP.NET tells Server-Sent Events from a poll)."""
    for key, value in scope.get("headers", ()):
        if key.lower() == b"accept":
            for item in value.decode("latin-1").split(","):
                if item.split(";", 1)[0].strip().lower() == protocol.SSE_CONTENT_TYPE:
                    return True
    return False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _deny(send: Callable, scope: Scope, status: int, body: bytes = b"", headers: list | None = None) -> None:
    """Refuse a WebSocket upgrade with an HTTP status (the denial-response extension), else close."""
    if "websocket.http.response" in scope.get("extensions", {}):
        head = [(b"server", b"mockchats"), *(headers or [])]
        if body and not any(k == b"content-type" for k, _ in head):
            head.append((b"content-type", TEXT_PLAIN))
        await send({"type": "websocket.http.response.start", "status": status, "headers": head})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
