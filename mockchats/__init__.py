"""mockchats: a stateful, spec-faithful mock of the QuickSync Chats API.

The public names live here: build a mock with :func:`build` (or :class:`Mock` over
your own sessions), serve it with :class:`Server`, drive a running one with
:class:`Control`.

Only the control client is imported with the package: the pytest plugin imports it into
every partner's test run, and the server side (Flask, the spec, jsonschema) costs far more. The
other names load on first use.
"""
from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from .control.client import Control, ControlError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .app import Mock, StartupError, build, create_app
    from .chats.models import Store
    from .core.errors import Forbidden, NotFound
    from .inprocess import intercept
    from .serving.server import Server
    from .sessions.wallet import Wallet
    from .worlds import FixtureError, UnknownScenario

#: Each name loaded on first use, and the module it lives in.
_LAZY = {
    "StartupError": ".app", "create_app": ".app", "Mock": ".app", "build": ".app",
    "FixtureError": ".worlds", "UnknownScenario": ".worlds", "Server": ".serving.server",
    "Forbidden": ".core.errors", "NotFound": ".core.errors", "Store": ".chats.models",
    "Wallet": ".sessions.wallet", "intercept": ".inprocess",
}

__all__ = [
    "Control", "ControlError", "FixtureError", "Forbidden", "Mock", "NotFound", "Server",
    "StartupError", "Store", "UnknownScenario", "Wallet", "build", "create_app", "intercept",
    "__version__",
]


#: Old names kept for one release: the name, where it lives now, and what to write instead.
_DEPRECATED = {"fixtures": (".worlds", "from mockchats import worlds")}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        module, instead = _DEPRECATED[name]
        warnings.warn(f"mockchats.{name} is deprecated and goes in the next release: {instead}",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(module, __name__)
    module = _LAZY.get(name)
    if module is None:
        # `import mockchats` then `mockchats.worlds.load(...)`: submodules load on use, too.
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
        raise AttributeError(f"module 'mockchats' has no attribute '{name}'")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
