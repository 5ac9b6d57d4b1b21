"""Nested request bodies and action-parameter enums, bound as ASP.NET Core binds them.

Unit-level, against :class:`RequestBinder` over the Session API's operations
(openapi/sessions.yaml): its bodies nest DTOs (``rules``, ``identity``, whitelist
entries), which System.Text.Json binds level by level, and ``chain`` is an enum action
parameter. Every refusal is a :class:`BindingFailed` with the errors the framework writes.
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mockchats import aspnet
from mockchats.aspnet.binding import BindingFailed, RequestBinder
from mockchats.core.spec import Operation, default_spec, sessions_spec

SPEC = sessions_spec()
COMPONENTS = {name: SPEC.resolve(schema) for name, schema in SPEC.document["components"]["schemas"].items()}
OPERATIONS = {op.operation_id: op for op in SPEC.operations}
BINDERS = {name: RequestBinder(op, COMPONENTS) for name, op in OPERATIONS.items()}
BODY_REQUIRED = "The request field is required."

INT = "System.Nullable`1[System.Int32]"
BOOL = "System.Nullable`1[System.Boolean]"
STRING = "System.String"
RULES = "QuickSync.Api.Models.SessionRules"
IDENTITY = "QuickSync.Api.Models.Identity"
ENTRY = "QuickSync.Api.Models.WhiteListAddressRequest"
ENTRIES = f"System.Collections.Generic.List`1[{ENTRY}]"
STRINGS = "System.Collections.Generic.List`1[System.String]"


def bind(body: str | bytes, operation_id: str = "createSession", warnings: list[str] | None = None) -> dict:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return BINDERS[operation_id].bind_body(data, warnings)


def refusal(body: str | bytes, operation_id: str = "createSession") -> OrderedDict[str, list[str]]:
    with pytest.raises(BindingFailed) as caught:
        bind(body, operation_id)
    assert caught.value.status == 400
    return caught.value.errors


def conversion_error(path: str, dotnet_type: str, byte: int, line: int = 0) -> dict[str, list[str]]:
    """System.Text.Json's conversion failure as ModelState holds it, beside the missing body."""
    return {"request": [BODY_REQUIRED],
            path: [f"The JSON value could not be converted to {dotnet_type}. "
                   f"Path: {path} | LineNumber: {line} | BytePositionInLine: {byte}."]}


def marked(body: str) -> tuple[str, int]:
    """``body`` without its ``§`` mark, and the byte position STJ reports for the value after the mark.

    A container is refused on its start token (the position is just after it); a scalar
    once read (the position is after the whole token).
    """
    start = body.index("§")
    text = body.replace("§", "")
    end = start + 1 if text[start] in "[{" else json.JSONDecoder().raw_decode(text, start)[1]
    return text, len(text[:end].encode("utf-8"))


