"""The request pipeline: a service's operations, routed as ASP.NET Core routes them, in front of Flask.

A request to the API passes these stages, each once, in this order; the module reads in
the same order, top to bottom:

1. **segment**: the raw path cut into segments as Kestrel decodes it, once; every later
   stage reads these segments (:func:`_segments`);
2. **route**: each service's route table (:class:`~.spec.Routes`, one per document, the
   Chats API's first) picks the operation for the method, else a 405; a path no operation has
   goes to Flask. CORS is decided here and a preflight answered (:meth:`Pipeline.__call__`);
3. **fault** (``before``): an injected fault for this operation and path (:func:`_dispatch`);
4. **token**: who the caller is, by the service's own rules for the operation's security, else
   401 (:func:`_operate`);
5. **Prefer**: Prism's ``Prefer: code=NNN`` (:func:`_preferred_response`);
6. **binding**: the query and the body bound and validated as [ApiController] does (400, 415, 413);
7. **handler**: the operation's handler, a call into the service's model (400, 401, 403, 404, 422);
8. **fault** (``after``): a fault that hides a success (:func:`_fault_response` answers both);
9. **journal**: the exchange timed, logged and recorded, with the contract's word on its
   route (:meth:`Pipeline._journal`).

Every failure on the way is answered the way the real ASP.NET Core service answers it.

Why the operations are routed here and not by Flask's URL map: ASP.NET Core's rules
(case-insensitive literals, one trailing slash ignored, ``%2F`` kept inside its
segment, a 405 listing every route the path matched) are :mod:`..aspnet.routing`'s, so the path
has to be matched by them anyway; matching it once more in Flask, and building
Flask's request context around a call that uses none of it, cost a third to a half of
a request. Flask serves what is not an API operation: the control plane,
the documents (``/openapi.json``, ``/openapi/{chats,sessions}.json``), and the 404s.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from wsgiref.types import StartResponse, WSGIEnvironment

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from ..aspnet.binding import BindingFailed, RequestBinder, binding_violations
from ..aspnet.routing import decode_path, kestrel_segments
from . import cors as cors_rule
from .errors import BadRequest, Forbidden, NotFound, Unauthorized, UnknownCaller, Unprocessable
from .faults import AFTER, BEFORE, Fault
from .identity import CHALLENGE_INVALID, Unauthenticated
from .journal import Exchange, request_headers
from .responses import empty_response, is_control_path, json_response, problem_response, validation_response
from .spec import Operation, Routes, Spec

if TYPE_CHECKING:  # types only: the pipeline is given the mock, it never builds one
    from ..app import Mock

#: A service's handler of one operation: (the service's model, the caller, the bound call) -> body.
Handler = Callable[[Any, Any, "Call"], "dict | list | None"]
#: A service's token stage: (the operation, the request's environ, the exchange's warnings) -> the
#: caller its handlers are given. Raises Unauthenticated (the JwtBearer challenge), Unauthorized
#: (a refused API key), NotFound (a token of the mock's whose session is gone).
Authenticate = Callable[[Operation, WSGIEnvironment, list[str]], Any]
#: (method, path as sent, the contract's spelling of the operation it reached or None when it
#: reached none) -> (violations, warnings): the contract's judgement of a route.
RouteCheck = Callable[[str, str, "str | None"], "tuple[list[str], list[str]]"]

#: The mock's own request body limit (Kestrel's default is 30 MB).
MAX_BODY_BYTES = 1024 * 1024
#: Set in the environ when an injected fault dropped the connection instead of answering.
DROPPED = "mockchats.dropped"
#: Set in the environ by the in-process mode (:mod:`mockchats.inprocess`): the request crossed
#: no network, so no network rule of the control plane applies to it.
IN_PROCESS = "mockchats.in_process"

def whole_answer(app: Callable, environ: dict, start_response: Callable) -> bytes:
    """The body of a WSGI app's answer, joined, its iterable closed as PEP 3333 asks: what the
    ASGI bridge and the in-process mode both do with the app they serve."""
    chunks = app(environ, start_response)
    try:
        return b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


access_log = logging.getLogger("mockchats.access")
#: Unhandled errors (never a client's doing). Not Flask's ``app.logger``: reading that adds
#: Flask's own handler to the "mockchats" logger, and every access line would print twice.
error_log = logging.getLogger("mockchats.errors")
_PREFER_CODE = re.compile(r"(?:^|[\s,;])code=(\d{3})\b")
#: The 503 detail of a request a delay fault held while the mock's world was replaced.
HELD_ACROSS_RESET = "The mock's world changed while this request was held."
_PARAMETER = re.compile(r"\{\w+\}")
#: The app's own documents, routed by the same rules as the API (``/OpenAPI.json`` reaches the
#: first): their path folded -> their segments. Not journaled.
DOCUMENTS = ("/openapi.json", "/openapi/chats.json", "/openapi/sessions.json")
_OWN_ROUTES = {path[1:].casefold(): path[1:].split("/") for path in DOCUMENTS}


class StartupError(RuntimeError):
    """The spec and the handlers do not describe the same operations."""


@dataclass(frozen=True)
class Call:
    """What binding made of one request: the handler's arguments."""

    path: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    body: dict | None = None


