"""Serving the app on a production-grade WSGI server (waitress, multi-threaded).

``build`` assembles store and app from the command-line choices; ``Server`` binds
a port (the OS picks one for port 0) and serves until stopped, in the foreground
(``mockchats serve``) or in a background thread (tests, the pytest plugin).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from waitress.server import create_server

from . import fixtures
from .app import create_app
from .auth import OPEN
from .store import Store

#: Worker threads answering requests; the store's lock keeps their updates whole.
THREADS = 8


@dataclass
class Mock:
    """A ready-to-serve mock: its state and its WSGI app."""

    store: Store
    app: Flask
    auth: str


def build(fixtures_path: Path | str | None = None, *, seed: int = fixtures.DEFAULT_SEED,
          messages: int = 0, auth: str = OPEN) -> Mock:
    """Load the fixtures (the shipped defaults when None) and build the app over them."""
    store = Store(fixtures.load(fixtures_path, seed=seed, messages=messages))
    return Mock(store, create_app(store, auth=auth), auth)


class Server:
    """The app bound to a loopback (or any) address; ``port=0`` lets the OS pick."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 8080, threads: int = THREADS):
        # Binding happens here, so a port in use fails at once with OSError.
        self._server = create_server(app, host=host, port=port, threads=threads,
                                     ident="mockchats", clear_untrusted_proxy_headers=True)
        self.host = host
        self.port = self._server.effective_port
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL to configure in place of https://api.quicksync.me/v1."""
        return self.root_url + "/v1"

    def serve_forever(self) -> None:
        self._server.run()

    def start(self) -> "Server":
        """Serve in a daemon thread and return at once."""
        self._thread = threading.Thread(target=self._server.run, name="mockchats", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
