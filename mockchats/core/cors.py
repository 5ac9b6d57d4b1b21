"""CORS as the mock answers browsers: one rule for the API's operations, the documents and the hubs.

The policy is ASP.NET Core's CORS middleware with ``SetIsOriginAllowed(_ => true)`` and
``AllowCredentials()``: any origin is echoed (a page's ``fetch`` with credentials, and the SignalR
JavaScript client's ``withCredentials`` default, need the origin itself, never ``*``), with
``Vary: Origin`` so a cache keeps one answer per origin. A preflight (``OPTIONS`` with
``Access-Control-Request-Method``) is answered 204 before anything else runs. Never the control
plane: a web page must not be able to drive a developer's mock. Plain strings in, header pairs out:
the WSGI pipeline and the hubs' ASGI code each write them their own way.
"""
from __future__ import annotations

from collections.abc import Collection

#: What a page's script may read of a cross-origin answer, beyond the safelisted headers.
EXPOSED = "WWW-Authenticate, Retry-After"


def applies(path: str, api_roots: Collection[str]) -> bool:
    """Whether CORS covers ``path`` (as routed): the APIs' paths (their first segments, folded, in
    ``api_roots``; the hubs are under the Chats API's) and /openapi*, never the control plane."""
    first = path[1:].split("/", 1)[0].casefold()
    if "" in api_roots:  # an API at the root: everything but the control plane
        return first != "_mock"
    return first in api_roots or first.startswith("openapi")


def allowed(origin: str) -> list[tuple[str, str]]:
    """The headers every answer to a cross-origin request carries."""
    return [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
            ("Vary", "Origin")]


def exposed() -> tuple[str, str]:
    """The header an answer that is not a preflight's adds to :func:`allowed`'s."""
    return ("Access-Control-Expose-Headers", EXPOSED)


def preflight(method: str, requested_headers: str | None) -> dict[str, str]:
    """A preflight's 204 headers (besides :func:`allowed`'s): the method and the headers asked for."""
    headers = {"Access-Control-Allow-Methods": method}
    if requested_headers:
        headers["Access-Control-Allow-Headers"] = requested_headers
    return headers
