"""The package as a partner installs it: a real wheel in a fresh virtual environment."""
from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import requests

from serving import ServeProcess

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_serves_from_any_directory(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist),
                    str(ROOT)], check=True, timeout=300)
    wheel = next(dist.glob("mockchats-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "mockchats/data/openapi/chats.yaml" in names
    assert "mockchats/data/fixtures/default.yaml" in names
    assert "mockchats/data/fixtures/fixtures.schema.json" in names
    assert "mockchats/data/fixtures/scenarios/busy-room.yaml" in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                   check=True, timeout=600)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with ServeProcess(command=[str(env_dir / "bin" / "mockchats"), "serve"], cwd=elsewhere) as served:
        response = requests.get(served.base_url + "/chats", timeout=10,
                                headers={"Authorization": "Bearer host-token"})
        spec = requests.get(served.base_url.removesuffix("/v1") + "/openapi.json", timeout=10)
        served.stop()
    assert response.status_code == 200
    assert response.json()["totalCount"] == 24
    assert spec.json()["info"]["title"] == "Chats API"
