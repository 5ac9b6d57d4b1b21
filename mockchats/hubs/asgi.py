"""The hubs over ASGI: negotiate, then WebSockets, Server-Sent Events or long polling.

What SignalR says and when is :mod:`.protocol`'s (no I/O); who is connected is
:mod:`.connections`'s. This module only moves bytes: it reads the token, asks the mock who it
names, keeps each connection's outbox (an :class:`asyncio.Queue` fed from any thread), writes
what the protocol says to write, and pings when nothing else was sent for the keep-alive
interval. It runs on the server's event loop; nothing here blocks.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl

from ..core.identity import CHALLENGE, Unauthenticated, bearer_token
from . import protocol
from .models import Closing, Connection, Hubs, Push
from .negotiate import (
    CANNOT_CHANGE_TRANSPORT,
    CONNECTION_ID_REQUIRED,
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
#: The Close error a connection whose session is gone gets right after its handshake.
SESSION_NOT_FOUND = "The session was not found."
#: The transports negotiate offers, in ASP.NET's order (Server-Sent Events and long polling next).
SERVED_TRANSPORTS = ("WebSockets",)
#: Seconds between two ticks (expiring what the mock's clock says is due) while connections are open.
TICK = 0.25
log = logging.getLogger("mockchats.hubs")

Scope = dict


class HubServer:
    """The mock's hubs under ``{base_path}/hubs/``: ``hubs`` names those served."""

    def __init__(self, connections: Hubs, authenticate: Authenticate, *, base_path: str = "/v1",
                 hubs: tuple[str, ...] = ("session",), now: Callable[[], datetime],
                 tick: Callable[[], object] = lambda: None, keep_alive: float = protocol.KEEP_ALIVE_INTERVAL):
        self.connections = connections
        self.authenticate = authenticate
        self.prefix = (base_path.rstrip("/") + "/hubs/").casefold()
        self.hubs = hubs
        self.now = now
        self.keep_alive = keep_alive
        #: Called every TICK seconds while a connection is open: the mock expires what is due,
        #: so a SessionExpired goes out when the clock passes the expiry, not at the next request.
        self.tick = tick
        self._ticker: asyncio.Task | None = None
        self._open = 0

    def handles(self, path: str) -> bool:
        """Whether ``path`` is under the hubs' prefix (in any letter case, as ASP.NET routes)."""
        return path[:len(self.prefix)].casefold() == self.prefix

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        rest = scope["path"][len(self.prefix):].strip("/").split("/")
        hub = rest[0].casefold()
        negotiating = len(rest) == 2 and rest[1].casefold() == "negotiate"
        if hub not in self.hubs or len(rest) > 2 or (len(rest) == 2 and not negotiating):
            if scope["type"] == "websocket":
                await _deny(send, scope, 404)
            else:
                await _http(send, 404)
            return
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, hub, pairs)
        elif negotiating:
            await self._negotiate(scope, send, hub, pairs)
        else:
            await self._transport_request(scope, send, hub, pairs)

    # -- negotiate ----------------------------------------------------------------
    async def _negotiate(self, scope: Scope, send: Callable, hub: str, pairs: list) -> None:
        if scope["method"] != "POST":
            await _http(send, 405, headers=[(b"allow", b"POST")])
            return
        try:
            who = self.authenticate(self._token(scope, pairs))
        except Unauthenticated as exc:
            await _http(send, 401, headers=[(b"www-authenticate", exc.challenge.encode("latin-1"))])
            return
        answer = negotiate(query_values(pairs, "negotiateVersion") or None,
                                       os.urandom(16), os.urandom(16))
        if "connectionId" in answer:
            # Only the transports served so far are offered: a client must not pick one that fails.
            answer["availableTransports"] = [t for t in answer["availableTransports"]
                                             if t["transport"] in SERVED_TRANSPORTS]
            key = answer.get("connectionToken", answer["connectionId"])
            self.connections.add(self._connection(answer["connectionId"], key, hub, who))
        await _json(send, 200, answer)

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

    async def _transport_request(self, scope: Scope, send: Callable, hub: str, pairs: list) -> None:
        """A request to the hub's URL that is not a WebSocket: Server-Sent Events and long polling
        are served in the next step; their URL answers as ASP.NET's does to what it cannot match."""
        ids = query_values(pairs, "id")
        if not ids or not ids[0]:
            await _http(send, 400, CONNECTION_ID_REQUIRED.encode())
            return
        connection = self.connections.get(ids[0])
        if connection is None or connection.hub != hub:
            await _http(send, 404, NO_CONNECTION_WITH_ID.encode())
            return
        if connection.transport == "WebSockets" and scope["method"] == "POST":
            await _http(send, 405, POST_NOT_ALLOWED_FOR_WEBSOCKETS.encode())
            return
        await _http(send, 400, CANNOT_CHANGE_TRANSPORT.encode())

    # -- WebSockets ----------------------------------------------------------------------
    async def _websocket(self, scope: Scope, receive: Callable, send: Callable, hub: str, pairs: list) -> None:
        if (await receive())["type"] != "websocket.connect":
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
            connection = self.connections.get(ids[0])
            if connection is None or connection.hub != hub:
                await _deny(send, scope, 404, NO_CONNECTION_WITH_ID.encode())
                return
            if connection.transport is not None:
                await _deny(send, scope, 409)
                return
        connection.transport = "WebSockets"
        await send({"type": "websocket.accept"})
        self._open += 1
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._ticking())
        try:
            await _WebSocketSession(self, connection, receive, send).run()
        finally:
            self._open -= 1

    async def _ticking(self) -> None:
        while self._open > 0:
            await asyncio.sleep(TICK)
            try:
                self.tick()
            except Exception:  # never the connections' failure
                log.exception("the hubs' tick failed")


