"""A fleet of SignalR clients on the session hub of a running ``mockchats serve``, for the bench.

``python bench/hubs.py http://127.0.0.1:PORT --clients 1000 --events 20`` connects that many
WebSocket clients to the default session's hub as its Host would (negotiate, then the WebSocket
with ``Authorization: Bearer host-token``, the JSON handshake, a ping every 15 s as the official
clients send), then makes REST changes that publish a session event, one at a time: a wallet
token for a fresh address from the control plane (``POST /_mock/wallet-tokens``, untimed), that
wallet's join (``POST /v1/session/join``: a ``UserAdded`` at every client), then its leave
(``POST /v1/session/disconnect``: a ``UserRemoved``), so the session never fills up. The delay
of each event at each client runs from just before the REST call to the moment the client's
frame is read (one clock: this process makes the calls and reads the frames).

It prints one JSON line once the figures are in (``"ready"``), keeps the connections open, and
when a line (or the end) comes on its stdin checks they are all still open, closes them and
prints a second line (``"done"``). The bench runs the REST load between the two.

Clients and trigger share one asyncio loop and one core: the delays include this process
reading up to ``--clients`` frames per event (the spread from the first to the last client is
given too, so the server's part and this reader's part can be told apart). So that this
reader's part stays small, each client is a plain WebSocket client on an asyncio protocol
(RFC 6455 written out: the upgrade, masked frames out, frames parsed as they come in), not a
WebSocket library with a reader task per connection: reading an event at a thousand clients
through ``websockets`` cost this process about 55 ms of CPU, as much as the server's part.
Each message is still read whole: the frame's text, split on the record separator, each
message parsed as JSON, the event known by its target and the address in its argument.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import resource
import select
import struct
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

RS = "\x1e"
HANDSHAKE = json.dumps({"protocol": "json", "version": 1}) + RS
PING = json.dumps({"type": 6}) + RS
DEFAULT_SESSION = "d352dac2-a8a5-4498-942e-2de41966f3d3"
#: What the official clients send: a ping after 15 s without sending (KeepAliveInterval).
PING_EVERY = 15.0
#: Connections opened at once (each is a negotiate, then a WebSocket upgrade).
OPENING_AT_ONCE = 32
#: Seconds an event may take to reach every client before it counts as missing.
EVENT_TIMEOUT = 15.0
#: File descriptors beyond the connections (the interpreter, logs, the REST calls).
SPARE_FILES = 256
#: RFC 6455's GUID, from which the server's Sec-WebSocket-Accept is made.
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING_FRAME, PONG = 0x1, 0x8, 0x9, 0xA


def raise_open_files(connections: int) -> tuple[int, int]:
    """The soft RLIMIT_NOFILE raised (up to the hard limit) to hold ``connections`` sockets;
    children inherit it, so call it before starting the server. The (soft, hard) limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft, hard


