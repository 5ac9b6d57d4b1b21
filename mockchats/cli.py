"""The ``mockchats`` command line."""
from __future__ import annotations

import logging
import sys

import click

from . import __version__, fixtures
from .app import StartupError
from .auth import AUTH_MODES, OPEN
from .journal import DEFAULT_SIZE
from .mock import build
from .server import Server


@click.group()
@click.version_option(__version__, prog_name="mockchats")
def main() -> None:
    """A stateful, spec-faithful mock of the QuickSync Chats API."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--fixtures", "fixtures_path", type=click.Path(dir_okay=False),
              help="Fixture file (YAML or JSON) to load instead of the shipped defaults.")
@click.option("--seed", default=fixtures.DEFAULT_SEED, show_default=True, type=int,
              help="Seed for generated data: the same seed gives the same data.")
@click.option("--messages", default=0, show_default=True, type=click.IntRange(0),
              help="Faker-generated messages to add to the default session.")
@click.option("--auth", type=click.Choice(AUTH_MODES), default=OPEN, show_default=True,
              help="open: unknown well-formed tokens join the default session as Clients; "
                   "strict: only fixture tokens are accepted.")
@click.option("--journal-size", default=DEFAULT_SIZE, show_default=True, type=click.IntRange(1),
              help="How many requests the journal (GET /_mock/requests) keeps.")
@click.option("--admin-token", default=None, metavar="TOKEN",
              help="Require 'Authorization: Bearer TOKEN' on every /_mock call.")
def serve(host: str, port: int, fixtures_path: str | None, seed: int, messages: int, auth: str,
          journal_size: int, admin_token: str | None) -> None:
    """Run the mock until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        mock = build(fixtures_path, seed=seed, messages=messages, auth=auth,
                     journal_size=journal_size, admin_token=admin_token)
    except (fixtures.FixtureError, StartupError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        server = Server(mock.app, host=host, port=port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    echo = lambda text="": click.echo(text)  # noqa: E731
    echo(f"mockchats {__version__}: the QuickSync Chats API mock")
    echo(f"  base URL  {server.base_url}   (use it in place of https://api.quicksync.me/v1)")
    echo(f"  spec      {server.root_url}/openapi.json")
    echo(f"  control   {server.root_url}/_mock  (reset, scenarios, faults, clock, journal"
         + (", admin token required)" if admin_token else ")"))
    echo(f"  auth      {auth}" + ("  (unknown well-formed tokens join the default session as Clients)"
                                   if auth == OPEN else "  (fixture tokens only)"))
    echo("  users     role    token           name")
    for user in mock.store.users():
        echo(f"            {user.role:<7} {user.token or '-':<15} {user.name}")
    echo("Press Ctrl-C to stop.")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    echo("mockchats stopped.")
