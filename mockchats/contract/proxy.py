"""``mockchats proxy``: forward traffic to a real server and check it against the contract.

As Prism's proxy does: every request is passed to the upstream and its answer passed
back unchanged, while both are judged by :mod:`mockchats.contract.checks`, the checks the mock
itself uses, against every document the mock serves (the Chats API and the Session API, both
under ``/v1``). The request by :func:`~mockchats.contract.check_request` (route, bearer
token, query and body binding; nothing executed), the response by
:func:`~mockchats.contract.check_response`. Each request gets one log line on stderr
and an entry in the proxy's own journal, served at ``/_mock/requests`` in the mock's
shape plus ``responseViolations``.

The upstream is its base URL as a partner configures it (``http://host:8080/v1``);
the proxy's ``/v1/...`` is mapped onto that base, so ``/v1/chats`` goes to
``<upstream>/chats``. A bare root (``http://host:8080``) is taken as ``<root>/v1``.
Paths outside ``/v1`` go to the upstream's host unchanged (``/openapi.json``, a mock's
``/_mock/...``), except the proxy's own ``/_mock/requests``.

A body over the limit (Kestrel's default, 30,000,000 bytes) is refused on arrival with
an empty 413 and ``Connection: close``, as Kestrel answers it: :class:`ProxyServer`
reads no byte of it past the limit and forwards nothing. The checks never decide
whether an answer reaches the client: if one of them fails, the request is forwarded
unchecked and the failure is logged and journaled.
"""
from __future__ import annotations

import http.client
import io
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit
from wsgiref.types import StartResponse, WSGIEnvironment

from werkzeug.wrappers import Request

from .. import aspnet
from ..core.identity import bearer_token
from ..core.journal import DEFAULT_SIZE, Exchange, Journal, QueryRefused, request_headers
from ..core.responses import CONTROL_PREFIX, is_control_path
from ..core.wording import clip
from ..serving.asgi import AsgiBridge, drain, read_body, refuse
from ..serving.server import Server
from .checks import Contract, default_contract
from .run import base_url_problem

if TYPE_CHECKING:
    from ..core.spec import Operation
    from ..serving.asgi import Receive, Send

log = logging.getLogger("mockchats.proxy")