class FleetProcess:
    """This script run as a child of the bench: started, its first line awaited (the fleet is
    connected and the delays measured), held open while the bench loads REST, then stopped."""

    def __init__(self, root: str, clients: int, events: int, log: Path, timeout: float = 600):
        self.log = log
        with open(log, "ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), root, "--clients", str(clients),
                 "--events", str(events)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        #: What the fleet measured before the load: see ``run``'s first line.
        self.ready = self._line(timeout)

    def _line(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            readable, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if readable:
                line = self.process.stdout.readline()
                if line:
                    return json.loads(line)
            if not readable or self.process.poll() is not None:
                self.kill()
                tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
                raise RuntimeError(f"the hub fleet ended or hung (exit {self.process.returncode}): {' | '.join(tail)}")

    def stop(self, timeout: float = 120) -> dict:
        """Tell it to close its connections: whether they were all still open."""
        self.process.stdin.write(b"\n")
        self.process.stdin.close()
        done = self._line(timeout)
        self.process.wait(timeout=timeout)
        return done

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def percentiles(samples: list[float]) -> dict | None:
    """p50, p99 (nearest rank) and max; None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    n = len(ordered)
    return {"p50": ordered[(n - 1) // 2], "p99": ordered[max(0, -(-n * 99 // 100) - 1)],
            "max": ordered[-1], "n": n}


def frame(opcode: int, payload: bytes) -> bytes:
    """A client's frame: final, masked (RFC 6455 5.3)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes((0x80 | opcode,)) + (bytes((0x80 | n,)) if n < 126 else
                                      struct.pack("!BH", 0x80 | 126, n) if n < 65536 else
                                      struct.pack("!BQ", 0x80 | 127, n))
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return head + mask + masked


class HubClient(asyncio.Protocol):
    """One client connection: the WebSocket upgrade, then frames. What the server sends is
    parsed where it arrives (``data_received``), and the time of its arrival taken there, before
    anything of it is looked at: a frame's delay is not that of the frames read before it."""

    def __init__(self, fleet: Fleet, key: bytes):
        self.fleet = fleet
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.upgraded: asyncio.Future = asyncio.get_running_loop().create_future()
        self.handshaken: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.open = False  # upgraded, and neither side has closed
        self._head = b""  # the upgrade's answer, until its blank line
        self._buffer = bytearray()
        self._fragments: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send_text(self, text: str) -> None:
        if self.open:
            self.transport.write(frame(TEXT, text.encode()))

    def close(self) -> None:
        if self.open:
            self.open = False
            self.transport.write(frame(CLOSE, struct.pack("!H", 1000)))

    def _ended(self) -> bool:
        """The connection ended by the server (or lost): no longer open, and the fleet told,
        once. Whether it was open until now."""
        if not self.open:
            return False
        self.open = False
        self.fleet.ended()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended()
        for waiter in (self.upgraded, self.handshaken):
            if not waiter.done():
                waiter.set_exception(ConnectionError("the server closed the connection"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()  # the delay ends when the bytes came in
        if not self.upgraded.done():
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self._head[:end], self._head[end + 4:]
            self._head = b""
            self._upgrade(head)
            if not data:
                return
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            n, at = second & 0x7F, 2
            if n == 126:
                if len(buffer) < 4:
                    return
                n, at = struct.unpack_from("!H", buffer, 2)[0], 4
            elif n == 127:
                if len(buffer) < 10:
                    return
                n, at = struct.unpack_from("!Q", buffer, 2)[0], 10
            if second & 0x80:  # a server never masks
                self.transport.abort()
                return
            if len(buffer) < at + n:
                return
            payload = bytes(buffer[at:at + n])
            del buffer[:at + n]
            self._frame(first & 0x80, first & 0x0F, payload, now)

    def _upgrade(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        accept = base64.b64encode(hashlib.sha1(self.key + WS_GUID).digest()).decode()
        if lines[0].split(" ")[1:2] != ["101"] or headers.get("sec-websocket-accept") != accept:
            self.upgraded.set_exception(RuntimeError(f"the upgrade was answered {lines[0]!r}"))
            self.transport.close()
            return
        self.open = True
        self.upgraded.set_result(None)

    def _frame(self, final: int, opcode: int, payload: bytes, now: float) -> None:
        if opcode == PING_FRAME:
            self.transport.write(frame(PONG, payload))
        elif opcode == CLOSE:
            if self._ended():  # the server's: answered, then the server closes the socket
                self.transport.write(frame(CLOSE, payload[:2]))
            if not self.closed.done():
                self.closed.set_result(None)
        elif opcode in (TEXT, 0x0):
            self._fragments.append(payload)
            if final:
                text = b"".join(self._fragments).decode()
                self._fragments.clear()
                self._text(text, now)

    def _text(self, text: str, now: float) -> None:
        if not self.handshaken.done():
            if text == "{}" + RS:
                self.handshaken.set_result(None)
            else:
                self.handshaken.set_exception(RuntimeError(f"handshake answered {text!r}"))
            return
        for part in text.split(RS)[:-1]:
            message = json.loads(part)
            kind = message.get("type")
            if kind == 6:
                self.fleet.pings_heard += 1
            elif kind == 1:
                argument = message["arguments"][0]
                self.fleet.arrived((message["target"], argument["data"].get("address")), now)
            elif kind == 7:  # a Close: the server ends the connection
                self._ended()


class Fleet:
    """The clients, their reader tasks, and when each event reached each of them."""

    def __init__(self, root: str, token: str):
        self.root, self.token = root, token
        self.where = urlsplit(root)
        self.clients: list[HubClient] = []
        #: (target, address) -> perf_counter at each client that read it
        self.arrivals: dict[tuple[str, str], list[float]] = {}
        self.waiting: dict[tuple[str, str], asyncio.Event] = {}
        self.pings_heard = 0
        self.closed_early = 0
        self.stopping = False

    async def open(self, http: aiohttp.ClientSession, count: int) -> None:
        gate = asyncio.Semaphore(OPENING_AT_ONCE)

        async def one() -> HubClient:
            async with gate:
                return await asyncio.wait_for(self._connect(http), 60)

        self.clients = list(await asyncio.gather(*(one() for _ in range(count))))

    async def _connect(self, http: aiohttp.ClientSession) -> HubClient:
        auth = f"Bearer {self.token}"
        async with http.post(f"{self.root}/v1/hubs/session/negotiate?negotiateVersion=1",
                             headers={"Authorization": auth}) as answer:
            if answer.status != 200:
                raise RuntimeError(f"negotiate: {answer.status} {await answer.text()}")
            token = (await answer.json())["connectionToken"]
        # As the official clients connect: no compression offered, no WebSocket-level pings.
        key = base64.b64encode(os.urandom(16))
        host, port = self.where.hostname, self.where.port or 80
        _, client = await asyncio.get_running_loop().create_connection(lambda: HubClient(self, key), host, port)
        client.transport.write(
            f"GET {self.where.path.rstrip('/')}/v1/hubs/session?id={token} HTTP/1.1\r\n"
            f"Host: {self.where.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: {auth}\r\n\r\n".encode())
        await client.upgraded
        client.send_text(HANDSHAKE)
        await client.handshaken
        return client

    def ended(self) -> None:
        """A client's connection was ended (by the server, unless the fleet is stopping)."""
        if not self.stopping:
            self.closed_early += 1

    def arrived(self, key: tuple[str, str], now: float) -> None:
        times = self.arrivals.setdefault(key, [])
        times.append(now)
        if len(times) == len(self.clients) and key in self.waiting:
            self.waiting[key].set()

    async def ping(self) -> None:
        """A ping from each client every PING_EVERY seconds, as the official clients send them,
        each on its own timer: spread over the interval (clients that connect at different
        times ping at different times), not all 1,000 at once."""
        batches = 150
        while True:
            for batch in range(batches):
                await asyncio.sleep(PING_EVERY / batches)
                for client in self.clients[batch::batches]:
                    client.send_text(PING)

    async def event(self, key: tuple[str, str], call) -> dict:
        """Run ``call`` (the REST change) and wait for ``key`` at every client: the delays."""
        done = self.waiting[key] = asyncio.Event()
        cpu = time.process_time()
        started = time.perf_counter()
        status = await call()
        answered = time.perf_counter()
        try:
            await asyncio.wait_for(done.wait(), EVENT_TIMEOUT)
        except TimeoutError:
            pass
        cpu = time.process_time() - cpu
        del self.waiting[key]
        times = self.arrivals.pop(key, [])
        delays = [(t - started) * 1000 for t in times]
        return {"status": status, "rest_ms": (answered - started) * 1000, "delays": delays,
                "missing": len(self.clients) - len(times), "fleet_cpu_ms": cpu * 1000}

    async def close(self) -> int:
        """Close every client; how many were still open."""
        self.stopping = True
        still_open = sum(1 for client in self.clients if client.open)
        for client in self.clients:
            client.close()
        # The server answers each Close and closes its socket; what has not within 10 s is cut.
        await asyncio.wait([c.closed for c in self.clients], timeout=10)
        for client in self.clients:
            client.transport.close()
        return still_open


async def join_and_leave(fleet: Fleet, http: aiohttp.ClientSession, session_id: str, pause: float) -> list[dict]:
    """A fresh wallet joins ``session_id``, then leaves it: the figures of its two events."""
    address = "0x" + os.urandom(20).hex()
    async with http.post(f"{fleet.root}/_mock/wallet-tokens", json={"address": address}) as answer:
        if answer.status != 201:
            raise RuntimeError(f"wallet token: {answer.status} {await answer.text()}")
        wallet = (await answer.json())["token"]
    joined: dict = {}

    async def join() -> int:
        async with http.post(f"{fleet.root}/v1/session/join", json={"sessionId": session_id},
                             headers={"Authorization": f"Bearer {wallet}"}) as answer:
            joined.update(await answer.json())
            return answer.status

    async def leave() -> int:
        async with http.post(f"{fleet.root}/v1/session/disconnect",
                             headers={"Authorization": f"Bearer {joined['credentials']['token']}"}) as answer:
            await answer.read()
            return answer.status

    out = []
    for target, call in (("UserAdded", join), ("UserRemoved", leave)):
        figures = await fleet.event((target, address), call)
        if figures["status"] >= 300:
            raise RuntimeError(f"{target}: the REST call answered {figures['status']}")
        out.append(figures)
        await asyncio.sleep(pause)  # one event at a time, the sockets quiet again
    return out


async def changes(fleet: Fleet, http: aiohttp.ClientSession, count: int, session_id: str, pause: float) -> dict:
    """``count`` joins and leaves of fresh wallets, one at a time: their events' delays."""
    found: dict = {"added_ms": [], "removed_ms": [], "spread_ms": [], "rest_ms": [], "fleet_cpu_ms": [], "missing": 0}
    for _ in range(count):
        for into, figures in zip(("added_ms", "removed_ms"), await join_and_leave(fleet, http, session_id, pause)):
            found[into] += figures["delays"]
            found["missing"] += figures["missing"]
            found["rest_ms"].append(figures["rest_ms"])
            found["fleet_cpu_ms"].append(figures["fleet_cpu_ms"])
            if figures["delays"]:
                found["spread_ms"].append(max(figures["delays"]) - min(figures["delays"]))
    return found


def emit(document: dict) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


async def run(args: argparse.Namespace) -> None:
    raise_open_files(args.clients)
    fleet = Fleet(args.root.rstrip("/"), args.token)
    connector = aiohttp.TCPConnector(limit=OPENING_AT_ONCE)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await fleet.open(http, args.clients)
        connect_s = time.perf_counter() - started
        pinger = asyncio.create_task(fleet.ping())
        await asyncio.sleep(args.pause)
        figures = await changes(fleet, http, args.events, args.session, args.pause)
        emit({"ready": True, "clients": len(fleet.clients), "connect_s": connect_s, **figures,
              "closed_early": fleet.closed_early})
        # Held open until told (a line or the end of stdin), answering nothing but pings.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        pinger.cancel()
        closed_early = fleet.closed_early
        still_open = await fleet.close()
        emit({"done": True, "still_open": still_open, "closed_early": closed_early,
              "pings_heard": fleet.pings_heard})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the server's root URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20, help="joins (each followed by its leave)")
    parser.add_argument("--session", default=DEFAULT_SESSION)
    parser.add_argument("--token", default="host-token", help="the session token the clients connect with")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between two changes")
    args = parser.parse_args(argv)
    try:  # the loop `mockchats serve` runs on (a dependency of mockchats): cheaper I/O callbacks
        import uvloop
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
