"""The contract checks, in both directions, and the run that drives any server through them.

One module, so the mock's journal, ``mockchats proxy``, ``mockchats contract`` and the
test suite judge traffic by the very same rules:

- :func:`check_request` says whether the real service would take a request: the route
  (from the spec, matched as ASP.NET Core matches it), a bearer token, then the query and
  body through :class:`~mockchats.binding.RequestBinder`, the binder the mock itself uses.
  Nothing is executed. It stops at the first refusing stage, as the service does.
- :func:`check_response` says whether a response keeps the contract: a status the
  operation declares, its declared headers, the declared content type (problem+json for
  errors), and a body that validates against the schema with OpenAPI 3.0 semantics
  (``nullable`` included). Validators are compiled once per operation, status and type.
- :func:`run` drives a server through a realistic flow and the documented error cases,
  checking every answer; :func:`print_table`, :func:`junit_xml` and :func:`json_report`
  show what it found.
"""
from __future__ import annotations

import json
import re
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from .auth import bearer_token
from .binding import BindingFailed, RequestBinder
from .journal import reader_words
from .routing import RouteTable, decode_path, kestrel_segments
from .spec import Operation, Spec
from .wording import clip, describe, place_of

if TYPE_CHECKING:
    from openapi_schema_validator import OAS30Validator

PROBLEM_JSON = "application/problem+json"
#: How many schema errors of one body are listed (the first ones, by JSON path).
MAX_SCHEMA_ERRORS = 5


# == the validators ==============================================================
class Contract:
    """The spec's routes, request binders and response validators, built once."""

    def __init__(self, spec: Spec | None = None):
        self.spec = spec or Spec()
        self._binders = {op.operation_id: RequestBinder(op) for op in self.spec.operations}
        self._routes = RouteTable([(op, self.spec.base_path + op.path) for op in self.spec.operations])
        self._validators: dict[tuple[str, str, str], OAS30Validator] = {}

    def operation(self, operation_id: str) -> Operation:
        """The operation with this operationId."""
        return next(op for op in self.spec.operations if op.operation_id == operation_id)

    # -- routes -----------------------------------------------------------
    def route(self, method: str, path: str) -> tuple[Operation | None, str]:
        """The operation a raw request path (from the server root) reaches, and its canonical path.

        As ASP.NET Core routes: literal segments match case-insensitively, one trailing
        slash is ignored, dot segments are resolved, and ``%2F`` stays inside its segment.
        """
        segments = kestrel_segments(path.split("?", 1)[0])
        for operation, canonical in self._routes.matches(segments):
            if operation.method == method.upper():
                return operation, "/" + "/".join(canonical)
        return None, "/" + "/".join(segments)

    def operation_for(self, method: str, path: str) -> Operation | None:
        """The operation ``method path`` targets, or None (unknown path or method)."""
        return self.route(method, path)[0]

    # -- requests ---------------------------------------------------------
    def check_route(self, method: str, path: str) -> tuple[Operation | None, list[str], list[str]]:
        """(operation or None, violations, warnings) of a request's method and raw path alone."""
        operation, canonical = self.route(method, path)
        if operation is None:
            return None, [f"{method.upper()} {_readable(path)} is not an operation of the contract"], []
        if _readable(path) != canonical:
            return operation, [], [f"path {_readable(path)!r} is spelled {canonical!r} in the contract"]
        return operation, [], []

    def check_request(self, method: str, path: str, query_items: Iterable[tuple[str, str]],
                      headers: Mapping[str, str], body: bytes | None
                      ) -> tuple[Operation | None, list[str], list[str]]:
        """(operation or None, violations, warnings) of one request, as the mock would journal it.

        ``path`` is the raw path from the server root (``/v1/chats``), ``query_items`` the
        decoded query pairs in order, ``headers`` case-insensitive. Violations are what the
        real service refuses (401, 400, 415 reasons, paths outside the contract); warnings
        are what it accepts but the contract spells otherwise.
        """
        operation, violations, path_warnings = self.check_route(method, path)
        if operation is None:
            return None, violations, path_warnings
        warnings: list[str] = []
        if bearer_token(_header(headers, "Authorization")) is None:
            violations.append("no bearer token")
        else:
            binder = self._binders[operation.operation_id]
            try:
                binder.bind_query(list(query_items), warnings)
                if operation.body_schema is not None:
                    encoding = binder.check_media_type(_header(headers, "Content-Type"))
                    binder.bind_body(body or b"", warnings, encoding)
            except BindingFailed as exc:
                violations.extend(binding_violations(exc, _header(headers, "Content-Type")))
        return operation, violations, warnings + path_warnings  # the path last, as the mock journals it

    # -- responses --------------------------------------------------------
    def check_response(self, operation: Operation, status: int, headers: Mapping[str, str],
                       body: bytes) -> list[str]:
        """Every way the response breaks the contract of ``operation``; [] when it keeps it."""
        media = (_header(headers, "Content-Type") or "").split(";")[0].strip().lower()
        declared = operation.responses.get(str(status))
        if declared is None:
            listed = ", ".join(sorted(operation.responses))
            violations = [f"status {status} is not declared (declared: {listed})"]
            if status >= 400 and body and media != PROBLEM_JSON:
                violations.append(f"error body is {media or 'untyped'}, not {PROBLEM_JSON}: {_excerpt(body)}")
            return violations
        violations = [f"declared header {name} is missing" for name in declared.get("headers", {})
                      if _header(headers, name) is None]
        content = declared.get("content")
        if not content:
            if body:
                violations.append(f"a body was sent where the spec declares none: {_excerpt(body)}")
            return violations
        if media not in content:
            violations.append(f"content type {media or '(none)'!r} is not {' or '.join(sorted(content))}")
            return violations
        document, unreadable = _read_json(body)
        if unreadable:
            return violations + [unreadable]
        validator = self._validator(operation, status, media, content[media]["schema"])
        errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.path])
        # In words, clipped: jsonschema's own message quotes the whole offending value.
        # One message names every missing property, so jsonschema's one error per property
        # would repeat it.
        violations += dict.fromkeys(f"body {place_of(e.path)}: {describe(e)}"
                                    for e in errors[:MAX_SCHEMA_ERRORS])
        if len(errors) > MAX_SCHEMA_ERRORS:
            violations.append(f"body: {len(errors) - MAX_SCHEMA_ERRORS} more schema errors")
        return violations

    def _validator(self, operation: Operation, status: int, media: str, schema: dict) -> OAS30Validator:
        key = (operation.operation_id, str(status), media)
        if key not in self._validators:
            # Imported on first use: it pulls in pydantic, a tenth of a second of
            # `mockchats serve`'s start, which judges requests only.
            from openapi_schema_validator import OAS30Validator, oas30_format_checker
            self._validators[key] = OAS30Validator(schema, format_checker=oas30_format_checker)
        return self._validators[key]


