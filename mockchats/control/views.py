"""The control plane under ``/_mock``: reset, state, scenarios, sessions, pins, wallet tokens,
API keys, faults, clock and the request journal.

Outside the partner contract. Each view is a function of this module, registered on the
:data:`control_plane` blueprint, and finds the mock it works on through :func:`current_mock`
(the app's): so a view can be imported by name and called in a test under Flask's
``test_request_context``. The views only translate HTTP: the world changes through the mock's
own methods (``Mock.reset``, ``load_scenario``, ``replace_state``...), its parts' (store, faults,
clock) and the journal's query, each the one home of its rule.

Each view's docstring carries its OpenAPI operation; apispec turns them, with the schemas of
``control/schemas.py``, into ``GET /_mock/openapi.json``, and the same schemas validate the
request bodies (validators compiled once), so the document and the behaviour cannot drift apart.
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import jsonschema
from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, Response, current_app, request

from .. import __version__, aspnet, worlds
from ..aspnet.binding import BindingFailed, RequestBinder
from ..aspnet.routing import kestrel_segments, query_items
from ..chats import responses as chats_responses
from ..core.errors import NotFound
from ..core.faults import BEFORE
from ..core.identity import bearer_token
from ..core.journal import JsonRefused, QueryRefused, read_json
from ..core.pipeline import IN_PROCESS
from ..core.responses import CONTROL_PREFIX, empty_response, json_response, problem_response
from ..core.spec import Spec
from ..core.wording import describe, place_of, quote
from ..hubs.models import HUBS, Closing
from .schemas import SCHEMAS

if TYPE_CHECKING:
    from ..app import Mock
    from ..chats.models import ChatSession


class Refused(Exception):
    """A control call refused: ``status`` with a problem+json body, which the Python client
    raises as ``mockchats.ControlError``."""

    def __init__(self, status: int, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


@functools.cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    # Compiled once, on first use: importing the module (the CLI does) stays cheap.
    # The components travel with the schema, so its local $refs resolve as in the document.
    # Lengths count as .NET counts them, as the fixture files' (a state is one).
    return aspnet.DotNetValidator({"$ref": f"#/components/schemas/{name}",
                                   "components": {"schemas": SCHEMAS}})


def _require_json_media() -> None:
    """415 (nothing changed) unless the request says its body is JSON."""
    media = (request.mimetype or "").lower()
    if media != "application/json" and not media.endswith("+json"):
        sent = f"sent as {quote(media)}" if media else "sent without a Content-Type"
        raise Refused(415, f"The body is {sent}; send it as application/json.")


def _json_body() -> object:
    """The request body parsed as JSON; 415 or 400 (nothing changed) otherwise."""
    _require_json_media()
    try:
        return read_json(request.get_data(cache=False))
    except JsonRefused as exc:
        raise Refused(400, f"The body is not JSON the mock can read: {exc.place}: {exc.message}",
                           {exc.place: [exc.message[:1].upper() + exc.message[1:]]}) from None


#: At most this many schema errors are listed, as ASP.NET Core's MvcOptions.MaxModelValidationErrors.
MAX_ERRORS = 200
#: Header names a fault may not set: WSGI forbids an app hop-by-hop headers (PEP 3333; a server
#: may answer 500 at strike time), and a Content-Length of its own would contradict the body sent.
_RESERVED_HEADERS = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                     "trailers", "transfer-encoding", "upgrade", "content-length"}
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: PUT /_mock/state (and a scenario posted as a document) takes back what GET /_mock/state gives:
#: a shipped scenario (busy-room) alone exports ~2.5 MB, over the app's 1 MiB for partner requests.
MAX_STATE_BYTES = worlds.MAX_FILE_BYTES


def _fault_errors(settings: dict, specs: tuple[Spec, ...], hub_paths: list[str] = ()) -> dict[str, list[str]]:
    """What a schema cannot check in a fault: that it can match a request of one of the
    documents served, and that it can be sent."""
    errors: dict[str, list[str]] = {}
    operations = {op.operation_id: op for spec in specs for op in spec.operations}
    base_paths = {op.operation_id: spec.base_path for spec in specs for op in spec.operations}
    if "operationId" in settings and settings["operationId"] not in operations:
        errors["$.operationId"] = [f"{quote(settings['operationId'])} is not an operation; known: "
                                   + ", ".join(sorted(operations)) + "."]
    methods = {op.method for op in operations.values()}
    if "method" in settings and settings["method"].upper() not in methods:
        errors["$.method"] = [f"{quote(settings['method'])} is not the method of any operation; known: "
                              + ", ".join(sorted(methods)) + "."]
    if "path" in settings:
        # The fault's own {placeholders} stand for any segment, as a request's would.
        sample = kestrel_segments(re.sub(r"\{\w+\}", "x", settings["path"]), None)
        matched = {op.operation_id for spec in specs for template, _ in spec.routes.match(sample)
                   for op in spec.routes.by_template[template].values()}
        hub = "/".join(sample).casefold() in {path.strip("/").casefold() for path in hub_paths}
        if hub and "operationId" in settings:
            errors["$.path"] = [f"{quote(settings['path'])} is a hub's path, which no operationId names, so the "
                                "fault could never match."]
        elif not matched and not hub:
            errors["$.path"] = [f"{quote(settings['path'])} is the path of no operation or hub (paths start "
                                "with the base path, e.g. /v1/chats/{chatId}, /v1/hubs/session/negotiate)."]
        elif settings.get("operationId") in operations and settings["operationId"] not in matched:
            # All the fault's conditions must hold at once: this one never would.
            op = operations[settings["operationId"]]
            errors["$.path"] = [f"{quote(settings['path'])} is not the path of {op.operation_id} "
                                f"({base_paths[op.operation_id] + op.path}), so the fault could never match."]
    if ("method" in settings and settings.get("operationId") in operations
            and settings["method"].upper() in methods):
        op = operations[settings["operationId"]]
        if settings["method"].upper() != op.method.upper():
            errors["$.method"] = [f"{op.operation_id} is a {op.method.upper()} call, not "
                                  f"{settings['method'].upper()}, so the fault could never match."]
    for name in settings.get("headers", {}):
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED_HEADERS:
            errors.setdefault("$.headers", []).append(f"{quote(name)} cannot be set by a fault.")
    if "body" in settings and settings.get("status") in _BODILESS:
        errors["$.body"] = [f"A {settings['status']} answer carries no body; leave body out or pick "
                            "another status."]
    for field in ("body", "headers"):
        if field in settings and "status" not in settings:
            # Only a fault's own answer carries them: a delay or a drop would ignore them.
            errors[f"$.{field}"] = [f"{field} is part of the fault's answer; give the status it goes with."]
    if not ("status" in settings or settings.get("delayMs", 0) > 0 or settings.get("drop") is True):
        # drop false and a delay of 0 ms are the defaults: on their own they would do nothing.
        errors["$"] = ["A fault needs an effect: a status, a delayMs above 0, or drop true."]
    return errors


#: Statuses whose answer cannot carry a body (RFC 9110): a fault's body would be dropped.
_BODILESS = {204, 205, 304}


#: The clock's range, .NET's DateTime.MinValue and MaxValue: the whole last second of 9999 is in it
#: (Python keeps 6 fractional digits, so 23:59:59.9999999 is held as 23:59:59.999999).
FIRST_INSTANT, LAST_INSTANT = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z"

_YEAR = re.compile(r"\s*[+-]?(\d+)-")


def _instant(text: str):
    """``freeze``'s instant as an aware UTC datetime; a 400 saying why it is not one."""
    try:
        return aspnet.parse_datetime(text)
    except aspnet.InstantOutOfRange:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        pass
    except ValueError:
        year = _YEAR.match(text)
        if not year or 1 <= int(year.group(1)[:6]) <= 9999:
            raise Refused(400, "freeze must be an ISO 8601 instant with a time zone "
                                    "(e.g. 2030-01-01T00:00:00Z), or \"now\".",
                               {"$.freeze": [f"{quote(text)} is not an instant with a time zone."]}) from None
    raise Refused(400, f"freeze is out of range: the clock holds instants from {FIRST_INSTANT} "
                            f"to {LAST_INSTANT} (.NET's DateTime range).",
                       {"$.freeze": [f"{quote(text)} is outside {FIRST_INSTANT} to {LAST_INSTANT} (UTC)."]})


