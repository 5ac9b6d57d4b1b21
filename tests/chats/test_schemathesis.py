"""Schemathesis against the running mock: generated requests, every answer checked by the spec.

Property-based and negative requests for every operation of openapi/chats.yaml, sent over
real HTTP to the suite's server as the Host. Four checks must hold on every answer: no
5xx, a declared status, a declared content type, a body that fits the schema. The seed is
fixed and generation derandomized, so every run sends the same requests; the mock is
reset before each of them (about 0.3 ms) so each meets the same state.
"""
from __future__ import annotations

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mockchats.core.resources import SPEC_PATH

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CONFIG = schemathesis.Config.from_dict({
    "seed": 20250626,
    "headers": {"Authorization": "Bearer host-token"},
    "generation": {"max-examples": 50, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)


@schema.parametrize()
def test_the_mock_keeps_its_contract_under_generated_requests(case, server, mock):
    mock.reset()  # here, not in a fixture: Hypothesis runs the body once per generated case
    case.call_and_validate(base_url=server.base_url, checks=CHECKS)