def binding_violations(failure: BindingFailed, content_type: str | None) -> list[str]:
    """The journal's wording of a refused binding: one line per ModelState error, or the 415."""
    if failure.status == 400:
        return [f"{key or '(body)'}: {message}" for key, messages in failure.errors.items()
                for message in messages]
    if not content_type:
        return ["no Content-Type: the body is not read as JSON"]
    return [f"Content-Type '{content_type}' is not JSON"]


@lru_cache(maxsize=1)
def default_contract() -> Contract:
    """The contract of the shipped ``openapi/chats.yaml``, built on first use."""
    return Contract()


def check_request(method: str, path: str, query_items: Iterable[tuple[str, str]],
                  headers: Mapping[str, str], body: bytes | None):
    """:meth:`Contract.check_request` against the shipped spec."""
    return default_contract().check_request(method, path, query_items, headers, body)


def check_route(method: str, path: str):
    """:meth:`Contract.check_route` against the shipped spec."""
    return default_contract().check_route(method, path)


def check_response(operation: Operation, status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """:meth:`Contract.check_response` against the shipped spec."""
    return default_contract().check_response(operation, status, headers, body)


def operation_for(method: str, path: str) -> Operation | None:
    """:meth:`Contract.operation_for` against the shipped spec."""
    return default_contract().operation_for(method, path)


def _readable(path: str) -> str:
    """The raw path with escapes decoded but %2F, for messages."""
    return decode_path(path.split("?", 1)[0])


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from any mapping."""
    if name in headers:
        return headers[name]
    folded = name.casefold()
    return next((value for key, value in headers.items() if key.casefold() == folded), None)


#: MVC's JsonSerializerOptions.MaxDepth: the service's serializer refuses to write deeper.
MAX_RESPONSE_DEPTH = 32
class _TooLong(ValueError):
    """A number in a response body longer than Python's int() reads (and any .NET type writes)."""


def _refuse_long_int(text: str) -> int:
    limit = sys.get_int_max_str_digits()  # read each time: a host process may set its own
    if limit and len(text) > limit:
        raise _TooLong(text)
    return int(text)


def _read_json(body: bytes) -> tuple[object, str | None]:
    """(document, None), or (None, the violation) when a response body cannot be judged.

    Python's own limits (recursion, int digits) are met before the schema is: each is
    named as what the service could never have written, never raised.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"the body is not UTF-8 (byte {exc.start}): {_excerpt(body)}"
    depth = _nesting_depth(text)
    if depth > MAX_RESPONSE_DEPTH:
        return None, (f"the body nests {depth} levels deep; the service's serializer writes "
                      f"at most {MAX_RESPONSE_DEPTH}")
    try:
        return json.loads(text, parse_int=_refuse_long_int), None
    except _TooLong as exc:
        return None, f"the body holds a number of {len(str(exc))} digits, longer than any .NET number type writes"
    except json.JSONDecodeError as exc:  # in System.Text.Json's words, as the mock's reader says it
        return None, (f"the body is not JSON: {reader_words(exc.msg, text, exc.pos).rstrip('.')} "
                      f"(line {exc.lineno}, column {exc.colno}): {_excerpt(body)}")


def _nesting_depth(text: str) -> int:
    """The deepest bracket nesting of JSON text, counted without recursion (strings skipped)."""
    if text.count("[") + text.count("{") <= MAX_RESPONSE_DEPTH:
        return 0  # too few brackets to matter
    depth = deepest = 0
    for token in _BRACKETS_OUTSIDE_STRINGS.finditer(text):
        bracket = token.group(1)
        if bracket is None:
            continue
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


_BRACKETS_OUTSIDE_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"?|([\[\]{}])')


def _excerpt(body: bytes, limit: int = 120) -> str:
    """The start of a body, quoted and clipped as every message quotes a value."""
    text = body[:limit + 1].decode("utf-8", "replace")
    return f"'{clip(text, limit)}'"


# == the run against a server ======================================================
PASS, FAIL, SKIP = "pass", "FAIL", "skip"


@dataclass
class Case:
    """One request of a contract run, what it should get, and what it got."""

    operation_id: str
    name: str
    request: str  # e.g. "GET /chats?Take=0", relative to the base URL
    expected: int
    got: int | None = None
    verdict: str = SKIP
    violations: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    duration_ms: float = 0.0


@dataclass
class RunResult:
    """Every case of a run, in order, and what it could not clean up."""

    base_url: str
    cases: list[Case]
    leftovers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Case]:
        return [case for case in self.cases if case.verdict == FAIL]

    def count(self, verdict: str) -> int:
        return sum(case.verdict == verdict for case in self.cases)

    def by_operation(self) -> dict[str, list[Case]]:
        grouped: dict[str, list[Case]] = {}
        for case in self.cases:
            grouped.setdefault(case.operation_id, []).append(case)
        return grouped


class Unreachable(Exception):
    """The server did not take the run's first connection: nothing was checked."""


def base_url_problem(base_url: str, name: str = "base URL") -> str | None:
    """Why ``base_url`` cannot be a server's base URL, or None when it can (``name`` is what
    the message calls it: the proxy's upstream is checked by the same rule).

    Checked before a run sends anything: a mistyped URL is the caller's error, not
    thirty failed cases.
    """
    try:
        split = urlsplit(base_url)
    except ValueError:  # "Invalid IPv6 URL"
        return f"the {name} is not a URL (an IPv6 host needs both its brackets)"
    try:
        port = split.port  # raises on a port that is not a number in 0..65535
    except ValueError:
        port = 0
    if port == 0 and split.netloc.rpartition("]")[2].count(":"):
        return f"the {name}'s port is not a number from 1 to 65535"
    if split.scheme.lower() not in ("http", "https"):
        scheme = split.scheme if base_url[len(split.scheme):len(split.scheme) + 3] == "://" else ""
        shown = f"starts with {scheme}://" if scheme else "has no scheme"
        return f"the {name} must start with http:// or https:// (it {shown})"
    if not split.hostname:
        return f"the {name} has no host (http://HOST[:PORT]/v1)"
    if split.username is not None or split.password is not None:
        # requests would send them as Basic auth in place of the bearer token, and a report
        # would print the password.
        return f"the {name} must not carry a user name or password"
    if split.query or split.fragment:
        return f"the {name} must not carry a query or a fragment"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in base_url):
        return f"the {name} holds a blank or a control character"
    return None


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent as a bearer token, or None when it can."""
    if not token:
        return "a bearer token cannot be empty"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in token):
        return "a bearer token cannot hold a blank or a control character"
    return None


def connection_problem(exc: requests.RequestException) -> str:
    """What went wrong with a connection, in a few words (not the library's exception text)."""
    if isinstance(exc, requests.ConnectTimeout):
        return "no connection within the timeout"
    if isinstance(exc, requests.Timeout):
        return "no answer within the timeout"
    pending, seen = [exc], set()
    while pending:  # the OSError at the bottom of urllib3's wrapping says it best
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror[:1].lower() + current.strerror[1:]
        pending += [e for e in (*getattr(current, "args", ()), getattr(current, "reason", None),
                                current.__cause__, current.__context__) if isinstance(e, BaseException)]
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed"
    return f"the connection failed ({exc.__class__.__name__})"


class ContractRun:
    """Drives every operation of a server through a realistic flow and the documented errors.

    ``token`` is the caller who creates, reacts and deletes (a Client, ideally);
    ``host_token``, when given, is the session's Host, needed to unpin and to see a
    Client refused (403) on someone else's message. Everything the run creates it
    deletes again; the one change the API cannot undo is the unpin (there is no call
    that pins), so it is made only with a host token.
    """

    def __init__(self, base_url: str, token: str, host_token: str | None = None, *,
                 contract: Contract | None = None, timeout: float = 10):
        problem = base_url_problem(base_url) or next(
            (f"{name}: {why}" for name, value in (("the token", token), ("the Host's token", host_token))
             if value is not None and (why := token_problem(value))), None)
        if problem:
            raise ValueError(problem)
        if host_token is not None and host_token == token:
            # Silently skipping the Host's cases would pass a run that checked less.
            raise ValueError("the Host's token is the same as the Client's: give the Host's own token, "
                             "or none to skip the Host's cases")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.host_token = host_token or None
        self.contract = contract or default_contract()
        self.timeout = timeout
        self.http = requests.Session()
        self.cases: list[Case] = []
        self._created: dict[str, str] = {}  # chatId -> the token that created it
        self._unknown = str(uuid.uuid4())  # an id no server holds

    def run(self) -> RunResult:
        notes: list[str] = []
        try:
            pinned = self._list_chats()
            chat_id = self._create_chat(as_=self.token, name="create a message")
            self._create_chat_errors()
            reaction_id = self._add_reaction(chat_id)
            self._list_reactions(chat_id)
            self._delete_reaction(chat_id, reaction_id)
            self._delete_chat(chat_id)
            unpinned = self._delete_pin(pinned)
            if unpinned:
                notes.append(f"message {pinned['chatId']} was unpinned; the API has no call to pin it again")
        finally:
            leftovers = self._clean_up()
            self.http.close()
        return RunResult(self.base_url, self.cases, leftovers, notes)

    # -- the operations, in flow order --------------------------------------
    def _list_chats(self) -> dict | None:
        """Listing cases; the first pinned message found, for deletePin."""
        self.call("listChats", "list messages", 200, "GET", "/chats", params={"Take": "20"})
        page = self.call("listChats", "pinned first", 200, "GET", "/chats",
                         params={"Take": "20", "SortBy": "Pinned", "Ascending": "false"})
        self.call("listChats", "no token", 401, "GET", "/chats", token=None)
        self.call("listChats", "Take=0", 400, "GET", "/chats", params={"Take": "0"})
        self.call("listChats", "Take=21", 400, "GET", "/chats", params={"Take": "21"})
        messages = _json_field(page, "messages")
        listed = messages if isinstance(messages, list) else []
        return next((m for m in listed if isinstance(m, dict) and isinstance(m.get("pinned"), dict)
                     and m["pinned"].get("id") and m.get("chatId")), None)

    def _create_chat(self, *, as_: str, name: str) -> str | None:
        text = f"mockchats contract check {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
        response = self.call("createChat", name, 200, "POST", "/chats", token=as_, json={"message": text})
        return _json_field(response, "chatId")

    def _create_chat_errors(self) -> None:
        self.call("createChat", "no token", 401, "POST", "/chats", token=None, json={"message": "no token"})
        self.call("createChat", "missing message", 400, "POST", "/chats", json={})
        self.call("createChat", "message over 280 characters", 400, "POST", "/chats", json={"message": "x" * 281})
        self.call("createChat", "text/plain body", 415, "POST", "/chats", data=b'{"message": "plain"}',
                  headers={"Content-Type": "text/plain"})

    def _add_reaction(self, chat_id: str | None) -> str | None:
        unknown = f"/chats/{self._unknown}/reactions"
        self.call("addReaction", "unknown chatId", 404, "POST", unknown, json={"reaction": ":thumbs_up:"})
        self.call("addReaction", "no token", 401, "POST", unknown, token=None, json={"reaction": ":thumbs_up:"})
        if chat_id is None:
            self.skip("addReaction", {"react": 200, "unknown reaction": 400, "text/plain body": 415},
                      "no message was created")
            return None
        path = f"/chats/{chat_id}/reactions"
        response = self.call("addReaction", "react", 200, "POST", path, json={"reaction": ":thumbs_up:"})
        self.call("addReaction", "unknown reaction", 400, "POST", path, json={"reaction": ":smile:"})
        self.call("addReaction", "text/plain body", 415, "POST", path, data=b'{"reaction": ":thumbs_up:"}',
                  headers={"Content-Type": "text/plain"})
        return _json_field(response, "reactionId")

    def _list_reactions(self, chat_id: str | None) -> None:
        ids = {"chatIds": [chat_id or self._unknown, self._unknown]}
        self.call("listReactions", "reactions of the new message", 200, "GET", "/chats/reactions", params=ids)
        self.call("listReactions", "no token", 401, "GET", "/chats/reactions", token=None, params=ids)

    def _delete_reaction(self, chat_id: str | None, reaction_id: str | None) -> None:
        unknown = f"/chats/{self._unknown}/reactions/{reaction_id or self._unknown}"
        self.call("deleteReaction", "unknown chatId", 404, "DELETE", unknown)
        self.call("deleteReaction", "no token", 401, "DELETE", unknown, token=None)
        if chat_id is None or reaction_id is None:
            self.skip("deleteReaction", {"delete the reaction": 200}, "no reaction was added")
            return
        self.call("deleteReaction", "delete the reaction", 200, "DELETE", f"/chats/{chat_id}/reactions/{reaction_id}")

    def _delete_chat(self, chat_id: str | None) -> None:
        self.call("deleteChat", "unknown chatId", 404, "DELETE", f"/chats/{self._unknown}")
        self.call("deleteChat", "no token", 401, "DELETE", f"/chats/{chat_id or self._unknown}", token=None)
        self._forbidden_delete()
        if chat_id is None:
            self.skip("deleteChat", {"delete the message": 204}, "no message was created")
            return
        self.call("deleteChat", "delete the message", 204, "DELETE", f"/chats/{chat_id}")

    def _forbidden_delete(self) -> None:
        """A Client deleting the Host's message: 403 (needs two users)."""
        names = {"a Client deletes the Host's message": 403, "the Host deletes its message": 204}
        if self.host_token is None:
            self.skip("deleteChat", names, "needs a second user: --host-token")
            return
        host_chat = self._create_chat(as_=self.host_token, name="create a message as the Host")
        if host_chat is None:
            self.skip("deleteChat", names, "the Host's message was not created")
            return
        self.call("deleteChat", "a Client deletes the Host's message", 403, "DELETE", f"/chats/{host_chat}")
        self.call("deleteChat", "the Host deletes its message", 204, "DELETE", f"/chats/{host_chat}",
                  token=self.host_token)

    def _delete_pin(self, pinned: dict | None) -> bool:
        """deletePin cases; True when a message was unpinned."""
        target = (f"/chats/{pinned['chatId']}/pins/{pinned['pinned']['id']}" if pinned
                  else f"/chats/{self._unknown}/pins/{self._unknown}")
        self.call("deletePin", "no token", 401, "DELETE", target, token=None)
        if self.host_token is None:
            self.skip("deletePin", {"unknown chatId": 404, "a Client unpins": 403, "unpin as the Host": 200},
                      "needs the Host's token: --host-token")
            return False
        self.call("deletePin", "unknown chatId", 404, "DELETE",
                  f"/chats/{self._unknown}/pins/{pinned['pinned']['id'] if pinned else self._unknown}",
                  token=self.host_token)
        if pinned is None:
            self.skip("deletePin", {"a Client unpins": 403, "unpin as the Host": 200},
                      "no pinned message in the listing")
            return False
        self.call("deletePin", "a Client unpins", 403, "DELETE", target)
        response = self.call("deletePin", "unpin as the Host", 200, "DELETE", target, token=self.host_token)
        return response is not None and response.status_code == 200

    # -- requests and cases -------------------------------------------------
    def call(self, operation_id: str, name: str, expected: int, method: str, path: str, *,
             token: str | None | bool = True, params: dict | None = None, headers: dict | None = None,
             **body) -> requests.Response | None:
        """Send one request as a case of ``operation_id``, check the answer, record the case."""
        token = self.token if token is True else token
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        query = "&".join(f"{k}={v}" for k, values in (params or {}).items()
                         for v in (values if isinstance(values, list) else [values]))
        case = Case(operation_id, name, f"{method} {path}" + (f"?{query}" if query else ""), expected)
        self.cases.append(case)
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.base_url + path, params=params, headers=sent,
                                         timeout=self.timeout, allow_redirects=False, **body)
        except requests.RequestException as exc:
            if isinstance(exc, requests.ConnectionError) and all(c.got is None for c in self.cases):
                # Not one answer yet: the server is not there, and every case would say so.
                raise Unreachable(f"cannot reach {self.base_url}: {connection_problem(exc)}") from None
            case.duration_ms = (time.perf_counter() - started) * 1000
            case.verdict, case.violations = FAIL, [f"no response: {connection_problem(exc)}"]
            return None
        case.duration_ms = (time.perf_counter() - started) * 1000
        case.got = response.status_code
        operation = self.contract.operation(operation_id)
        if response.status_code != expected:
            case.violations.append(f"expected {expected}, got {response.status_code}")
        case.violations += self.contract.check_response(operation, response.status_code, response.headers,
                                                        response.content)
        case.verdict = FAIL if case.violations else PASS
        self._remember_created(operation_id, path, response, token)
        return response

    def skip(self, operation_id: str, expected_by_name: dict[str, int], reason: str) -> None:
        """Record cases that cannot be run against this server, with the reason."""
        for name, expected in expected_by_name.items():
            self.cases.append(Case(operation_id, name, "-", expected, skip_reason=reason))

    def _remember_created(self, operation_id: str, path: str, response: requests.Response, token) -> None:
        """Track what exists because of the run (even if it should have been refused)."""
        if operation_id == "createChat" and 200 <= response.status_code < 300:
            chat_id = _json_field(response, "chatId")
            if isinstance(chat_id, str):
                self._created[chat_id] = token or self.token
        elif operation_id == "deleteChat" and response.status_code in (200, 204):
            self._created.pop(path.rsplit("/", 1)[-1], None)

    def _clean_up(self) -> list[str]:
        """Delete every message the run created and did not delete; what stays, described."""
        leftovers = []
        for chat_id, creator in list(self._created.items()):
            statuses = []
            for token in dict.fromkeys([creator, self.host_token, self.token]):
                if not token:
                    continue
                try:
                    status = self.http.delete(f"{self.base_url}/chats/{chat_id}", timeout=self.timeout,
                                              headers={"Authorization": f"Bearer {token}"}).status_code
                except requests.RequestException as exc:
                    status = f"no response ({connection_problem(exc)})"
                statuses.append(str(status))
                if status in (200, 204, 404):
                    self._created.pop(chat_id)
                    break
            else:
                leftovers.append(f"message {chat_id} could not be deleted ({', '.join(statuses)})")
        return leftovers


