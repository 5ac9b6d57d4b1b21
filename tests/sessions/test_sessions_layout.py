"""The house rules (tests/test_layout.py) applied to the Session API's folder, a service like
``chats``: its model knows no HTTP, and it builds on core, never on what is built on it."""
from __future__ import annotations

import ast

import test_layout
from test_layout import HTTP_LIBRARIES, PACKAGE, ROOTS

SESSIONS = [found for found in test_layout.ALL if found.module.split(".")[0] == "sessions"]


def test_the_walk_sees_the_folder():
    assert {found.module for found in SESSIONS} >= {"sessions.models", "sessions.wallet"}


def test_the_model_knows_no_http_no_aspnet_and_no_control():
    assert [str(found) for found in SESSIONS if found.module == "sessions.models"
            and (found.target.split(".")[0] in HTTP_LIBRARIES
                 or found.inner in {"aspnet", "control", "contract", "serving", *ROOTS})] == []


def test_the_service_imports_no_control_contract_serving_or_root():
    forbidden = {"control", "contract", "serving", "worlds", *ROOTS}
    assert [str(found) for found in SESSIONS if found.inner in forbidden] == []


def test_eth_account_and_pyjwt_are_imported_only_where_used():
    heavy = [found for found in test_layout.ALL if found.target.split(".")[0] in ("eth_account", "jwt")]
    assert heavy and all(found.deferred and found.commented for found in heavy)


def test_the_folder_says_what_it_holds():
    assert ast.get_docstring(ast.parse((PACKAGE / "sessions" / "__init__.py").read_text(encoding="utf-8")))
