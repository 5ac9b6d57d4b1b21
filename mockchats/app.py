"""The Flask app: routes registered from the spec, one pass per request.

A request goes through each layer once: route (from the spec), token, binding and
validation, the operation's handler (a model call), response. Every failure on the
way is answered the way the real ASP.NET Core service answers it.
"""
from __future__ import annotations

import logging
import re
import time
from functools import partial
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from . import aspnet
from .auth import OPEN, Authenticator, Unauthenticated
from .binding import BindingFailed, RequestBinder
from .operations import HANDLERS, Call
from .spec import Operation, Spec
from .store import Forbidden, NotFound, Store

#: The mock's own request body limit (Kestrel's default is 30 MB).
MAX_BODY_BYTES = 1024 * 1024

access_log = logging.getLogger("mockchats.access")


class StartupError(RuntimeError):
    """The spec and the handlers do not describe the same operations."""


def create_app(store: Store, *, auth: str = OPEN, spec: Spec | None = None) -> Flask:
    """Build the WSGI app serving ``store`` under the routes of ``spec``."""
    spec = spec or Spec()
    _check_handlers(spec)
    app = Flask("mockchats")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.extensions["mockchats"] = {"store": store, "spec": spec}
    authenticator = Authenticator(store, auth)
    app.extensions["mockchats"]["authenticator"] = authenticator

    allowed: dict[str, list[str]] = {}
    for op in spec.operations:
        allowed.setdefault(op.path, []).append(op.method)
    for op in spec.operations:
        view = partial(_dispatch, op, RequestBinder(op), store, authenticator, ", ".join(allowed[op.path]))
        app.add_url_rule(
            spec.base_path + re.sub(r"\{(\w+)\}", r"<\1>", op.path),
            endpoint=op.operation_id,
            view_func=view,
            methods=[op.method],
            provide_automatic_options=False,
        )

    @app.get("/openapi.json")
    def openapi_document():
        base_url = request.host_url.rstrip("/") + spec.base_path
        return _json(200, spec.served(base_url))

    @app.before_request
    def start_clock():
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response):
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        access_log.info('%s "%s %s" %s %.1fms', request.remote_addr, request.method,
                        request.full_path.rstrip("?"), response.status_code, elapsed)
        return response

    @app.errorhandler(MethodNotAllowed)
    def method_not_allowed(error: MethodNotAllowed):
        methods = [m for m in (error.valid_methods or []) if m not in ("HEAD", "OPTIONS")]
        return _empty(405, {"Allow": ", ".join(methods)})

    @app.errorhandler(HTTPException)
    def framework_error(error: HTTPException):
        # Unknown routes and oversize bodies: Kestrel answers both with no body.
        return _empty(error.code or 500)

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        app.logger.exception("unhandled error")
        return _json(500, aspnet.problem(500), aspnet.PROBLEM_JSON)

    templates = [spec.base_path + op.path for op in spec.operations] + ["/openapi.json"]
    app.wsgi_app = CanonicalPaths(app.wsgi_app, templates)
    return app


def _check_handlers(spec: Spec) -> None:
    declared = {op.operation_id for op in spec.operations}
    missing = sorted(declared - HANDLERS.keys())
    extra = sorted(HANDLERS.keys() - declared)
    problems = [f"operation {name!r} in {spec.path} has no handler" for name in missing]
    problems += [f"handler {name!r} has no operation in {spec.path}" for name in extra]
    if problems:
        raise StartupError("; ".join(problems))


def _dispatch(op: Operation, binder: RequestBinder, store: Store, authenticator: Authenticator,
              allow: str, **path: str) -> Response:
    """Serve one request for ``op``: token, binding, handler, response."""
    if request.method != op.method:  # Werkzeug adds HEAD to GET rules; ASP.NET does not
        return _empty(405, {"Allow": allow})
    try:
        caller = authenticator.authenticate(request.headers.get("Authorization"))
        query = binder.bind_query(request.args.items(multi=True))
        body = None
        if op.body_schema is not None:
            binder.check_media_type(request.headers.get("Content-Type"))
            body = binder.bind_body(request.get_data(cache=False))
        result = HANDLERS[op.operation_id](store, caller, Call(path, query, body))
    except Unauthenticated as exc:
        return _empty(401, {"WWW-Authenticate": exc.challenge})
    except BindingFailed as exc:
        if exc.status == 400:
            return _json(400, aspnet.validation_problem(exc.errors), aspnet.PROBLEM_JSON)
        return _json(exc.status, aspnet.problem(exc.status), aspnet.PROBLEM_JSON)
    except NotFound:
        return _json(404, aspnet.problem(404), aspnet.PROBLEM_JSON)
    except Forbidden:
        return _empty(403)
    if result is None:
        return _empty(op.success_status)
    return _json(op.success_status, result)


def _json(status: int, body, content_type: str = aspnet.JSON) -> Response:
    return Response(aspnet.dumps(body), status=status, content_type=content_type)


def _empty(status: int, headers: dict | None = None) -> Response:
    response = Response(b"", status=status, headers=headers)
    del response.headers["Content-Type"]
    return response


class CanonicalPaths:
    """WSGI middleware: match paths as ASP.NET Core (Kestrel + endpoint routing) does.

    Literal segments of the spec's paths match case-insensitively, one trailing slash
    is ignored and dot segments are resolved, all without a redirect: ``/V1/Chats/``
    reaches the ``/v1/chats`` route. Parameter segments stay as sent, and an encoded
    slash (``%2F``) stays encoded inside its segment, as Kestrel leaves it.
    """

    def __init__(self, app, templates: list[str]):
        self.app = app
        # Most literal segments first: a literal route beats a parameterised one.
        self._templates = sorted(
            (t.strip("/").split("/") for t in templates),
            key=lambda parts: -sum(not p.startswith("{") for p in parts))

    def __call__(self, environ, start_response):
        environ["mockchats.requested_path"] = environ.get("PATH_INFO", "")
        environ["PATH_INFO"] = self.canonical(environ)
        return self.app(environ, start_response)

    def canonical(self, environ) -> str:
        raw = environ.get("REQUEST_URI")
        if raw:
            target = urlsplit(raw).path if "://" in raw else raw.split("?", 1)[0]
            # Decode every escape but %2F, then hand WSGI its latin-1 string.
            segments = [unquote_to_bytes(re.sub("%2[fF]", "%252F", s)).decode("latin-1")
                        for s in target.split("/")]
        else:
            segments = environ.get("PATH_INFO", "").split("/")
        resolved: list[str] = []
        for segment in segments[1:]:
            if segment == "..":
                if resolved:
                    resolved.pop()
            elif segment != ".":
                resolved.append(segment)
        if len(resolved) > 1 and resolved[-1] == "":
            resolved.pop()  # one trailing slash
        folded = [s.casefold() for s in resolved]
        for parts in self._templates:
            if len(parts) == len(resolved) and all(
                    p.startswith("{") or p.casefold() == f for p, f in zip(parts, folded)):
                resolved = [s if p.startswith("{") else p for p, s in zip(parts, resolved)]
                break
        return "/" + "/".join(resolved)