def _clip_middle(text: str, size: int = 300) -> str:
    """A message cut in its middle when long: a last guard against quoting a long value back
    (the place it names comes first, and the reason last)."""
    return text if len(text) <= size else text[: size // 2] + " … " + text[-(size // 2 - 3):]


def is_loopback_address(address: str | None) -> bool:
    """Whether a peer address is this machine's own (127.0.0.0/8, ::1, or IPv4 ::1 mapped into IPv6)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:  # no address at all (or not an IP): not known to be local
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def is_loopback_host(host: str) -> bool:
    """Whether listening on ``host`` keeps the server to this machine (every address it names is loopback)."""
    try:
        return is_loopback_address(str(ipaddress.ip_address(host.strip("[]"))))
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(is_loopback_address(info[4][0]) for info in found)


def _host_name(host: str) -> str:
    """A Host header's name, lower case, without its port: ``[::1]`` stays bracketed."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] or host
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host


def dns_host_reason(host: str) -> str | None:
    """Why a request naming the server as ``host`` (its Host header) may come from a DNS rebinding
    attack, or None when it cannot.

    A page of ``http://evil.example:PORT`` whose name is then rebound to 127.0.0.1 reaches a
    loopback server from the developer's browser as a same-origin page (``Host`` and ``Origin``
    both name evil.example), so :func:`cross_site_reason` passes it. It needs a DNS name: an IP
    literal (``127.0.0.1``, ``[::1]``) is the server itself, and browsers resolve ``localhost``
    and ``*.localhost`` to loopback themselves, never by DNS.
    """
    name = _host_name(host)
    bare = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    try:
        ipaddress.ip_address(bare)
        return None
    except ValueError:
        pass
    label = name.rstrip(".")
    if not label or label == "localhost" or label.endswith(".localhost"):
        return None
    return (f"The control plane answers a request naming the server by a DNS name (Host {quote(host.strip())}) "
            "only with --admin-token: a web page whose name is rebound to this machine could otherwise drive "
            "the mock. Call it at 127.0.0.1, [::1] or localhost, or run the server with --admin-token.")


def is_admin_token(given: str | None, token: str) -> bool:
    """Whether ``given`` is the admin token, compared in constant time (as UTF-8 bytes: text of any
    characters compares, and none raises)."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass"))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_parts(scheme: str, netloc: str) -> tuple[str, str, int | None] | None:
    """An origin's (scheme, host, port), the port made explicit; None when it cannot be read."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port or _DEFAULT_PORTS.get(scheme.lower())
    except ValueError:
        return None
    return scheme.lower(), (parts.hostname or "").lower(), port


def cross_site_reason(headers: Mapping[str, str], scheme: str, host: str) -> str | None:
    """Why a request comes from a web page of another site, or None when it does not.

    A browser says where a request comes from: ``Origin`` (sent on every cross-origin fetch and
    form post) and ``Sec-Fetch-Site``. Programs (curl, requests, the pytest plugin) send neither,
    and a page the mock itself serves sends its own origin: both pass.
    """
    site = (headers.get("Sec-Fetch-Site") or "").strip().lower()
    if site in ("cross-site", "same-site"):
        return f"Sec-Fetch-Site: {site}"
    origin = headers.get("Origin")
    if origin is None:
        return None
    own = _origin_parts(scheme, host)
    given = origin.strip()
    theirs = None
    if "://" in given and given.lower() != "null":
        given_scheme, _, netloc = given.partition("://")
        theirs = None if "/" in netloc else _origin_parts(given_scheme, netloc)
    if theirs is not None and own is not None and theirs == own:
        return None
    return f"Origin {quote(given)} is not the mock's own origin"


#: The ``/_mock`` blueprint; app.create_app registers it on each app, which holds the mock it
#: works on (see :func:`current_mock`).
control_plane = Blueprint("control", __name__, url_prefix=CONTROL_PREFIX)


def current_mock() -> Mock:
    """The mock this request works on: its app's (app.create_app puts it there).

    Looked up per request rather than held by the views, so they are plain functions of the
    module: importable by name, and callable in a test under Flask's ``test_request_context``.
    """
    return current_app.extensions["mockchats"]


def current_specs() -> tuple[Spec, ...]:
    """The documents of the partner APIs the mock serves, Chats first (app.create_app puts
    them beside the mock)."""
    return current_app.extensions["mockchats.specs"]


def _body(schema: str, *, optional: bool = False) -> dict:
    """The request's JSON body, validated against ``schema``; 400 otherwise."""
    if not request.get_data(cache=True).strip():
        if optional:
            if request.mimetype:  # said to be something else: a form post from a web page, say
                _require_json_media()
            return {}
        raise Refused(400, "A JSON body is required.", {"$": ["A JSON body is required."]})
    value = _json_body()
    errors: dict[str, list[str]] = {}
    count = 0
    try:
        for error in _validator(schema).iter_errors(value):
            count += 1
            if count > MAX_ERRORS:  # a whole bad state would otherwise come back as its errors
                break
            said = errors.setdefault(place_of(error.absolute_path), [])
            message = describe(error)
            if message not in said:  # each missing property is an error, all said in one
                said.append(message)
    except RecursionError:  # read_json bounds the depth; this is the last guard
        errors.setdefault("$", []).append("The body nests too deeply to check.")
    if errors:
        place, messages = next(iter(errors.items()))
        more = ("more" if count > MAX_ERRORS else
                f"{sum(map(len, errors.values())) - 1} more" if count > 1 else "")
        raise Refused(400, f"The body does not match the {schema} schema: {place}: {messages[0]}"
                           + (f" (and {more})" if more else ""), errors)
    return value


def _refuse_names(names: list[str], detail: str, reason: str) -> None:
    """A 400 for query parameters a call does not take, when there are any: ``detail`` then the
    first five names; ``errors`` keys at most 20 of them, each with ``reason``. A parameter a
    call would ignore is refused so that a typo never silently answers something else."""
    if names:
        shown = ", ".join(quote(n) for n in names[:5]) + (", …" if len(names) > 5 else "")
        raise Refused(400, f"{detail}{shown}.", {name: [reason] for name in names[:20]})


def _refuse_query(call: str) -> None:
    """A DELETE removes all it names: a query (a filter, say) would be silently ignored, so
    it is refused instead of removing more than was asked."""
    _refuse_names(list(dict.fromkeys(request.args)),
                  f"{call} takes no query parameters; it removes everything. Given: ",
                  f"{call} takes no query parameters.")


def _session_ids(mock: Mock) -> list[str]:
    """The live sessions' ids, in order, without copying their messages (each has a user)."""
    return list(dict.fromkeys(user.session_id for user in mock.store.users()))


def _status(mock: Mock) -> dict:
    """What the mock serves now: the answer of every call that changes the world, and the index's."""
    sessions, messages = mock.store.size()
    return {"auth": mock.auth, "seed": mock.seed, "scenario": mock.scenario,
            "sessions": sessions, "messages": messages}


def _session_dto(session: ChatSession) -> dict:
    """A session as the control plane shows it: its users with their tokens (a test signs in with
    them), and only the count of its messages (the partner API lists those)."""
    return {"sessionId": session.id,
            "users": [{"id": u.id, "name": u.name, "role": u.role, "token": u.token}
                      for u in session.users.values()],
            "messages": len(session.messages)}


def _change_world(change: Callable[[], object], root: str | None = None) -> None:
    """Call ``change`` (a :class:`Mock` call that loads a world); its refusal as a 400 (404 for an
    unknown scenario). With ``root``, the document came in this request's body at ``root``: a
    rule it breaks is keyed by its JSON path there, as schema errors are."""
    try:
        change()
    except worlds.UnknownScenario as exc:
        # The fixtures' own words, with the name clipped: it is the client's, of any length.
        what = ("a scenario is named, not a path:" if any(c in exc.name for c in "/\\")
                else "unknown scenario")
        raise Refused(404, f"{what} {quote(exc.name)}; known scenarios: {', '.join(exc.known)}") from None
    except worlds.FixtureError as exc:
        if root and exc.place and exc.reason:
            place = root + ("" if exc.place.startswith("[") else ".") + exc.place
            message = _clip_middle(exc.reason[:1].upper() + exc.reason[1:].rstrip(".") + ".")
            raise Refused(400, _clip_middle(f"The document does not hold together: {place}: {message}"),
                               {place: [message]}) from None
        message = _clip_middle(str(exc))
        raise Refused(400, message, {"$": [message]}) from None


def admin_refusal(headers: Mapping[str, str], scheme: str, host: str, client: str | None,
                  admin_token: str | None, offered: Iterable[str | None], *,
                  in_process: bool = False) -> tuple[int, str | None] | None:
    """Why the control plane refuses a caller, or None when it may drive the mock: ``(403, the
    reason)``, or ``(401, None)`` for the Bearer challenge. The one rule of the views and the
    journal stream: the control plane can replace or read the whole world, so it answers no web
    page of another site, and only this machine or the holder of ``--admin-token``.

    ``client`` is the peer's address, ``offered`` the tokens the caller presented (a bearer; the
    stream also its ``?access_token=``); ``in_process``: the request crossed no network.
    """
    foreign = cross_site_reason(headers, scheme, host)
    if foreign:
        # Checked first and always, token or not: a page in the developer's browser reaches
        # a loopback server too, and a "simple" request (a form post, text/plain) is sent
        # without a preflight, so leaving out CORS headers alone does not stop it.
        return 403, (f"The control plane refuses requests from web pages of other sites ({foreign}); "
                     "call it from a program, or from a page the mock serves.")
    if admin_token is not None:
        return None if any(is_admin_token(token, admin_token) for token in offered) else (401, None)
    if in_process:
        return None
    # Without a token only this machine may drive the mock: a server listening beyond it
    # would otherwise let anyone on the network reset, replace or read its world.
    if not is_loopback_address(client):
        return 403, "The control plane answers only clients on this machine (loopback) unless the server runs " \
                    "with --admin-token."
    # And only at an address, not a DNS name: a page rebound to 127.0.0.1 is a loopback client.
    rebinding = dns_host_reason(host)
    return (403, rebinding) if rebinding else None


@control_plane.before_request
def require_admin_token() -> Response | None:
    """Who may drive the mock (:func:`admin_refusal`), checked before every view."""
    mock = current_mock()
    refusal = admin_refusal(request.headers, request.scheme, request.host, request.remote_addr, mock.admin_token,
                            [bearer_token(request.headers.get("Authorization"))],
                            in_process=bool(request.environ.get(IN_PROCESS)))
    if refusal is not None:
        status, detail = refusal
        if detail is None:
            return empty_response(401, {"WWW-Authenticate": "Bearer"})
        raise Refused(status, detail)
    if request.endpoint in ("control.put_state", "control.load_own_scenario"):
        request.max_content_length = MAX_STATE_BYTES
    return None


@control_plane.errorhandler(Refused)
def refused(error: Refused) -> Response:
    """A refusal as problem+json in ASP.NET Core's shape (type, title, status, detail, errors, then
    traceId), as the partner API refuses; the Python client raises it as ``ControlError``."""
    return problem_response(error.status, detail=error.detail, errors=error.errors)


@control_plane.post("/reset")
def reset() -> Response:
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
    mock = current_mock()
    options = _body("ResetRequest", optional=True)
    _change_world(lambda: mock.reset(seed=options.get("seed"), scenario=options.get("scenario"),
                                     auth=options.get("auth")))
    return json_response(200, _status(mock))


@control_plane.get("/state")
def get_state() -> Response:
    """Export the whole state.
    ---
    get:
      summary: The whole state in the fixture format
      description: >-
        Every session both APIs hold (those made through the Session API too, with their rules,
        expiry, creator and wallet addresses; expired ones without their messages), and apiKeys
        when they differ from the keys the mock started with. PUT it back to restore it.
      responses:
        '200': {description: Every session, content: {application/json: {schema: FixtureDocument}}}
    """
    mock = current_mock()
    return json_response(200, worlds.to_document(mock.state()))


@control_plane.put("/state")
def put_state() -> Response:
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
    mock = current_mock()
    if not request.get_data(cache=True).strip():  # as the other calls: a missing body is a 400, not a 415
        raise Refused(400, "A JSON body is required.", {"$": ["A JSON body is required."]})
    document = _body("FixtureDocument")  # the schema first: its errors said in words
    _change_world(lambda: mock.replace_state(document), "$")
    return json_response(200, _status(mock))


@control_plane.get("/scenarios")
def list_scenarios() -> Response:
    """List the shipped scenarios.
    ---
    get:
      summary: The named scenarios shipped with mockchats
      responses:
        '200':
          description: Name and description of each
          content: {application/json: {schema: {type: array, items: Scenario}}}
    """
    return json_response(200, worlds.list_scenarios())


@control_plane.post("/scenarios/<name>")
def load_scenario(name: str) -> Response:
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
    mock = current_mock()
    seed = _body("ScenarioLoad", optional=True).get("seed")
    _change_world(lambda: mock.load_scenario(name, seed=seed))
    return json_response(200, _status(mock))


@control_plane.post("/scenarios")
def load_own_scenario() -> Response:
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
    mock = current_mock()
    options = _body("OwnScenario")
    # A document's own rules are keyed by their JSON path in this body; a file's are not.
    _change_world(lambda: mock.load_own_scenario(path=options.get("path"), document=options.get("document"),
                                                 seed=options.get("seed")),
                  None if "path" in options else "$.document")
    return json_response(200, _status(mock))


@control_plane.get("/sessions")
def list_sessions() -> Response:
    """List the sessions.
    ---
    get:
      summary: Every session with its users and tokens
      responses:
        '200':
          description: The sessions
          content: {application/json: {schema: {type: array, items: Session}}}
    """
    mock = current_mock()
    return json_response(200, [_session_dto(s) for s in mock.store.snapshot()])


@control_plane.post("/sessions")
def create_session() -> Response:
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
    mock = current_mock()
    users = _body("NewSession")["users"]
    session = mock.create_session([(u["name"], u["role"]) for u in users])
    return json_response(201, _session_dto(session))


@control_plane.post("/sessions/<session_id>/pins")
def pin_message(session_id: str) -> Response:
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
    mock = current_mock()
    chat_id = _body("PinRequest")["chatId"]
    try:
        pin_id = mock.store.pin_message(session_id, chat_id)
    except NotFound:
        _no_session(mock, session_id)
        raise Refused(404, f"No message {quote(chat_id)} in session {quote(session_id)}.") from None
    return json_response(201, {"chatId": chat_id, "pinId": pin_id})


@control_plane.post("/pins")
def pin_anywhere() -> Response:
    """Pin a message wherever it is.
    ---
    post:
      summary: Pin a message as its session's Host would, finding the session that holds it
      description: >-
        Chat ids are unique in the whole state, so the message names its session. Pinning a
        pinned message keeps its pin.
      requestBody:
        required: true
        content:
          application/json:
            schema: PinRequest
      responses:
        '201': {description: The pin and its session, content: {application/json: {schema: SessionPin}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '404': {$ref: '#/components/responses/NotFound'}
    """
    mock = current_mock()
    chat_id = _body("PinRequest")["chatId"]
    for session_id in _session_ids(mock):
        try:
            pin_id = mock.store.pin_message(session_id, chat_id)
        except NotFound:  # not in this session (or the world was replaced since the look)
            continue
        return json_response(201, {"sessionId": session_id, "chatId": chat_id, "pinId": pin_id})
    raise Refused(404, f"No message {quote(chat_id)}.")


#: Where an app keeps the binder of listChats' query, which its session listing shares.
_LIST_BINDER = "mockchats.control_list_binder"


def _listing_query(call: str) -> dict:
    """The request's query bound as GET /v1/chats binds it (the API's own binder, so one rule:
    the same defaults, case-insensitive names, conversions and ranges); a 400 naming the
    parameter where the API refuses a value, or for a name listChats does not take (the API
    would ignore it: here a typo would silently show another page)."""
    binder = current_app.extensions.get(_LIST_BINDER)
    if binder is None:  # built on first use, once per app
        spec = current_specs()[0]
        op = next(op for op in spec.operations if op.operation_id == "listChats")
        binder = current_app.extensions[_LIST_BINDER] = RequestBinder(op, spec.schemas)
    query_string = request.environ.get("QUERY_STRING", "")
    known = [p["name"] for p in binder.operation.query_parameters()]
    folded = {name.casefold() for name in known}
    unknown = [name for name in dict.fromkeys(k for k, _ in query_items(query_string)) if name.casefold() not in folded]
    _refuse_names(unknown, f"{call} takes only {', '.join(known)}, as GET /v1/chats; given: ",
                  f"Not a parameter of {call}.")
    try:
        return binder.bind_query_string(query_string, [])
    except BindingFailed as exc:
        errors = {name: list(messages) for name, messages in exc.errors.items()}
        place, messages = next(iter(errors.items()))
        more = sum(map(len, errors.values())) - 1
        raise Refused(400, f"GET /v1/chats would refuse this query: {place}: {messages[0]}"
                           + (f" (and {more} more)" if more else ""), errors) from None


def _no_session(mock: Mock, session_id: str) -> None:
    """404 when the session is not held."""
    if not mock.store.has_session(session_id):
        raise Refused(404, f"No session {quote(session_id)}.")


@control_plane.get("/sessions/<session_id>/messages")
def list_session_messages(session_id: str) -> Response:
    """List a session's messages.
    ---
    get:
      summary: A page of a session's messages, as GET /v1/chats lists them for its members
      description: >-
        The same sort, paging, defaults and answer (PagedMessagesDto: each message with its
        reactions and pin) as GET /v1/chats for a member of the session, without a token of theirs.
        A value the API refuses is a 400 naming the parameter, in the API's words; so is a
        parameter it does not take. Not journaled.
      parameters:
        - {name: session_id, in: path, required: true, schema: {type: string}}
        - {name: Skip, in: query, schema: {type: integer, format: int32, default: 0},
           description: How many messages to skip}
        - {name: Take, in: query, schema: {type: integer, format: int32, minimum: 1, maximum: 20, default: 20},
           description: How many messages to list}
        - name: SortBy
          in: query
          schema:
            type: string
            enum: [CreatedAt, Pinned, ':thumbs_up:', ':thumbs_down:', ':thumbsup:', ':thumbsdown:']
            default: CreatedAt
          description: Matched case-insensitively; ties are broken by createdAt, then chatId
        - {name: Ascending, in: query, schema: {type: boolean, default: true}}
      responses:
        '200': {description: The page and the session's total, content: {application/json: {schema: MessagePage}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '404': {$ref: '#/components/responses/NotFound'}
    """
    mock = current_mock()
    query = _listing_query("GET /_mock/sessions/{sessionId}/messages")
    try:
        page = chats_responses.list_session_chats(mock.store, session_id, query)
    except NotFound:
        raise Refused(404, f"No session {quote(session_id)}.") from None
    return json_response(200, page)


@control_plane.delete("/sessions/<session_id>/messages/<chat_id>")
def delete_session_message(session_id: str, chat_id: str) -> Response:
    """Delete a message.
    ---
    delete:
      summary: Delete a message as the session's Host would (takes no query parameters)
      description: >-
        As DELETE /v1/chats/{chatId} by the Host: its reactions and pin go with it, and the chat hub
        sends MessageDeleted. Not journaled.
      parameters:
        - {name: session_id, in: path, required: true, schema: {type: string}}
        - {name: chat_id, in: path, required: true, schema: {type: string}}
      responses:
        '204': {description: Deleted}
        '400': {$ref: '#/components/responses/BadRequest'}
        '404': {$ref: '#/components/responses/NotFound'}
    """
    mock = current_mock()
    _refuse_query("DELETE /_mock/sessions/{sessionId}/messages/{chatId}")
    try:
        mock.store.delete_message_as_host(session_id, chat_id)
    except NotFound:
        _no_session(mock, session_id)
        raise Refused(404, f"No message {quote(chat_id)} in session {quote(session_id)}.") from None
    return empty_response(204)


@control_plane.delete("/sessions/<session_id>/pins/<pin_id>")
def unpin_session_message(session_id: str, pin_id: str) -> Response:
    """Remove a pin.
    ---
    delete:
      summary: Unpin a message as the session's Host would (takes no query parameters)
      description: >-
        As DELETE /v1/chats/{chatId}/pins/{pinId} by the Host, by the pin's id alone: the chat hub
        sends PinRemoved. Not journaled.
      parameters:
        - {name: session_id, in: path, required: true, schema: {type: string}}
        - {name: pin_id, in: path, required: true, schema: {type: string}}
      responses:
        '204': {description: Unpinned}
        '400': {$ref: '#/components/responses/BadRequest'}
        '404': {$ref: '#/components/responses/NotFound'}
    """
    mock = current_mock()
    _refuse_query("DELETE /_mock/sessions/{sessionId}/pins/{pinId}")
    try:
        mock.store.unpin_as_host(session_id, pin_id)
    except NotFound:
        _no_session(mock, session_id)
        raise Refused(404, f"No pin {quote(pin_id)} in session {quote(session_id)}.") from None
    return empty_response(204)


@control_plane.post("/wallet-tokens")
def issue_wallet_token() -> Response:
    """Issue a wallet token.
    ---
    post:
      summary: A wallet token for an address, without a signature
      description: >-
        The token POST /v1/wallet-proof/verify answers once a wallet has signed its nonce, for
        tests of what comes after the login: with it, POST /v1/session (and an X-API-KEY) creates
        a session and POST /v1/session/join joins one. It expires after 5 minutes of the mock's
        clock, as a verified one does.
      requestBody:
        required: true
        content:
          application/json:
            schema: WalletTokenRequest
      responses:
        '201': {description: The wallet token, content: {application/json: {schema: WalletToken}}}
        '400': {$ref: '#/components/responses/BadRequest'}
    """
    mock = current_mock()
    address = _body("WalletTokenRequest")["address"]
    try:
        proof = mock.sessions.wallet_token(address)
    except ValueError:  # "0x" and 40 digits then a newline passes the pattern: its $ matches before it
        message = f"Must be an Ethereum address (0x and 40 hex digits), not {quote(address)}."
        raise Refused(400, f"The body does not match the WalletTokenRequest schema: $.address: {message}",
                      {"$.address": [message]}) from None
    return json_response(201, proof.to_dto())


@control_plane.get("/api-keys")
def list_api_keys() -> Response:
    """List the API keys.
    ---
    get:
      summary: The API keys strict auth accepts, in sorted order
      description: >-
        POST /v1/session needs one in X-API-KEY (open auth takes any non-empty key). They are
        demo-api-key, those given to mockchats serve --api-key and a fixture file's apiKeys.
      responses:
        '200':
          description: The keys
          content: {application/json: {schema: {type: array, items: {type: string}}}}
    """
    mock = current_mock()
    return json_response(200, sorted(mock.sessions.api_keys))


@control_plane.get("/hubs/connections")
def list_hub_connections() -> Response:
    """List the hub connections.
    ---
    get:
      summary: Every open hub connection, in the order they connected
      responses:
        '200':
          description: The connections
          content: {application/json: {schema: {type: array, items: HubConnection}}}
    """
    mock = current_mock()
    return json_response(200, [c.to_dto() for c in mock.hubs.connections()])


@control_plane.post("/hubs/events")
def send_hub_event() -> Response:
    """Send an event to a session's hub connections.
    ---
    post:
      summary: Any event to a session's connections on a hub (the upload events, which no API makes)
      requestBody:
        required: true
        content:
          application/json:
            schema: HubEventRequest
      responses:
        '202': {description: Handed to the connections, content: {application/json: {schema: HubEventSent}}}
        '400': {$ref: '#/components/responses/BadRequest'}
    """
    mock = current_mock()
    event = _body("HubEventRequest")
    envelope = {"sessionId": event["sessionId"], "eventType": event["eventType"], "data": event.get("data", {})}
    delivered = mock.hubs.send(event.get("hub", "session"), event["sessionId"], event["eventType"], envelope)
    return json_response(202, {"delivered": delivered})


@control_plane.post("/hubs/close")
def close_hub_connections() -> Response:
    """Close hub connections.
    ---
    post:
      summary: End the matching connections with a Close, or drop their sockets
      description: >-
        For a partner's reconnect logic: `allowReconnect` makes Microsoft's client reconnect on its
        own; `drop` is a lost network (no Close at all).
      requestBody:
        required: true
        content:
          application/json:
            schema: HubCloseRequest
      responses:
        '200': {description: How many were closed, content: {application/json: {schema: HubsClosed}}}
        '400': {$ref: '#/components/responses/BadRequest'}
    """
    mock = current_mock()
    ask = _body("HubCloseRequest")
    closing = Closing(ask.get("error"), ask.get("allowReconnect", False), ask.get("drop", False))
    closed = mock.hubs.close(closing, hub=ask.get("hub"), session_id=ask.get("sessionId"), user_id=ask.get("userId"))
    return json_response(200, {"closed": closed})


@control_plane.get("/hubs/events")
def list_hub_events() -> Response:
    """List the events the hubs sent.
    ---
    get:
      summary: The events sent to the hubs' connections since the last reset, oldest first
      description: >-
        With how many connections each reached (the latest 10,000). The session hub lists every
        event of its sessions, heard or not; the chat hub only the changes it sent to a connection
        (it sends none to a session nobody listens to). An unknown parameter or hub is refused
        (400): a filter that cannot match would hide a typo behind an empty list.
      parameters:
        - {name: hub, in: query, schema: {type: string, enum: [session, chat]}, description: One hub's alone}
      responses:
        '200':
          description: The events
          content: {application/json: {schema: {type: array, items: HubEventRecord}}}
        '400': {$ref: '#/components/responses/BadRequest'}
    """
    mock = current_mock()
    unknown = [name for name in dict.fromkeys(request.args) if name != "hub"]
    hubs = request.args.getlist("hub")
    _refuse_names(unknown, "GET /_mock/hubs/events takes only `hub`; given: ",
                  "Not a parameter of GET /_mock/hubs/events.")
    if len(hubs) > 1 or (hubs and hubs[0] not in HUBS):
        message = f"Must be one of {', '.join(HUBS)}, given once; not {quote(', '.join(hubs))}."
        raise Refused(400, f"hub: {message}", {"hub": [message]})
    return json_response(200, [sent.to_dto() for sent in mock.hubs.sent(hubs[0] if hubs else None)])


@control_plane.get("/faults")
def list_faults() -> Response:
    """List the active faults.
    ---
    get:
      summary: The active faults, with how often each has fired
      responses:
        '200': {description: The faults, content: {application/json: {schema: {type: array, items: Fault}}}}
    """
    mock = current_mock()
    return json_response(200, [f.to_dict() for f in mock.faults.list()])


@control_plane.post("/faults")
def add_fault() -> Response:
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
    mock = current_mock()
    settings = _body("FaultRequest")
    errors = _fault_errors(settings, current_specs(), current_mock().hub_server.routes())
    if errors:
        place, messages = next(iter(errors.items()))
        raise Refused(400, f"The fault cannot apply: {place}: {messages[0]}", errors)
    fault = mock.faults.add(
        operation_id=settings.get("operationId"), method=settings.get("method"),
        path=settings.get("path"), status=settings.get("status"), body=settings.get("body"),
        headers=settings.get("headers", {}), delay_ms=settings.get("delayMs", 0),
        drop=settings.get("drop", False), when=settings.get("when", BEFORE),
        times=settings.get("times"), probability=settings.get("probability"))
    return json_response(201, fault.to_dict())


@control_plane.delete("/faults")
def clear_faults() -> Response:
    """Clear every fault.
    ---
    delete:
      summary: Remove every fault (takes no query parameters)
      responses:
        '204': {description: No faults remain}
        '400': {$ref: '#/components/responses/BadRequest'}
    """
    mock = current_mock()
    _refuse_query("DELETE /_mock/faults")
    mock.faults.clear()
    return empty_response(204)


@control_plane.delete("/faults/<fault_id>")
def remove_fault(fault_id: str) -> Response:
    """Remove one fault.
    ---
    delete:
      summary: Remove one fault
      parameters:
        - {name: fault_id, in: path, required: true, schema: {type: string}}
      responses:
        '204': {description: Removed}
        '400': {$ref: '#/components/responses/BadRequest'}
        '404': {$ref: '#/components/responses/NotFound'}
    """
    mock = current_mock()
    _refuse_query("DELETE /_mock/faults/{id}")
    if not mock.faults.remove(fault_id):
        raise Refused(404, f"No fault {quote(fault_id)}.")
    return empty_response(204)


@control_plane.get("/clock")
def read_clock() -> Response:
    """Read the clock.
    ---
    get:
      summary: The mock's time and whether it is frozen
      responses:
        '200': {description: The clock, content: {application/json: {schema: Clock}}}
    """
    mock = current_mock()
    return json_response(200, {"now": aspnet.format_datetime(mock.clock.now()), "frozen": mock.clock.frozen})


@control_plane.post("/clock")
def set_clock() -> Response:
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
    mock = current_mock()
    change = _body("ClockRequest")
    if "freeze" in change:
        at = None if change["freeze"] == "now" else _instant(change["freeze"])
        mock.clock.freeze(at)
    elif "advanceSeconds" in change:
        # Checked first: a clock past year 9999 would fail every later request with a 500.
        try:
            by = timedelta(seconds=change["advanceSeconds"])
            mock.clock.now() + by
        except OverflowError:
            raise Refused(400, f"advanceSeconds moves the clock past {LAST_INSTANT}, the last "
                                    "instant it can show.",
                               {"$.advanceSeconds": [f"{quote(change['advanceSeconds'])} seconds from now is "
                                                     f"past {LAST_INSTANT}."]}) from None
        mock.clock.advance(by)
    else:
        mock.clock.real()
    mock.sessions.expire_due()  # sessions whose time the clock passed expire now, not at the next call
    return read_clock()


@control_plane.get("/requests")
def list_requests() -> Response:
    """Read the request journal.
    ---
    get:
      summary: The partner requests the mock has seen, oldest first
      description: >-
        Filters combine (all must match). An unknown or repeated parameter, an operationId
        the API does not have, and a malformed status or limit are refused with a 400 that
        lists what is known: a filter that cannot match would hide a typo behind an empty list.
        The hubs' traffic (negotiate, connect, disconnect, events sent, the client's messages)
        is journaled too, numbered with the requests, but listed only with kind=hub or kind=all
        (or a hub filter, which implies kind=hub); it is never a contract violation.
        operationId, method, path and status match REST requests only: with kind=all they leave
        the hub entries out, with kind=hub or a hub filter they are refused (400), as is a hub
        filter with kind=http. user matches a hub entry by its userId. limit keeps the latest N
        of what the filters found.
      parameters:
        - {name: operationId, in: query, schema: {type: string},
           description: 'An operation of the API, e.g. createChat'}
        - {name: method, in: query, schema: {type: string}, description: In any case}
        - {name: path, in: query, schema: {type: string}, description: 'As requested, e.g. /v1/chats (any case)'}
        - name: status
          in: query
          schema: {type: string, pattern: '^[1-5]([0-9]{2}|[xX]{2})$'}
          description: A status code (404) or a class (4xx); a dropped connection matches none
        - {name: user, in: query, schema: {type: string}, description: 'A user id, or a name in any case'}
        - name: kind
          in: query
          schema: {type: string, enum: [http, hub, all], default: http}
          description: REST requests (the default), the hubs' traffic, or both
        - {name: hub, in: query, schema: {type: string, enum: [session, chat]},
           description: 'One hub''s entries (implies kind=hub)'}
        - {name: limit, in: query, schema: {type: integer, minimum: 0}, description: The latest N entries}
      responses:
        '200':
          description: The entries
          content: {application/json: {schema: {type: array, items: JournalEntry}}}
        '400': {$ref: '#/components/responses/BadRequest'}
    """
    mock = current_mock()
    try:
        entries = mock.journal.query(request.args.items(multi=True), mock.operation_ids())
    except QueryRefused as exc:
        raise Refused(400, exc.detail, exc.errors) from None
    return json_response(200, entries)


@control_plane.delete("/requests")
def clear_requests() -> Response:
    """Clear the request journal.
    ---
    delete:
      summary: Forget every recorded request
      description: >-
        Takes no query parameters: a filter here would not be applied, so one is refused (400)
        rather than the whole journal cleared.
      responses:
        '204': {description: The journal is empty}
        '400': {$ref: '#/components/responses/BadRequest'}
    """
    mock = current_mock()
    _refuse_query("DELETE /_mock/requests")
    mock.journal.clear()
    return empty_response(204)


@control_plane.get("/requests/stream")
def stream_requests() -> Response:
    """Follow the request journal live.
    ---
    get:
      summary: The journal's new entries as they are recorded (Server-Sent Events)
      description: >-
        One event per entry: `id:` the entry's id, `data:` the entry as GET /_mock/requests gives it
        (one line of JSON). The stream starts with the entries recorded from the moment of
        connecting; with a Last-Event-ID header (an EventSource reconnecting sends it) or since, it
        first sends the entries after that id still in the journal. First, and again whenever the
        journal is cleared (a reset), an `epoch` event (`event: epoch`, `data: {"epoch": "<id>.<n>"}`)
        names the journal: when it changes, what a reader shows is gone; when its part before the
        dot changes, the mock was restarted and ids start again at 1 (read again with since=0). New
        entries arrive within a second; a comment line (`: keep-alive`) is sent after 15 s without one. It takes GET
        /_mock/requests' filters but limit (refused: a stream has no end to count from), and its own
        request is not journaled. With --admin-token, the token may come as access_token in the
        query, on this endpoint only, since a browser's EventSource sends no headers (it is never
        shown: the journal hides the admin token wherever it appears). The stream is served by the
        mock's server (`mockchats serve`, the pytest plugin's, mockchats.Server) beside the app; the
        app alone (in-process mode, a WSGI test client) cannot hold an answer open and answers 501.
      parameters:
        - {name: since, in: query, schema: {type: integer, minimum: 0},
           description: Send first the entries after this id still in the journal}
        - {name: Last-Event-ID, in: header, schema: {type: integer, minimum: 0},
           description: 'As since (an EventSource reconnecting sends it); it wins over since, being the newer'}
        - {name: access_token, in: query, schema: {type: string},
           description: 'The admin token (this endpoint only), for a client that cannot send headers'}
        - {name: operationId, in: query, schema: {type: string}, description: As GET /_mock/requests}
        - {name: method, in: query, schema: {type: string}, description: As GET /_mock/requests}
        - {name: path, in: query, schema: {type: string}, description: As GET /_mock/requests}
        - {name: status, in: query, schema: {type: string, pattern: '^[1-5]([0-9]{2}|[xX]{2})$'},
           description: As GET /_mock/requests}
        - {name: user, in: query, schema: {type: string}, description: As GET /_mock/requests}
        - {name: kind, in: query, schema: {type: string, enum: [http, hub, all], default: http},
           description: As GET /_mock/requests (hub entries only with kind=hub or all)}
        - {name: hub, in: query, schema: {type: string, enum: [session, chat]}, description: As GET /_mock/requests}
      responses:
        '200':
          description: 'The stream: `id: <entry id>` and `data: <JournalEntry as JSON>` per event'
          content: {text/event-stream: {schema: {type: string}}}
        '400': {$ref: '#/components/responses/BadRequest'}
        '501':
          description: Served by the app alone (no server to hold the stream open)
          content: {application/problem+json: {schema: Problem}}
    """
    raise Refused(501, "The journal's stream needs the mock's server to hold it open (mockchats serve, the "
                       "pytest plugin's server or mockchats.Server); the app alone answers whole responses "
                       "only. Read GET /_mock/requests instead.")


@control_plane.get("")
def index() -> Response:
    """The control plane's index.
    ---
    get:
      summary: Where each part of the control plane is, and the mock's status
      responses:
        '200': {description: The index, content: {application/json: {schema: Index}}}
    """
    mock = current_mock()
    root = CONTROL_PREFIX
    return json_response(200, {"openapi": f"{root}/openapi.json", "status": _status(mock),
                       "reset": f"{root}/reset", "state": f"{root}/state",
                       "scenarios": f"{root}/scenarios", "sessions": f"{root}/sessions",
                       "pins": f"{root}/pins", "faults": f"{root}/faults", "clock": f"{root}/clock",
                       "requests": f"{root}/requests", "walletTokens": f"{root}/wallet-tokens",
                       "apiKeys": f"{root}/api-keys", "hubs": f"{root}/hubs/connections",
                       "ui": f"{root}/ui"})


#: Where an app keeps its control plane's OpenAPI document once built.
_DOCUMENT = "mockchats.control_document"


@control_plane.get("/openapi.json")
def control_document() -> Response:
    """The control plane's own OpenAPI document (not itself part of it)."""
    document = current_app.extensions.get(_DOCUMENT)
    if document is None:  # built on first read, once per app: apispec takes a while
        document = current_app.extensions[_DOCUMENT] = _build_document(current_app)
    return json_response(200, document)



#: The views in /_mock/openapi.json, in its order (the document itself is not one of them).
_DOCUMENTED = (index, reset, get_state, put_state, list_scenarios, load_scenario, load_own_scenario, list_sessions,
               create_session, pin_message, pin_anywhere, list_session_messages,
               delete_session_message, unpin_session_message, issue_wallet_token, list_api_keys, list_hub_connections,
               send_hub_event, close_hub_connections, list_hub_events, list_faults, add_fault, clear_faults,
               remove_fault, read_clock, set_clock, list_requests, clear_requests, stream_requests)


def _build_document(app: Flask) -> dict:
    """The OpenAPI document of ``/_mock``, generated by apispec from the views above."""
    spec = APISpec(title="mockchats control plane", version=__version__, openapi_version="3.0.3",
                   plugins=[FlaskPlugin()],
                   info={"description": "Reset, scenarios, sessions, pins, wallet tokens, API keys, "
                                        "faults, clock and the request journal of a running mockchats "
                                        "server."})
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
    spec.components.response("Forbidden", {
        "description": "A web page of another site sent it (an Origin other than the mock's own, or "
                       "Sec-Fetch-Site cross-site or same-site); or, only without --admin-token, the "
                       "client is not on the server's own machine, or the request names the server by a "
                       "DNS name other than localhost (its Host: a DNS rebinding guard; call it at "
                       "127.0.0.1, [::1] or localhost)",
        "content": {"application/problem+json": {"schema": "Problem"}}})
    spec.components.response("UnsupportedMediaType", {
        "description": "The body is not sent as JSON; nothing changed",
        "content": {"application/problem+json": {"schema": "Problem"}}})
    spec.components.response("PayloadTooLarge", {
        "description": "The body is over the limit (1 MiB; 256 MiB for a whole state or scenario document)"})
    spec.components.security_scheme("Admin Bearer", {
        "type": "http", "scheme": "bearer",
        "description": "Needed only when the server runs with --admin-token."})
    for view in _DOCUMENTED:
        spec.path(view=view, app=app)
    document = spec.to_dict()
    # Every call can meet the admin token check, and every call with a body the JSON check.
    document["security"] = [{"Admin Bearer": []}, {}]
    for path_item in document["paths"].values():
        for operation in path_item.values():
            operation["responses"].setdefault("401", {"$ref": "#/components/responses/Unauthorized"})
            operation["responses"].setdefault("403", {"$ref": "#/components/responses/Forbidden"})
            if "requestBody" in operation:
                operation["responses"].setdefault("413", {"$ref": "#/components/responses/PayloadTooLarge"})
                operation["responses"].setdefault("415", {"$ref": "#/components/responses/UnsupportedMediaType"})
    return document