@dataclass(frozen=True)
class Service:
    """One API the pipeline serves: its document (routes and schemas), the model its handlers
    call, a handler for each of the document's operations, and its token stage."""

    spec: Spec
    model: Any
    handlers: dict[str, Handler]
    authenticate: Authenticate


@dataclass(frozen=True)
class _Endpoint:
    """One operation as the router calls it: its service, binder and handler, and where its
    parameters sit."""

    op: Operation
    service: Service
    binder: RequestBinder
    handler: Handler
    parts: tuple[str, ...]  # the template's segments: "{chatId}" marks a parameter


class _ApiRequest(Request):
    """A partner's request; its body is refused (413) past the mock's limit."""

    max_content_length = MAX_BODY_BYTES


class Pipeline:
    """The app's WSGI entry: each request as one exchange, routed, timed, logged and journaled.

    A path one of the spec's routes matches (by ASP.NET Core's rules, :mod:`..aspnet.routing`) is served
    here: the operation for its method, else 405 with every method its routes take.
    Everything else goes to Flask (``flask_app``) with the path ASP.NET Core would match:
    ``/OpenAPI.json`` reaches ``/openapi.json``. The journal keeps the path as the client
    sent it. Partner requests are journaled; the control plane and ``/openapi.json`` are not.
    """

    def __init__(self, flask_app: Flask, mock: Mock, services: Iterable[Service], *, check_route: RouteCheck):
        self._flask_wsgi = flask_app.wsgi_app
        self.mock = mock
        self._check_route = check_route
        services = list(services)
        _check_handlers(services)
        #: Each service's route table, in routing order: the first that matches a path serves it.
        self._tables = [service.spec.routes for service in services]
        #: operationId -> endpoint.
        self._endpoints: dict[str, _Endpoint] = {}
        for service in services:
            for template, operations in service.spec.routes.by_template.items():
                parts = tuple(template.strip("/").split("/"))
                odd = [part for part in parts if "{" in part and not _PARAMETER.fullmatch(part)]
                if odd:  # ASP.NET allows "{id}.json"; this router matches whole segments only
                    first = next(iter(operations.values()))
                    raise StartupError(f"{first.operation_id}: path segment {odd[0]!r} in {service.spec.path} "
                                       "is not a whole {parameter}")
                for op in operations.values():
                    self._endpoints[op.operation_id] = _Endpoint(op, service, RequestBinder(op, service.spec.schemas),
                                                                 service.handlers[op.operation_id], parts)
        #: The first path segment of each API (folded), where CORS applies, as on /openapi*.
        self._api_roots = {service.spec.base_path.strip("/").split("/", 1)[0].casefold() for service in services}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        generation = self.mock.store.generation
        method = environ["REQUEST_METHOD"]
        # 1. segment
        path, segments = _segments(environ)
        # 2. route: the operation for the method; else a 405 when the path is an operation's;
        # else Flask, given the path as routing spells it.
        for routes in self._tables:
            matches = routes.match(segments)
            if matches:
                break
        found = routes.select(method, matches) if matches else None
        if found is not None:
            canonical = found[1]  # the chosen route's spelling
        elif matches:
            canonical = matches[0][1]
        else:
            canonical = _OWN_ROUTES.get("/".join(segments).casefold(), segments)
        routed = environ["PATH_INFO"] = "/" + "/".join(canonical)
        exchange = Exchange(method, path, environ.get("QUERY_STRING", ""))
        cors = None
        origin = environ.get("HTTP_ORIGIN")  # the one cost CORS adds to a request without it
        if origin and self.mock.cors and self._cors_applies(routed):
            cors = cors_rule.allowed(origin)

        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            exchange.status = int(status[:3])
            if cors is not None:
                headers = [*headers, *cors]
            exchange.response_headers = headers  # the server's list; Journal.record makes it a tuple for the collector
            return start_response(status, headers, exc_info)

        preflight = (cors is not None and method == "OPTIONS"
                     and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"))
        if preflight:  # answered before any endpoint runs, as ASP.NET Core's CORS middleware does
            body = _preflight(environ)(environ, start)
        else:
            if cors is not None:
                cors.append(cors_rule.exposed())
            if found is not None:  # 3. to 8.: the operation
                endpoint = self._endpoints[found[0].operation_id]
                body = self._answer(environ, endpoint, canonical, exchange, generation)(environ, start)
            elif matches:  # ASP.NET lists the methods of every route that matched the path
                allowed = ", ".join(routes.allowed(matches))
                body = empty_response(405, {"Allow": allowed})(environ, start)
            else:
                body = self._flask_wsgi(environ, start)
        # 9. journal
        exchange.duration_ms = (time.perf_counter() - started) * 1000
        if access_log.isEnabledFor(logging.INFO):
            query = exchange.query_string
            access_log.info('%s "%s %s" %s %.1fms', environ.get("REMOTE_ADDR"), method,
                            path + "?" + query if query else path, exchange.status, exchange.duration_ms)
        dropped = environ.get(DROPPED)
        if dropped:
            exchange.status = None  # the client never got the answer logged above
            exchange.response_headers = None
        # Not journaled: the control plane and the document; a browser's preflight (the
        # client's code never sent it); and a request that began in a world since replaced
        # (the journal belongs to the new one).
        if not (preflight or routed in DOCUMENTS or is_control_path(routed)
                or self.mock.store.generation != generation):
            exchange.headers = request_headers(environ)
            if not dropped:
                # The answer's bytes, joined here rather than by the server: the same one join
                # (the server's of a one-item list gives back that same bytes object).
                data = b"".join(body)
                close = getattr(body, "close", None)
                if close is not None:
                    close()
                body = [data]
                exchange.response_body = data  # cut to BODY_BYTES, if over, when recorded
            self._journal(exchange, routed, routes, matches)
        if dropped:
            environ["mockchats.drop_connection"]()
        return body

    def _cors_applies(self, routed: str) -> bool:
        """CORS covers the API's paths and /openapi*, never the control plane (:mod:`.cors`)."""
        return cors_rule.applies(routed, self._api_roots)

    def _answer(self, environ: WSGIEnvironment, endpoint: _Endpoint, canonical: list[str], exchange: Exchange,
                generation: int) -> Response:
        """The operation's answer; an oversize or unreadable body and an unexpected error as Kestrel's."""
        segments = [_decoded(segment) for segment in canonical]  # as the handler and the faults read them
        path = {part[1:-1]: segment for part, segment in zip(endpoint.parts, segments) if part.startswith("{")}
        # Not put into the environ as werkzeug.request: that cycle (the request holds the environ)
        # made every request garbage only the cyclic collector could free (collections 3x as often).
        request = _ApiRequest(environ, populate_request=False)
        try:
            return _dispatch(request, endpoint, self.mock, exchange, segments, path, generation)
        except HTTPException as error:  # an oversize body, or one the server could not read
            if error.code == 413:
                exchange.violations.append(f"the body is over the {MAX_BODY_BYTES}-byte limit")
            return empty_response(error.code or 500)
        except Exception:  # never a client's doing (the tests make sure); Kestrel's empty 500
            error_log.exception("unhandled error")
            return empty_response(500)

    def _journal(self, exchange: Exchange, routed: str, routes: Routes, matches: list[tuple[str, list[str]]]) -> None:
        canonical: str | None = _decoded(routed)
        if exchange.operation_id is None or exchange.path != canonical:
            # No operation matched, or the client spelled the path its own way: the contract
            # says so, from the routing already done.
            if exchange.operation_id is None:
                # The contract names a method in any case (as ASP.NET Core's routing matches it).
                found = routes.select(exchange.method.upper(), matches) if matches else None
                canonical = None if found is None else _decoded("/" + "/".join(found[1]))
            sent = _decoded(decode_path(exchange.path, "latin-1"))
            route_violations, route_warnings = self._check_route(exchange.method, sent, canonical)
            exchange.violations[:0] = route_violations
            exchange.warnings.extend(route_warnings)
        self.mock.journal.record(exchange)


def _segments(environ: WSGIEnvironment) -> tuple[str, list[str]]:
    """(the path as the client sent it, its segments as routing sees them, latin-1 as WSGI's strings)."""
    raw = environ.get("REQUEST_URI")
    if raw:
        path = urlsplit(raw).path if "://" in raw else raw.split("?", 1)[0]
        return path, kestrel_segments(path, "latin-1")  # WSGI wants latin-1 strings
    # A server that passes no raw target (wsgiref): PATH_INFO is all there is.
    path = environ.get("PATH_INFO", "")
    return path, kestrel_segments(path, None)


def _preflight(environ: WSGIEnvironment) -> Response:
    """A CORS preflight's 204 (:func:`.cors.preflight`); the origin headers are added by the caller."""
    return empty_response(204, cors_rule.preflight(environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"],
                                                   environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")))


def _dispatch(req: Request, endpoint: _Endpoint, mock: Mock, exchange: Exchange, segments: list[str],
              path: dict[str, str], generation: int) -> Response:
    """Serve one request for the endpoint's operation: fault, token, binding, handler, response.

    ``segments`` are the routed path's; ``generation`` is the store's world when the request
    came in: one a delay fault held across a reset or a load must not act on the new world.
    """
    op = endpoint.op
    exchange.operation_id = op.operation_id
    fault = mock.faults.strike(op.operation_id, op.method, segments, BEFORE)
    if fault is not None:
        struck = _fault_response(req, fault, mock, generation)
        if struck is not None:
            return struck
    response = _operate(req, endpoint, mock, exchange, path)
    # An "after" fault hides a success; a refused request changed nothing to hide.
    if response.status_code < 300:
        fault = mock.faults.strike(op.operation_id, op.method, segments, AFTER)
        if fault is not None:
            return _fault_response(req, fault, mock, generation) or response
    return response


def _operate(req: Request, endpoint: _Endpoint, mock: Mock, exchange: Exchange, path: dict) -> Response:
    op, binder = endpoint.op, endpoint.binder
    violations, warnings = exchange.violations, exchange.warnings
    environ = req.environ  # headers read straight from it: Werkzeug's view costs more than the rest
    try:
        caller = endpoint.service.authenticate(op, environ, warnings)
        if hasattr(caller, "role"):  # a user of a session (not a wallet, not nobody): the journal's
            exchange.user = caller
        # Prefer: code=NNN is answered once the caller is known, as the real service would
        # have refused an unauthenticated request first.
        preferred = _preferred_response(environ.get("HTTP_PREFER"), op, warnings)
        if preferred is not None:
            return preferred
        # A body ASP.NET cannot read is 415 whatever the query holds: its filter for unsupported
        # content types runs before the one that answers binding's 400.
        encoding = binder.check_media_type(environ.get("CONTENT_TYPE")) if op.body_schema is not None else None
        query = binder.bind_query_string(environ.get("QUERY_STRING", ""), warnings)
        body = None
        if encoding is not None:
            data = exchange.body = req.get_data(cache=False)
            body = binder.bind_body(data, warnings, encoding)
        result = endpoint.handler(endpoint.service.model, caller, Call(path, query, body))
    except Unauthenticated as exc:
        violations.append("no bearer token" if exc.challenge == "Bearer" else "the bearer token is refused")
        return empty_response(401, {"WWW-Authenticate": exc.challenge})
    except Unauthorized as exc:  # the token holds, the API key or the password does not
        violations.append(exc.detail)
        return problem_response(401)
    except UnknownCaller:  # a reset replaced the world mid-request: the token no longer holds
        return empty_response(401, {"WWW-Authenticate": CHALLENGE_INVALID})
    except BindingFailed as exc:
        violations.extend(binding_violations(exc, environ.get("CONTENT_TYPE")))
        if exc.status == 400:
            return validation_response(exc.errors)
        return problem_response(exc.status)
    except BadRequest as exc:
        return problem_response(400, detail=exc.detail)
    except NotFound:
        return problem_response(404)
    except Forbidden:
        return empty_response(403)
    except Unprocessable as exc:
        return problem_response(422, detail=exc.detail)
    if result is None:
        return empty_response(op.success_status)
    return json_response(op.success_status, result)


def _check_handlers(services: list[Service]) -> None:
    """StartupError unless every service has a handler for each of its operations and no other."""
    problems = []
    for service in services:
        declared = {op.operation_id for op in service.spec.operations}
        problems += [f"operation {name!r} in {service.spec.path} has no handler"
                     for name in sorted(declared - service.handlers.keys())]
        problems += [f"handler {name!r} has no operation in {service.spec.path}"
                     for name in sorted(service.handlers.keys() - declared)]
    if problems:
        raise StartupError("; ".join(problems))


def _preferred_response(prefer: str | None, op: Operation, warnings: list[str]) -> Response | None:
    """Prism's ``Prefer: code=NNN``: any status the spec declares, a conforming body, no change."""
    if not prefer:
        return None
    match = _PREFER_CODE.search(prefer)
    if match is None:
        return None
    status = int(match.group(1))
    declared = op.responses.get(str(status))
    if declared is None:
        warnings.append(f"Prefer: code={status} is not a status {op.operation_id} declares; ignored")
        return None
    content = declared.get("content", {})
    headers = {name: _HEADER_EXAMPLES.get(name, "1") for name in declared.get("headers", {})}
    if not content:
        return empty_response(status, headers)
    media, schema = next(iter(content.items()))[0], next(iter(content.values()))["schema"]
    if media == "application/problem+json":
        response = (validation_response({"Prefer": [f"Status {status} requested by the Prefer header."]})
                    if status == 400 else problem_response(status))
    else:
        response = json_response(status, Spec.example(schema))
    response.headers.update(headers)
    return response


_HEADER_EXAMPLES = {"WWW-Authenticate": "Bearer", "Retry-After": "1"}


def _fault_response(req: Request, fault: Fault, mock: Mock, generation: int) -> Response | None:
    """What an injected fault answers; None when it only delays the normal answer.

    A request held past a reset, a scenario load or a state import belongs to a world
    that is gone: it is answered 503 and acts on nothing (nor is it journaled).
    """
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000)
        if mock.store.generation != generation:
            return problem_response(503, detail=HELD_ACROSS_RESET)
    if fault.drop:
        if "mockchats.drop_connection" not in req.environ:
            raise RuntimeError("dropping a connection needs a mockchats server (mockchats.Server, "
                               "or mockchats serve)")
        # Dropped once the request is journaled (Pipeline.__call__): a client that sees the
        # connection error and then reads the journal must find its request there.
        req.environ[DROPPED] = True
        return empty_response(503)  # never reaches the client: its connection goes first
    if fault.status is None:
        return None
    if fault.body is not None:
        response = json_response(fault.status, fault.body)
    elif fault.status in (204, 304) or fault.status < 200:
        response = empty_response(fault.status)
    else:
        response = problem_response(fault.status)
    response.headers.update(fault.headers)
    return response


def _decoded(wsgi_path: str) -> str:
    """A WSGI (latin-1) path as Werkzeug's ``request.path`` reads it."""
    return wsgi_path.encode("latin-1").decode("utf-8", "replace")
