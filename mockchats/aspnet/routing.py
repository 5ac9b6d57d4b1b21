"""Paths matched as ASP.NET Core matches them (Kestrel, then endpoint routing).

Kestrel decodes every escape but ``%2F`` (an encoded slash stays inside its segment)
and resolves dot segments; routing then matches literal segments case-insensitively
and ignores one trailing slash, never redirecting; a literal segment beats a
parameter. The app routes by these rules and the contract checks judge paths by
them, so both live here once.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar
from urllib.parse import parse_qsl, unquote_to_bytes

import werkzeug.urls  # noqa: F401  registers the "werkzeug.url_quote" codec error handler

Key = TypeVar("Key")
_ENCODED_SLASH = re.compile("%2[fF]")


def decode_path(raw_path: str, encoding: str = "utf-8") -> str:
    """Every escape of a raw path decoded, but ``%2F``: what Kestrel hands on."""
    if "%" not in raw_path:
        return raw_path
    return "/".join(unquote_to_bytes(_ENCODED_SLASH.sub("%252F", part)).decode(encoding, "replace")
                    for part in raw_path.split("/"))


def query_items(query_string: str) -> list[tuple[str, str]]:
    """A WSGI ``QUERY_STRING`` as (key, value) pairs in order, as Werkzeug's ``request.args``
    reads it: blank values kept, undecodable bytes left percent-encoded."""
    return parse_qsl(query_string.encode("latin-1").decode(), keep_blank_values=True,
                     errors="werkzeug.url_quote")


def kestrel_segments(raw_path: str, encoding: str | None = "utf-8") -> list[str]:
    """The segments of a raw request path (no query), as routing sees them.

    ``encoding`` decodes the escapes; None when the path is decoded already.
    """
    parts = (decode_path(raw_path, encoding) if encoding else raw_path).split("/")
    resolved: list[str] = []
    for part in parts[1:]:
        if part == "..":
            if resolved:
                resolved.pop()
        elif part != ".":
            resolved.append(part)
    if len(resolved) > 1 and resolved[-1] == "":
        resolved.pop()  # one trailing slash
    return resolved


class Template:
    """One path template (``/v1/chats/{chatId}``), split once, matched by routing's rules."""

    __slots__ = ("parts", "_folded")

    def __init__(self, template: str):
        #: The template's segments: "{chatId}" marks a parameter.
        self.parts: list[str] = template.strip("/").split("/")
        self._folded = [None if part.startswith("{") else part.casefold() for part in self.parts]

    def canonical(self, segments: Sequence[str], folded: Sequence[str] | None = None) -> list[str] | None:
        """``segments`` with the literals spelled as the template spells them (parameters kept as
        sent), or None when the template does not match them.

        ``folded`` is the segments casefolded, when the caller folded them already.
        """
        pattern = self._folded
        if len(pattern) != len(segments):
            return None
        if folded is None:
            folded = [segment.casefold() for segment in segments]
        for literal, segment in zip(pattern, folded):
            if (not segment) if literal is None else literal != segment:
                return None  # a parameter takes any segment but an empty one
        return [sent if literal is None else part for part, literal, sent in zip(self.parts, pattern, segments)]


class RouteTable(Generic[Key]):
    """Path templates (``/v1/chats/{chatId}``), each with a key, matched by routing's rules."""

    def __init__(self, templates: list[tuple[Key, str]]):
        # Most literal segments first: a literal route beats a parameterised one.
        routes = [(key, Template(template)) for key, template in templates]
        self._routes = sorted(routes, key=lambda route: -sum(not p.startswith("{") for p in route[1].parts))

    def matches(self, segments: list[str]) -> Iterator[tuple[Key, list[str]]]:
        """Every (key, canonical segments) whose template matches, literal routes first.

        The canonical segments spell literals as the template does and keep parameters
        as sent.
        """
        folded = [segment.casefold() for segment in segments]
        for key, template in self._routes:
            canonical = template.canonical(segments, folded)
            if canonical is not None:
                yield key, canonical
