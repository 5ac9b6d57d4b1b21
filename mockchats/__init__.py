"""mockchats: a stateful, spec-faithful mock of the QuickSync Chats API.

The public names live here: build a mock with :func:`build`, serve it with
:class:`Server`, or assemble the pieces (:class:`Store`, :func:`create_app`) yourself.
"""
__version__ = "0.1.0"

from .app import StartupError, create_app  # noqa: E402
from .fixtures import FixtureError  # noqa: E402
from .server import Mock, Server, build  # noqa: E402
from .store import Forbidden, NotFound, Store  # noqa: E402

__all__ = [
    "FixtureError", "Forbidden", "Mock", "NotFound", "Server", "StartupError", "Store",
    "build", "create_app", "__version__",
]
