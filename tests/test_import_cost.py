"""What loading the package costs a partner's test run, checked by what it loads.

pytest loads ``mockchats.pytest_plugin`` into every test run once mockchats is installed, used or
not, so it must load next to nothing: the control client and the typed documents. The time itself
is the benchmark's to measure (``make bench``: under 30 ms); this checks what would break it,
deterministically: no heavy library is loaded until the fixture is first requested.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

#: Libraries the serving side needs, each tens of milliseconds or more to import.
HEAVY = ("flask", "werkzeug", "jsonschema", "granian", "requests", "urllib3", "yaml", "orjson",
         "apispec", "psutil", "sortedcontainers", "eth_account", "jwt", "openapi_schema_validator", "click")


def loaded_by(statement: str, after: str = "import pytest") -> list[str]:
    """The modules ``statement`` loads in a fresh interpreter, once ``after`` has run."""
    script = (f"import json, sys\n{after}\nbefore = set(sys.modules)\n{statement}\n"
              "print(json.dumps(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def heavy_in(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY]


def test_the_plugin_loads_only_the_control_client():
    # Its typed documents (mockchats.types) are for type checkers: imported under TYPE_CHECKING.
    loaded = loaded_by("import mockchats.pytest_plugin")
    assert heavy_in(loaded) == []
    assert [m for m in loaded if m.startswith("mockchats")] == [
        "mockchats", "mockchats.control", "mockchats.control.client", "mockchats.pytest_plugin"]


def test_importing_the_package_loads_no_server_side():
    loaded = loaded_by("import mockchats", after="")
    assert heavy_in(loaded) == []


@pytest.mark.parametrize("name", ["build", "Server", "Mock", "FixtureError", "UnknownScenario", "NotFound"])
def test_a_public_name_loads_on_first_use(name):
    loaded = loaded_by(f"import mockchats\nmockchats.{name}", after="")
    assert f"mockchats.{name}" not in loaded  # a name, not a module
    assert len(loaded) > 5  # its module and what that needs came in on use


def test_the_fixture_loads_the_server_side_when_first_requested(pytester):
    pytester.makepyfile("""
        import sys

        def test_before():
            assert "flask" not in sys.modules

        def test_with_the_fixture(mockchats):
            assert "flask" in sys.modules and "granian" in sys.modules
    """)
    # A fresh interpreter: this one has loaded everything already.
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
