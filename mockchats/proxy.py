"""``mockchats proxy``: forward traffic to a real server and check it against the contract.

As Prism's proxy does: every request is passed to the upstream and its answer passed
back unchanged, while both are judged by :mod:`mockchats.contract`, the checks the mock
itself uses. The request by :func:`~mockchats.contract.check_request` (route, bearer
token, query and body binding; nothing executed), the response by
:func:`~mockchats.contract.check_response`. Each request gets one log line on stderr
and an entry in the proxy's own journal, served at ``/_mock/requests`` in the mock's
shape plus ``responseViolations``.

The upstream is its base URL as a partner configures it (``http://host:8080/v1``);
the proxy's ``/v1/...`` is mapped onto that base, so ``/v1/chats`` goes to
``<upstream>/chats``. A bare root (``http://host:8080``) is taken as ``<root>/v1``.
Paths outside ``/v1`` go to the upstream's host unchanged (``/openapi.json``, a mock's
``/_mock/...``), except the proxy's own ``/_mock/requests``.
"""
from __future__ import annotations

import http.client
import json
import logging
import time
from urllib.parse import quote, urlsplit

from werkzeug.wrappers import Request

from . import aspnet
from .contract import Contract, default_contract
from .journal import DEFAULT_SIZE, Exchange, Journal, QueryRefused, parse_query

log = logging.getLogger("mockchats.proxy")

#: The proxy's own journal, at the same place as the mock's.
JOURNAL_PATH = "/_mock/requests"
#: Connection-level headers, which a proxy must not pass on (RFC 9110, 7.6.1).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "transfer-encoding", "upgrade", "proxy-connection"})
#: Left out of forwarded requests: Host is the upstream's, an uncompressed answer is one the
#: proxy can check, and the body is already read whole (no 100-continue to wait for).
NOT_FORWARDED = HOP_BY_HOP | {"host", "accept-encoding", "expect"}


class ContractProxy:
    """The WSGI app of ``mockchats proxy``: forward, check, log, journal."""

    def __init__(self, upstream: str, *, journal_size: int = DEFAULT_SIZE, timeout: float = 30,
                 contract: Contract | None = None):
        self.contract = contract or default_contract()
        self.base_path = self.contract.spec.base_path
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the upstream must be an http(s) URL, not {upstream!r}")
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self._upstream_path = parts.path.rstrip("/") or self.base_path
        #: The upstream's base URL, the one the proxy stands in for.
        self.upstream_base = f"{parts.scheme}://{parts.netloc}{self._upstream_path}"
        self.journal = Journal(journal_size)
        self.timeout = timeout

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == JOURNAL_PATH or request.path == JOURNAL_PATH + "/":
            return self._serve_journal(request, start_response)
        started = time.perf_counter()
        target = environ.get("REQUEST_URI") or quote(request.path) + (
            "?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        if "://" in target:  # an absolute-form request target
            split = urlsplit(target)
            target = split.path + (f"?{split.query}" if split.query else "")
        raw_path = target.split("?", 1)[0]
        body = request.get_data(cache=True)
        operation, violations, warnings = self.contract.check_request(
            request.method, raw_path, request.args.items(multi=True), request.headers, body)

        response_violations: list[str] = []
        try:
            status, reason, headers, answer = self._forward(request, target, body)
        except (OSError, http.client.HTTPException) as exc:
            status, reason, headers, answer = 502, "Bad Gateway", [("Content-Length", "0")], b""
            response_violations.append(f"the upstream did not answer: {exc.__class__.__name__}: {exc}")
        else:
            if operation is not None:
                response_violations = self.contract.check_response(
                    operation, status, _HeaderView(headers), answer)
        elapsed = (time.perf_counter() - started) * 1000

        if not request.path.startswith(("/_mock", "/openapi.json")):  # not the contract's business
            self._record(request, body, operation, status, elapsed, violations, warnings, response_violations)
            _log(request.method, target, status, elapsed, operation, violations, warnings, response_violations)
        start_response(f"{status} {reason}", headers)
        return [answer]

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
        """Send the request on as it came; (status, reason, headers, body) of the answer."""
        connection_class = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        connection = connection_class(self._netloc, timeout=self.timeout)
        try:
            connection.putrequest(request.method, self.upstream_target(target),
                                  skip_host=False, skip_accept_encoding=True)
            for name, value in request.headers.items():
                if name.casefold() not in NOT_FORWARDED and name.casefold() != "content-length":
                    connection.putheader(name, value)
            if body or request.headers.get("Content-Length") is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            upstream = connection.getresponse()
            answer = upstream.read()
            headers = [(name, value) for name, value in upstream.getheaders()
                       if name.casefold() not in HOP_BY_HOP]
            if upstream.getheader("Content-Length") is None and request.method != "HEAD":
                headers.append(("Content-Length", str(len(answer))))  # it came chunked
            return upstream.status, upstream.reason, headers, answer
        finally:
            connection.close()

    # -- the journal --------------------------------------------------------
    def _record(self, request: Request, body: bytes, operation, status: int, elapsed_ms: float,
                violations: list[str], warnings: list[str], response_violations: list[str]) -> None:
        self.journal.record(Exchange(
            request.method, request.path, request.environ.get("QUERY_STRING", ""), body or None,
            user=None,  # the upstream knows who a token is; the proxy does not
            operation_id=operation.operation_id if operation else None, status=status,
            duration_ms=elapsed_ms, violations=violations, warnings=warnings,
            response_violations=response_violations))

    def _serve_journal(self, request: Request, start_response):
        """GET (the filters of the mock's journal, refused alike) and DELETE, as the mock's control plane."""
        if request.method == "DELETE":
            self.journal.clear()
            start_response("204 No Content", [])
            return [b""]
        if request.method != "GET":
            start_response("405 Method Not Allowed", [("Allow", "GET, DELETE"), ("Content-Length", "0")])
            return [b""]
        try:
            filters = parse_query(request.args.items(multi=True),
                                  [op.operation_id for op in self.contract.spec.operations])
        except QueryRefused as exc:
            problem = {**aspnet.problem(400), "detail": exc.detail, "errors": exc.errors}
            return _json(start_response, "400 Bad Request", problem, aspnet.PROBLEM_JSON)
        entries = self.journal.entries(**filters)
        return _json(start_response, "200 OK", entries)


class _HeaderView(dict):
    """Response headers as one mapping (a repeated header joined with ", "), for the response check."""

    def __init__(self, pairs: list[tuple[str, str]]):
        super().__init__()
        for name, value in pairs:
            self[name] = f"{self[name]}, {value}" if name in self else value


def _json(start_response, status: str, document, content_type: str = aspnet.JSON):
    data = json.dumps(document).encode("utf-8")
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def _log(method: str, target: str, status: int, elapsed_ms: float, operation, violations: list[str],
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
        log.warning("%s | %s", line, " | ".join(verdicts))
    else:
        log.info("%s | %s", line, " | ".join(["conforms", *verdicts]))
