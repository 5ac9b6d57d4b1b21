"""The package as a partner installs it: a real wheel in a fresh virtual environment."""
from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import requests
from support import ServeProcess

ROOT = Path(__file__).resolve().parent.parent

#: A partner's typed test file: the fixture's handle and the control plane's documents.
PARTNER_TYPED_TESTS = '''
import json
import urllib.request
from datetime import datetime, timedelta

import pytest

from mockchats import ControlError
from mockchats.pytest_plugin import MockchatsHandle
from mockchats.types import Fault, JournalEntry, Status


def list_chats(mockchats: MockchatsHandle, user: str) -> int:
    call = urllib.request.Request(mockchats.url_for("/chats"), headers=mockchats.headers(user))
    with urllib.request.urlopen(call, timeout=10) as answer:
        total: int = json.load(answer)["totalCount"]
    return total


@pytest.mark.mockchats(seed=3)
def test_typed(mockchats: MockchatsHandle) -> None:
    assert list_chats(mockchats, "Host") == 24
    entries: list[JournalEntry] = mockchats.requests("listChats")
    assert entries[0]["status"] == 200 and entries[0]["user"] is not None
    status: Status = mockchats.status
    assert status["seed"] == 3
    fault: Fault = mockchats.fail("createChat", 503)
    assert fault["fired"] == 0
    assert mockchats.freeze_clock(datetime(2030, 1, 1))["now"] == "2030-01-01T00:00:00Z"
    assert mockchats.advance_clock(timedelta(minutes=1))["now"] == "2030-01-01T00:01:00Z"
    token: str = mockchats.tokens["Alice"]
    assert token == "alice-token"
    with pytest.raises(ControlError):
        mockchats.load_scenario("no-such-room")
'''

#: What mypy --strict must refuse in the same file: the types are real, not Any.
PARTNER_TYPE_ERRORS = '''
from mockchats.pytest_plugin import MockchatsHandle


def test_wrong(mockchats: MockchatsHandle) -> None:
    seed: str = mockchats.status["seed"]
    mockchats.requests()[0]["no-such-key"]
'''


def test_wheel_installs_and_serves_from_any_directory(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist),
                    str(ROOT)], check=True, timeout=300)
    wheel = next(dist.glob("mockchats-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "mockchats/data/openapi/chats.yaml" in names
    assert "mockchats/data/openapi/sessions.yaml" in names
    assert "mockchats/data/openapi/FIDELITY.md" in names
    assert "mockchats/data/fixtures/default.yaml" in names
    assert "mockchats/data/fixtures/fixtures.schema.json" in names
    assert "mockchats/data/fixtures/scenarios/busy-room.yaml" in names
    assert "mockchats/py.typed" in names
    assert "mockchats/types.py" in names
    for asset in ("index.html", "dashboard.js", "dashboard.css"):
        assert f"mockchats/control/static/{asset}" in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    # pytest beside it, as in a partner's project: the plugin then comes from the wheel.
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheel), "pytest"],
                   check=True, timeout=600)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with ServeProcess(command=[str(env_dir / "bin" / "mockchats"), "serve"], cwd=elsewhere) as served:
        response = requests.get(served.base_url + "/chats", timeout=10,
                                headers={"Authorization": "Bearer host-token"})
        spec = requests.get(served.base_url.removesuffix("/v1") + "/openapi.json", timeout=10)
        page = requests.get(served.base_url.removesuffix("/v1") + "/_mock/ui/dashboard.js", timeout=10)
        served.stop()
    assert response.status_code == 200
    assert response.json()["totalCount"] == 24
    assert spec.json()["info"]["title"] == "Chats API"
    assert page.status_code == 200 and page.text == (ROOT / "mockchats/control/static/dashboard.js").read_text()

    fidelity = subprocess.run([str(env_dir / "bin" / "mockchats"), "fidelity"], cwd=elsewhere,
                              capture_output=True, text=True, timeout=60)
    assert fidelity.returncode == 0, fidelity.stderr
    assert fidelity.stdout == (ROOT / "openapi" / "FIDELITY.md").read_text(encoding="utf-8")

    # The README's promise: the handle type-checks under mypy --strict (against the installed
    # wheel, found through the partner's interpreter), and the partner's tests run.
    (elsewhere / "test_typed.py").write_text(PARTNER_TYPED_TESTS)
    (elsewhere / "test_wrong.py").write_text(PARTNER_TYPE_ERRORS)
    checked = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-executable", python,
                              "test_typed.py", "test_wrong.py"],
                             cwd=elsewhere, capture_output=True, text=True, timeout=300)
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert [line.split(":")[0] for line in errors] == ["test_wrong.py"] * 2, checked.stdout
    assert 'has no key "no-such-key"' in checked.stdout
    assert 'Incompatible types in assignment (expression has type "int", variable has type "str")' \
        in checked.stdout
    run = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_typed.py"],
                         cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
