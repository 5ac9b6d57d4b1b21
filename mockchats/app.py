"""The WSGI app: the spec's operations, routed as ASP.NET Core routes them, in front of Flask.

A request to the API goes through each layer once: route (from the spec), injected
fault, token, binding and validation, the operation's handler (a model call),
response, journal. Every failure on the way is answered the way the real ASP.NET Core
service answers it.

Why the operations are routed here and not by Flask's URL map: ASP.NET Core's rules
(case-insensitive literals, one trailing slash ignored, ``%2F`` kept inside its
segment, a 405 listing every route the path matched) are routing.py's, so the path
has to be matched by them anyway; matching it once more in Flask, and building
Flask's request context around a call that uses none of it, cost a third to a half of
a request. Flask serves what is not an API operation: the control plane,
``/openapi.json``, and the 404s.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from . import aspnet
from .auth import CHALLENGE_INVALID, Unauthenticated
from .binding import BindingFailed, RequestBinder
from .contract import binding_violations, check_route
from .faults import AFTER, BEFORE, Fault
from .journal import Exchange
from .operations import HANDLERS, Call
from .responses import empty_response, is_control_path, json_response
from .routing import RouteTable, kestrel_segments
from .spec import HTTP_METHODS, Operation, Spec
from .store import Forbidden, NotFound, UnknownCaller

if TYPE_CHECKING:
    from .mock import Mock

#: The mock's own request body limit (Kestrel's default is 30 MB).
MAX_BODY_BYTES = 1024 * 1024
#: Set in the environ when an injected fault dropped the connection instead of answering.
DROPPED = "mockchats.dropped"

access_log = logging.getLogger("mockchats.access")
#: Unhandled errors (never a client's doing). Not Flask's ``app.logger``: reading that adds
#: Flask's own handler to the "mockchats" logger, and every access line would print twice.
error_log = logging.getLogger("mockchats.errors")
_PREFER_CODE = re.compile(r"(?:^|[\s,;])code=(\d{3})\b")
#: The 503 detail of a request a delay fault held while the mock's world was replaced.
HELD_ACROSS_RESET = "The mock's world changed while this request was held."
#: What a page's script may read of a cross-origin answer, beyond the safelisted headers.
CORS_EXPOSED = "WWW-Authenticate, Retry-After"
_PARAMETER = re.compile(r"\{\w+\}")


class StartupError(RuntimeError):
    """The spec and the handlers do not describe the same operations."""


def create_app(mock: Mock, *, spec: Spec | None = None) -> Flask:
    """Build the WSGI app serving ``mock``: the operations of ``spec``, the control plane
    and ``/openapi.json``."""
    from .control import control_plane  # the control plane sits on top of the app

    spec = spec or Spec()
    _check_handlers(spec)
    app = Flask("mockchats")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # OPTIONS is served nowhere (entry 48): Flask's automatic answer would list the control
    # plane's methods in a random order and look like a preflight's success to a page.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.extensions["mockchats"] = mock

    @app.route("/openapi.json", methods=["GET"], provide_automatic_options=False)
    def openapi_document():
        base_url = request.host_url.rstrip("/") + spec.base_path
        return json_response(200, spec.served(base_url))

    app.register_blueprint(control_plane(mock, spec))

    @app.errorhandler(MethodNotAllowed)
    def method_not_allowed(error: MethodNotAllowed):
        # Control routes only (the API's 405s are the Api layer's). Allow names the methods
        # they declare: not the HEAD Werkzeug adds to every GET rule, nor OPTIONS.
        methods = [m for m in HTTP_METHODS if m.upper() in (error.valid_methods or ())
                   and m not in ("head", "options")]
        return empty_response(405, {"Allow": ", ".join(m.upper() for m in methods)})

    @app.errorhandler(HTTPException)
    def framework_error(error: HTTPException):
        # Unknown routes and oversize bodies: Kestrel answers both with no body.
        return empty_response(error.code or 500)

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        # Never a client's doing (the tests make sure); answered as Kestrel does, empty.
        error_log.exception("unhandled error")
        return empty_response(500)

    app.wsgi_app = Api(app, mock, spec)
    return app


def _check_handlers(spec: Spec) -> None:
    declared = {op.operation_id for op in spec.operations}
    missing = sorted(declared - HANDLERS.keys())
    extra = sorted(HANDLERS.keys() - declared)
    problems = [f"operation {name!r} in {spec.path} has no handler" for name in missing]
    problems += [f"handler {name!r} has no operation in {spec.path}" for name in extra]
    if problems:
        raise StartupError("; ".join(problems))


def _dispatch(req: Request, op: Operation, binder: RequestBinder, mock: Mock, exchange: Exchange,
              path: dict[str, str], generation: int) -> Response:
    """Serve one request for ``op``: fault, token, binding, handler, response.

    ``generation`` is the store's world when the request came in: one a delay fault held
    across a reset or a load must not act on the new world.
    """
    exchange.operation_id = op.operation_id
    fault = mock.faults.strike(op.operation_id, op.method, req.path, BEFORE)
    if fault is not None:
        struck = _fault_response(req, op, fault, mock, generation)
        if struck is not None:
            return struck
    response = _operate(req, op, binder, mock, exchange, path)
    # An "after" fault hides a success; a refused request changed nothing to hide.
    if response.status_code < 300:
        fault = mock.faults.strike(op.operation_id, op.method, req.path, AFTER)
        if fault is not None:
            return _fault_response(req, op, fault, mock, generation) or response
    return response


def _operate(req, op: Operation, binder: RequestBinder, mock: Mock, exchange: Exchange,
             path: dict) -> Response:
    violations, warnings = exchange.violations, exchange.warnings
    environ = req.environ  # headers read straight from it: Werkzeug's view costs more than the rest
    try:
        caller = exchange.user = mock.authenticator.authenticate(environ.get("HTTP_AUTHORIZATION"), warnings)
        # Prefer: code=NNN is answered once the caller is known, as the real service would
        # have refused an unauthenticated request first.
        preferred = _preferred_response(environ.get("HTTP_PREFER"), op, warnings)
        if preferred is not None:
            return preferred
        query = binder.bind_query_string(environ.get("QUERY_STRING", ""), warnings)
        body = None
        if op.body_schema is not None:
            encoding = binder.check_media_type(environ.get("CONTENT_TYPE"))
            data = exchange.body = req.get_data(cache=False)
            body = binder.bind_body(data, warnings, encoding)
        result = HANDLERS[op.operation_id](mock.store, caller, Call(path, query, body))
    except Unauthenticated as exc:
        violations.append("no bearer token" if exc.challenge == "Bearer" else "the bearer token is refused")
        return empty_response(401, {"WWW-Authenticate": exc.challenge})
    except UnknownCaller:  # a reset replaced the world mid-request: the token no longer holds
        return empty_response(401, {"WWW-Authenticate": CHALLENGE_INVALID})
    except BindingFailed as exc:
        violations.extend(binding_violations(exc, environ.get("CONTENT_TYPE")))
        if exc.status == 400:
            return json_response(400, aspnet.validation_problem(exc.errors), aspnet.PROBLEM_JSON)
        return json_response(exc.status, aspnet.problem(exc.status), aspnet.PROBLEM_JSON)
    except NotFound:
        return json_response(404, aspnet.problem(404), aspnet.PROBLEM_JSON)
    except Forbidden:
        return empty_response(403)
    if result is None:
        return empty_response(op.success_status)
    return json_response(op.success_status, result)


def _fault_response(req, op: Operation, fault: Fault, mock: Mock, generation: int) -> Response | None:
    """What an injected fault answers; None when it only delays the normal answer.

    A request held past a reset, a scenario load or a state import belongs to a world
    that is gone: it is answered 503 and acts on nothing (nor is it journaled).
    """
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000)
        if mock.store.generation != generation:
            problem = {k: v for k, v in aspnet.problem(503).items() if k != "traceId"}
            problem.update(detail=HELD_ACROSS_RESET, traceId=aspnet.trace_id())
            return json_response(503, problem, aspnet.PROBLEM_JSON)
    if fault.drop:
        if "mockchats.drop_connection" not in req.environ:
            raise RuntimeError("dropping a connection needs a mockchats server (mockchats.Server, "
                               "or mockchats serve)")
        # Dropped once the request is journaled (Api.__call__): a client that sees the
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
        response = json_response(fault.status, aspnet.problem(fault.status), aspnet.PROBLEM_JSON)
    response.headers.update(fault.headers)
    return response


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
        body = (aspnet.validation_problem({"Prefer": [f"Status {status} requested by the Prefer header."]})
                if status == 400 else aspnet.problem(status))
        response = json_response(status, body, aspnet.PROBLEM_JSON)
    else:
        response = json_response(status, Spec.example(schema))
    response.headers.update(headers)
    return response


_HEADER_EXAMPLES = {"WWW-Authenticate": "Bearer", "Retry-After": "1"}


class _ApiRequest(Request):
    """A partner's request; its body is refused (413) past the mock's limit."""

    max_content_length = MAX_BODY_BYTES


@dataclass(frozen=True)
class _Endpoint:
    """One operation as the router calls it: its binder, and where its parameters sit."""

    op: Operation
    binder: RequestBinder
    parts: tuple[str, ...]  # the template's segments: "{chatId}" marks a parameter


class Api:
    """The app's WSGI entry: each request as one exchange, routed, timed, logged and journaled.

    A path one of the spec's routes matches (by ASP.NET Core's rules, routing.py) is served
    here: the operation for its method, else 405 with every method its routes take.
    Everything else goes to Flask (``flask_app``) with the path ASP.NET Core would match:
    ``/OpenAPI.json`` reaches ``/openapi.json``. The journal keeps the path as the client
    sent it. Partner requests are journaled; the control plane and ``/openapi.json`` are not.
    """

    def __init__(self, flask_app: Flask, mock: Mock, spec: Spec):
        self._flask_wsgi = flask_app.wsgi_app
        self.mock = mock
        #: path template -> method -> endpoint.
        self._endpoints: dict[str, dict[str, _Endpoint]] = {}
        for op in spec.operations:
            template = spec.base_path + op.path
            parts = tuple(template.strip("/").split("/"))
            odd = [part for part in parts if "{" in part and not _PARAMETER.fullmatch(part)]
            if odd:  # ASP.NET allows "{id}.json"; this router matches whole segments only
                raise StartupError(f"{op.operation_id}: path segment {odd[0]!r} in {spec.path} is "
                                   "not a whole {parameter}")
            self._endpoints.setdefault(template, {})[op.method] = _Endpoint(op, RequestBinder(op), parts)
        #: The spec's order of methods: the order Allow lists them in, as ASP.NET lists actions.
        self._method_order = list(dict.fromkeys(op.method for op in spec.operations))
        self._routes = RouteTable([(t, t) for t in [*self._endpoints, "/openapi.json"]])
        #: The first path segment of the API (folded), where CORS applies, as on /openapi*.
        self._api_root = spec.base_path.strip("/").split("/", 1)[0].casefold()

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        generation = self.mock.store.generation
        raw = environ.get("REQUEST_URI")
        if raw:
            path = urlsplit(raw).path if "://" in raw else raw.split("?", 1)[0]
            segments = kestrel_segments(path, "latin-1")  # WSGI wants latin-1 strings
        else:  # a server that passes no raw target (wsgiref): PATH_INFO is all there is
            path = environ.get("PATH_INFO", "")
            segments = kestrel_segments(path, None)
        matches = list(self._routes.matches(segments))
        environ["PATH_INFO"] = "/" + "/".join(matches[0][1] if matches else segments)
        method = environ["REQUEST_METHOD"]
        exchange = Exchange(method, path, environ.get("QUERY_STRING", ""))
        cors = None
        origin = environ.get("HTTP_ORIGIN")  # the one cost CORS adds to a request without it
        if origin and self.mock.cors and self._cors_applies(environ["PATH_INFO"]):
            cors = [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
                    ("Vary", "Origin")]

        def start(status: str, headers, exc_info=None):
            exchange.status = int(status[:3])
            if cors is not None:
                headers = [*headers, *cors]
            return start_response(status, headers, exc_info)

        preflight = (cors is not None and method == "OPTIONS"
                     and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"))
        if preflight:  # answered before routing, as ASP.NET Core's CORS middleware does
            body = _preflight(environ)(environ, start)
        else:
            if cors is not None:
                cors.append(("Access-Control-Expose-Headers", CORS_EXPOSED))
            if matches and matches[0][0] in self._endpoints:
                body = self._answer(environ, method, matches, exchange, generation)(environ, start)
            else:
                body = self._flask_wsgi(environ, start)
        routed = environ["PATH_INFO"]
        exchange.duration_ms = (time.perf_counter() - started) * 1000
        if access_log.isEnabledFor(logging.INFO):
            query = exchange.query_string
            access_log.info('%s "%s %s" %s %.1fms', environ.get("REMOTE_ADDR"), method,
                            path + "?" + query if query else path, exchange.status, exchange.duration_ms)
        if environ.get(DROPPED):
            exchange.status = None  # the client never got the answer logged above
        # Not journaled: the control plane and the document; a browser's preflight (the
        # client's code never sent it); and a request that began in a world since replaced
        # (the journal belongs to the new one).
        if not (preflight or routed == "/openapi.json" or is_control_path(routed)
                or self.mock.store.generation != generation):
            self._journal(exchange, routed)
        if environ.get(DROPPED):
            environ["mockchats.drop_connection"]()
        return body

    def _cors_applies(self, routed: str) -> bool:
        """CORS covers the API's paths and /openapi*, never the control plane: a web page
        must not be able to drive a developer's mock."""
        first = routed[1:].split("/", 1)[0].casefold()
        if not self._api_root:  # the API at the root: everything but the control plane
            return first != "_mock"
        return first == self._api_root or first.startswith("openapi")

    def _answer(self, environ, method: str, matches: list, exchange: Exchange,
                generation: int) -> Response:
        """The answer of the operation the path and method select: 405 when none takes the method."""
        for template, canonical in matches:  # noqa: B007  canonical is the match the loop stopped at
            endpoint = self._endpoints[template].get(method)
            if endpoint is not None:
                break
        else:  # ASP.NET lists the methods of every route that matched the path
            allowed = {m for template, _ in matches for m in self._endpoints[template]}
            return empty_response(405, {"Allow": ", ".join(m for m in self._method_order if m in allowed)})
        environ["PATH_INFO"] = "/" + "/".join(canonical)  # the chosen route's spelling
        path = {part[1:-1]: _decoded(segment)
                for part, segment in zip(endpoint.parts, canonical) if part.startswith("{")}
        # Not put into the environ as werkzeug.request: that cycle (the request holds the environ)
        # made every request garbage only the cyclic collector could free (collections 3x as often).
        request = _ApiRequest(environ, populate_request=False)
        try:
            return _dispatch(request, endpoint.op, endpoint.binder, self.mock, exchange, path, generation)
        except HTTPException as error:  # an oversize body, or one the server could not read
            if error.code == 413:
                exchange.violations.append(f"the body is over the {MAX_BODY_BYTES}-byte limit")
            return empty_response(error.code or 500)
        except Exception:  # never a client's doing (the tests make sure); Kestrel's empty 500
            error_log.exception("unhandled error")
            return empty_response(500)

    def _journal(self, exchange: Exchange, routed: str) -> None:
        if exchange.operation_id is None or exchange.path != _decoded(routed):
            # No operation matched, or the client spelled the path its own way: say so.
            _, route_violations, route_warnings = check_route(exchange.method, exchange.path)
            if exchange.operation_id is None:
                exchange.violations[:0] = route_violations
            exchange.warnings.extend(route_warnings)
        self.mock.journal.record(exchange)


def _preflight(environ) -> Response:
    """A CORS preflight's 204: any origin (echoed, with credentials, as a policy of
    ``SetIsOriginAllowed(_ => true)`` gives), and the method and headers asked for."""
    headers = {"Access-Control-Allow-Methods": environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"]}
    requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
    if requested:
        headers["Access-Control-Allow-Headers"] = requested
    return empty_response(204, headers)


def _decoded(wsgi_path: str) -> str:
    """A WSGI (latin-1) path as Werkzeug's ``request.path`` reads it."""
    return wsgi_path.encode("latin-1").decode("utf-8", "replace")