#: Kestrel's default ``MaxRequestBodySize``: the real service takes bodies up to this size.
DEFAULT_MAX_BODY_BYTES = 30_000_000
#: The largest header block taken (names and values); a larger one is refused with an empty 431.
MAX_HEADER_BYTES = 256 * 1024
#: The proxy's own journal, at the same place as the mock's.
JOURNAL_PATH = CONTROL_PREFIX + "/requests"
#: Connection-level headers, which a proxy must not pass on (RFC 9110, 7.6.1).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "transfer-encoding", "upgrade", "proxy-connection"})
#: Left out of forwarded requests: Host is the upstream's, an uncompressed answer is one the
#: proxy can check, and the body is already read whole (no 100-continue to wait for).
NOT_FORWARDED = HOP_BY_HOP | {"host", "accept-encoding", "expect"}
#: Kestrel's reason phrases for the answers the proxy gives itself.
REASONS = {400: "Bad Request", 413: "Payload Too Large", 431: "Request Header Fields Too Large",
           501: "Not Implemented", 502: "Bad Gateway"}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_LINE_BREAK = re.compile(r"[\r\n]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: What a body refused for its size is answered (:func:`~mockchats.serving.asgi.refuse`), as journaled.
_REFUSAL_HEADERS = [("Content-Length", "0"), ("Connection", "close")]


class ContractProxy:
    """The WSGI app of ``mockchats proxy``: forward, check, log, journal, count."""

    def __init__(self, upstream: str, *, journal_size: int = DEFAULT_SIZE, timeout: float = 30,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, contract: Contract | None = None):
        self.contract = contract or default_contract()
        # The documents share one base path (/v1); the first one's is the one mapped.
        self.base_path = self.contract.spec.base_path
        problem = base_url_problem(upstream, "upstream")
        if problem:
            raise ValueError(f"{problem}; give an http(s) URL such as http://host:8080/v1, "
                             f"not '{clip(upstream, 80)}'")
        parts = urlsplit(upstream)
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self._upstream_path = parts.path.rstrip("/") or self.base_path
        #: The upstream's base URL, the one the proxy stands in for.
        self.upstream_base = f"{parts.scheme}://{parts.netloc}{self._upstream_path}"
        self.journal = Journal(journal_size)
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        # Counted apart from the journal, which forgets its oldest entries.
        self._count_lock = threading.Lock()
        self.requests = 0
        self.requests_with_violations = 0

    def summary(self) -> str:
        """The closing line: how many requests were judged, how many broke the contract."""
        with self._count_lock:
            return (f"mockchats proxy: {self.requests} requests, "
                    f"{self.requests_with_violations} with violations")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._handle(environ, start_response)
        except Exception:  # never a client's doing: the answer is the upstream's or, here, a 502
            log.exception("the proxy failed on a request")
            return _empty(start_response, 502, sys.exc_info())

    def _handle(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == JOURNAL_PATH or request.path == JOURNAL_PATH + "/":
            return self._serve_journal(request, start_response)
        started = time.perf_counter()
        target = _target(environ, request)
        raw_path = target.split("?", 1)[0]
        declared = _content_length(environ)
        if declared is not None and declared > self.max_body_bytes:
            # ProxyServer refuses these before the app; this is for any other WSGI server.
            self.refuse_oversized(environ, declared)
            return _empty(start_response, 413)
        body = request.get_data(cache=True)
        if len(body) > self.max_body_bytes:
            self.refuse_oversized(environ, len(body))
            return _empty(start_response, 413)
        if _is_preflight(request):
            # A browser's question, not the app's request: passed on, not judged, not journaled
            # (as the mock does), so --fail-on-violation does not fail a browser app's run.
            try:
                status, reason, headers, answer = self._forward(request, target, body)
            except (_Unsendable, OSError, http.client.HTTPException, ValueError):
                status, reason, headers, answer = 502, REASONS[502], [("Content-Length", "0")], b""
            start_response(f"{status} {reason}", headers)
            return [answer]
        operation, violations, warnings = self._check_request(request, raw_path, body)

        response_violations: list[str] = []
        try:
            status, reason, headers, answer = self._forward(request, target, body)
        except _Unsendable as exc:  # not writable as HTTP: Kestrel's 400
            status, reason, headers, answer = 400, REASONS[400], [("Content-Length", "0")], b""
            violations.append(f"the {exc} holds a character HTTP does not allow; not forwarded")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            status, reason, headers, answer = 502, REASONS[502], [("Content-Length", "0")], b""
            response_violations.append(f"the upstream did not answer: {self._failure(exc)}")
        else:
            if operation is not None:
                response_violations = self._check_response(operation, status, headers, answer, warnings)
            if status == 413 and body and operation is not None and "no bearer token" not in violations:
                # The upstream never bound the body: the binding's verdict does not apply.
                violations[:] = [f"body of {len(body):,} bytes is over the upstream's limit (it answered 413)"]
        elapsed = (time.perf_counter() - started) * 1000

        if not (is_control_path(request.path) or request.path.startswith("/openapi")):  # not the contract's business
            self._record(request, target, body, operation, status, elapsed,
                         violations, warnings, response_violations, headers, answer)
        start_response(f"{status} {reason}", headers)
        return [answer]

    def refuse_oversized(self, environ: WSGIEnvironment, size: int | None) -> None:
        """Journal and log a body refused for its size (``size`` None: chunked, cut off at the limit).

        Only the route and the token are judged: the body was never read.
        """
        started = time.perf_counter()
        request = Request(environ)
        target = _target(environ, request)
        operation, violations, warnings = None, [], []
        try:
            operation, violations, warnings = self.contract.check_route(request.method, target.split("?", 1)[0])
            if operation is not None and bearer_token(request.headers.get("Authorization")) is None:
                violations.append("no bearer token")
        except Exception as exc:  # a check must never cost the client its answer
            warnings.append(_unchecked(exc, "request"))
        limit = f"{self.max_body_bytes:,}"
        violations.append(f"body of {size:,} bytes is over the {limit}-byte limit" if size is not None
                          else f"body of more than {limit} bytes (chunked) is over the {limit}-byte limit")
        self._record(request, target, None, operation, 413, (time.perf_counter() - started) * 1000,
                     violations, warnings, [], _REFUSAL_HEADERS, None)

    # -- checking -----------------------------------------------------------
    def _check_request(self, request: Request, raw_path: str, body: bytes):
        try:
            return self.contract.check_request(request.method, raw_path, request.args.items(multi=True),
                                               request.headers, body)
        except Exception as exc:  # a check must never cost the client its answer
            operation = None
            try:
                operation = self.contract.operation_for(request.method, raw_path)
            except Exception:
                pass
            return operation, [], [_unchecked(exc, "request")]

    def _check_response(self, operation: Operation | None, status: int, headers: list, answer: bytes,
                        warnings: list[str]) -> list[str]:
        try:
            return self.contract.check_response(operation, status, _HeaderView(headers), answer)
        except Exception as exc:  # a check must never cost the client its answer
            warnings.append(_unchecked(exc, "response"))
            return []

    # -- forwarding -------------------------------------------------------
    def upstream_target(self, target: str) -> str:
        """The upstream request target for the proxy's ``target`` (path and query, raw).

        Unchanged when the upstream's base path is the contract's (``/v1``), so even the
        spelling the client chose reaches the upstream.
        """
        if self._upstream_path.casefold() == self.base_path.casefold():
            return target
        path, _, query = target.partition("?")
        size = len(self.base_path)
        if path[:size].casefold() == self.base_path.casefold() and path[size:size + 1] in ("", "/"):
            path = self._upstream_path + path[size:]
        return path + (f"?{query}" if query else "")

    def _forward(self, request: Request, target: str, body: bytes):
        """Send the request on as it came; (status, reason, headers, body) of the answer.

        _Unsendable: the request cannot be written as HTTP (a control character in the
        target, say); OSError, HTTPException or ValueError: the upstream did not answer
        (http.client raises ValueError on a malformed chunk size, for one).
        """
        connection_class = _RawHTTPSConnection if self._scheme == "https" else _RawHTTPConnection
        connection = connection_class(self._netloc, timeout=self.timeout)
        try:
            try:
                connection.putrequest(request.method, self.upstream_target(target),
                                      skip_host=False, skip_accept_encoding=True)
            except http.client.InvalidURL:  # checked after the method
                raise _Unsendable("request target") from None
            except ValueError:
                raise _Unsendable("method") from None
            for name, value in request.headers.items():
                if name.casefold() not in NOT_FORWARDED and name.casefold() != "content-length":
                    try:
                        connection.putheader(name, value)
                    except ValueError:
                        raise _Unsendable(f"header {clip(name, 40)}") from None
            if body or request.headers.get("Content-Length") is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            upstream = connection.getresponse()
            answer = upstream.read()
            headers = [(name, _LINE_BREAK.sub(" ", value)) for name, value in upstream.getheaders()
                       if name.casefold() not in HOP_BY_HOP and _TOKEN.fullmatch(name)]
            if upstream.getheader("Content-Length") is None and request.method != "HEAD":
                headers.append(("Content-Length", str(len(answer))))  # it came chunked
            reason = _LINE_BREAK.sub(" ", upstream.reason or "") or REASONS.get(upstream.status, "")
            return upstream.status, reason, headers, answer
        finally:
            connection.close()

    def _failure(self, exc: Exception) -> str:
        """Why the upstream gave no answer, for a person."""
        if isinstance(exc, TimeoutError):
            return f"no answer within {self.timeout:g} seconds"
        if isinstance(exc, http.client.RemoteDisconnected):
            return "it closed the connection without answering"
        if isinstance(exc, OSError):
            return f"{(exc.strerror or exc.__class__.__name__).rstrip('.')} ({self._netloc})"
        return f"its answer is not valid HTTP ({exc.__class__.__name__})"

    # -- the journal --------------------------------------------------------
    def _record(self, request: Request, target: str, body: bytes | None, operation: Operation | None, status: int,
                elapsed_ms: float, violations: list[str], warnings: list[str],
                response_violations: list[str], response_headers: list, answer: bytes | None) -> None:
        with self._count_lock:
            self.requests += 1
            self.requests_with_violations += bool(violations or response_violations)
        try:
            self.journal.record(Exchange(
                request.method, request.path, request.environ.get("QUERY_STRING", ""), body or None,
                user=None,  # the upstream knows who a token is; the proxy does not
                operation_id=operation.operation_id if operation else None, status=status,
                duration_ms=elapsed_ms, violations=violations, warnings=warnings,
                response_violations=response_violations, headers=request_headers(request.environ),
                response_headers=response_headers, response_body=answer or None))
        finally:
            _log(request.method, target, status, elapsed_ms, operation, violations, warnings,
                 response_violations)

    def _serve_journal(self, request: Request, start_response: StartResponse) -> Iterable[bytes]:
        """GET (the filters of the mock's journal, refused alike) and DELETE, as the mock's control plane."""
        if request.method == "DELETE":
            self.journal.clear()
            start_response("204 No Content", [])
            return [b""]
        if request.method != "GET":
            start_response("405 Method Not Allowed", [("Allow", "GET, DELETE"), ("Content-Length", "0")])
            return [b""]
        try:
            entries = self.journal.query(request.args.items(multi=True),
                                         [op.operation_id for op in self.contract.operations])
        except QueryRefused as exc:
            problem = aspnet.problem(400, detail=exc.detail, errors=exc.errors)
            return _json(start_response, "400 Bad Request", problem, aspnet.PROBLEM_JSON)
        return _json(start_response, "200 OK", entries)


class _Unsendable(Exception):
    """The client's request cannot be written as HTTP; its text names the part at fault."""


class _RawRequestLine:
    """The request line written byte for byte as the client sent it (the ASGI bridge hands it
    over as latin-1 text); http.client would take ASCII only, and fail on a raw UTF-8 path."""

    def _encode_request(self, request: str) -> bytes:
        return request.encode("latin-1")


class _RawHTTPConnection(_RawRequestLine, http.client.HTTPConnection):
    pass


class _RawHTTPSConnection(_RawRequestLine, http.client.HTTPSConnection):
    pass


class _HeaderView(dict):
    """Response headers as one mapping (a repeated header joined with ", "), for the response check."""

    def __init__(self, pairs: list[tuple[str, str]]):
        super().__init__()
        for name, value in pairs:
            self[name] = f"{self[name]}, {value}" if name in self else value


# == serving =====================================================================
class ProxyServer(Server):
    """The proxy on the in-thread ASGI server (see :class:`ProxyBridge`)."""

    def __init__(self, proxy: ContractProxy, host: str = "127.0.0.1", port: int = 8081):
        super().__init__(ProxyBridge(proxy), host=host, port=port)


class ProxyBridge(AsgiBridge):
    """The proxy as an ASGI app. Each call waits on the upstream, so calls run on threads.

    What Kestrel refuses before the app is refused here with the status alone, an empty body
    and ``Connection: close``: malformed framing (400), a header block over
    ``MAX_HEADER_BYTES`` (431), and a body over ``proxy.max_body_bytes`` (413: a declared
    Content-Length at once, a chunked body once its count passes the limit; journaled). A
    refused body is not read past the limit; what the client still sends is then read and
    dropped, so that it reads the answer.
    """

    def __init__(self, proxy: ContractProxy):
        super().__init__(proxy, body_limit=lambda _path: proxy.max_body_bytes, threads=True)
        self.proxy = proxy

    async def _body(self, environ: dict, body_expected: bool, declared: int | None, receive: Receive,
                    send: Send) -> bytes | None:
        if sum(len(key) + len(value) for key, value in environ.items()
               if key.startswith(("HTTP_", "CONTENT_"))) > MAX_HEADER_BYTES:
            await refuse(send, 431)
            return None
        limit = self.proxy.max_body_bytes
        if declared is not None and declared > limit:
            return await self._refuse_oversized(environ, declared, receive, send)
        if not body_expected:
            return b""
        body = await read_body(receive, limit, extra=0)
        if body is None:  # malformed framing, or the client stopped sending
            await refuse(send, 400)
            return None
        if len(body) > limit:  # only a chunked body can run past its limit
            return await self._refuse_oversized(environ, None, receive, send)
        if declared is None:  # chunked: the length is what came
            environ["CONTENT_LENGTH"] = str(len(body))
        return body

    async def _refuse_oversized(self, environ: dict, size: int | None, receive: Receive,
                                send: Send) -> None:
        environ["wsgi.input"] = io.BytesIO(b"")
        try:
            self.proxy.refuse_oversized(environ, size)
        except Exception:  # the journal must not cost the client its answer
            log.exception("could not journal a refused body")
        await refuse(send, 413)
        await drain(receive)
        return None


# == helpers =======================================================================
def _is_preflight(request: Request) -> bool:
    """A CORS preflight, as ASP.NET Core's CORS middleware tells one: OPTIONS with Origin and
    Access-Control-Request-Method."""
    return (request.method == "OPTIONS" and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers)


def _target(environ: WSGIEnvironment, request: Request) -> str:
    """The request target as sent (path and query), origin-form."""
    target = environ.get("REQUEST_URI") or quote(request.path) + (
        "?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
    if "://" in target.split("?", 1)[0]:  # an absolute-form request target
        split = urlsplit(target)
        target = split.path + (f"?{split.query}" if split.query else "")
    return target


def _content_length(environ: WSGIEnvironment) -> int | None:
    text = environ.get("CONTENT_LENGTH") or ""
    return int(text) if text.isascii() and text.isdigit() else None


def _unchecked(exc: Exception, what: str) -> str:
    """The journal's note, and a log line, for a check that failed: the traffic went on."""
    log.error("mockchats could not check this %s (%s); it was passed on unchecked. "
              "This is a bug in mockchats: please report it.", what, exc.__class__.__name__)
    return f"the {what} could not be checked (an error in mockchats: {exc.__class__.__name__}); passed on unchecked"


def _empty(start_response: StartResponse, status: int, exc_info: object = None) -> list[bytes]:
    start_response(f"{status} {REASONS[status]}", [("Content-Length", "0")], exc_info)
    return [b""]


def _json(start_response: StartResponse, status: str, document: object,
          content_type: str = aspnet.JSON) -> list[bytes]:
    data = aspnet.dumps(document)  # as the mock's own journal writes it
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def _log(method: str, target: str, status: int, elapsed_ms: float, operation: Operation | None, violations: list[str],
         warnings: list[str], response_violations: list[str]) -> None:
    """One line per request: what was sent, what came back, and what broke the contract."""
    line = f'"{method} {target}" {status} {elapsed_ms:.1f}ms {operation.operation_id if operation else "-"}'
    verdicts = []
    if violations:
        verdicts.append("REQUEST VIOLATION: " + "; ".join(violations))
    if response_violations:
        verdicts.append("RESPONSE VIOLATION: " + "; ".join(response_violations))
    if warnings:
        verdicts.append("warning: " + "; ".join(warnings))
    if violations or response_violations:
        log.warning("%s", _printable(f"{line} | {' | '.join(verdicts)}"))
    else:
        log.info("%s", _printable(" | ".join([line, "conforms", *verdicts])))


def _printable(text: str) -> str:
    """A log line with control characters escaped: a hostile path cannot rewrite the terminal."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match[0]):02x}", text)
