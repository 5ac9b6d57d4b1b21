"""Serving the app on a production-grade WSGI server (waitress, multi-threaded).

``Server`` binds a port (the OS picks one for port 0) and serves until stopped, in the foreground
(``mockchats serve``) or in a background thread (tests, the pytest plugin).
"""
from __future__ import annotations

import socket
import threading

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import WSGITask

#: Worker threads answering requests; the store's lock keeps their updates whole.
THREADS = 8


class _KeepAliveTask(WSGITask):
    """waitress closes the connection after any answer without a Content-Length; a 204 or 304
    has no body to delimit and may not carry one, so Kestrel keeps the connection: so do we."""

    def set_close_on_finish(self) -> None:
        keep = (not self.has_body and self.version == "1.1"
                and self.request.headers.get("CONNECTION", "").lower() != "close")
        if not keep:
            super().set_close_on_finish()


class _KeepAliveChannel(HTTPChannel):
    task_class = _KeepAliveTask


class Server:
    """The app bound to a loopback (or any) address; ``port=0`` lets the OS pick."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 8080, threads: int = THREADS):
        # Binding happens here, so a port in use fails at once with OSError.
        self._server = create_server(self._with_connection_drop(app), host=host, port=port,
                                     threads=threads,
                                     ident="mockchats", clear_untrusted_proxy_headers=True)
        self._server.channel_class = _KeepAliveChannel
        self.host = host
        self.port = self._server.effective_port
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        """The server's root, e.g. http://127.0.0.1:8080 (the control plane is under it)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL to configure in place of https://api.quicksync.me/v1."""
        return self.root_url + "/v1"

    def serve_forever(self) -> None:
        """Serve in the calling thread until stopped (Ctrl-C in the CLI)."""
        self._server.run()

    def start(self) -> "Server":
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
