"""The mock's own answers, in one place: JSON as System.Text.Json writes it, or no body at all
(as Kestrel sends its 401, 404, 405 and 413), and where the control plane lives."""
from __future__ import annotations

from werkzeug.wrappers import Response

from .. import aspnet

#: The control plane's prefix: the mock's own, outside the contract, never CORS, never journaled.
CONTROL_PREFIX = "/_mock"


def is_control_path(path: str) -> bool:
    """Whether ``path`` (as routed) is the control plane's."""
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def json_response(status: int, body, content_type: str = aspnet.JSON) -> Response:
    return Response(aspnet.dumps(body), status=status, content_type=content_type)


def empty_response(status: int, headers: dict | None = None) -> Response:
    """No body and no Content-Type, as Kestrel answers what it refuses before any handler."""
    response = Response(b"", status=status, headers=headers)
    del response.headers["Content-Type"]
    return response
