"""The control plane under ``/_mock``: reset, state, scenarios, sessions, pins, faults,
clock and the request journal.

Outside the partner contract. Each view's docstring carries its OpenAPI operation;
apispec turns them, with the schemas of ``control_schemas``, into ``GET /_mock/openapi.json``, and
the same schemas validate the request bodies (validators compiled once), so the
document and the behaviour cannot drift apart.
"""
from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING

import jsonschema
from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Response, current_app, request

from . import __version__, aspnet, fixtures
from .auth import bearer_token
from .control_schemas import SCHEMAS
from .faults import BEFORE
from .journal import parse_limit
from .routing import RouteTable, kestrel_segments
from .spec import Spec
from .store import NotFound

if TYPE_CHECKING:
    from .mock import Mock


class ControlError(Exception):
    """A control call refused: ``status`` with a problem+json body."""

    def __init__(self, status: int, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


def _validator(name: str) -> jsonschema.Draft4Validator:
    # The components travel with the schema, so its local $refs resolve as in the document.
    return jsonschema.Draft4Validator({"$ref": f"#/components/schemas/{name}",
                                       "components": {"schemas": SCHEMAS}})


def _json_body() -> object:
    """The request body parsed as JSON; 415 or 400 (nothing changed) otherwise."""
    media = (request.mimetype or "").lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ControlError(415, f"Content-Type {request.content_type!r} is not JSON.")
    try:
        return json.loads(request.get_data(cache=False), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ControlError(400, "The body is not valid JSON.", {"$": [str(exc)]}) from None


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON; Python would read them and they would break the clock.
    raise ValueError(f"{name} is not a JSON value")


#: Header names a fault may not set: waitress refuses hop-by-hop headers from a WSGI app (a 500
#: at strike time), and a Content-Length of its own would contradict the body actually sent.
_RESERVED_HEADERS = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                     "trailers", "transfer-encoding", "upgrade", "content-length"}
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: PUT /_mock/state (and a scenario posted as a document) takes back what GET /_mock/state gives:
#: a shipped scenario (busy-room) alone exports ~2.5 MB, over the app's 1 MiB for partner requests.
MAX_STATE_BYTES = 256 * 1024 * 1024


def _fault_errors(settings: dict, spec: Spec) -> dict[str, list[str]]:
    """What a schema cannot check in a fault: that it can match a request, and that it can be sent."""
    errors: dict[str, list[str]] = {}
    operations = {op.operation_id: op for op in spec.operations}
    if "operationId" in settings and settings["operationId"] not in operations:
        errors["$.operationId"] = [f"{settings['operationId']!r} is not an operation; known: "
                                   + ", ".join(sorted(operations))]
    methods = {op.method for op in operations.values()}
    if "method" in settings and settings["method"].upper() not in methods:
        errors["$.method"] = [f"{settings['method']!r} is not the method of any operation; known: "
                              + ", ".join(sorted(methods))]
    if "path" in settings:
        # The fault's own {placeholders} stand for any segment, as a request's would.
        sample = kestrel_segments(re.sub(r"\{\w+\}", "x", settings["path"]), None)
        routes = RouteTable([(op, spec.base_path + op.path) for op in operations.values()])
        if next(routes.matches(sample), None) is None:
            errors["$.path"] = [f"{settings['path']!r} is the path of no operation (paths start with "
                                "the base path, e.g. /v1/chats/{chatId})"]
    for name in settings.get("headers", {}):
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED_HEADERS:
            errors.setdefault("$.headers", []).append(f"{name!r} cannot be set by a fault.")
    if not any(key in settings for key in ("status", "delayMs", "drop")):
        errors["$"] = ["A fault needs an effect: status, delayMs or drop."]
    return errors


def _json(status: int, body) -> Response:
    return Response(aspnet.dumps(body), status=status, content_type=aspnet.JSON)


def _empty(status: int, headers: dict | None = None) -> Response:
    response = Response(b"", status=status, headers=headers)
    del response.headers["Content-Type"]
    return response


def control_plane(mock: "Mock", spec: Spec) -> Blueprint:
    """The ``/_mock`` blueprint working on ``mock``, whose partner API ``spec`` describes."""
    plane = Blueprint("control", __name__, url_prefix="/_mock")
    validators = {name: _validator(name) for name in
                  ("ResetRequest", "ScenarioLoad", "OwnScenario", "NewSession", "PinRequest",
                   "FaultRequest", "ClockRequest")}
    document: dict = {}

    def body(schema: str, *, optional: bool = False) -> dict:
        """The request's JSON body, validated against ``schema``; 400 otherwise."""
        if not request.get_data(cache=True).strip():
            if optional:
                return {}
            raise ControlError(400, "A JSON body is required.", {"$": ["A JSON body is required."]})
        value = _json_body()
        errors: dict[str, list[str]] = {}
        for error in validators[schema].iter_errors(value):
            place = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            errors.setdefault(place, []).append(error.message)
        if errors:
            raise ControlError(400, "The body does not match the " + schema + " schema.", errors)
        return value

    def status() -> dict:
        sessions, messages = mock.store.size()
        return {"auth": mock.auth, "seed": mock.seed, "scenario": mock.scenario,
                "sessions": sessions, "messages": messages}

    def session_dto(session) -> dict:
        return {"sessionId": session.id,
                "users": [{"id": u.id, "name": u.name, "role": u.role, "token": u.token}
                          for u in session.users.values()],
                "messages": len(session.messages)}

    def load_sessions(load):
        try:
            return load()
        except fixtures.UnknownScenario as exc:
            raise ControlError(404, str(exc)) from None
        except fixtures.FixtureError as exc:
            raise ControlError(400, str(exc), {"$": [str(exc)]}) from None

    def switch_to(sessions, scenario: str, seed: int) -> Response:
        """Make a loaded scenario the state, and answer the mock's status."""
        mock.store.replace(sessions)
        mock.scenario, mock.seed = scenario, seed
        mock.faults.reseed(seed)  # fault probabilities follow the world's seed, as after a reset
        return _json(200, status())

    @plane.before_request
    def require_admin_token():
        if mock.admin_token is not None and bearer_token(request.headers.get("Authorization")) != mock.admin_token:
            return _empty(401, {"WWW-Authenticate": "Bearer"})
        if request.endpoint in ("control.put_state", "control.load_own_scenario"):
            request.max_content_length = MAX_STATE_BYTES
        return None

    @plane.errorhandler(ControlError)
    def refused(error: ControlError):
        problem = aspnet.problem(error.status)
        problem = {**{k: v for k, v in problem.items() if k != "traceId"}, "detail": error.detail}
        if error.errors:
            problem["errors"] = error.errors
        problem["traceId"] = aspnet.trace_id()
        return Response(aspnet.dumps(problem), status=error.status, content_type=aspnet.PROBLEM_JSON)

    @plane.post("/reset")
    def reset():
        """Reset the mock.
        ---
        post:
          summary: Back to the start state, or to another seed, scenario or auth mode
          description: >-
            The state loaded at start (or the given scenario / seed), real time, no sessions but
            the loaded ones, no faults, an empty journal, and the start auth mode (or the given one).
          requestBody:
            required: false
            content:
              application/json:
                schema: ResetRequest
          responses:
            '200': {description: The mock after the reset, content: {application/json: {schema: Status}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '404': {$ref: '#/components/responses/NotFound'}
        """
        options = body("ResetRequest", optional=True)
        load_sessions(lambda: mock.reset(seed=options.get("seed"), scenario=options.get("scenario"),
                                         auth=options.get("auth")))
        return _json(200, status())

    @plane.get("/state")
    def get_state():
        """Export the whole state.
        ---
        get:
          summary: The whole state in the fixture format
          responses:
            '200': {description: Every session, content: {application/json: {schema: FixtureDocument}}}
        """
        return _json(200, fixtures.to_document(mock.store.snapshot()))

    @plane.put("/state")
    def put_state():
        """Replace the whole state.
        ---
        put:
          summary: Replace the state with a fixture document (validated first, all or nothing)
          requestBody:
            required: true
            content:
              application/json:
                schema: FixtureDocument
          responses:
            '200': {description: The mock after the import, content: {application/json: {schema: Status}}}
            '400': {$ref: '#/components/responses/BadRequest'}
        """
        if not request.get_data(cache=True).strip():  # as the other calls: a missing body is a 400, not a 415
            raise ControlError(400, "A JSON body is required.", {"$": ["A JSON body is required."]})
        document = _json_body()
        sessions = load_sessions(lambda: fixtures.build_sessions(document, "state"))
        mock.store.replace(sessions)
        mock.scenario = None
        return _json(200, status())

    @plane.get("/scenarios")
    def list_scenarios():
        """List the shipped scenarios.
        ---
        get:
          summary: The named scenarios shipped with mockchats
          responses:
            '200':
              description: Name and description of each
              content: {application/json: {schema: {type: array, items: Scenario}}}
        """
        return _json(200, fixtures.list_scenarios())

    @plane.post("/scenarios/<name>")
    def load_scenario(name: str):
        """Load a shipped scenario.
        ---
        post:
          summary: Replace the state with a shipped scenario
          parameters:
            - {name: name, in: path, required: true, schema: {type: string}}
          requestBody:
            required: false
            content:
              application/json:
                schema: ScenarioLoad
          responses:
            '200': {description: The mock after loading, content: {application/json: {schema: Status}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '404': {$ref: '#/components/responses/NotFound'}
        """
        seed = body("ScenarioLoad", optional=True).get("seed", mock.origin.seed)
        return switch_to(load_sessions(lambda: fixtures.load_scenario(name, seed=seed)), name, seed)

    @plane.post("/scenarios")
    def load_own_scenario():
        """Load a partner's scenario.
        ---
        post:
          summary: Replace the state with a partner's scenario, by path or as a document
          requestBody:
            required: true
            content:
              application/json:
                schema: OwnScenario
          responses:
            '200': {description: The mock after loading, content: {application/json: {schema: Status}}}
            '400': {$ref: '#/components/responses/BadRequest'}
        """
        options = body("OwnScenario")
        seed = options.get("seed", mock.origin.seed)
        if "path" in options:
            sessions = load_sessions(lambda: fixtures.load(options["path"], seed=seed))
            name = options["path"]
        else:
            # The seed counts for a document's `generate` as for a file's.
            sessions = load_sessions(lambda: fixtures.build_sessions(options["document"], "document", seed=seed))
            name = "document"
        return switch_to(sessions, name, seed)

    @plane.get("/sessions")
    def list_sessions():
        """List the sessions.
        ---
        get:
          summary: Every session with its users and tokens
          responses:
            '200':
              description: The sessions
              content: {application/json: {schema: {type: array, items: Session}}}
        """
        return _json(200, [session_dto(s) for s in mock.store.snapshot()])

    @plane.post("/sessions")
    def create_session():
        """Create a session.
        ---
        post:
          summary: A new isolated session with the given users and no messages
          requestBody:
            required: true
            content:
              application/json:
                schema: NewSession
          responses:
            '201': {description: The session with fresh ids and tokens, content: {application/json: {schema: Session}}}
            '400': {$ref: '#/components/responses/BadRequest'}
        """
        users = body("NewSession")["users"]
        session = mock.store.create_session((u["name"], u["role"]) for u in users)
        return _json(201, session_dto(session))

    @plane.post("/sessions/<session_id>/pins")
    def pin_message(session_id: str):
        """Pin a message.
        ---
        post:
          summary: Pin a message as the session's Host would
          description: The public Chats API shows no call that creates a pin; this is how tests make one.
          parameters:
            - {name: session_id, in: path, required: true, schema: {type: string}}
          requestBody:
            required: true
            content:
              application/json:
                schema: PinRequest
          responses:
            '201': {description: The pin, content: {application/json: {schema: Pin}}}
            '400': {$ref: '#/components/responses/BadRequest'}
            '404': {$ref: '#/components/responses/NotFound'}
        """
        chat_id = body("PinRequest")["chatId"]
        try:
            pin_id = mock.store.pin_message(session_id, chat_id)
        except NotFound:
            raise ControlError(404, f"No message {chat_id!r} in session {session_id!r}.") from None
        return _json(201, {"chatId": chat_id, "pinId": pin_id})

    @plane.get("/faults")
    def list_faults():
        """List the active faults.
        ---
        get:
          summary: The active faults, with how often each has fired
          responses:
            '200': {description: The faults, content: {application/json: {schema: {type: array, items: Fault}}}}
        """
        return _json(200, [f.to_dict() for f in mock.faults.list()])

    @plane.post("/faults")
    def add_fault():
        """Inject a fault.
        ---
        post:
          summary: Make matching requests fail, wait, or lose their connection
          requestBody:
            required: true
            content:
              application/json:
                schema: FaultRequest
          responses:
            '201': {description: The fault, content: {application/json: {schema: Fault}}}
            '400': {$ref: '#/components/responses/BadRequest'}
        """
        settings = body("FaultRequest")
        errors = _fault_errors(settings, spec)
        if errors:
            raise ControlError(400, "The fault cannot apply: " + next(iter(errors.values()))[0], errors)
        fault = mock.faults.add(
            operation_id=settings.get("operationId"), method=settings.get("method"),
            path=settings.get("path"), status=settings.get("status"), body=settings.get("body"),
            headers=settings.get("headers", {}), delay_ms=settings.get("delayMs", 0),
            drop=settings.get("drop", False), when=settings.get("when", BEFORE),
            times=settings.get("times"), probability=settings.get("probability"))
        return _json(201, fault.to_dict())

    @plane.delete("/faults")
    def clear_faults():
        """Clear every fault.
        ---
        delete:
          summary: Remove every fault
          responses:
            '204': {description: No faults remain}
        """
        mock.faults.clear()
        return _empty(204)

    @plane.delete("/faults/<fault_id>")
    def remove_fault(fault_id: str):
        """Remove one fault.
        ---
        delete:
          summary: Remove one fault
          parameters:
            - {name: fault_id, in: path, required: true, schema: {type: string}}
          responses:
            '204': {description: Removed}
            '404': {$ref: '#/components/responses/NotFound'}
        """
        if not mock.faults.remove(fault_id):
            raise ControlError(404, f"No fault {fault_id!r}.")
        return _empty(204)

    @plane.get("/clock")
    def read_clock():
        """Read the clock.
        ---
        get:
          summary: The mock's time and whether it is frozen
          responses:
            '200': {description: The clock, content: {application/json: {schema: Clock}}}
        """
        return _json(200, {"now": aspnet.format_datetime(mock.clock.now()), "frozen": mock.clock.frozen})

    @plane.post("/clock")
    def set_clock():
        """Set the clock.
        ---
        post:
          summary: Freeze the clock at an instant, advance it, or return to real time
          description: New messages take their createdAt from this clock.
          requestBody:
            required: true
            content:
              application/json:
                schema: ClockRequest
          responses:
            '200': {description: The clock, content: {application/json: {schema: Clock}}}
            '400': {$ref: '#/components/responses/BadRequest'}
        """
        change = body("ClockRequest")
        if "freeze" in change:
            at = None
            if change["freeze"] != "now":
                try:
                    at = aspnet.parse_datetime(change["freeze"])
                except (ValueError, OverflowError):  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
                    raise ControlError(400, "freeze must be an ISO 8601 instant with a time zone, or \"now\".",
                                       {"$.freeze": [f"{change['freeze']!r} is not an instant."]}) from None
            mock.clock.freeze(at)
        elif "advanceSeconds" in change:
            # Checked first: a clock past year 9999 would fail every later request with a 500.
            try:
                by = timedelta(seconds=change["advanceSeconds"])
                mock.clock.now() + by
            except OverflowError:
                raise ControlError(400, "advanceSeconds moves the clock past year 9999.",
                                   {"$.advanceSeconds": ["The clock cannot go past year 9999."]}) from None
            mock.clock.advance(by)
        else:
            mock.clock.real()
        return read_clock()

    @plane.get("/requests")
    def list_requests():
        """Read the request journal.
        ---
        get:
          summary: The partner requests the mock has seen, oldest first
          parameters:
            - {name: operationId, in: query, schema: {type: string}}
            - {name: method, in: query, schema: {type: string}}
            - {name: path, in: query, schema: {type: string}, description: 'As requested, e.g. /v1/chats'}
            - {name: limit, in: query, schema: {type: integer, minimum: 0}, description: The latest N entries}
          responses:
            '200':
              description: The entries
              content: {application/json: {schema: {type: array, items: JournalEntry}}}
            '400': {$ref: '#/components/responses/BadRequest'}
        """
        try:
            limit = parse_limit(request.args.get("limit"))
        except ValueError as exc:
            raise ControlError(400, "limit must be a whole number >= 0.", {"limit": [str(exc)]}) from None
        return _json(200, mock.journal.entries(operation_id=request.args.get("operationId"),
                                              method=request.args.get("method"),
                                              path=request.args.get("path"), limit=limit))

    @plane.delete("/requests")
    def clear_requests():
        """Clear the request journal.
        ---
        delete:
          summary: Forget every recorded request
          responses:
            '204': {description: The journal is empty}
        """
        mock.journal.clear()
        return _empty(204)

    @plane.get("/openapi.json")
    def control_document():
        """The control plane's own OpenAPI document (not itself part of it)."""
        if not document:
            document.update(_build_document(current_app))
        return _json(200, document)

    return plane


_DOCUMENTED = ("reset", "get_state", "put_state", "list_scenarios", "load_scenario", "load_own_scenario",
               "list_sessions", "create_session", "pin_message", "list_faults", "add_fault",
               "clear_faults", "remove_fault", "read_clock", "set_clock", "list_requests",
               "clear_requests")


def _build_document(app) -> dict:
    """The OpenAPI document of ``/_mock``, generated by apispec from the views above."""
    spec = APISpec(title="mockchats control plane", version=__version__, openapi_version="3.0.3",
                   plugins=[FlaskPlugin()],
                   info={"description": "Reset, scenarios, sessions, pins, faults, clock and the "
                                        "request journal of a running mockchats server."})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    spec.components.response("BadRequest", {
        "description": "The input is refused; nothing changed",
        "content": {"application/problem+json": {"schema": "Problem"}}})
    spec.components.response("NotFound", {
        "description": "No such scenario, session, message or fault",
        "content": {"application/problem+json": {"schema": "Problem"}}})
    spec.components.response("Unauthorized", {
        "description": "Only with --admin-token: no or another bearer token (empty body)",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "example": "Bearer"}}})
    spec.components.response("UnsupportedMediaType", {
        "description": "The body is not sent as JSON; nothing changed",
        "content": {"application/problem+json": {"schema": "Problem"}}})
    spec.components.response("PayloadTooLarge", {
        "description": "The body is over the limit (1 MiB; 256 MiB for a whole state or scenario document)"})
    spec.components.security_scheme("Admin Bearer", {
        "type": "http", "scheme": "bearer",
        "description": "Needed only when the server runs with --admin-token."})
    for endpoint in _DOCUMENTED:
        spec.path(view=app.view_functions[f"control.{endpoint}"], app=app)
    document = spec.to_dict()
    # Every call can meet the admin token check, and every call with a body the JSON check.
    document["security"] = [{"Admin Bearer": []}, {}]
    for path_item in document["paths"].values():
        for operation in path_item.values():
            operation["responses"].setdefault("401", {"$ref": "#/components/responses/Unauthorized"})
            if "requestBody" in operation:
                operation["responses"].setdefault("413", {"$ref": "#/components/responses/PayloadTooLarge"})
                operation["responses"].setdefault("415", {"$ref": "#/components/responses/UnsupportedMediaType"})
    return document
