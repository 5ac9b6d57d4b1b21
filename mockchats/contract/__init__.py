"""Judging traffic against the published contract (the Chats API's and the Session API's
documents): checks, a run against any server, reports, and the recording proxy.

- :mod:`.checks`: whether a request would be taken and whether a response keeps the contract;
- :mod:`.run`: a realistic flow and the documented error cases, driven against a base URL;
- :mod:`.reports`: a run's findings as a table, JSON or JUnit XML;
- :mod:`.proxy`: ``mockchats proxy``, judging a real server's traffic as it passes.

The names the README documents (``mockchats.contract.check_request``, ``.check_response``,
``.run``, ``.Unreachable``) are here.
"""
from .checks import Contract, check_request, check_response, check_route, default_contract, operation_for
from .reports import json_report, junit_xml, print_table
from .run import Case, RunResult, Unreachable, api_key_problem, base_url_problem, run, token_problem

__all__ = [
    "Case", "Contract", "RunResult", "Unreachable", "api_key_problem", "base_url_problem", "check_request",
    "check_response", "check_route", "default_contract", "json_report", "junit_xml", "operation_for",
    "print_table", "run", "token_problem",
]
