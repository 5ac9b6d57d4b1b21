"""Real SignalR clients for the hub tests, each behind one small recorder so a test can be
parametrized over them.

- :class:`JsClient`: Microsoft's own client, ``@microsoft/signalr`` (pinned in package-lock.json),
  run by Node as ``tests/hubs/js/hub_client.mjs``; the one a partner's web or Node app uses.
- :class:`PySignalRClient`: ``pysignalr`` (asyncio), on an event loop in a thread of its own.
- :class:`SignalRCoreClient`: ``signalrcore`` (threads).

Each records what happens as dicts, in order, with a ``kind``: ``started`` (``connectionId``),
``event`` (``target``, ``args``), ``closed`` (``error``: the text, or None), ``error`` (the
connection could not start: ``message``), ``invoked`` (``result``) / ``invokeError``
(``message``), and for some clients ``reconnecting``, ``reconnected``, ``disconnected``.
:meth:`~_Recorder.wait_for` takes the first of a kind not taken yet (so waiting for ``closed``
and then for an ``event`` that came before it both work); :meth:`~_Recorder.events` lists the
events. All are context managers: leaving the block ends the client, whatever happened.

Use :func:`require_js_client` (or the ``js_client_missing`` reason) before starting a
:class:`JsClient`: outside CI a missing Node or ``node_modules`` skips, under ``CI=true`` it fails.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
HUB_CLIENT_JS = Path(__file__).resolve().parent / "js" / "hub_client.mjs"
SIGNALR_PACKAGE = ROOT / "node_modules" / "@microsoft" / "signalr" / "package.json"
DEFAULT_TIMEOUT = 10.0


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def js_client_missing() -> str | None:
    """Why the JavaScript client cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed (the JavaScript SignalR client runs on Node)"
    if not SIGNALR_PACKAGE.is_file():
        return (f"{SIGNALR_PACKAGE.parent.relative_to(ROOT)} is missing: "
                "run `npm ci` at the repository's root (make test does)")
    return None


def node_available() -> bool:
    """Node and the pinned ``@microsoft/signalr`` are both there."""
    return js_client_missing() is None


def require_js_client() -> None:
    """Skip the calling test when the JavaScript client cannot run; under CI, fail instead
    (.ci/run installs it, so its absence there is a broken build, not a reason to skip)."""
    import pytest

    reason = js_client_missing()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"the JavaScript SignalR client is required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


