"""The mock's own answers, in one place: JSON as System.Text.Json writes it (:func:`aspnet.dumps
<mockchats.aspnet.habits.dumps>`, the one JSON writer), problem details as ASP.NET Core words them
(:func:`aspnet.problem <mockchats.aspnet.habits.problem>`), or no body at all (as Kestrel sends its
401, 404, 405 and 413), and where the control plane lives."""
from __future__ import annotations

from werkzeug.wrappers import Response

from .. import aspnet

#: The control plane's prefix: the mock's own, outside the contract, never CORS, never journaled.
CONTROL_PREFIX = "/_mock"


def is_control_path(path: str) -> bool:
    """Whether ``path`` (as routed) is the control plane's."""
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def json_response(status: int, body: object, content_type: str = aspnet.JSON) -> Response:
    """``body`` written as System.Text.Json writes it."""
    return Response(aspnet.dumps(body), status=status, content_type=content_type)


def problem_response(status: int, *, detail: str | None = None,
                     errors: dict[str, list[str]] | None = None) -> Response:
    """A problem+json answer (:func:`aspnet.problem <mockchats.aspnet.habits.problem>`)."""
    return json_response(status, aspnet.problem(status, detail=detail, errors=errors), aspnet.PROBLEM_JSON)


def validation_response(errors: dict[str, list[str]]) -> Response:
    """A 400 with a ValidationProblemDetails body, as [ApiController] refuses a request it cannot bind."""
    return json_response(400, aspnet.validation_problem(errors), aspnet.PROBLEM_JSON)


def empty_response(status: int, headers: dict | None = None) -> Response:
    """No body and no Content-Type, as Kestrel answers what it refuses before any handler."""
    response = Response(b"", status=status, headers=headers)
    del response.headers["Content-Type"]
    return response
