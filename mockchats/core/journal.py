"""The request journal: what partners' clients sent, and what was answered.

A ring buffer (``collections.deque`` with a bound), so a long run keeps only the
latest entries and never grows without limit. An entry is an :class:`Exchange`:
the raw facts of one request, recorded cheaply while serving and written out as
JSON-ready dicts only when someone reads the journal. The hubs' traffic is kept in the
same buffer as :class:`HubEntry` items (``"kind": "hub"``), numbered from the same sequence,
and left out of a read unless asked for: the journal is first the partner's REST requests.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote

from ..aspnet.habits import format_datetime
from .wording import clip, place_of, quote

DEFAULT_SIZE = 1000
#: Request and response bodies are kept up to this many bytes each.
BODY_BYTES = 64 * 1024
#: Where a server puts the request's headers as sent (the ASGI scope's ``(name, value)`` byte pairs)
#: in the WSGI environ; without it (a plain WSGI server) the journal reads them from the environ.
RAW_HEADERS = "mockchats.headers"
#: What an entry shows in place of the admin token, wherever the token appears.
REDACTED = "[redacted]"
_WHOLE_NUMBER = re.compile(r"[0-9]+")
#: How deep a JSON body may nest: System.Text.Json's default MaxDepth.
MAX_DEPTH = 64
#: Python's own limit on the digits of an int read from text (sys.int_info.default_max_str_digits).
MAX_DIGITS = 4300
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonRefused(ValueError):
    """A body that is not JSON the mock can carry: ``place`` is its JSON path (``$`` for the
    whole text), ``message`` says what is wrong in words, quoting at most a short piece."""

    def __init__(self, place: str, message: str):
        super().__init__(f"{place}: {message}")
        self.place, self.message = place, message


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON; Python's reader takes them by default.
    raise JsonRefused("$", f"{name} is not a JSON value.")


def read_json(data: bytes) -> object:
    """``data`` read as strict JSON, or :class:`JsonRefused` saying where and why.

    Stricter than :func:`json.loads` where Python would take what JSON readers elsewhere
    refuse or cannot give back: text that is not UTF-8, NaN and Infinity, numbers out of a
    double's range (``1e999``) or past Python's 4300 digits, nesting deeper than 64
    (System.Text.Json's limit), and strings holding a lone UTF-16 surrogate (``"\\ud800"``).
    Each is placed by its JSON path; text that is not JSON is said in System.Text.Json's
    reader's words, with its line and column. It never raises anything else.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonRefused("$", f"the body is not UTF-8 text (byte {exc.start + 1}).") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except JsonRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRefused("$", f"{reader_words(exc.msg, text, exc.pos).rstrip('.')} "
                               f"(line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise JsonRefused("$", f"the body nests deeper than {MAX_DEPTH} levels.") from None
    except ValueError:  # int() past its digits: the one other ValueError the reader raises
        # Read again (the slow way, only now) with each such number kept as a marker, so the
        # walk below names its place as it does for a float out of range.
        try:
            value = json.loads(text, parse_constant=_refuse_constant, parse_int=_whole_number)
        except RecursionError:
            raise JsonRefused("$", f"the body nests deeper than {MAX_DEPTH} levels.") from None
    if not _carried(value, text):
        _refuse_where(value)
    return value


class _TooManyDigits:
    """Stands for a whole number past Python's digit limit while its place is looked for."""


def _whole_number(digits: str) -> object:
    return int(digits) if len(digits.lstrip("-")) <= MAX_DIGITS else _TooManyDigits()


def _shown(char: str) -> str:
    """A character as System.Text.Json's reader shows it, itself when printable ASCII, else its
    (first UTF-8) byte in hex; in double quotes where the reader uses single ones, so that
    ``'u'`` or ``'{'`` never reads like a Python repr."""
    byte = char.encode("utf-8", "surrogatepass")[0]
    if not 0x20 <= byte < 0x7F:
        return f"byte 0x{byte:02X}"
    return "'\"'" if char == '"' else f'"{char}"'


def _words(text: str) -> str:
    """Single-quoted characters in the reader's fixed texts, said as :func:`_shown` says them."""
    return re.sub(r"'(.)'", lambda m: _shown(m.group(1)), text)


_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")


def reader_words(msg: str, text: str, pos: int) -> str:
    """Python's JSON reader error said as System.Text.Json's reader says it (its words, not
    Python's), for the text ``text`` and the error at character ``pos``."""
    at = text[pos] if pos < len(text) else None
    before = text[:pos].rstrip()
    if msg.startswith("Unterminated string"):
        return "Expected end of string, but instead reached end of data."
    if at is None or (msg == "Expecting value" and not text[pos:].strip()):
        if not text.strip():
            return ("The input does not contain any JSON tokens. Expected the input to start with a "
                    "valid JSON token.")
        return ("Expected depth to be zero at the end of the JSON payload. There is an open JSON "
                "object or array that should be closed.")
    if (msg.startswith("Expecting value") and at == "]" or msg.startswith("Expecting property name")
            and at == "}") and before.endswith(","):
        kind = "array" if at == "]" else "object"
        return f"The JSON {kind} contains a trailing comma at the end which is not supported in this mode."
    if msg.startswith("Expecting value"):
        return f"{_shown(at)} is an invalid start of a value."
    if msg.startswith("Expecting property name"):
        return f"{_shown(at)} is an invalid start of a property name. Expected a {_shown(chr(34))}."
    if msg.startswith("Expecting ':'"):
        return f"{_shown(at)} is invalid after a property name. Expected a {_shown(':')}."
    if msg.startswith("Expecting ','"):
        return f"{_shown(at)} is invalid after a value. " + _words("Expected either ',', '}', or ']'.")
    if msg.startswith("Extra data"):
        return f"{_shown(at)} is invalid after a single JSON value. Expected end of data."
    if msg.startswith("Invalid control character"):
        return f"{_shown(at)} is invalid within a JSON string. The string should be correctly escaped."
    if msg.startswith("Invalid \\uXXXX"):
        bad = _NOT_HEX.search(text, pos + 1, pos + 5)
        shown = _shown(bad.group()) if bad else "the end of data"
        return f"{shown} is not a hex digit, in a \\uXXXX escape within a JSON string."
    if msg.startswith("Invalid \\escape") and pos + 1 < len(text):
        return (f"{_shown(text[pos + 1])} is not a valid escapable character within a JSON string. "
                "The string should be correctly escaped.")
    return f"The body is not valid JSON at {_shown(at)}."


def _fault(item: object, depth: int) -> str | None:
    """What is wrong with one value itself (not its children), or None."""
    if isinstance(item, _TooManyDigits):
        return f"a number has more than {MAX_DIGITS} digits."
    if isinstance(item, str):
        return "a string holds a lone UTF-16 surrogate, which is not text." if _SURROGATE.search(item) else None
    if isinstance(item, float):
        return None if math.isfinite(item) else "the number is out of range (past a double's)."
    if isinstance(item, (dict, list)):
        if depth >= MAX_DEPTH:
            return f"the body nests deeper than {MAX_DEPTH} levels."
        if isinstance(item, dict) and any(_SURROGATE.search(key) for key in item):
            return "a property name holds a lone UTF-16 surrogate, which is not text."
    return None


_RISKY = re.compile(r"\\u|[0-9][eE]|[0-9]{300}")


def _carried(value: object, text: str) -> bool:
    """Whether every part of ``value`` can be written back as JSON: the fast check, no paths
    (a journal read checks up to 1000 bodies of 64 KiB)."""
    if (text.count("[") + text.count("{") < MAX_DEPTH and not _RISKY.search(text)):
        return True  # no escape (so no lone surrogate), no float that can overflow, too flat to nest
    if _fault(value, 0) and not isinstance(value, (dict, list)):
        return False
    stack = [(value, 0)] if isinstance(value, (dict, list)) else []
    search, finite = _SURROGATE.search, math.isfinite
    while stack:
        item, depth = stack.pop()
        if depth >= MAX_DEPTH:
            return False
        if isinstance(item, dict):
            if any(search(key) for key in item):
                return False
            children = item.values()
        else:
            children = item
        for child in children:
            kind = type(child)
            if kind is str:
                if search(child):
                    return False
            elif kind is float:
                if not finite(child):
                    return False
            elif kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is _TooManyDigits:
                return False
    return True


def _refuse_where(value: object) -> None:
    """Raise JsonRefused at the first fault, walking again with paths (only once one is known)."""
    stack: list[tuple[object, tuple, int]] = [(value, (), 0)]
    while stack:
        item, path, depth = stack.pop()
        fault = _fault(item, depth)
        if fault:
            raise JsonRefused(place_of(path), fault)
        if isinstance(item, dict):
            stack.extend(((child, (*path, key), depth + 1) for key, child in item.items()))
        elif isinstance(item, list):
            stack.extend(((child, (*path, index), depth + 1) for index, child in enumerate(item)))


def body_json(body: bytes | None) -> object:
    """A journal entry's ``json``: the body read by :func:`read_json`, or None when it is
    absent, not JSON (a body cut at 64 KiB is not), or JSON the mock cannot carry."""
    if not body:
        return None
    try:
        return read_json(body)
    except JsonRefused:
        return None


#: The journal's filters (query parameters of GET /_mock/requests).
FILTERS = ("operationId", "method", "path", "status", "user", "kind", "hub", "limit")
#: What ``kind`` may ask for: REST requests (the default), the hubs' traffic, or both.
KINDS = ("http", "hub", "all")
#: The hubs an entry may be of, as mockchats.hubs names them (core imports no service).
HUBS = ("session", "chat")
#: What a hub entry records: a negotiate answered, a connection opened or closed, an event sent to
#: the client, a message received from it.
HUB_ACTIONS = ("negotiate", "connect", "disconnect", "sent", "received")
#: The filters only a REST request can match: with ``kind=hub`` they are refused, not left empty.
_HTTP_ONLY = ("operationId", "method", "path", "status")
_STATUS = re.compile(r"([1-5])([0-9]{2}|xx)", re.IGNORECASE)


class QueryRefused(ValueError):
    """A journal query the journal cannot answer; ``errors`` maps each parameter to what is wrong."""

    def __init__(self, detail: str, errors: dict[str, list[str]]):
        super().__init__(detail)
        self.detail, self.errors = detail, errors


def parse_query(pairs: Iterable[tuple[str, str]], operation_ids: Collection[str]) -> dict:
    """The keyword arguments of :meth:`Journal.entries` from a query's ``(name, value)`` pairs.

    Refuses (:class:`QueryRefused`) an unknown or repeated parameter, an ``operationId``
    not in ``operation_ids``, a ``status`` that is neither a code nor a class (``4xx``) and a
    ``limit`` that is not a whole number: a filter that could only ever match nothing hides
    a typo behind an empty list.
    """
    errors: dict[str, list[str]] = {}
    given: dict[str, str] = {}
    for name, value in pairs:
        if name not in FILTERS:
            errors.setdefault(clip(name), []).append(
                f"{quote(name)} is not a filter; known: {', '.join(FILTERS)}.")
        elif name in given:
            errors.setdefault(name, []).append(f"{name} is given more than once.")
        else:
            given[name] = value
    known = sorted(operation_ids)
    if "operationId" in given and given["operationId"] not in known:
        value = given["operationId"]
        near = [op for op in known if op.casefold() == value.casefold()]
        errors["operationId"] = [f"{quote(value)} is not an operation"
                                 + (f" (did you mean '{near[0]}'?)" if near else "")
                                 + f"; known: {', '.join(known)}."]
    status = given.get("status")
    if status is not None and not _STATUS.fullmatch(status):
        errors["status"] = [f"{quote(status)} is neither a status code (100 to 599, e.g. 404) "
                            "nor a class (1xx to 5xx, e.g. 4xx)."]
    try:
        limit = parse_limit(given.get("limit"))
    except ValueError:
        errors["limit"] = [f"{quote(given['limit'])} is not a whole number >= 0."]
        limit = None
    kind, hub = given.get("kind"), given.get("hub")
    if kind is not None and kind not in KINDS:
        errors["kind"] = [f"{quote(kind)} is not a kind of entry; known: {', '.join(KINDS)}."]
    if hub is not None and hub not in HUBS:
        errors["hub"] = [f"{quote(hub)} is not a hub; known: {', '.join(HUBS)}."]
    elif hub is not None and kind == "http":
        errors["hub"] = ["hub filters hub entries, and kind=http asks for none; drop one of them."]
    if kind == "hub" or (hub is not None and kind is None):
        for name in _HTTP_ONLY:
            if name in given:
                errors.setdefault(name, []).append(
                    f"{name} filters REST requests, and a hub entry has none: with kind=hub or a hub "
                    "filter it could only match nothing (kind=all takes both).")
    if errors:
        raise QueryRefused(" ".join(messages[0] for messages in errors.values()), errors)
    return {"operation_id": given.get("operationId"), "method": given.get("method"),
            "path": given.get("path"), "status": status, "user": given.get("user"),
            "kind": kind or ("hub" if hub is not None else "http"), "hub": hub, "limit": limit}


def _status_matches(wanted: str):
    """A test of an entry's status: a code (``404``) or a class (``4xx``); a drop (None) matches none."""
    if wanted[1:].lower() == "xx":
        first = int(wanted[0])
        return lambda status: status is not None and status // 100 == first
    code = int(wanted)
    return lambda status: status == code


def parse_limit(text: str | None) -> int | None:
    """The ``limit`` filter of a journal query: None when absent; ValueError unless 0-9 digits."""
    if text is None:
        return None
    if not _WHOLE_NUMBER.fullmatch(text):  # str.isdigit() would take "²" and then fail in int()
        raise ValueError(f"{text!r} is not a whole number >= 0.")
    digits = text.lstrip("0")
    # Past any journal's size it means "all": int() would refuse a number over 4300 digits.
    return int(digits or "0") if len(digits) <= 18 else 10**18


@dataclass(slots=True)
class Exchange:
    """One request and its answer, as the serving side saw them.

    ``query_string`` is WSGI's ``QUERY_STRING`` (latin-1 text of the raw bytes);
    ``user`` is any object with ``id``, ``name`` and ``role`` (the store's User).
    ``response_violations`` is for checkers of someone else's answers (the proxy). Once
    recorded, the three lists are tuples.

    ``headers`` are the request's as sent, ``(name, value)`` pairs of bytes (the ASGI scope's) or
    of text (:func:`request_headers`); ``response_headers`` the answer's, as the app gave them to
    the server (None: no answer reached the client; ``response_body`` is then None too), and
    ``response_body`` its bytes. Kept as given, read into text only when the journal is read.
    """

    method: str
    path: str
    query_string: str = ""
    body: bytes | None = None
    user: object | None = None
    operation_id: str | None = None
    status: int | None = None
    duration_ms: float = 0.0
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    response_violations: list[str] | None = None
    time: float = field(default_factory=time.time)
    id: int = 0
    headers: tuple | list = ()
    response_headers: tuple | list | None = None
    response_body: bytes | None = None
    #: Whether the body (the answer's body) was longer than :data:`BODY_BYTES` and is kept cut.
    body_cut: bool = False
    response_body_cut: bool = False

    def as_dict(self, secret: str | None = None) -> dict:
        """The entry as ``GET /_mock/requests`` serves it; ``secret`` (the admin token), wherever
        it appears in the path, the headers, the query or a body, is shown as ``[redacted]``."""
        query = self.query_string.encode("latin-1").decode("utf-8", "replace")
        body = self.body.decode("utf-8", "replace") if self.body else None
        answer = self.response_body.decode("utf-8", "replace") if self.response_body else None
        user = self.user
        entry = {
            "id": self.id,
            "time": format_datetime(datetime.fromtimestamp(self.time, UTC)),
            "kind": "http",
            "method": self.method,
            "path": self.path,
            "query": parse_qs(query, keep_blank_values=True),
            "headers": header_object(self.headers),
            "body": body,
            "bodyTruncated": self.body_cut,
            "json": body_json(self.body),
            "user": {"id": user.id, "name": user.name, "role": user.role} if user else None,
            "operationId": self.operation_id,
            "status": self.status,
            "durationMs": round(self.duration_ms, 3),
            "violations": list(self.violations),
            "warnings": list(self.warnings),
            # A dropped exchange (status None) shows {} and null: its recorder left both None.
            "response": {"status": self.status, "headers": header_object(self.response_headers),
                         "body": answer, "bodyTruncated": self.response_body_cut},
        }
        if self.response_violations is not None:
            entry["responseViolations"] = list(self.response_violations)
        if secret:
            _redact(entry, secret)
        return entry


def _redact(entry: dict, secret: str) -> None:
    """``secret`` replaced by ``[redacted]`` in an entry's path, headers, query, bodies and the
    violations and warnings that quote them (in place)."""
    entry["path"] = _hide_encoded(entry["path"], secret, raw=True)
    for said in ("violations", "warnings", "responseViolations"):
        if said in entry:
            entry[said] = [_hide_encoded(text, secret) for text in entry[said]]
    for headers in (entry["headers"], entry["response"]["headers"]):
        for name, value in headers.items():
            if secret in value:
                headers[name] = value.replace(secret, REDACTED)
    # Walked whole: parse_qs has decoded what the client may have sent percent-encoded.
    entry["query"] = {_hide(name, secret): [_hide(value, secret) for value in values]
                      for name, values in entry["query"].items()}
    body = entry["body"]
    if entry["json"] is not None and (secret in body or "\\" in body):  # maybe written with escapes
        entry["json"] = _hide_in(entry["json"], secret)
    for owner in (entry, entry["response"]):
        if owner["body"] and secret in owner["body"]:
            owner["body"] = owner["body"].replace(secret, REDACTED)


def _hide(text: str, secret: str) -> str:
    return text.replace(secret, REDACTED) if secret in text else text


def _hide_encoded(text: str, secret: str, *, raw: bool = False) -> str:
    """A path (or what quotes one) with ``secret`` hidden, also where the client sent it
    percent-encoded, the text then shown decoded; ``raw``: ``text`` is latin-1 text of the bytes
    sent (a path as sent), so raw UTF-8 is read as such."""
    text = _hide(text, secret)
    if "%" not in text and (not raw or text.isascii()):
        return text
    readable = text
    if raw and not text.isascii():
        with contextlib.suppress(UnicodeEncodeError):  # a proxy's path may be text already
            readable = text.encode("latin-1").decode("utf-8", "replace")
    decoded = unquote(readable, errors="replace")
    return decoded.replace(secret, REDACTED) if secret in decoded else text


def _hide_in(value: object, secret: str) -> object:
    """A JSON value with ``secret`` hidden in each of its strings (keys too)."""
    if isinstance(value, str):
        return _hide(value, secret)
    if isinstance(value, list):
        return [_hide_in(item, secret) for item in value]
    if isinstance(value, dict):
        return {_hide(key, secret): _hide_in(item, secret) for key, item in value.items()}
    return value


def request_headers(environ: dict) -> tuple | list:
    """The request's headers as sent: the server's raw pairs (:data:`RAW_HEADERS`) when it gave
    them, else read back from a WSGI environ (names as ``Content-Type``)."""
    raw = environ.get(RAW_HEADERS)
    if raw is not None:
        return raw
    pairs = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            pairs.append((key[5:].replace("_", "-"), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            pairs.append((key.replace("_", "-"), value))
    return pairs


def header_object(pairs: tuple | list | None) -> dict[str, str]:
    """``(name, value)`` pairs (bytes or text) as an object: each name spelt as HTTP writes it
    (``Content-Type``: HTTP/1.1 servers give them in lower case), a repeated one's values
    joined with ", " (RFC 9110)."""
    found: dict[str, str] = {}
    for name, value in pairs or ():
        if type(name) is bytes:
            name, value = name.decode("latin-1"), value.decode("latin-1")
        if name.islower() or name.isupper():
            name = "-".join(part.capitalize() for part in name.split("-"))
        found[name] = found[name] + ", " + value if name in found else value
    return found


@dataclass(slots=True)
class HubEntry:
    """One step of a hub connection's life, as the hub server saw it (:meth:`Journal.record_hub`).

    ``connection_id``, ``session_id``, ``user_id`` and ``transport`` are None where the step
    has none yet (a negotiate refused for want of a token; before a transport is picked).
    """

    hub: str
    action: str
    connection_id: str | None
    session_id: str | None
    user_id: str | None
    transport: str | None
    detail: dict
    time: float = field(default_factory=time.time)
    id: int = 0

    def as_dict(self, secret: str | None = None) -> dict:
        """The entry as ``GET /_mock/requests?kind=hub`` serves it; ``secret`` (the admin token),
        wherever it appears in the detail, is shown as ``[redacted]``."""
        return {
            "id": self.id,
            "time": format_datetime(datetime.fromtimestamp(self.time, UTC)),
            "kind": "hub",
            "hub": self.hub,
            "action": self.action,
            "connectionId": self.connection_id,
            "sessionId": self.session_id,
            "userId": self.user_id,
            "transport": self.transport,
            "detail": _hide_in(self.detail, secret) if secret else dict(self.detail),
        }


class Journal:
    """The latest partner requests and what was answered, oldest first; and the hubs' traffic."""
    def __init__(self, size: int = DEFAULT_SIZE, *, secret: Callable[[], str | None] = lambda: None):
        if size < 1:
            raise ValueError("the journal holds at least one entry")
        self.size = size
        #: The admin token now (None: none), hidden in every entry read (:meth:`Exchange.as_dict`).
        self.secret = secret
        self._entries: deque[Exchange | HubEntry] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Which journal, and how often emptied: a live reader that sees this change knows the
        # entries it shows are gone (a reset) or numbered by another journal (a restarted mock).
        self._instance = secrets.token_hex(6)
        self._clears = 0

    def record(self, exchange: Exchange) -> None:
        """Add one exchange (numbered in arrival order); the oldest falls out when full."""
        if exchange.body is not None and len(exchange.body) > BODY_BYTES:
            exchange.body = exchange.body[:BODY_BYTES]  # a full journal of 1 MiB bodies is 1 GiB
            exchange.body_cut = True
        if exchange.response_body is not None and len(exchange.response_body) > BODY_BYTES:
            exchange.response_body = exchange.response_body[:BODY_BYTES]
            exchange.response_body_cut = True
        # Tuples of strings or bytes: the collector stops tracking them (see below).
        if type(exchange.headers) is not tuple:
            exchange.headers = tuple(exchange.headers)
        if exchange.response_headers is not None and type(exchange.response_headers) is not tuple:
            exchange.response_headers = tuple(exchange.response_headers)
        # Kept as tuples: no list per entry for the garbage collector to walk (an empty one is
        # Python's one shared empty tuple, a tuple of strings drops out of its sight).
        exchange.violations = tuple(exchange.violations)
        exchange.warnings = tuple(exchange.warnings)
        if exchange.response_violations is not None:
            exchange.response_violations = tuple(exchange.response_violations)
        with self._lock:
            exchange.id = next(self._ids)
            self._entries.append(exchange)

    def record_hub(self, *, hub: str, action: str, connection_id: str | None, session_id: str | None,
                   user_id: str | None, transport: str | None, detail: dict) -> None:
        """Add one step of a hub connection (the hub server calls this), numbered with the requests.

        ``action`` is one of :data:`HUB_ACTIONS`; ``detail`` a small JSON-ready dict: for a
        negotiate ``{"status", "version"}``, a connect ``{}``, a disconnect ``{"reason"}``, an
        event sent ``{"target", "arguments"}``, a message received ``{"message"}`` (at most the
        hub protocol's 32 KiB). An unknown hub or action is the caller's mistake: ValueError.
        """
        if hub not in HUBS:
            raise ValueError(f"{hub!r} is not a hub; known: {', '.join(HUBS)}")
        if action not in HUB_ACTIONS:
            raise ValueError(f"{action!r} is not a hub action; known: {', '.join(HUB_ACTIONS)}")
        entry = HubEntry(hub, action, connection_id, session_id, user_id, transport, dict(detail))
        with self._lock:
            entry.id = next(self._ids)
            self._entries.append(entry)

    def entries(self, *, operation_id: str | None = None, method: str | None = None,
                path: str | None = None, status: str | None = None, user: str | None = None,
                kind: str = "http", hub: str | None = None, limit: int | None = None) -> list[dict]:
        """Entries oldest first, filtered; ``limit`` keeps the latest ``limit`` of them.

        ``kind`` is ``"http"`` (REST requests, the default), ``"hub"`` (the hubs' traffic) or
        ``"all"``; ``hub`` (``"session"``, ``"chat"``) keeps that hub's entries only. ``status``
        is a code or a class (``"404"``, ``"4xx"``); ``user`` a user's id, or their name in any
        case (a hub entry knows its user's id only). ``operation_id``, ``method``, ``path`` and
        ``status`` match REST requests only: given, they leave every hub entry out.
        """
        with self._lock:
            found = list(self._entries)
        return self._read(self._select(found, operation_id=operation_id, method=method, path=path, status=status,
                                       user=user, kind=kind, hub=hub, limit=limit))

    def since(self, after: int, *, operation_id: str | None = None, method: str | None = None,
              path: str | None = None, status: str | None = None, user: str | None = None,
              kind: str = "http", hub: str | None = None) -> tuple[int, list[dict]]:
        """(the id to ask after next time, the entries after id ``after`` still held, filtered as
        :meth:`entries` filters, oldest first): what a live reader asks again and again, so it
        takes only the newest entries out of the buffer."""
        with self._lock:
            if not self._entries or self._entries[-1].id <= after:
                return after, []
            newer = []
            for entry in reversed(self._entries):
                if entry.id <= after:
                    break
                newer.append(entry)
            last = self._entries[-1].id
        newer.reverse()
        return last, self._read(self._select(newer, operation_id=operation_id, method=method, path=path,
                                             status=status, user=user, kind=kind, hub=hub, limit=None))

    @property
    def last_id(self) -> int:
        """The id of the newest entry held (0 when none is): a live reader starts after it. Ids
        count on across a clear, so after one every entry recorded is still past this."""
        with self._lock:
            return self._entries[-1].id if self._entries else 0

    def _read(self, found: list[Exchange | HubEntry]) -> list[dict]:
        secret = self.secret()
        return [e.as_dict(secret) for e in found]

    @staticmethod
    def _select(found: list[Exchange | HubEntry], *, operation_id: str | None, method: str | None,
                path: str | None, status: str | None, user: str | None, kind: str, hub: str | None,
                limit: int | None) -> list[Exchange | HubEntry]:
        if hub is not None:
            found = [e for e in found if type(e) is HubEntry and e.hub == hub]
        elif kind == "http":
            found = [e for e in found if type(e) is Exchange]
        elif kind == "hub":
            found = [e for e in found if type(e) is HubEntry]
        if operation_id is not None or method is not None or path is not None or status is not None:
            found = [e for e in found if type(e) is Exchange]
        if status is not None:
            matches = _status_matches(status)
            found = [e for e in found if matches(e.status)]
        if user is not None:
            name = user.casefold()
            found = [e for e in found if (e.user_id == user if type(e) is HubEntry else e.user is not None
                     and (e.user.id == user or e.user.name.casefold() == name))]
        if operation_id is not None:
            found = [e for e in found if e.operation_id == operation_id]
        if method is not None:
            found = [e for e in found if e.method == method.upper()]
        if path is not None:
            found = [e for e in found if e.path.casefold() == path.casefold()]
        if limit is not None:
            found = found[-limit:] if limit else []
        return found

    def query(self, pairs: Iterable[tuple[str, str]], operation_ids: Collection[str]) -> list[dict]:
        """The entries a query asks for, from its ``(name, value)`` pairs (GET /_mock/requests'
        and the proxy's alike); :class:`QueryRefused` as :func:`parse_query` refuses."""
        return self.entries(**parse_query(pairs, operation_ids))

    @property
    def epoch(self) -> str:
        """``<instance>.<clears>``: changes when the journal is cleared, and differs between two
        journals (ids count on across a clear, but start again at 1 in a new journal)."""
        return f"{self._instance}.{self._clears}"

    def clear(self) -> None:
        """Forget every entry, the hubs' with the requests'."""
        with self._lock:
            self._clears += 1
            self._entries.clear()