class _Recorder:
    """What a client saw, in order, and the waiting on it (thread-safe)."""

    name = "client"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._messages: list[dict[str, Any]] = []
        self._taken: set[int] = set()
        self._done = False  # nothing more will come (the client ended)

    def _emit(self, message: dict[str, Any]) -> None:
        with self._cond:
            self._messages.append(message)
            self._cond.notify_all()

    def _finish(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        """The client has ended: no more messages will come."""
        with self._cond:
            return self._done

    def messages(self) -> list[dict[str, Any]]:
        """Everything recorded so far, taken or not."""
        with self._cond:
            return list(self._messages)

    def events(self, target: str | None = None) -> list[dict[str, Any]]:
        """The events received so far (of one target if given), taken or not."""
        return [m for m in self.messages()
                if m.get("kind") == "event" and (target is None or m.get("target") == target)]

    def wait_for(self, kind: str, target: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The first message of ``kind`` (and ``target``, for events) not taken by an earlier
        wait; waits up to ``timeout`` seconds, and fails at once if the client has ended
        without one. The assertion shows everything received and the client's own log."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index, message in enumerate(self._messages):
                    if index in self._taken or message.get("kind") != kind:
                        continue
                    if target is not None and message.get("target") != target:
                        continue
                    self._taken.add(index)
                    return message
                remaining = deadline - time.monotonic()
                if self._done or remaining <= 0:
                    break
                self._cond.wait(remaining)
            seen = list(self._messages)
            ended = self._done
        wanted = kind + (f" {target!r}" if target else "")
        why = "the client ended without it" if ended else f"not within {timeout:g} s"
        lines = [f"{self.name}: no {wanted} ({why}). Received:"]
        lines += [f"  {json.dumps(m, default=str)}" for m in seen] or ["  (nothing)"]
        diagnostics = self._diagnostics()
        if diagnostics:
            lines += ["The client's log:", diagnostics]
        raise AssertionError("\n".join(lines))

    def wait_finished(self, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """Wait until the client has ended (takes no message); False if it has not in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def _closed(self) -> dict[str, Any] | None:
        return next((m for m in self.messages() if m.get("kind") == "closed"), None)

    def _diagnostics(self) -> str:
        return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - each client defines it
        raise NotImplementedError


class JsClient(_Recorder):
    """``@microsoft/signalr`` in a Node process (``tests/hubs/js/hub_client.mjs``).

    ``url`` is the hub's (``http://127.0.0.1:PORT/v1/hubs/session``). ``token`` goes through
    ``accessTokenFactory``: on Node the client sends it as ``Authorization: Bearer`` on negotiate
    and on the WebSocket upgrade, and as ``?access_token=`` on SSE (a browser also puts it in the
    WebSocket's query). ``transport``: ``websockets``, ``sse``, ``longpolling`` or ``auto`` (the
    client then tries the server's transports in the order negotiate lists them, negotiating again
    before each). ``skip_negotiation`` needs ``transport="websockets"``. ``auto_reconnect`` uses the
    client's delays (0, 2, 10, 30 s) unless ``reconnect_delays`` (ms) are given.
    ``server_timeout_ms`` / ``keep_alive_ms`` change the client's 30 s / 15 s. ``on``: the event
    targets to listen for (the client matches them case-insensitively). ``invoke``: a method to
    invoke once started, with ``invoke_args``.

    It negotiates with ``negotiateVersion=1`` and so uses the ``connectionToken`` as ``id``.
    ``started`` carries ``connectionId`` and ``transport`` (``WebSockets``,
    ``ServerSentEvents``, ``LongPolling``). ``error`` (could not start) carries the client's own
    ``message`` (``Failed to complete negotiation with the server: Error: Unauthorized: Status
    code '401'``), its ``errorType``/``name`` and, for an HTTP error, ``statusCode``. ``closed``
    has ``error`` None after a Close without error or a ``stop()``. With auto-reconnect, a Close
    with ``allowReconnect: true`` or a lost socket gives ``reconnecting`` then ``reconnected``
    (or ``closed`` once the delays run out). The script ends once the connection is closed.
    """

    name = "@microsoft/signalr"

    def __init__(self, url: str, *, token: str | None = None, transport: str = "auto",
                 skip_negotiation: bool = False, auto_reconnect: bool = False,
                 reconnect_delays: list[int] | None = None, on: tuple[str, ...] | list[str] = (),
                 invoke: str | None = None, invoke_args: list[Any] | None = None,
                 server_timeout_ms: int | None = None, keep_alive_ms: int | None = None,
                 node: str = "node") -> None:
        super().__init__()
        argv = [node, str(HUB_CLIENT_JS), url, "--transport", transport]
        if token is not None:
            argv += ["--token", token]
        if skip_negotiation:
            argv.append("--skip-negotiation")
        if auto_reconnect:
            argv.append("--auto-reconnect")
        if reconnect_delays is not None:
            argv += ["--reconnect-delays", ",".join(str(int(d)) for d in reconnect_delays)]
        if server_timeout_ms is not None:
            argv += ["--server-timeout", str(server_timeout_ms)]
        if keep_alive_ms is not None:
            argv += ["--keep-alive", str(keep_alive_ms)]
        for target in on:
            argv += ["--on", target]
        if invoke is not None:
            argv += ["--invoke", invoke, "--invoke-args", json.dumps(list(invoke_args or []))]
        self.argv = argv
        self._stderr: list[str] = []
        self._proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        self._readers = [threading.Thread(target=self._read_stdout, daemon=True, name="hub_client stdout"),
                         threading.Thread(target=self._read_stderr, daemon=True, name="hub_client stderr")]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                message = {"kind": "stdout", "line": line}  # not ours: kept, for the diagnostics
            self._emit(message)
        self._proc.wait()
        self._finish()

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()

    @property
    def stderr(self) -> str:
        return "\n".join(self._stderr)

    def _diagnostics(self) -> str:
        status = self._proc.poll()
        head = "(running)" if status is None else f"(exited {status})"
        return "  " + head + "\n" + "\n".join("  " + line for line in self._stderr[-40:])

    def send(self, command: str) -> None:
        """One command line to the script: ``stop``, ``invoke <Method> <json array>``,
        ``send <Method> <json array>``."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(command.rstrip("\n") + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise AssertionError(f"{self.name}: the client has ended, cannot send {command!r}\n"
                                 + self._diagnostics()) from exc

    def invoke(self, method: str, *args: Any) -> None:
        """Invoke ``method`` (with an invocationId); its answer comes as ``invoked`` or ``invokeError``."""
        self.send(f"invoke {method} {json.dumps(list(args))}")

    def send_message(self, method: str, *args: Any) -> None:
        """Send ``method`` without an invocationId (``connection.send``): nothing answers; ``sent``
        says the client sent it."""
        self.send(f"send {method} {json.dumps(list(args))}")

    def stop(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any] | None:
        """``connection.stop()`` (a Close message, then the socket closes): returns the ``closed``
        message, or None if the connection was not up."""
        if not self.finished:
            self.send("stop")
            if not self.wait_finished(timeout):
                raise AssertionError(f"{self.name}: still running {timeout:g} s after stop\n" + self._diagnostics())
        return self._closed()

    def close(self) -> None:
        """End the client whatever its state: stdin closes (the script then stops the connection),
        and the process is killed if it lingers."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for reader in self._readers:
            reader.join(timeout=5)
        self._finish()


class PySignalRClient(_Recorder):
    """``pysignalr`` (asyncio) on its own event loop in a thread; WebSockets only.

    ``token``: with ``token_via="headers"`` (the default) it goes in ``headers`` as
    ``Authorization: Bearer``, sent on negotiate and the upgrade. With ``token_via="factory"`` it
    goes to ``access_token_factory``, which pysignalr 1.3 calls only in its handshake, after
    negotiate and the upgrade have gone without it: against a hub that authenticates negotiate,
    the first connection fails (``error`` ``AuthorizationError``). ``options`` go to
    ``SignalRClient`` (``ping_interval``, ``signalr_ping_interval``, ``retry_count``...).

    What it does that the others do not:
    - It negotiates without ``negotiateVersion`` (version 0: the ``connectionId`` is the ``id``),
      and sends a JSON handshake with spaces, version 1. It sends a Ping every 15 s.
    - It has no stop: :meth:`stop` cancels its ``run()``, which closes the socket without a Close
      message.
    - A Close with ``error`` ends ``run()`` with ``ServerError(error)``: ``closed`` with that
      ``error``. A Close without ``error`` is ignored: when the socket then closes it reports
      ``disconnected`` (its on_close), opens a socket to the same ``?id=`` at once (no negotiate),
      and after the server's 404 for that id, ``disconnected`` again, a new negotiate (its URL
      still carries ``?id=<old id>``) and a new connection: ``started`` again, with a new
      ``connectionId``. It reconnects like this forever; only an error ends it.
    - Event targets are matched case-sensitively; unknown fields or message types 8/9 crash it.
    - ``error``: negotiate 401 raises ``AuthorizationError`` (its text is empty: ``message`` is
      the class name), another status ``ConnectionError(status)``.
    """

    name = "pysignalr"

    def __init__(self, url: str, *, token: str | None = None, token_via: str = "headers",
                 on: tuple[str, ...] | list[str] = (), headers: dict[str, str] | None = None,
                 **options: Any) -> None:
        super().__init__()
        if token_via not in ("headers", "factory"):
            raise ValueError("token_via is 'headers' or 'factory'")
        self._url = url
        self._token = token
        self._token_via = token_via
        self._targets = list(on)
        self._headers = dict(headers or {})
        self._options = options
        self._started = False
        self._client: Any = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="pysignalr client")
        self._thread.start()
        self._ready.wait(DEFAULT_TIMEOUT)

    def _run(self) -> None:
        # asyncio.run: the library's own tasks (websockets' keepalive) are cancelled and awaited
        # when run() ends, not left pending on a closed loop.
        try:
            asyncio.run(self._main())
        finally:
            self._finish()

    async def _main(self) -> None:
        from pysignalr.client import SignalRClient

        headers = dict(self._headers)
        kwargs: dict[str, Any] = dict(self._options)
        if self._token is not None:
            if self._token_via == "headers":
                headers["Authorization"] = f"Bearer {self._token}"
            else:
                token = self._token
                kwargs["access_token_factory"] = lambda: token
        client = SignalRClient(self._url, headers=headers, **kwargs)
        self._client = client
        self._loop = asyncio.get_running_loop()

        def handler(target: str):
            async def on_event(arguments: list[Any]) -> None:
                self._emit({"kind": "event", "target": target, "args": list(arguments)})
            return on_event

        for target in self._targets:
            client.on(target, handler(target))

        async def on_open() -> None:
            self._started = True
            self._emit({"kind": "started", "connectionId": _query_id(client._transport._url)})

        async def on_close() -> None:
            self._emit({"kind": "disconnected"})

        async def on_error(message: Any) -> None:
            self._emit({"kind": "invokeError", "message": message.error})

        client.on_open(on_open)
        client.on_close(on_close)
        client.on_error(on_error)
        self._task = asyncio.ensure_future(client.run())
        self._ready.set()
        try:
            await self._task
            self._emit({"kind": "closed", "error": None})
        except asyncio.CancelledError:
            self._emit({"kind": "closed", "error": None, "stopped": True})
        except Exception as exc:
            text = str(exc) or type(exc).__name__
            if self._started:
                self._emit({"kind": "closed", "error": text, "exception": type(exc).__name__})
            else:
                self._emit({"kind": "error", "message": text, "exception": type(exc).__name__})

    def invoke(self, method: str, *args: Any, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Invoke ``method`` with an invocationId; the answer comes as ``invoked`` or ``invokeError``."""
        async def on_completion(message: Any) -> None:
            if not message.error:
                self._emit({"kind": "invoked", "method": method, "result": message.result})

        future = asyncio.run_coroutine_threadsafe(
            self._client.send(method, list(args), on_invocation=on_completion), self._loop)
        future.result(timeout)

    def stop(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any] | None:
        """Cancel ``run()`` (pysignalr has no stop: the socket closes without a Close message);
        returns the ``closed`` message."""
        if self._task is not None and self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._task.cancel)
            except RuntimeError:  # the loop has just ended
                pass
        self._thread.join(timeout)
        return self._closed()

    def close(self) -> None:
        self.stop()