class _WebSocketSession:
    """One accepted WebSocket: the handshake, then messages both ways until either side ends it.

    Two tasks on the event loop: one reads the client's frames, one writes; both speak through
    the connection's protocol state (:class:`protocol.HubConnection`), which only the loop touches.
    """

    def __init__(self, server: HubServer, connection: Connection, receive: Callable, send: Callable):
        self.server = server
        self.connection = connection
        self.receive = receive
        self.send = send
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.state = protocol.HubConnection(time.monotonic(), keep_alive_interval=server.keep_alive)

    def outbox(self, item: Push | Closing) -> None:
        """From any thread: queue an event or a Closing for this socket."""
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    async def run(self) -> None:
        reader = asyncio.ensure_future(self._read())
        try:
            await self._write(reader)
        finally:
            self.server.connections.remove(self.connection)
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    async def _read(self) -> None:
        """What the client sends, through the protocol; its answers go to the writer."""
        while True:
            message = await self.receive()
            if message["type"] == "websocket.disconnect":
                self.queue.put_nowait(None)
                return
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            was_open = self.state.open
            self.queue.put_nowait(self.state.receive(data, time.monotonic()))
            if self.state.open and not was_open:
                self._handshaken()

    def _handshaken(self) -> None:
        connection = self.connection
        if connection.doomed:
            self.queue.put_nowait(Closing(connection.doomed))
        else:
            connection.outbox = self.outbox  # from now on it is sent its session's events

    async def _write(self, reader: asyncio.Future) -> None:
        state = self.state
        while True:
            deadline = state.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = await asyncio.wait_for(self.queue.get(), timeout)
            except TimeoutError:
                item = state.poll(time.monotonic())
            if item is None:  # the client went away
                return
            now = time.monotonic()
            if isinstance(item, Push):
                item = state.event(item.target, item.argument, now=now)
            elif isinstance(item, Closing):
                item = state.drop() if item.drop else state.close(now, error=item.error,
                                                                  allow_reconnect=item.allow_reconnect)
            for text in item.send:
                await self.send({"type": "websocket.send", "text": text})
            if item.close or state.closed:
                await self._close(reader)
                return

    async def _close(self, reader: asyncio.Future) -> None:
        # granian: a close sent while a receive waits hangs until the client speaks; cancel it first.
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        with contextlib.suppress(BaseException):
            await self.send({"type": "websocket.close", "code": 1000})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _http(send: Callable, status: int, body: bytes = b"", headers: list | None = None) -> None:
    head = [(b"server", b"mockchats"), *(headers or [])]
    if body:
        head.append((b"content-type", b"text/plain"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Callable, status: int, document: dict) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"server", b"mockchats"), (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": protocol.dumps(document).encode()})


async def _deny(send: Callable, scope: Scope, status: int, body: bytes = b"", headers: list | None = None) -> None:
    """Refuse a WebSocket upgrade with an HTTP status (the denial-response extension), else close."""
    if "websocket.http.response" in scope.get("extensions", {}):
        head = [(b"server", b"mockchats"), *(headers or [])]
        await send({"type": "websocket.http.response.start", "status": status, "headers": head})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
