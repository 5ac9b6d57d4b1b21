"""The one shared check that a response conforms to openapi/chats.yaml.

Every response a test receives for a declared operation goes through
:func:`check`: the status must be declared for that operation, the content type
must be one the spec lists for it (or the body empty when it lists none), the
body must validate against the schema (OpenAPI 3.0 semantics, `nullable`
included) and declared headers must be present.
"""
from __future__ import annotations

import json
import re

from openapi_schema_validator import OAS30Validator, oas30_format_checker

from mockchats.spec import Spec

SPEC = Spec()
_ROUTES = [
    (op, re.compile("^" + SPEC.base_path + re.sub(r"\{\w+\}", "[^/]+", op.path) + "/?$", re.I))
    for op in SPEC.operations
]


class ContractViolation(AssertionError):
    pass


def operation_for(method: str, path: str):
    """The spec operation a request targets, or None (unknown path or method)."""
    # Literal paths win over parameterised ones, as in ASP.NET Core routing.
    matches = [op for op, pattern in _ROUTES if op.method == method.upper() and pattern.match(path)]
    matches.sort(key=lambda op: op.path.count("{"))
    return matches[0] if matches else None


def check(operation, response) -> None:
    """Raise ContractViolation unless ``response`` (a requests.Response) conforms."""
    where = f"{operation.operation_id} -> {response.status_code}"
    declared = operation.responses.get(str(response.status_code))
    if declared is None:
        raise ContractViolation(f"{where}: status not declared (body {response.text[:200]!r})")
    for header in declared.get("headers", {}):
        if header not in response.headers:
            raise ContractViolation(f"{where}: declared header {header} missing")
    content = declared.get("content")
    if not content:
        if response.content:
            raise ContractViolation(f"{where}: body sent where the spec declares none")
        return
    media = response.headers.get("Content-Type", "").split(";")[0].strip()
    if media not in content:
        raise ContractViolation(f"{where}: content type {media!r} not in {sorted(content)}")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise ContractViolation(f"{where}: body is not JSON: {exc}") from None
    validator = OAS30Validator(content[media]["schema"], format_checker=oas30_format_checker)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    if errors:
        raise ContractViolation(f"{where}: {errors[0].message} at {list(errors[0].path)}")