# -- nested happy paths ------------------------------------------------------------
def test_a_full_create_session_body_binds_every_level():
    body = {
        "identity": {"name": "Ada", "chainAddress": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
        "rules": {"userCapacity": 5, "expiryDurationInSeconds": 600, "password": "pw",
                  "allowOnlyWhitelistedAddresses": True,
                  "whiteListAddresses": [{"address": "0xa"}, {"address": "0xb"}]},
        "password": "old", "whiteListAddresses": ["0xc"],
    }
    warnings: list[str] = []
    assert bind(json.dumps(body), warnings=warnings) == body
    assert warnings == []


def test_quoted_int32s_bind_as_numbers_as_the_web_defaults_read_them():
    bound = bind('{"rules": {"userCapacity": "5", "expiryDurationInSeconds": "+007"}}')
    assert bound == {"rules": {"userCapacity": 5, "expiryDurationInSeconds": 7}}


@pytest.mark.parametrize("value, bound", [
    ("-2147483648", -2**31), ("2147483647", 2**31 - 1), ("0", 0), ("-0", 0),
    ('"-2147483648"', -2**31), ('"2147483647"', 2**31 - 1), ('"00000000000000000001"', 1),
    ('"' + "0" * 20_000 + '1"', 1),  # Utf8Parser skips leading zeros: no digit limit applies
])
def test_int32_bounds_bind(value, bound):
    assert bind('{"rules": {"userCapacity": %s}}' % value) == {"rules": {"userCapacity": bound}}


def test_empty_nested_objects_and_arrays_bind_empty():
    assert bind('{"identity": {}, "rules": {"whiteListAddresses": []}, "whiteListAddresses": []}') == {
        "identity": {}, "rules": {"whiteListAddresses": []}, "whiteListAddresses": []}


def test_unknown_properties_are_ignored_at_every_level():
    body = ('{"identity": {"name": "Ada", "age": 3, "x": {"y": [1, {"z": null}]}},'
            ' "rules": {"userCapacity": 2, "maxFiles": [], "whiteListAddresses": [{"address": "0xa", "note": true}]},'
            ' "extra": {"rules": 1}}')
    assert bind(body) == {"identity": {"name": "Ada"},
                          "rules": {"userCapacity": 2, "whiteListAddresses": [{"address": "0xa"}]}}


def test_unknown_properties_of_a_nested_object_are_not_type_checked():
    # STJ skips them token by token: nothing is converted, so nothing can fail.
    assert bind('{"rules": {"maxUsers": "many", "expiry": {"a": "b"}}}') == {"rules": {}}


def test_duplicate_nested_members_the_last_spelling_wins():
    assert bind('{"rules": {"userCapacity": 1, "UserCapacity": 2}}') == {"rules": {"userCapacity": 2}}
    warnings: list[str] = []
    bound = bind('{"rules": {"userCapacity": 1}, "RULES": {"password": "p"}}', warnings=warnings)
    assert bound == {"rules": {"password": "p"}}
    assert warnings == ["body property 'RULES' is spelled 'rules' in the contract"]


# -- names in any letter case -------------------------------------------------------
def test_nested_names_match_in_any_case_and_bind_under_the_contracts_spelling():
    warnings: list[str] = []
    bound = bind('{"Identity": {"NAME": "Ada", "chainaddress": "0xa"},'
                 ' "rules": {"UserCapacity": 3, "WhiteListAddresses": [{"Address": "0xb"}, {"address": "0xc"}]}}',
                 warnings=warnings)
    assert bound == {"identity": {"name": "Ada", "chainAddress": "0xa"},
                     "rules": {"userCapacity": 3, "whiteListAddresses": [{"address": "0xb"}, {"address": "0xc"}]}}
    assert warnings == [
        "body property 'NAME' in $.Identity is spelled 'name' in the contract",
        "body property 'chainaddress' in $.Identity is spelled 'chainAddress' in the contract",
        "body property 'Identity' is spelled 'identity' in the contract",
        "body property 'UserCapacity' in $.rules is spelled 'userCapacity' in the contract",
        "body property 'Address' in $.rules.WhiteListAddresses[0] is spelled 'address' in the contract",
        "body property 'WhiteListAddresses' in $.rules is spelled 'whiteListAddresses' in the contract",
    ]


def test_correctly_spelled_nested_names_warn_of_nothing():
    warnings: list[str] = []
    bind('{"rules": {"userCapacity": 3, "whiteListAddresses": [{"address": "0xb"}]}}', warnings=warnings)
    assert warnings == []


# -- nulls ---------------------------------------------------------------------------
def test_null_nested_objects_and_members_bind_as_absent():
    bound = bind('{"identity": null, "password": null, "whiteListAddresses": null,'
                 ' "rules": {"userCapacity": null, "expiryDurationInSeconds": null, "password": null,'
                 ' "allowOnlyWhitelistedAddresses": null, "whiteListAddresses": null}}')
    assert bound == {"rules": {}}


def test_null_rules_bind_as_no_rules():
    assert bind('{"rules": null, "identity": {"name": null}}') == {"identity": {}}


def test_null_elements_of_a_collection_are_kept_in_place():
    # A null in a List<string> or a List<WhiteListAddressRequest> is an element, not an absence.
    bound = bind('{"whiteListAddresses": ["0xa", null], "rules": {"whiteListAddresses": [null, {"address": null}]}}')
    assert bound == {"whiteListAddresses": ["0xa", None], "rules": {"whiteListAddresses": [None, {}]}}


# -- wrong JSON types at nested paths --------------------------------------------------
@pytest.mark.parametrize("body, path, dotnet_type", [
    ('{"rules": §5}', "$.rules", RULES),
    ('{"rules": §"x"}', "$.rules", RULES),
    ('{"rules": §true}', "$.rules", RULES),
    ('{"rules": §[]}', "$.rules", RULES),
    ('{"identity": §"Ada"}', "$.identity", IDENTITY),
    ('{"identity": §[{"name": "Ada"}]}', "$.identity", IDENTITY),
    ('{"rules": {"userCapacity": §"x"}}', "$.rules.userCapacity", INT),
    ('{"rules": {"userCapacity": §true}}', "$.rules.userCapacity", INT),
    ('{"rules": {"userCapacity": §1.5}}', "$.rules.userCapacity", INT),
    ('{"rules": {"userCapacity": §1.0}}', "$.rules.userCapacity", INT),
    ('{"rules": {"userCapacity": §1e2}}', "$.rules.userCapacity", INT),
    ('{"rules": {"userCapacity": §{}}}', "$.rules.userCapacity", INT),
    ('{"rules": {"expiryDurationInSeconds": §[3600]}}', "$.rules.expiryDurationInSeconds", INT),
    ('{"rules": {"password": §1234}}', "$.rules.password", STRING),
    ('{"rules": {"password": §false}}', "$.rules.password", STRING),
    ('{"rules": {"allowOnlyWhitelistedAddresses": §"true"}}', "$.rules.allowOnlyWhitelistedAddresses", BOOL),
    ('{"rules": {"allowOnlyWhitelistedAddresses": §1}}', "$.rules.allowOnlyWhitelistedAddresses", BOOL),
    ('{"rules": {"whiteListAddresses": §"0xa"}}', "$.rules.whiteListAddresses", ENTRIES),
    ('{"rules": {"whiteListAddresses": §{"address": "0xa"}}}', "$.rules.whiteListAddresses", ENTRIES),
    ('{"rules": {"whiteListAddresses": [§"0xa"]}}', "$.rules.whiteListAddresses[0]", ENTRY),
    ('{"rules": {"whiteListAddresses": [{"address": "0xa"}, §7]}}', "$.rules.whiteListAddresses[1]", ENTRY),
    ('{"rules": {"whiteListAddresses": [{"address": "0xa"}, §[]]}}', "$.rules.whiteListAddresses[1]", ENTRY),
    ('{"rules": {"whiteListAddresses": [{"address": §42}]}}', "$.rules.whiteListAddresses[0].address", STRING),
    ('{"rules": {"whiteListAddresses": [{}, null, {"address": §["0xa"]}]}}',
     "$.rules.whiteListAddresses[2].address", STRING),
    ('{"identity": {"name": "Ada", "chainAddress": §12}}', "$.identity.chainAddress", STRING),
    ('{"whiteListAddresses": §"0xa"}', "$.whiteListAddresses", STRINGS),
    ('{"whiteListAddresses": ["0xa", §5]}', "$.whiteListAddresses[1]", STRING),
    ('{"whiteListAddresses": [§["0xa"]]}', "$.whiteListAddresses[0]", STRING),
    ('{"password": §{"value": "x"}}', "$.password", STRING),
])
def test_a_wrong_nested_type_is_the_conversion_error_at_its_path(body, path, dotnet_type):
    text, position = marked(body)
    assert refusal(text) == conversion_error(path, dotnet_type, position)


def test_conversion_error_positions_are_stj_byte_positions():
    body = '{"rules": {\n  "userCapacity": "é"\n}}'
    byte = len('  "userCapacity": "é"'.encode())  # UTF-8 bytes within the line, not characters
    assert refusal(body) == conversion_error("$.rules.userCapacity", INT, line=1, byte=byte)


def test_the_path_keeps_the_clients_spelling():
    text, position = marked('{"Rules": {"WhiteListAddresses": [{"ADDRESS": §1}]}}')
    assert refusal(text) == conversion_error("$.Rules.WhiteListAddresses[0].ADDRESS", STRING, position)


@pytest.mark.parametrize("value", [
    "2147483648", "-2147483649", "99999999999", "1" * 5000, "-" + "9" * 5000,
    '"2147483648"', '"-2147483649"', '"0x10"', '" 5"', '"5 "', '""', '"1.0"', '"five"', '"١"', "1e999",
])
def test_an_int32_out_of_range_or_unreadable_is_a_conversion_error(value):
    body = '{"rules": {"userCapacity": %s}}' % value
    assert refusal(body) == conversion_error("$.rules.userCapacity", INT, len(body.encode("utf-8")) - 2)


def test_the_first_conversion_error_in_the_stream_wins():
    text, position = marked('{"identity": {"name": §1}, "rules": {"userCapacity": "x"}}')
    assert refusal(text) == conversion_error("$.identity.name", STRING, position)
    text, position = marked('{"rules": {"whiteListAddresses": [{"address": "a"}, {"address": §2}], '
                            '"userCapacity": "x"}}')
    assert refusal(text) == conversion_error("$.rules.whiteListAddresses[1].address", STRING, position)


@pytest.mark.parametrize("body, path, dotnet_type", [
    ('{"rules": {"userCapacity": "x",}}', "$.rules.userCapacity", INT),
    ('{"rules": {"userCapacity": "x"} "more"}', "$.rules.userCapacity", INT),
    ('{"rules": {"whiteListAddresses": [{"address": 1}, x]}}', "$.rules.whiteListAddresses[0].address", STRING),
    ('{"rules": {"password": [1, x]}}', "$.rules.password", STRING),
    ('{"rules": {"password": true, "x": ' + "[" * 40 + "]" * 40 + "}}", "$.rules.password", STRING),
    ('{"rules": {"password": true, "x": NaN}}', "$.rules.password", STRING),
])
def test_a_nested_wrong_type_is_reported_before_a_later_syntax_error(body, path, dotnet_type):
    # System.Text.Json reads as a stream: the conversion fails before it meets the bad token.
    errors = refusal(body)
    assert set(errors) == {"request", path}, errors
    assert errors[path][0].startswith(f"The JSON value could not be converted to {dotnet_type}. Path: {path} |")


def test_a_lone_surrogate_in_a_nested_name_is_a_conversion_error_of_that_dto():
    body = '{"rules": {"\\ud800": 1}}'
    assert refusal(body) == conversion_error("$.rules", RULES, body.index(":", 10))


def test_a_lone_surrogate_in_a_nested_string_is_a_conversion_error():
    body = '{"identity": {"name": "\\udfff"}}'
    assert refusal(body) == conversion_error("$.identity.name", STRING, len(body) - 2)


# -- syntax errors inside nested values ----------------------------------------------
@pytest.mark.parametrize("body, path, message", [
    ('{"rules": {"userCapacity": x}}', "$.rules.userCapacity", "'x' is an invalid start of a value."),
    ('{"rules": {"userCapacity": 1,}}', "$.rules",
     "The JSON object contains a trailing comma at the end which is not supported in this mode. "
     "Change the reader options."),
    ('{"rules": {"userCapacity": 1} "x"}', "$", "'\"' is invalid after a value. Expected either ',', '}', or ']'."),
    ('{"identity": {"name": "Ada" "x"}}', "$.identity",
     "'\"' is invalid after a value. Expected either ',', '}', or ']'."),
    ('{"rules": {"whiteListAddresses": [{"address": "a"}, {"address": x}]}}',
     "$.rules.whiteListAddresses[1].address", "'x' is an invalid start of a value."),
    ('{"rules": {"whiteListAddresses": [{"address": "a"} {"address": "b"}]}}',
     "$.rules.whiteListAddresses[1]", "'{' is invalid after a value. Expected either ',', '}', or ']'."),
    ('{"whiteListAddresses": ["a", x]}', "$.whiteListAddresses[1]", "'x' is an invalid start of a value."),
    ('{"rules": {"extra": {"deep": [1, x]}}}', "$.rules.extra", "'x' is an invalid start of a value."),
    ('{"rules": {"userCapacity": NaN}}', "$.rules.userCapacity", "'N' is an invalid start of a value."),
])
def test_a_syntax_error_inside_a_nested_value_has_the_nested_path(body, path, message):
    errors = refusal(body)
    assert set(errors) == {"request", path}, errors
    assert errors[path][0].startswith(f"{message} Path: {path} | LineNumber: 0 | BytePositionInLine: "), errors


@pytest.mark.parametrize("opening, kind", [("[", "array"), ('{"a":', "object")])
def test_depth_past_32_inside_a_nested_object_is_refused_at_that_property(opening, kind):
    closing = "]" if opening == "[" else "}"
    body = '{"rules": {"userCapacity": 1, "x": ' + opening * 40 + "1" + closing * 40 + "}}"
    errors = refusal(body)
    assert set(errors) == {"request", "$.rules.x"}, errors
    assert errors["$.rules.x"][0].startswith(
        f"The maximum configured depth of 32 has been exceeded. Cannot read next JSON {kind}. Path: $.rules.x |")


def test_nesting_within_the_depth_limit_binds():
    # The root object and rules are two levels; 30 more reach 32.
    assert bind('{"rules": {"x": ' + "[" * 30 + "]" * 30 + "}}") == {"rules": {}}


# -- the other Session API bodies are flat ----------------------------------------------
@pytest.mark.parametrize("operation_id, body, path", [
    ("kickUser", '{"userId": 5}', "$.userId"),
    ("joinSession", '{"sessionId": "s", "password": {"p": 1}}', "$.password"),
    ("verifyWalletProof", '{"walletAddress": "0xa", "message": "m", "signature": ["0x"]}', "$.signature"),
])
def test_flat_session_bodies_refuse_wrong_types_at_their_path(operation_id, body, path):
    errors = refusal(body, operation_id)
    assert set(errors) == {"request", path}
    assert errors[path][0].startswith(f"The JSON value could not be converted to {STRING}. Path: {path} |")


@pytest.mark.parametrize("operation_id, body, bound", [
    ("kickUser", '{"UserId": "u1", "x": 1}', {"userId": "u1"}),
    ("joinSession", '{"sessionId": "s", "password": null}', {"sessionId": "s"}),
    ("verifyWalletProof", '{"WALLETADDRESS": "0xa", "message": "m", "signature": "0x"}',
     {"walletAddress": "0xa", "message": "m", "signature": "0x"}),
])
def test_flat_session_bodies_bind(operation_id, body, bound):
    assert bind(body, operation_id) == bound


@pytest.mark.parametrize("operation_id", ["kickUser", "createSession", "joinSession", "verifyWalletProof"])
def test_a_body_that_is_not_an_object_names_the_request_type(operation_id):
    name = OPERATIONS[operation_id].body_schema_name
    assert refusal("[]", operation_id) == conversion_error("$", f"QuickSync.Api.Models.{name}", 1)


# -- how nested DTOs are named, and what a nested schema may say -------------------------
def _operation(body: dict, name: str = "Request") -> Operation:
    return Operation(operation_id="test", method="POST", path="/t", parameters=(), body_schema=body,
                     body_schema_name=name, success_status=200, responses={})


def test_without_the_components_a_nested_dto_is_named_by_its_title():
    binder = RequestBinder(_operation({"type": "object", "properties": {
        "inner": {"type": "object", "title": "Inner", "properties": {"n": {"type": "integer"}}},
        "other": {"type": "object", "properties": {}},
    }}))
    with pytest.raises(BindingFailed) as caught:
        binder.bind_body(b'{"inner": 1}')
    assert caught.value.errors["$.inner"][0].startswith(
        "The JSON value could not be converted to QuickSync.Api.Models.Inner. ")
    with pytest.raises(BindingFailed) as caught:
        binder.bind_body(b'{"other": 1}')
    assert caught.value.errors["$.other"][0].startswith("The JSON value could not be converted to System.Object. ")


def test_a_null_for_a_non_nullable_value_type_is_a_conversion_error():
    binder = RequestBinder(_operation({"type": "object", "properties": {
        "inner": {"type": "object", "title": "Inner", "properties": {
            "count": {"type": "integer", "format": "int32"}, "on": {"type": "boolean"}}},
    }}))
    assert binder.bind_body(b'{"inner": {"count": 2, "on": false}}') == {"inner": {"count": 2, "on": False}}
    with pytest.raises(BindingFailed) as caught:
        binder.bind_body(b'{"inner": {"count": null}}')
    assert dict(caught.value.errors) == conversion_error("$.inner.count", "System.Int32", 24)
    with pytest.raises(BindingFailed) as caught:
        binder.bind_body(b'{"inner": {"on": null}}')
    assert dict(caught.value.errors) == conversion_error("$.inner.on", "System.Boolean", 21)


@pytest.mark.parametrize("nested", [
    {"type": "object", "required": ["n"], "properties": {"n": {"type": "string"}}},
    {"type": "object", "properties": {"n": {"type": "string", "maxLength": 3}}},
    {"type": "array", "minItems": 1, "items": {"type": "string"}},
    {"type": "array", "items": {"type": "string", "enum": ["a"]}},
])
def test_a_rule_inside_a_nested_object_or_array_is_refused_at_start_up(nested):
    # It would go unchecked: the binder validates DataAnnotations on the body's own properties only.
    with pytest.raises(ValueError, match="not bound"):
        RequestBinder(_operation({"type": "object", "properties": {"inner": nested}}))


# -- chain: an enum action parameter ------------------------------------------------------
def bind_query(query_string: str, operation_id: str = "verifyWalletProof", warnings: list[str] | None = None):
    return BINDERS[operation_id].bind_query_string(query_string, [] if warnings is None else warnings)


def query_refusal(query_string: str, operation_id: str = "verifyWalletProof") -> dict[str, list[str]]:
    with pytest.raises(BindingFailed) as caught:
        bind_query(query_string, operation_id)
    assert caught.value.status == 400
    return dict(caught.value.errors)


@pytest.mark.parametrize("query_string", ["chain=Ethereum", "chain=ethereum", "chain=ETHEREUM", "chain=eThErEuM",
                                          "CHAIN=ethereum", "chain=%20Ethereum", "", "other=1"])
def test_chain_binds_the_canonical_value_in_any_case(query_string):
    assert bind_query(query_string) == {"chain": "Ethereum"}


def test_a_chain_spelled_otherwise_warns():
    warnings: list[str] = []
    bind_query("chain=ethereum", warnings=warnings)
    assert warnings == ["chain='ethereum' is spelled 'Ethereum' in the contract"]


@pytest.mark.parametrize("value", ["x", "Solana", "Ethereum2", "1", "Eth ereum"])
def test_an_unknown_chain_is_an_action_parameters_message(value):
    assert query_refusal(f"chain={value}") == {"chain": [f"The value '{value}' is not valid."]}


def test_a_repeated_unknown_chain_quotes_every_value():
    assert query_refusal("chain=x&chain=y") == {"chain": ["The value 'x,y' is not valid."]}


def test_an_empty_chain_is_no_value_for_an_enum():
    assert query_refusal("chain=") == {"chain": ["The value '' is invalid."]}


def test_the_chats_query_properties_keep_the_property_message():
    binder = RequestBinder(next(op for op in default_spec().operations if op.operation_id == "listChats"))
    with pytest.raises(BindingFailed) as caught:
        binder.bind_query_string("SortBy=x&Take=y", [])
    assert dict(caught.value.errors) == {"Take": ["The value 'y' is not valid for Take."],
                                         "SortBy": ["The value 'x' is not valid for SortBy."]}


def test_an_unknown_bound_as_is_refused_at_start_up():
    op = OPERATIONS["verifyWalletProof"]
    odd = tuple({**p, "x-aspnet-bound-as": "header"} for p in op.parameters)
    with pytest.raises(ValueError, match="x-aspnet-bound-as"):
        RequestBinder(Operation(**{**op.__dict__, "parameters": odd}))


# -- hostile input: a BindingFailed, never anything else -----------------------------------
def _outcome(operation_id: str, data: bytes, encoding: str = "utf-8"):
    try:
        return BINDERS[operation_id].bind_body(data, [], encoding)
    except BindingFailed as exc:
        return exc


def _assert_answerable(outcome) -> None:
    if isinstance(outcome, BindingFailed):
        assert outcome.status in (400, 415)
        aspnet.dumps(aspnet.validation_problem(outcome.errors)).decode("utf-8")
        for key, messages in outcome.errors.items():
            assert isinstance(key, str) and len(key) <= 400
            assert all(isinstance(m, str) and 0 < len(m) <= 600 for m in messages), messages
    else:
        assert isinstance(outcome, dict)
        aspnet.dumps(outcome).decode("utf-8")  # what binds is stored and served again


@pytest.mark.parametrize("body", [
    '{"rules": ' + "[" * 100_000,
    '{"rules": {"whiteListAddresses": ' + '[{"address": ' * 5000,
    '{"rules": {"x": ' + '{"a":' * 3000 + "1" + "}" * 3000 + "}}",
    '{"rules": {"userCapacity": ' + "9" * 20_000 + "}}",
    '{"rules": {"userCapacity": -' + "9" * 5000 + ".5e99999}}",
    '{"identity": {"name": ' + "1" * 5000 + "}, " + '"rules": 1}',
    '{"rules": {"whiteListAddresses": [' + ",".join(['{"address": "a"}'] * 5000) + ", 1]}}",
    '{"rules": {"userCapacity": 1e999, "password": Infinity}}',
    '{"rules": {"\\ud800": {"\\udfff": 1}}}',
    '{"rules": {"password": "\\u0000\\ud83d"}}',
    '{"identity": {"name": "a"}, "identity": [], "rules": {"rules": {"rules": {}}}}',
])
def test_hostile_nested_bodies_end_in_a_binding_failure(body):
    outcome = _outcome("createSession", body.encode("utf-8"))
    assert isinstance(outcome, BindingFailed)
    _assert_answerable(outcome)


_keys = st.sampled_from(['"identity"', '"Identity"', '"rules"', '"RULES"', '"name"', '"chainAddress"',
                         '"userCapacity"', '"expiryDurationInSeconds"', '"password"',
                         '"allowOnlyWhitelistedAddresses"', '"whiteListAddresses"', '"address"', '"x"',
                         '"\\ud800"', '""'])
_scalars = st.one_of(
    st.sampled_from(["null", "true", "false", "0", "-0", "1.5", "1e999", "2147483648", "-2147483649", "NaN",
                     '"5"', '"+5"', '" 5"', '"0x10"', '"x"', '"\\udfff"', '"\\ud83d\\ude00"', "9" * 4400,
                     '"' + "1" * 5000 + '"']),
    st.integers(-2**40, 2**40).map(str),
)


def _nest(children):
    arrays = st.lists(children, max_size=3).map(lambda items: "[" + ",".join(items) + "]")
    objects = st.lists(st.tuples(_keys, children), max_size=4).map(
        lambda members: "{" + ",".join(f"{k}:{v}" for k, v in members) + "}")
    return st.one_of(arrays, objects)


_values = st.recursive(_scalars, _nest, max_leaves=16)
_bodies = st.lists(st.tuples(_keys, _values), max_size=4).map(
    lambda members: "{" + ",".join(f"{k}:{v}" for k, v in members) + "}")


@st.composite
def _mangled(draw):
    text = draw(_bodies)
    how = draw(st.sampled_from(["as is", "as is", "cut", "insert"]))
    if how == "cut" and text:
        text = text[:draw(st.integers(0, len(text) - 1))]
    elif how == "insert":
        where = draw(st.integers(0, len(text)))
        text = text[:where] + draw(st.sampled_from([",", "}", "]", "[", "{", ":", '"', "\\", " "])) + text[where:]
    return text


@settings(max_examples=int(os.environ.get("MOCKCHATS_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(operation_id=st.sampled_from(sorted(op for op, o in OPERATIONS.items() if o.body_schema)), body=_mangled())
@example(operation_id="createSession", body='{"rules":{"whiteListAddresses":[{"address":[' + "[" * 40)
@example(operation_id="createSession", body='{"rules":{"userCapacity":"' + "9" * 5000 + '"}}')
def test_nested_bodies_bind_or_fail_with_a_binding_failure(operation_id, body):
    _assert_answerable(_outcome(operation_id, body.encode("utf-8", "surrogatepass")))


@settings(max_examples=int(os.environ.get("MOCKCHATS_FUZZ_EXAMPLES", "300")), deadline=None)
@given(value=st.text(max_size=30))
def test_any_chain_binds_or_fails_with_a_binding_failure(value):
    from urllib.parse import quote
    try:
        assert bind_query("chain=" + quote(value, safe="")) == {"chain": "Ethereum"}
    except BindingFailed as exc:
        assert list(exc.errors) == ["chain"]
