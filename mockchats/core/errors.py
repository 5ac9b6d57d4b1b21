"""What a service's model call may end in besides an answer, each meaning one status to the pipeline.

The models raise these and know no HTTP; :mod:`.pipeline` answers them as the real service does.
"""


class NotFound(Exception):
    """The resource does not exist in the caller's session."""


class Forbidden(Exception):
    """The caller is known but may not do this."""


class UnknownCaller(Exception):
    """The caller was identified in a state that a reset or load has since replaced."""


class BadRequest(Exception):
    """400 problem+json whose ``detail`` is this exception's text: the request bound, but the
    service refuses what it asks (a wallet proof that does not hold), as ``Problem(detail, statusCode: 400)``."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class Unauthorized(Exception):
    """401 problem+json (title ``Unauthorized``, no ``WWW-Authenticate``), as ``[ApiController]``
    maps ``Unauthorized()``: the bearer was accepted, but the API key or the password was not.
    ``detail`` says which, for the journal; ``Unauthorized()`` itself writes no detail."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class Unprocessable(Exception):
    """422 problem+json whose ``detail`` says which rule the request cannot meet (rules that
    cannot hold, a full or expired session, an address not on the whitelist)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail
