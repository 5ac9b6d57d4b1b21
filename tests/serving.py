"""Run ``mockchats serve`` as a real process and find the URL it prints; or serve in this
process, as the pytest plugin does."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import mockchats

#: The two ways the mock is served: ``mockchats serve`` (granian in a forked worker process)
#: and mockchats.Server in the test process (granian's embedded server), as the plugin serves.
SERVINGS = ["serve", "plugin"]

_BASE_URL = re.compile(r"base URL\s+(http://\S+/v1)")


class ServeProcess:
    """``mockchats serve`` in a child process; ``base_url`` is read from its banner."""

    def __init__(self, *args: str, command: list[str] | None = None, cwd=None, timeout: float = 20):
        command = command or [sys.executable, "-m", "mockchats", "serve"]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # A session of its own, so a failing test can stop the whole group (server and worker).
        self.process = subprocess.Popen([*command, "--port", "0", *args], cwd=cwd, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.banner: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.banner.append(line)
            match = _BASE_URL.search(line)
            if match:
                self.base_url = match.group(1)
            # Read the whole banner here: communicate() later bypasses this reader's buffer.
            if line.startswith("Press Ctrl-C") and hasattr(self, "base_url"):
                return
        self.process.kill()
        raise AssertionError(f"no base URL printed: {self.banner} {self.process.stderr.read()}")

    def stop(self) -> tuple[int, str, str]:
        """Ctrl-C, then (exit code, rest of stdout, stderr)."""
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=10)
        return self.process.returncode, out, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # stopped already, worker and all
            pass
        self.process.communicate()


def raw_exchange(host: str, port: int, data: bytes, end: bool = False, *,
                 timeout: float = 5) -> tuple[str, dict, bytes]:
    """Send raw bytes (then, if ``end``, end the sending side) and read until the server
    closes: (status line, headers lower-cased, body). Fails (socket.timeout) if the server
    keeps the connection waiting."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        if end:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}, body


@pytest.fixture(scope="module")
def granian():
    """``mockchats serve`` (granian) for a module's tests; it must stop cleanly."""
    with ServeProcess() as served:
        yield served
        code, _, err = served.stop()
    assert code == 0 and "Traceback" not in err, err


@contextmanager
def served_root(serving: str, host: str = "127.0.0.1") -> Iterator[str]:
    """The root URL of a default mock, served the ``serving`` way (one of ``SERVINGS``)."""
    if serving == "serve":
        with ServeProcess("--host", host) as served:
            yield served.base_url.removesuffix("/v1")
            code, _, err = served.stop()
        assert code == 0 and "Traceback" not in err, err
    else:
        server = mockchats.Server(mockchats.build(), host=host, port=0).start()
        try:
            yield server.root_url
        finally:
            server.stop()
