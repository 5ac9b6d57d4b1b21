"""The contract checks, in both directions.

One module, so the mock's journal, ``mockchats proxy``, ``mockchats contract`` and the
test suite judge traffic by the very same rules:

- :func:`check_request` says whether the real service would take a request: the route
  (from the spec, matched as ASP.NET Core matches it), a bearer token where the operation's
  security asks for one, the query and body through
  :class:`~mockchats.aspnet.binding.RequestBinder` (the binder the mock itself uses), then an
  API key header where the security asks for one (the action's own check).
  Nothing is executed. It stops at the first refusing stage, as the service does.
- :func:`check_response` says whether a response keeps the contract: a status the
  operation declares, its required headers, the declared content type (problem+json for
  errors), and a body that validates against the schema with OpenAPI 3.0 semantics
  (``nullable`` included). Validators are compiled once per operation, status and type.

The shipped contract (:func:`default_contract`) is every document the mock serves, each with
its own route table and schemas: the Chats API's, then the Session API's, both under ``/v1``.
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from ..aspnet.binding import BindingFailed, RequestBinder, binding_violations
from ..aspnet.routing import decode_path, kestrel_segments
from ..core.identity import bearer_token
from ..core.journal import reader_words
from ..core.spec import Operation, Spec, default_specs
from ..core.wording import clip, describe, place_of

if TYPE_CHECKING:
    from openapi_schema_validator import OAS30Validator

PROBLEM_JSON = "application/problem+json"
#: How many schema errors of one body are listed (the first ones, by JSON path).
MAX_SCHEMA_ERRORS = 5


# == the validators ==============================================================
class Contract:
    """The request binders and response validators of one or more documents, built once.

    ``Contract(spec)`` judges by one document; ``Contract([chats, sessions])`` by several, and
    ``Contract()`` by every shipped one (:func:`~mockchats.core.spec.default_specs`). Each
    document keeps its own route table (:attr:`Spec.routes <mockchats.core.spec.Spec.routes>`):
    a path is routed by the first document that has an operation for it, as the mock routes.
    """

    def __init__(self, spec: Spec | Iterable[Spec] | None = None):
        specs = default_specs() if spec is None else (spec,) if isinstance(spec, Spec) else tuple(spec)
        if not specs:
            raise ValueError("a contract needs at least one document")
        #: Every document judged by, in routing order.
        self.specs: tuple[Spec, ...] = specs
        #: The first document (the Chats API's, in the shipped contract).
        self.spec = specs[0]
        self._operations: dict[str, Operation] = {}
        self._credentials: dict[str, tuple[bool, tuple[str, ...]]] = {}
        for document in specs:
            for op in document.operations:
                if op.operation_id in self._operations:
                    # The journal, the faults and the reports name operations by their id alone.
                    raise ValueError(f"operationId {op.operation_id!r} is in two documents")
                self._operations[op.operation_id] = op
                self._credentials[op.operation_id] = _credentials(document, op)
        schemas = {op.operation_id: document.schemas for document in specs for op in document.operations}
        self._binders = {op_id: RequestBinder(op, schemas[op_id]) for op_id, op in self._operations.items()}
        self._validators: dict[tuple[str, str, str], OAS30Validator] = {}

    @property
    def operations(self) -> list[Operation]:
        """Every operation of every document, in the documents' order."""
        return list(self._operations.values())

    def operation(self, operation_id: str) -> Operation:
        """The operation with this operationId (KeyError when no document has it)."""
        return self._operations[operation_id]

    # -- routes -----------------------------------------------------------
    def route(self, method: str, path: str) -> tuple[Operation | None, str]:
        """The operation a raw request path (from the server root) reaches, and its canonical path.

        As ASP.NET Core routes: literal segments match case-insensitively, one trailing
        slash is ignored, dot segments are resolved, and ``%2F`` stays inside its segment.
        """
        segments = kestrel_segments(path.split("?", 1)[0])
        verb = method.upper()
        for document in self.specs:  # the Chats API's first: its paths cost what they cost alone
            routes = document.routes
            found = routes.select(verb, routes.match(segments))
            if found is not None:
                return found[0], "/" + "/".join(found[1])
        return None, "/" + "/".join(segments)

    def operation_for(self, method: str, path: str) -> Operation | None:
        """The operation ``method path`` targets, or None (unknown path or method)."""
        return self.route(method, path)[0]

    # -- requests ---------------------------------------------------------
    def check_route(self, method: str, path: str) -> tuple[Operation | None, list[str], list[str]]:
        """(operation or None, violations, warnings) of a request's method and raw path alone."""
        operation, canonical = self.route(method, path)
        violations, warnings = route_findings(method, _readable(path), canonical if operation else None)
        return operation, violations, warnings

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
        bearer, keys = self._credentials[operation.operation_id]
        if bearer and bearer_token(_header(headers, "Authorization")) is None:
            violations.append("no bearer token")  # the JwtBearer challenge comes first
        else:
            binder = self._binders[operation.operation_id]
            try:
                binder.bind_query(list(query_items), warnings)
                if operation.body_schema is not None:
                    encoding = binder.check_media_type(_header(headers, "Content-Type"))
                    binder.bind_body(body or b"", warnings, encoding)
            except BindingFailed as exc:
                violations.extend(binding_violations(exc, _header(headers, "Content-Type")))
            else:
                # An API key is the action's own check, after binding (FIDELITY 81).
                violations.extend(f"no {name} header" for name in keys if not (_header(headers, name) or "").strip())
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
        declared_headers = declared.get("headers", {})
        violations = [f"declared header {name} is missing" for name, header in declared_headers.items()
                      if header.get("required") and _header(headers, name) is None]
        content = declared.get("content")
        if content and not body and PROBLEM_JSON in content and "WWW-Authenticate" in declared_headers:
            # A 401 that is either the JwtBearer challenge (no body, the header) or a problem.
            if _header(headers, "WWW-Authenticate") is None:
                violations.append("an empty body without WWW-Authenticate: neither the bearer challenge "
                                  "nor a problem")
            return violations
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


