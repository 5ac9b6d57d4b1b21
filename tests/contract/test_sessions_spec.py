"""openapi/sessions.yaml, the Session API's document, before any of it is served.

It must be valid OpenAPI 3.0.1, carry the published title, version, names and casing, declare
for each operation the statuses and security the service answers with, hold examples that fit
their own schemas (the mock serves them for ``Prefer: code=``), and be readable by the mock's
own :class:`~mockchats.core.spec.Spec` and contract checks, which will route and judge it.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import OpenAPIV30SpecValidator, validate

from mockchats.aspnet import habits
from mockchats.contract.checks import Contract
from mockchats.core.spec import Spec

OPENAPI = Path(__file__).resolve().parents[2] / "openapi"
SPEC_FILE = OPENAPI / "sessions.yaml"
DOCUMENT = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
SCHEMAS = DOCUMENT["components"]["schemas"]

#: operationId -> (method, path under /v1), as the issue names them.
OPERATIONS = {
    "getNonce": ("GET", "/wallet-proof/nonce"),
    "verifyWalletProof": ("POST", "/wallet-proof/verify"),
    "createSession": ("POST", "/session"),
    "joinSession": ("POST", "/session/join"),
    "getCurrentSession": ("GET", "/session/current"),
    "kickUser": ("POST", "/session/current/kick"),
    "disconnectSession": ("POST", "/session/disconnect"),
    "deleteCurrentSession": ("DELETE", "/session/current"),
}
#: Injected faults (429, 503) may strike any operation; bodies may be too large (413) or not JSON (415).
FAULTS = {"429", "503"}
BODY = {"400", "413", "415"}
STATUSES = {
    "getNonce": {"200"} | FAULTS,
    "verifyWalletProof": {"200"} | BODY | FAULTS,
    "createSession": {"200", "401", "422"} | BODY | FAULTS,
    "joinSession": {"200", "401", "404", "422"} | BODY | FAULTS,
    "getCurrentSession": {"200", "401", "404"} | FAULTS,
    "kickUser": {"200", "401", "403", "404", "422"} | BODY | FAULTS,
    "disconnectSession": {"200", "401", "404"} | FAULTS,
    "deleteCurrentSession": {"200", "401", "403", "404"} | FAULTS,
}
#: Every property of every schema, spelled as the published pages (and, where silent, the issue) spell it.
FIELDS = {
    "NonceDto": {"nonce", "message"},
    "VerifyWalletProofRequest": {"walletAddress", "message", "signature"},
    "WalletTokenDto": {"token"},
    "CreateSessionRequest": {"identity", "password", "whiteListAddresses", "rules"},
    "Identity": {"name", "chainAddress"},
    "SessionRules": {"userCapacity", "expiryDurationInSeconds", "password", "allowOnlyWhitelistedAddresses",
                     "whiteListAddresses"},
    "WhiteListAddressRequest": {"address"},
    "SessionCredentialsDto": {"sessionId", "expiresIn", "credentials", "rules"},
    "CredentialsDto": {"token", "id", "pseudonym", "role"},
    "SessionRulesDto": {"expiry", "maxFiles", "maxUsers", "maxTotalMegaBytes", "passwordProtected",
                        "whiteListAddresses"},
    "JoinSessionRequest": {"sessionId", "password"},
    "JoinSessionDto": {"sessionId", "expiresIn", "credentials", "rules", "users"},
    "JoinSessionRulesDto": {"maxFiles", "maxUsers", "maxTotalMegaBytes", "passwordProtected", "whiteListAddresses"},
    "SessionUserDto": {"id", "role", "name", "address"},
    "CurrentSessionDto": {"id", "creatorId", "expiry", "maxFiles", "maxUsers", "maxTotalMegaBytes",
                          "passwordProtected", "whiteListAddresses", "users"},
    "KickUserRequest": {"userId"},
    "ProblemDetails": {"type", "title", "status", "detail", "traceId"},
    "ValidationProblemDetails": {"type", "title", "status", "errors", "traceId"},
}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec(SPEC_FILE)


def _operation(operation_id: str) -> dict:
    method, path = OPERATIONS[operation_id]
    return DOCUMENT["paths"][path][method.lower()]


def _validator(schema: dict) -> OAS30Validator:
    return OAS30Validator(schema, format_checker=oas30_format_checker)


# -- the document -------------------------------------------------------------------
def test_the_document_is_valid_openapi_3_0_1():
    validate(copy.deepcopy(DOCUMENT), cls=OpenAPIV30SpecValidator)  # raises on any error
    assert DOCUMENT["openapi"] == "3.0.1"


def test_title_version_and_server_are_the_published_ones():
    chats = yaml.safe_load((OPENAPI / "chats.yaml").read_text(encoding="utf-8"))
    assert DOCUMENT["info"]["title"] == "Session API"
    assert DOCUMENT["info"]["version"] == "1.1.0"
    assert DOCUMENT["servers"] == chats["servers"] == [{"url": "https://api.quicksync.me/v1"}]


def test_every_operation_has_its_path_method_and_operation_id():
    found = {op["operationId"]: (method.upper(), path)
             for path, item in DOCUMENT["paths"].items() for method, op in item.items()}
    assert found == OPERATIONS


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_each_operation_declares_the_statuses_it_answers(operation_id):
    assert set(_operation(operation_id)["responses"]) == STATUSES[operation_id]


# -- security ---------------------------------------------------------------------
def test_security_schemes_are_the_published_ones():
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["API Key"] == {
        "type": "apiKey", "in": "header", "name": "X-API-KEY",
        "description": "API key issued to beta developers for creating or joining sessions",
    }
    for name in ("Session Bearer", "Wallet Ownership Bearer"):
        assert schemes[name]["type"] == "http" and schemes[name]["scheme"] == "bearer"
        assert schemes[name]["bearerFormat"] == "JWT"
    assert DOCUMENT["security"] == [{"Session Bearer": []}]


@pytest.mark.parametrize(("operation_id", "security"), [
    ("getNonce", []),
    ("verifyWalletProof", []),
    # Both in one requirement object: the wallet token AND the key.
    ("createSession", [{"Wallet Ownership Bearer": [], "API Key": []}]),
    ("joinSession", [{"Wallet Ownership Bearer": []}]),
    ("getCurrentSession", None),  # None: the document's own, the session bearer
    ("kickUser", None),
    ("disconnectSession", None),
    ("deleteCurrentSession", None),
])
def test_each_operation_asks_for_the_credentials_the_issue_names(operation_id, security):
    assert _operation(operation_id).get("security") == security


def test_a_401_is_the_empty_challenge_unless_a_key_or_password_is_refused(spec):
    for op in spec.operations:
        if "401" not in op.responses:
            continue
        declared = op.responses["401"]
        header = declared["headers"]["WWW-Authenticate"]
        if op.operation_id in ("createSession", "joinSession"):
            # The JwtBearer challenge (empty, with the header) or a problem without it.
            assert header["required"] is False
            assert declared["content"]["application/problem+json"]["schema"] == SCHEMAS["ProblemDetails"]
        else:
            assert header["required"] is True
            assert "content" not in declared


def test_problem_statuses_answer_problem_json_and_403_413_answer_nothing(spec):
    for op in spec.operations:
        for status, declared in op.responses.items():
            if status in ("403", "413"):
                assert "content" not in declared, (op.operation_id, status)
            elif status[0] in "45" and status != "401":  # 401: the test above
                assert list(declared["content"]) == ["application/problem+json"], (op.operation_id, status)


# -- schemas ----------------------------------------------------------------------
def test_every_schema_has_the_published_fields_and_casing():
    assert {name: set(SCHEMAS[name].get("properties", {})) for name in FIELDS} == FIELDS
    assert set(SCHEMAS) == set(FIELDS) | {"ReasonedProblemDetails"}


def test_response_schemas_refuse_other_fields_and_require_all_of_theirs():
    for name, schema in SCHEMAS.items():
        if name.endswith("Dto"):
            assert schema["additionalProperties"] is False, name
            assert set(schema["required"]) == set(schema["properties"]), name


def test_types_formats_and_nullability_follow_the_published_schemas():
    current = SCHEMAS["CurrentSessionDto"]["properties"]
    assert current["maxTotalMegaBytes"] == {"type": "integer", "format": "int64"}
    for name in ("expiry", "maxFiles", "maxUsers"):
        assert (current[name]["type"], current[name]["format"]) == ("integer", "int32"), name
    assert current["id"]["nullable"] and current["creatorId"]["nullable"] and current["whiteListAddresses"]["nullable"]
    credentials = SCHEMAS["SessionCredentialsDto"]["properties"]
    assert credentials["sessionId"]["nullable"] is True
    assert credentials["expiresIn"]["format"] == "int32" and "nullable" not in credentials["expiresIn"]
    create = SCHEMAS["CreateSessionRequest"]["properties"]
    assert create["password"]["deprecated"] and create["whiteListAddresses"]["deprecated"]
    assert create["identity"] == {"$ref": "#/components/schemas/Identity"}
    assert create["rules"] == {"$ref": "#/components/schemas/SessionRules"}
    rules = SCHEMAS["SessionRules"]["properties"]
    assert rules["whiteListAddresses"]["items"] == {"$ref": "#/components/schemas/WhiteListAddressRequest"}
    # Every request field is published as nullable; none is required.
    for name in ("VerifyWalletProofRequest", "Identity", "SessionRules", "WhiteListAddressRequest",
                 "JoinSessionRequest", "KickUserRequest"):
        assert "required" not in SCHEMAS[name], name
        for field, schema in SCHEMAS[name]["properties"].items():
            assert schema["nullable"] is True, (name, field)
    assert SCHEMAS["NonceDto"]["properties"]["nonce"]["type"] == "integer"
    assert SCHEMAS["CredentialsDto"]["properties"]["role"]["enum"] == ["Host", "Client"]


def test_chain_is_an_optional_enum_defaulting_to_ethereum_in_any_case():
    (chain,) = _operation("verifyWalletProof")["parameters"]
    assert chain["name"] == "chain" and chain["in"] == "query" and not chain.get("required", False)
    assert chain["schema"] == {"type": "string", "enum": ["Ethereum"], "default": "Ethereum"}
    assert "any letter case" in chain["description"]


# -- examples ---------------------------------------------------------------------
def _examples(node, where="#"):
    """(where, example, schema) for every ``example`` of the resolved document."""
    if isinstance(node, dict):
        if "example" in node:
            yield where, node["example"], node.get("schema", node)
        for key, value in node.items():
            if key != "example":
                yield from _examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _examples(value, f"{where}/{index}")


def test_every_example_fits_its_own_schema(spec):
    examples = list(_examples(spec.resolve(DOCUMENT)))
    assert len(examples) > 10
    for where, example, schema in examples:
        errors = [e.message for e in _validator(schema).iter_errors(example)]
        assert not errors, (where, errors)


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_what_prefer_code_serves_keeps_the_contract(spec, operation_id):
    """Each declared status, as ``Prefer: code=`` answers it, passes the contract checks."""
    contract = Contract(spec)
    op = contract.operation(operation_id)
    for status, declared in op.responses.items():
        headers = {name: "Bearer" for name in declared.get("headers", {})}
        content = declared.get("content", {})
        if not content:
            body = b""
        elif "application/problem+json" in content:
            headers["Content-Type"] = "application/problem+json; charset=utf-8"
            problem = (habits.validation_problem({"Prefer": ["Status 400 requested by the Prefer header."]})
                       if status == "400" else habits.problem(int(status)))
            body = json.dumps(problem).encode()
        else:
            headers["Content-Type"] = "application/json; charset=utf-8"
            body = json.dumps(Spec.example(content["application/json"]["schema"])).encode()
        assert contract.check_response(op, int(status), headers, body) == [], (operation_id, status)


# -- the mock's reader --------------------------------------------------------------
def test_the_mocks_spec_reads_every_operation(spec):
    assert spec.path == SPEC_FILE and spec.base_path == "/v1"
    assert {op.operation_id: (op.method, op.path) for op in spec.operations} == OPERATIONS
    assert {op.operation_id for op in spec.operations if op.success_status == 200} == set(OPERATIONS)
    bodies = {op.operation_id: op.body_schema_name for op in spec.operations if op.body_schema is not None}
    assert bodies == {"verifyWalletProof": "VerifyWalletProofRequest", "createSession": "CreateSessionRequest",
                      "joinSession": "JoinSessionRequest", "kickUser": "KickUserRequest"}
    queries = {op.operation_id: [p["name"] for p in op.query_parameters()] for op in spec.operations}
    assert queries == {**dict.fromkeys(OPERATIONS, []), "verifyWalletProof": ["chain"]}


def test_the_contract_checks_route_every_operation(spec):
    contract = Contract(spec)  # builds a binder per operation, as the app does at start-up
    for operation_id, (method, path) in OPERATIONS.items():
        assert contract.operation_for(method, "/v1" + path).operation_id == operation_id
        assert contract.operation_for(method.lower(), "/V1" + path.upper() + "/").operation_id == operation_id
    assert contract.operation_for("GET", "/v1/session") is None
    assert contract.operation_for("PUT", "/v1/session/current") is None