def _json_field(response: requests.Response | None, name: str):
    """A top-level field of a JSON object response, or None."""
    if response is None or not 200 <= response.status_code < 300:
        return None
    try:
        document = response.json()
    except ValueError:
        return None
    return document.get(name) if isinstance(document, dict) else None


def run(base_url: str, token: str, host_token: str | None = None, **options) -> RunResult:
    """Drive the server at ``base_url`` (ending in /v1) through every operation; see :class:`ContractRun`."""
    return ContractRun(base_url, token, host_token, **options).run()


# == what a run found ================================================================
def print_table(result: RunResult, echo: Callable[[str], None] = print) -> None:
    """One table per operation (case, expected, got, verdict), violations under their case."""
    echo(f"Contract check of {result.base_url} against openapi/chats.yaml")
    width = max(len(case.name) for case in result.cases) + 2
    for operation_id, cases in result.by_operation().items():
        echo("")
        echo(f"{operation_id}")
        echo(f"  {'case':<{width}}{'expected':<10}{'got':<6}verdict")
        for case in cases:
            got = "-" if case.got is None else str(case.got)
            echo(f"  {case.name:<{width}}{case.expected:<10}{got:<6}{case.verdict}"
                 + (f"  ({case.skip_reason})" if case.skip_reason else ""))
            if case.verdict == FAIL:
                echo(f"      {case.request}")
                for violation in case.violations:
                    echo(f"      - {violation}")
    echo("")
    for note in result.notes:
        echo(f"note: {note}")
    for leftover in result.leftovers:
        echo(f"left behind: {leftover}")
    summary = (f"{len(result.cases)} cases: {result.count(PASS)} passed, {result.count(FAIL)} failed, "
               f"{result.count(SKIP)} skipped")
    failed_ops = list(dict.fromkeys(case.operation_id for case in result.failed))
    echo(summary + (f"; contract violated by {', '.join(failed_ops)}" if failed_ops else "; contract kept"))


