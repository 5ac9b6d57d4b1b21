"""The one shared check that a response conforms to openapi/chats.yaml, for the tests.

A thin wrapper over :mod:`mockchats.contract.checks`, the checks ``mockchats contract`` and
``mockchats proxy`` use too, so the suite judges the mock exactly as those judge any
server: the status must be declared for the operation, declared headers present, the
content type one the spec lists (or no body when it lists none), and the body valid
against the schema with OpenAPI 3.0 semantics (``nullable`` included).
"""
from __future__ import annotations

from mockchats import contract

SPEC = contract.default_contract().spec


class ContractViolation(AssertionError):
    pass


def operation_for(method: str, path: str):
    """The spec operation a request targets, or None (unknown path or method)."""
    return contract.operation_for(method, path)


def check(operation, response) -> None:
    """Raise ContractViolation unless ``response`` (a requests.Response) conforms."""
    violations = contract.check_response(operation, response.status_code, response.headers, response.content)
    if violations:
        where = f"{operation.operation_id} -> {response.status_code}"
        raise ContractViolation(f"{where}: " + "; ".join(violations))
