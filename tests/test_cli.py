"""`mockchats serve` as a partner runs it: a real process, a real port, real requests."""
from __future__ import annotations

import asyncio
import io
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from support import ServeProcess, check, operation_for

from mockchats.cli import LinesPerLoopTurn

HOST = {"Authorization": "Bearer host-token"}
ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mockchats", *args], capture_output=True,
                          text=True, timeout=30)


def test_serve_prints_base_url_and_users_then_serves_and_stops_cleanly():
    with ServeProcess() as served:
        response = requests.get(served.base_url + "/chats", headers=HOST, timeout=10)
        check(operation_for("GET", "/v1/chats"), response)
        assert response.status_code == 200
        assert response.json()["totalCount"] == 24
        root = served.base_url.removesuffix("/v1")
        page = requests.get(root + "/_mock/ui", timeout=10)
        code, out, err = served.stop()
    banner = "".join(served.banner) + out
    # The dashboard's line names the page, which the server serves.
    assert f"dashboard {root}/_mock/ui" in banner, banner
    assert page.status_code == 200 and "<title>mockchats dashboard</title>" in page.text
    for token, role in (("host-token", "Host"), ("alice-token", "Client"), ("bob-token", "Client")):
        assert any(token in line and role in line for line in banner.splitlines()), banner
    assert code == 0
    assert "mockchats stopped." in out
    assert "Traceback" not in err
    assert err.count('"GET /v1/chats" 200') == 1  # one access-log line per request


def test_messages_and_seed_add_the_same_generated_history_every_run():
    pages = []
    for _ in range(2):
        with ServeProcess("--messages", "30", "--seed", "7") as served:
            response = requests.get(served.base_url + "/chats", headers=HOST, timeout=10)
            served.stop()
        check(operation_for("GET", "/v1/chats"), response)  # the generated history conforms too
        pages.append(response.json())
    assert pages[0]["totalCount"] == 54
    assert pages[0] == pages[1]


def test_strict_auth_refuses_unknown_tokens():
    with ServeProcess("--auth", "strict") as served:
        response = requests.get(served.base_url + "/chats", timeout=10,
                                headers={"Authorization": "Bearer someone-else"})
        served.stop()
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_port_in_use_is_a_one_line_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], result.stderr


def test_a_missing_fixtures_file_is_a_one_line_error(tmp_path):
    result = run_cli("serve", "--fixtures", str(tmp_path / "nope.yaml"))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot read fixtures file" in lines[0], result.stderr


def test_an_invalid_fixtures_file_names_the_place(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sessions:\n- id: s\n  users:\n  - {id: u, name: U, role: Admin}\n")
    result = run_cli("serve", "--fixtures", str(bad))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "sessions[0].users[0].role" in lines[0], result.stderr


def test_own_fixtures_file_is_served(tmp_path):
    own = tmp_path / "own.json"
    own.write_text('{"sessions": [{"id": "s1", "users": [{"id": "u1", "name": "Zed", "role": "Host",'
                   ' "token": "zed-token"}], "messages": [{"chatId": "m1", "userId": "u1",'
                   ' "message": "hi", "createdAt": "2025-01-01T00:00:00Z"}]}]}')
    with ServeProcess("--fixtures", str(own), "--auth", "strict") as served:
        page = requests.get(served.base_url + "/chats", timeout=10,
                            headers={"Authorization": "Bearer zed-token"}).json()
        served.stop()
    assert page["totalCount"] == 1
    assert page["messages"][0]["user"] == {"id": "u1", "name": "Zed"}


def test_help_and_version():
    assert "--auth" in run_cli("serve", "--help").stdout
    assert "mockchats, version" in run_cli("--version").stdout


def test_help_shows_each_command_summary_whole_and_h_works_everywhere():
    from mockchats.cli import main

    script = str(Path(sys.executable).parent / "mockchats")  # the command as installed

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([script, *args], capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, COLUMNS="80"))

    listing = run("--help")
    assert listing.returncode == 0
    flat = " ".join(listing.stdout.split())
    assert set(main.commands) >= {"serve", "contract", "proxy", "fidelity"}
    for name, command in main.commands.items():
        summary = " ".join(command.help.split("\n\n")[0].split())
        assert f"{name} {summary}" in flat, name  # wrapped, never cut short
    assert run("-h").stdout == listing.stdout
    for name in main.commands:
        answer = run(name, "-h")
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.startswith(f"Usage: mockchats {name} "), answer.stdout
        assert "-h, --help" in answer.stdout