@lru_cache(maxsize=1)
def default_contract() -> Contract:
    """The contract of every shipped document (``openapi/chats.yaml``, then
    ``openapi/sessions.yaml``: the app's own), built on first use."""
    return Contract()


def check_request(method: str, path: str, query_items: Iterable[tuple[str, str]],
                  headers: Mapping[str, str], body: bytes | None) -> tuple[Operation | None, list[str], list[str]]:
    """:meth:`Contract.check_request` against the shipped documents."""
    return default_contract().check_request(method, path, query_items, headers, body)


def check_route(method: str, path: str) -> tuple[Operation | None, list[str], list[str]]:
    """:meth:`Contract.check_route` against the shipped documents."""
    return default_contract().check_route(method, path)


def check_response(operation: Operation, status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """:meth:`Contract.check_response` against the shipped documents."""
    return default_contract().check_response(operation, status, headers, body)


def operation_for(method: str, path: str) -> Operation | None:
    """:meth:`Contract.operation_for` against the shipped documents."""
    return default_contract().operation_for(method, path)


def route_findings(method: str, sent: str, canonical: str | None) -> tuple[list[str], list[str]]:
    """(violations, warnings) of a request's route, once routed: ``sent`` is the path as the client
    sent it (escapes decoded but %2F), ``canonical`` the contract's spelling of the operation's path
    it reached, None when it reached no operation. The mock's journal calls it with the routing its
    pipeline has done; :meth:`Contract.check_route` with its own.
    """
    if canonical is None:
        return [f"{method.upper()} {sent} is not an operation of the contract"], []
    if sent != canonical:
        return [], [f"path {sent!r} is spelled {canonical!r} in the contract"]
    return [], []


def _credentials(spec: Spec, op: Operation) -> tuple[bool, tuple[str, ...]]:
    """(whether a bearer token is needed, the API key headers needed) by the operation's
    security (its own, else the document's): ``security: []`` needs neither."""
    document = spec.document
    raw = document["paths"][op.path][op.method.lower()]
    requirements = raw.get("security", document.get("security", []))
    if not requirements or any(not requirement for requirement in requirements):
        return False, ()
    schemes = document.get("components", {}).get("securitySchemes", {})
    # The first requirement is the one named in the messages; the shipped documents have one each.
    names = list(requirements[0])
    bearer = any(schemes.get(name, {}).get("type") == "http"
                 and str(schemes[name].get("scheme", "")).lower() == "bearer" for name in names)
    keys = tuple(schemes[name]["name"] for name in names
                 if schemes.get(name, {}).get("type") == "apiKey" and schemes[name].get("in") == "header")
    return bearer, keys


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