class SignalRCoreClient(_Recorder):
    """``signalrcore`` (threads): WebSockets by default, ``transport="sse"`` or ``"longpolling"``.

    ``token``: ``token_via="factory"`` (the default) passes ``options={"access_token_factory":
    ...}``, which it calls before negotiate and sends as ``Authorization: Bearer`` there and on
    the upgrade; ``token_via="headers"`` passes ``options={"headers": {"Authorization": ...}}``.
    ``skip_negotiation`` (WebSockets only) opens the socket with no ``id``. ``auto_reconnect``
    configures its "raw" reconnection (``reconnect_interval`` 1 s, 3 attempts), which is also
    what makes it ping. ``options`` are merged into ``with_url``'s options.

    What it does that the others do not:
    - It negotiates without ``negotiateVersion`` (version 0), and then handshakes with
      ``"version": 0``: the handshake's version is the negotiate version.
    - Its ``stop()`` drops the socket without a Close message (and, left to itself, blocks until the
      server next sends something: see :meth:`stop`).
    - It never pings unless auto-reconnect is on; a WebSocket ping frame is read as data.
    - A Close (with or without ``error``) disposes the transport: ``closed``. The library does
      not report the Close's ``error``: this wrapper reads it off the Close message it is handed
      and puts it in ``closed``'s ``error`` (and the whole Close in ``serverClose``); a socket
      dropped without a Close gives ``error`` None and no ``serverClose``.
    - It has SSE and long polling transports too; the harness's self-test exercises WebSockets only.
    - ``error`` (could not start): negotiate answers are read with urllib, so a 401 is
      ``HTTPError`` ``HTTP Error 401: Unauthorized``; a refused handshake ``SocketHandshakeError``.
    - Its upgrade request's ``Host`` header has no port. It never picks long polling on its own.
    """

    name = "signalrcore"

    def __init__(self, url: str, *, token: str | None = None, token_via: str = "factory",
                 transport: str = "websockets", skip_negotiation: bool = False, auto_reconnect: bool = False,
                 on: tuple[str, ...] | list[str] = (), headers: dict[str, str] | None = None,
                 options: dict[str, Any] | None = None) -> None:
        super().__init__()
        from signalrcore.hub_connection_builder import HubConnectionBuilder
        from signalrcore.messages.message_type import MessageType
        from signalrcore.types import HttpTransportType

        if token_via not in ("headers", "factory"):
            raise ValueError("token_via is 'headers' or 'factory'")
        transports = {"websockets": HttpTransportType.web_sockets,
                      "sse": HttpTransportType.server_sent_events,
                      "longpolling": HttpTransportType.long_polling}
        url_options: dict[str, Any] = {"transport": transports[transport]}
        all_headers = dict(headers or {})
        if token is not None:
            if token_via == "factory":
                url_options["access_token_factory"] = lambda: token
            else:
                all_headers["Authorization"] = f"Bearer {token}"
        if all_headers:
            url_options["headers"] = all_headers
        if skip_negotiation:
            url_options["skip_negotiation"] = True
        url_options.update(options or {})
        builder = HubConnectionBuilder().with_url(url, options=url_options)
        if auto_reconnect:
            builder = builder.with_automatic_reconnect(
                {"type": "raw", "keep_alive_interval": 15, "reconnect_interval": 1, "max_attempts": 3})
        self._auto_reconnect = auto_reconnect
        hub = builder.build()
        self._hub = hub
        self._server_close: dict[str, Any] | None = None

        # The library drops a Close's error; the hub hands the transport's messages to
        # hub.on_message, bound when start() runs, so a wrapper set here sees each Close first.
        library_on_message = hub.on_message

        def on_message(messages: list[Any]) -> Any:
            for message in messages:
                if message.type == MessageType.close:
                    self._server_close = {"error": message.error, "allowReconnect": message.allow_reconnect}
            return library_on_message(messages)

        hub.on_message = on_message

        def handler(target: str):
            return lambda arguments: self._emit({"kind": "event", "target": target, "args": list(arguments)})

        for target in on:
            hub.on(target, handler(target))
        hub.on_open(lambda: self._emit({"kind": "started", "connectionId": hub.transport.connection_id}))
        hub.on_reconnect(lambda: self._emit({"kind": "reconnected"}))
        hub.on_error(lambda message: self._emit({"kind": "invokeError",
                                                 "message": getattr(message, "error", str(message))}))
        hub.on_close(self._on_close)
        try:
            hub.start()
        except Exception as exc:
            self._emit({"kind": "error", "message": str(exc) or type(exc).__name__,
                        "exception": type(exc).__name__})
            self._finish()

    def _on_close(self) -> None:
        close = self._server_close
        message: dict[str, Any] = {"kind": "closed", "error": close["error"] if close else None}
        if close is not None:
            message["serverClose"] = close
        self._emit(message)
        self._finish()

    def invoke(self, method: str, *args: Any) -> None:
        """Invoke ``method`` with an invocationId; the answer comes as ``invoked`` or ``invokeError``."""
        self._hub.invoke(method, list(args), on_invocation=lambda message: self._emit(
            {"kind": "invoked", "method": method, "result": message.result}))

    def stop(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any] | None:
        """``stop()``: the socket drops, no Close message; returns the ``closed`` message.

        signalrcore's own stop() closes the socket under its receiving thread and then joins that
        thread, which stays blocked in recv() until the server sends something (a Ping, up to
        15 s later) or closes: the socket is shut down first, so the thread wakes and the
        connection ends at once, as the library means it to."""
        if not self.finished:
            sock = getattr(getattr(self._hub.transport, "_client", None), "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._hub.stop()
            self.wait_finished(timeout)
        return self._closed()

    def close(self) -> None:
        self.stop()
        self._finish()


def _query_id(url: str) -> str | None:
    ids = parse_qs(urlsplit(url).query).get("id")
    return ids[0] if ids else None


#: The three clients by name, for ``pytest.mark.parametrize``.
CLIENTS = {"js": JsClient, "pysignalr": PySignalRClient, "signalrcore": SignalRCoreClient}


class RawHub:
    """A raw SignalR connection to one hub, for the protocol's own cases: negotiate, a WebSocket
    (``websocket-client``), the JSON handshake, then messages read one by one."""

    RS = "\x1e"

    def __init__(self, root_url: str, token: str, *, hub: str = "session", version: int = 1,
                 handshake: bool = True) -> None:
        import requests
        import websocket

        self._closed_error = websocket.WebSocketConnectionClosedException
        answer = requests.post(f"{root_url}/v1/hubs/{hub}/negotiate?negotiateVersion={version}",
                               headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        self.negotiated: dict[str, Any] = answer.json()
        key = self.negotiated.get("connectionToken", self.negotiated["connectionId"])
        url = root_url.replace("http://", "ws://") + f"/v1/hubs/{hub}?id={key}"
        self.socket = websocket.create_connection(url, header=[f"Authorization: Bearer {token}"], timeout=5)
        self.pending: list[str] = []
        if handshake:
            self.send({"protocol": "json", "version": 1})
            assert self.next() == {}

    def send(self, message: dict[str, Any]) -> None:
        self.socket.send(json.dumps(message) + self.RS)

    def next(self) -> dict[str, Any] | None:
        """The next message, pings aside; None once the server has closed the socket."""
        while True:
            while not self.pending:
                try:
                    frame = self.socket.recv()
                except self._closed_error:
                    return None
                if frame == "":
                    return None
                assert frame.endswith(self.RS), frame  # never a message across frames
                self.pending += frame.split(self.RS)[:-1]
            message = json.loads(self.pending.pop(0))
            if message.get("type") != 6:
                return message

    def next_event(self) -> dict[str, Any]:
        """The next message, which must come before the connection closes."""
        message = self.next()
        assert message is not None, "the connection closed before the event came"
        return message

    def event(self) -> dict[str, Any]:
        """The next event's envelope, checked to be an invocation of its eventType, with no id."""
        message = self.next_event()
        assert message["type"] == 1 and "invocationId" not in message, message
        (argument,) = message["arguments"]
        assert list(argument) == ["sessionId", "eventType", "data"]
        assert argument["eventType"] == message["target"]
        return argument

    def close(self) -> None:
        self.socket.close()