def test_fidelity_prints_the_fidelity_list():
    answer = run_cli("fidelity")
    assert answer.returncode == 0
    assert answer.stdout == (ROOT / "openapi" / "FIDELITY.md").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_serve_installs_only_what_serving_needs(tmp_path):
    venv = tmp_path / "venv"

    def planned(target: str) -> list[str]:
        dry_run = subprocess.run(["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True,
                                 text=True, timeout=30, check=True)
        return [line for line in dry_run.stdout.splitlines() if "pip install" in line]

    assert planned("serve")[-1].endswith(" install --quiet -e .")
    assert not any("[test]" in line for line in planned("serve"))
    assert planned("test")[-1].endswith(" install --quiet -e '.[test]'")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_checks_the_style_before_the_suite(tmp_path):
    dry_run = subprocess.run(["make", "-n", "test", f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True,
                             text=True, timeout=30, check=True).stdout.splitlines()
    ruff = next(i for i, line in enumerate(dry_run) if "ruff check mockchats tests bench" in line)
    assert ruff < next(i for i, line in enumerate(dry_run) if " -m pytest " in line)


class _Writes(io.StringIO):
    """A stream that remembers each write separately."""

    def __init__(self):
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


class _Broken:
    """stderr gone: every write and flush fails."""

    def __init__(self):
        self.attempts = 0

    def write(self, text: str) -> int:
        self.attempts += 1
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def _access_logger(stream) -> logging.Logger:
    handler = LinesPerLoopTurn(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.Logger("test-access", logging.INFO)  # not registered: no global state
    logger.addHandler(handler)
    return logger


def test_access_lines_logged_on_the_event_loop_are_written_together_on_its_next_turn():
    stream = _Writes()
    logger = _access_logger(stream)

    async def serve_requests():
        logger.info("first")
        logger.info("second")
        assert stream.writes == []  # held during this turn
        await asyncio.sleep(0)  # the loop turns
        assert stream.writes == ["first\nsecond\n"]
        logger.info("third")
        await asyncio.sleep(0)
        assert stream.writes == ["first\nsecond\n", "third\n"]  # one write per turn

    asyncio.run(serve_requests())


def test_access_lines_from_other_threads_are_written_at_once_after_what_is_held():
    stream = _Writes()
    logger = _access_logger(stream)

    async def serve_one_then_a_delayed_one():
        logger.info("on the loop")
        thread = threading.Thread(target=logger.info, args=("on a delay thread",))
        thread.start()
        thread.join()
        return stream.getvalue()

    assert asyncio.run(serve_one_then_a_delayed_one()) == "on the loop\non a delay thread\n"


def test_a_broken_stderr_loses_the_lines_but_never_fails_a_request_or_the_loop():
    stream = _Broken()
    logger = _access_logger(stream)

    async def serve_requests():
        for _turn in range(3):
            logger.info("a request")  # must not raise
            await asyncio.sleep(0)
        return stream.attempts

    assert asyncio.run(serve_requests()) == 3  # one attempt per turn, not a flush retried forever
    threading_attempt = threading.Thread(target=logger.info, args=("from a delay thread",))
    threading_attempt.start()
    threading_attempt.join()
    assert stream.attempts == 4


# -- serve's own usage errors ------------------------------------------------------------------
@pytest.mark.parametrize("token, problem", [
    ("", "it is empty"),
    ("   ", "it is blank"),
    (" padded", "it starts or ends with a blank, which an Authorization header loses"),
    ("padded\t", "it starts or ends with a blank, which an Authorization header loses"),
    ("a\tb", "it holds a control or non-ASCII character, which an Authorization header cannot carry"),
    ("a\x1bb", "it holds a control or non-ASCII character, which an Authorization header cannot carry"),
    ("sécret", "it holds a control or non-ASCII character, which an Authorization header cannot carry"),
])
def test_an_admin_token_no_client_could_send_is_a_usage_error(token, problem):
    result = run_cli("serve", "--port", "0", "--admin-token", token)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: --admin-token: {problem}; give printable ASCII, such as a long random word"]


def test_an_admin_token_with_inner_blanks_is_taken_and_required():
    with ServeProcess("--admin-token", "two words") as served:
        root = served.base_url.removesuffix("/v1")
        refused = requests.get(root + "/_mock/faults", timeout=10)
        allowed = requests.get(root + "/_mock/faults", timeout=10,
                               headers={"Authorization": "Bearer two words"})
        served.stop()
    assert (refused.status_code, allowed.status_code) == (401, 200)


@pytest.mark.parametrize("count", ["-1", "200001", "99999999999999999999"])
def test_messages_beyond_the_generate_cap_is_a_usage_error(count):
    result = run_cli("serve", "--port", "0", "--messages", count)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: --messages: {int(count):,} is out of range; give 0 to 200,000 (as a fixture's generate: messages)"]


def test_messages_before_year_one_is_a_one_line_error(tmp_path):
    own = tmp_path / "year-one.json"
    own.write_text('{"sessions": [{"id": "s", "users": [{"id": "u", "name": "A", "role": "Host",'
                   ' "token": "t"}], "messages": [{"chatId": "m", "userId": "u", "message": "hi",'
                   ' "createdAt": "0001-01-01T00:00:00Z"}]}]}')
    result = run_cli("serve", "--port", "0", "--fixtures", str(own), "--messages", "5")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {own}: sessions[0]: 5 generated messages (--messages), 5 s to 15 min apart before the "
        "oldest listed one (0001-01-01T00:00:00Z), would be older than 0001-01-01T00:00:00Z, the earliest instant"]
