"""mockchats: a stateful, spec-faithful mock of the QuickSync Chats API.

The public names live here: build a mock with :func:`build` (or :class:`Mock` over
your own sessions), serve it with :class:`Server`, drive a running one with
:class:`Control`.
"""
__version__ = "0.1.0"

from .app import StartupError, create_app  # noqa: E402
from .client import Control, ControlError  # noqa: E402
from .fixtures import FixtureError  # noqa: E402
from .mock import Mock, build  # noqa: E402
from .server import Server  # noqa: E402
from .store import Forbidden, NotFound, Store  # noqa: E402

__all__ = [
    "Control", "ControlError", "FixtureError", "Forbidden", "Mock", "NotFound", "Server",
    "StartupError", "Store", "build", "create_app", "__version__",
]
