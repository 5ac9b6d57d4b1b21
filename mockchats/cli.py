"""The ``mockchats`` command line."""
from __future__ import annotations

import asyncio
import atexit
import json
import logging
import logging.handlers
import os
import queue
import signal
import sys
from types import FrameType
from typing import Any, TextIO
from urllib.parse import urlsplit

import click

from . import __version__, worlds
from .app import DEMO_API_KEY, StartupError, build
from .chats.auth import AUTH_MODES, OPEN
from .contract.proxy import DEFAULT_MAX_BODY_BYTES
from .control.views import dns_host_reason, is_loopback_host
from .core.journal import DEFAULT_SIZE
from .core.resources import data_path
from .serving.asgi import keep_collections_short
from .serving.server import GranianServer, Server

#: ``-h`` as well as ``--help``, on the group and on every command.
HELP_OPTIONS = ["-h", "--help"]


class _Command(click.Command):
    """A command that takes ``-h``, and whose summary in ``mockchats --help`` is whole:
    click cuts it to about 45 characters, mid-sentence ("Check a server (real, staging, or a
    mock) against..."); the help formatter wraps a long one instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["context_settings"] = {"help_option_names": HELP_OPTIONS, **(kwargs.get("context_settings") or {})}
        super().__init__(*args, **kwargs)

    def get_short_help_str(self, limit: int = 45) -> str:
        text = self.short_help or (self.help or "").split("\n\n")[0]
        return " ".join(text.split())


class _Group(click.Group):
    command_class = _Command


@click.group(cls=_Group, context_settings={"help_option_names": HELP_OPTIONS})
@click.version_option(__version__, prog_name="mockchats")
def main() -> None:
    """A stateful, spec-faithful mock of the QuickSync Chats API."""


class _UsageLine(click.ClickException):
    """A usage error told in one line (exit 2, as click's own), without the usage text."""

    exit_code = 2


def _fixtures_path(_context: click.Context, _parameter: click.Parameter, value: str | None) -> str | None:
    """``--fixtures`` as given; the file itself is checked when it is read (a regular file,
    at most the state limit). A NUL cannot be in a path: os.stat would raise, not refuse."""
    if value is not None and "\x00" in value:
        raise _UsageLine("--fixtures: a path cannot hold a NUL character")
    return value


def _generated_messages(_context: click.Context, _parameter: click.Parameter, value: int) -> int:
    """``--messages``: as many as a fixture's ``generate`` may ask for, no more."""
    if not 0 <= value <= worlds.MAX_GENERATED_MESSAGES:
        raise _UsageLine(f"--messages: {value:,} is out of range; give 0 to "
                         f"{worlds.MAX_GENERATED_MESSAGES:,} (as a fixture's generate: messages)")
    return value


def _admin_token(_context: click.Context, _parameter: click.Parameter, value: str | None) -> str | None:
    """``--admin-token``: a token a client can send. Blank, or with blanks at its ends, or with a
    control or non-ASCII character, no Authorization header could carry it (servers trim a
    header's blanks, and headers are ASCII): every control call would then be refused."""
    if value is None:
        return None
    if not value.strip():
        problem = "it is empty" if not value else "it is blank"
    elif value != value.strip():
        problem = "it starts or ends with a blank, which an Authorization header loses"
    elif any(not " " <= ch <= "~" for ch in value):
        problem = "it holds a control or non-ASCII character, which an Authorization header cannot carry"
    else:
        return value
    raise _UsageLine(f"--admin-token: {problem}; give printable ASCII, such as a long random word")


def _api_keys(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    for key in value:
        if not key.strip() or key != key.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
            raise click.BadParameter(f"{key!r} is not an API key: non-empty text without blanks at "
                                     "either end or control characters", param_hint="--api-key")
    return value


def _server_option(_context: click.Context, _parameter: click.Parameter, value: str | None) -> None:
    """``--server``: deprecated, and gone next release. ``granian`` is what serve runs anyway;
    ``waitress`` is no longer there (it could not carry WebSockets)."""
    if value is None:
        return
    if value != "granian":
        raise _UsageLine(f"--server {value}: mockchats serves on granian only now (waitress is gone); "
                         "leave the option out")
    click.echo("note: --server granian is the only server and the default; the option goes in the "
               "next release", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--fixtures", "fixtures_path", metavar="PATH", callback=_fixtures_path,
              help="Fixture file (YAML or JSON) to load instead of the shipped defaults.")
@click.option("--seed", default=worlds.DEFAULT_SEED, show_default=True, type=int,
              help="Seed for generated data: the same seed gives the same data.")
@click.option("--messages", default=0, show_default=True, type=int, callback=_generated_messages,
              help=f"Generated messages to add to the default session "
                   f"(at most {worlds.MAX_GENERATED_MESSAGES:,}).")
@click.option("--auth", type=click.Choice(AUTH_MODES), default=OPEN, show_default=True,
              help="open: unknown well-formed tokens join the default session as Clients; "
                   "strict: only fixture tokens are accepted.")
@click.option("--journal-size", default=DEFAULT_SIZE, show_default=True, type=click.IntRange(1),
              help="How many requests the journal (GET /_mock/requests) keeps.")
@click.option("--admin-token", default=None, metavar="TOKEN", callback=_admin_token,
              help="Require 'Authorization: Bearer TOKEN' on every /_mock call.")
@click.option("--server", "server_name", default=None, hidden=True, expose_value=False, callback=_server_option,
              help="Deprecated: granian, the only server, is the default.")
@click.option("--cors", type=click.Choice(("on", "off")), default="on", show_default=True,
              help="Answer browsers' cross-origin requests on the API and /openapi.json (never /_mock).")
@click.option("--api-key", "api_keys", multiple=True, metavar="KEY", callback=_api_keys,
              help="An X-API-KEY the Session API knows, besides the fixtures' apiKeys (the shipped ones: "
                   f"{DEMO_API_KEY!r}); repeatable. Strict auth accepts only known keys; open auth, any.")
@click.option("--chat-hub", is_flag=True, default=False,
              help="Serve the chat hub's preview, /v1/hubs/chat: messages, reactions and pins as they change "
                   "(the mock's design; QuickSync's chat hub is not published yet).")
def serve(host: str, port: int, fixtures_path: str | None, seed: int, messages: int, auth: str,
          journal_size: int, admin_token: str | None, cors: str, api_keys: tuple[str, ...], chat_hub: bool) -> None:
    """Run the mock until Ctrl-C."""
    try:
        mock = build(fixtures_path, seed=seed, messages=messages, auth=auth, journal_size=journal_size,
                     admin_token=admin_token, cors=cors == "on", api_keys=api_keys, chat_hub=chat_hub)
    except (worlds.FixtureError, StartupError) as exc:
        raise click.ClickException(str(exc)) from None
    keep_collections_short()
    try:
        if hasattr(os, "fork"):
            server: GranianServer | Server = GranianServer(mock, host=host, port=port,
                                                           in_worker=_log_lines_to_stderr)
        else:  # no worker process to fork (Windows): the same server in this process
            _log_lines_to_stderr()
            server = Server(mock, host=host, port=port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    echo = lambda text="": click.echo(text)  # noqa: E731
    echo(f"mockchats {__version__}: the QuickSync Chats API mock")
    echo(f"  base URL  {server.base_url}   (use it in place of https://api.quicksync.me/v1)")
    echo(f"  spec      {server.root_url}/openapi.json  (Session API: {server.root_url}/openapi/sessions.json)")
    echo(f"  control   {server.root_url}/_mock  (reset, scenarios, faults, clock, journal"
         + (", admin token required)" if admin_token else ")"))
    echo(f"  dashboard {server.root_url}/_mock/ui  (the journal live, sessions, messages and controls"
         + (" in a browser; it asks for the admin token)" if admin_token else " in a browser)"))
    echo(f"  hubs      {server.base_url}/hubs/session  (SignalR: WebSockets, Server-Sent Events, long polling)")
    if chat_hub:
        echo(f"  chat hub  {server.base_url}/hubs/chat  (a preview: its events are the mock's design)")
    if admin_token is None and dns_host_reason(host) is not None:
        # The control plane refuses a DNS name without a token (rebinding): say so before a 403 does.
        echo(f"  NOTE      {host} is a DNS name: without --admin-token the control plane (so the dashboard)")
        echo("            answer only at 127.0.0.1, [::1] or localhost (a rebound name could drive the mock).")
    if admin_token is None and not is_loopback_host(host):
        # Loud on purpose: the control plane can reset, replace and read the whole world.
        echo(f"  WARNING   listening on {host}, beyond this machine, with no --admin-token: the control")
        echo("            plane answers only this machine's own (loopback) clients; others get 403.")
        echo("            Start with --admin-token TOKEN to drive it from elsewhere.")
    echo(f"  auth      {auth}" + ("  (unknown well-formed tokens join the default session as Clients)"
                                   if auth == OPEN else "  (fixture tokens only)"))
    echo("  api keys  " + ", ".join(sorted(mock.sessions.api_keys)))
    echo("  users     role    token           name")
    for user in mock.store.users():
        echo(f"            {user.role:<7} {user.token or '-':<15} {user.name}")
    _serve_until_interrupted(server, "mockchats stopped.")


@main.command()
@click.option("--base-url", required=True, metavar="URL",
              help="The server's base URL as a partner configures it, ending in /v1.")
@click.option("--token", required=True, metavar="TOKEN",
              help="Bearer token of a Client: creates, reacts, deletes.")
@click.option("--host-token", default=None, metavar="TOKEN",
              help="Bearer token of the session's Host: unpins, and lets the 403 cases run.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the results: JUnit XML (*.xml) or JSON (*.json).")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds to wait for each response.")
@click.option("--api-key", default=None, metavar="KEY",
              help="An API key (X-API-KEY): also drive the Session API (wallet proofs, then a session "
                   "created, joined, kicked from, left and deleted).")
def contract(base_url: str, token: str, host_token: str | None, report_path: str | None,
             timeout: float, api_key: str | None) -> None:
    """Check a server (real, staging, or a mock) against openapi/chats.yaml (and openapi/sessions.yaml
    with --api-key); exit 1 on any violation."""
    from . import contract as tools  # loads the validators only for this command

    # Every usage error before the first request: a run changes the server it tools.
    problem = tools.base_url_problem(base_url)
    if problem:
        raise click.BadParameter(problem, param_hint="--base-url")
    for hint, value in (("--token", token), ("--host-token", host_token)):
        problem = None if value is None else tools.token_problem(value)
        if problem:
            raise click.BadParameter(problem, param_hint=hint)
    if api_key is not None and (problem := tools.api_key_problem(api_key)):
        raise click.BadParameter(problem, param_hint="--api-key")
    if host_token is not None and host_token == token:
        raise click.BadParameter("the same token as --token; give the Host's own, or leave it out "
                                 "to skip the Host's cases", param_hint="--host-token")
    if report_path and not report_path.endswith((".xml", ".json")):
        raise click.BadParameter("the report must be a .xml (JUnit) or .json file", param_hint="--report")
    if report_path and not os.path.isdir(os.path.dirname(os.path.abspath(report_path))):
        # Refuse before the run changes anything on the server.
        raise click.BadParameter(f"no folder for {report_path!r}", param_hint="--report")
    if not urlsplit(base_url).path.rstrip("/").endswith("/v1"):
        click.echo(f"note: {base_url} does not end in /v1, the API's base path; "
                   "every call may miss it (404)", err=True)
    try:
        result = tools.run(base_url, token, host_token, api_key=api_key, timeout=timeout)
    except tools.Unreachable as exc:
        raise click.ClickException(str(exc)) from None
    tools.print_table(result, click.echo)
    if report_path:
        text = (tools.junit_xml(result) if report_path.endswith(".xml")
                else json.dumps(tools.json_report(result), indent=2) + "\n")
        try:
            with open(report_path, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise click.ClickException(f"cannot write {report_path}: {exc.strerror or exc}") from None
        click.echo(f"report written to {report_path}")
    sys.exit(1 if result.failed else 0)


@main.command()
@click.option("--upstream", required=True, metavar="URL",
              help="The real server's base URL (ending in /v1); a bare root gets /v1 added.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8081, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--journal-size", default=DEFAULT_SIZE, show_default=True, type=click.IntRange(1),
              help="How many requests the journal (GET /_mock/requests) keeps.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds to wait for the upstream's answer.")
@click.option("--max-body-bytes", default=DEFAULT_MAX_BODY_BYTES, show_default=True, type=click.IntRange(0),
              help="The longest request body passed on; a longer one is refused on arrival "
                   "(empty 413, nothing forwarded). The default is Kestrel's.")
@click.option("--fail-on-violation", is_flag=True,
              help="Exit 1 when stopped if any request or response broke the contract (for CI).")
def proxy(upstream: str, host: str, port: int, journal_size: int, timeout: float, max_body_bytes: int,
          fail_on_violation: bool) -> None:
    """Forward traffic to a real server, checking requests and responses against the contract."""
    from .contract.proxy import ContractProxy, ProxyServer  # the validators: only for this command

    try:
        app = ContractProxy(upstream, journal_size=journal_size, timeout=timeout,
                            max_body_bytes=max_body_bytes)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--upstream") from None
    _log_to_stderr()
    try:
        server = ProxyServer(app, host=host, port=port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"mockchats {__version__}: contract-checking proxy")
    click.echo(f"  base URL  {server.base_url}   (use it in place of {app.upstream_base})")
    click.echo(f"  upstream  {app.upstream_base}")
    click.echo(f"  journal   {server.root_url}/_mock/requests  (violations of each request and response)")
    # SIGTERM (a CI runner, docker stop) ends the proxy as Ctrl-C does, with its summary.
    signal.signal(signal.SIGTERM, _interrupt)
    _serve_until_interrupted(server, "mockchats proxy stopped.")
    click.echo(app.summary())
    sys.exit(1 if fail_on_violation and app.requests_with_violations else 0)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once
    raise KeyboardInterrupt


@main.command()
def fidelity() -> None:
    """Print the fidelity list: every place the mock had to choose how the real service behaves."""
    path = data_path("openapi/FIDELITY.md")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot read the fidelity list {path}: {exc.strerror or exc}") from None
    click.echo(text, nl=not text.endswith("\n"))


def _serve_until_interrupted(server: Server | GranianServer, farewell: str) -> None:
    """Serve in the foreground until Ctrl-C, then stop cleanly and say so."""
    def ready() -> None:
        click.echo("Press Ctrl-C to stop.")  # the cue scripts wait for: the port answers now
        sys.stdout.flush()

    try:
        server.serve_forever(on_ready=ready)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    click.echo(farewell)


def _log_lines_to_stderr() -> None:
    """One line per request on stderr, written once per turn of granian's event loop
    (its worker answers on that one thread but while a delay fault is armed: little to
    queue on, and a hand-over to another thread would cost more)."""
    handler = LinesPerLoopTurn(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    _skip_record_extras()


class LinesPerLoopTurn(logging.StreamHandler):
    """A StreamHandler that writes the lines of one event-loop turn together.

    A write and a flush per line were a seventh of a loaded worker's time. Lines logged
    on the loop are held until its next turn, microseconds later: a request's answer is
    sent by awaiting, so the loop turns (and writes) before it could stop. Lines from any
    other thread are written at once, after what is held.
    """

    def __init__(self, stream: TextIO):
        super().__init__(stream)
        self._held: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:  # Handler.handle holds self.lock
        try:
            line = self.format(record) + self.terminator
        except Exception:  # as StreamHandler does: a bad record must not fail the request
            self.handleError(record)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and not self._held:
            loop.call_soon(self.flush)
        self._held.append(line)
        if loop is None:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            text, self._held = "".join(self._held), []
            try:
                if text:
                    self.stream.write(text)
                self.stream.flush()
            except Exception:  # a closed or broken stderr: the lines are lost, never the request
                pass


def _skip_record_extras() -> None:
    """Records without what no line of ours prints: the caller's frame, thread and process
    (the logging HOWTO's own "Optimization" switches; a fifth of the cost of a line)."""
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def _log_to_stderr() -> None:
    """One line per request on stderr, written by a background thread.

    With a plain StreamHandler, the server's worker threads queued on its lock: a
    sixth of a loaded server's busy time. A queue hands each line over instead.
    """
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter("%(message)s"))
    records: queue.SimpleQueue = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, stream)
    listener.start()
    atexit.register(listener.stop)  # flush what is queued before the process ends
    logging.basicConfig(level=logging.INFO, format="%(message)s",
                        handlers=[logging.handlers.QueueHandler(records)])
    _skip_record_extras()
