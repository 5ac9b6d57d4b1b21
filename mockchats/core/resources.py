"""Where the shipped data files (the spec, the fixtures, their schema) are found.

The repository keeps one copy of each at its top (`openapi/`, `fixtures/`); the
wheel carries the same files under `mockchats/data/`. An installed package reads
its own copy, a source checkout (editable install) reads the top-level one.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # mockchats/
_PACKAGE_DATA = _PACKAGE / "data"
_SOURCE_TREE = _PACKAGE.parent


def data_path(relative: str) -> Path:
    """Return the path of a shipped data file, e.g. ``"openapi/chats.yaml"``."""
    packaged = _PACKAGE_DATA / relative
    if packaged.exists():
        return packaged
    return _SOURCE_TREE / relative


SPEC_PATH = data_path("openapi/chats.yaml")
SESSIONS_SPEC_PATH = data_path("openapi/sessions.yaml")
DEFAULT_FIXTURES_PATH = data_path("fixtures/default.yaml")
FIXTURE_SCHEMA_PATH = data_path("fixtures/fixtures.schema.json")