def json_report(result: RunResult) -> dict:
    """The run as a JSON document: a summary, then every case."""
    return {
        "baseUrl": result.base_url,
        "passed": not result.failed,
        "summary": {"cases": len(result.cases), "passed": result.count(PASS),
                    "failed": result.count(FAIL), "skipped": result.count(SKIP)},
        "cases": [{
            "operationId": case.operation_id, "case": case.name, "request": case.request,
            "expected": case.expected, "got": case.got, "verdict": case.verdict,
            "violations": case.violations, "skipReason": case.skip_reason,
            "durationMs": round(case.duration_ms, 3),
        } for case in result.cases],
        "notes": result.notes,
        "leftovers": result.leftovers,
    }


def junit_xml(result: RunResult) -> str:
    """The run as JUnit XML: one testsuite per operation, one testcase per case."""
    root = ET.Element("testsuites", name="mockchats contract", tests=str(len(result.cases)),
                      failures=str(result.count(FAIL)), skipped=str(result.count(SKIP)),
                      time=f"{sum(c.duration_ms for c in result.cases) / 1000:.3f}")
    for operation_id, cases in result.by_operation().items():
        suite = ET.SubElement(root, "testsuite", name=operation_id, tests=str(len(cases)),
                              failures=str(sum(c.verdict == FAIL for c in cases)), errors="0",
                              skipped=str(sum(c.verdict == SKIP for c in cases)),
                              time=f"{sum(c.duration_ms for c in cases) / 1000:.3f}")
        for case in cases:
            element = ET.SubElement(suite, "testcase", classname=f"contract.{operation_id}", name=case.name,
                                    time=f"{case.duration_ms / 1000:.3f}")
            if case.verdict == FAIL:
                failure = ET.SubElement(element, "failure", message=case.violations[0], type="ContractViolation")
                failure.text = "\n".join([case.request, *case.violations])
            elif case.verdict == SKIP:
                ET.SubElement(element, "skipped", message=case.skip_reason or "skipped")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
