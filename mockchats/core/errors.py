"""What a service's model call may end in besides an answer, each meaning one status to the pipeline.

The models raise these and know no HTTP; :mod:`.pipeline` answers them as the real service does.
"""


class NotFound(Exception):
    """The resource does not exist in the caller's session."""


class Forbidden(Exception):
    """The caller is known but may not do this."""


class UnknownCaller(Exception):
    """The caller was identified in a state that a reset or load has since replaced."""
