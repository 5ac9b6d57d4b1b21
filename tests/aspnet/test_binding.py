"""Query and body binding, as ASP.NET Core's [ApiController] model binding does it.

Every test talks to the real server over HTTP through the ``api`` fixture, so each
response to a declared operation is also checked against openapi/chats.yaml.
Every refused request must leave the session exactly as it was.
"""
from __future__ import annotations

import json
import re

import pytest
from support import (
    BODY_REQUIRED,
    PROBLEM_JSON,
    TRACE_ID,
    assert_json_failure,
    assert_validation_problem,
    nothing_changes,
)

UNSUPPORTED_TYPE = "https://tools.ietf.org/html/rfc9110#section-15.5.16"
JSON = {"Content-Type": "application/json"}

EMPTY_BODY = "A non-empty request body is required."
MESSAGE_REQUIRED = "The Message field is required."
MESSAGE_TOO_LONG = "The field Message must be a string or array type with a maximum length of '280'."
REACTION_NOT_ALLOWED = ("The Reaction field does not equal any of the values specified in "
                        "AllowedValuesAttribute.")
TAKE_RANGE = "The field Take must be between 1 and 20."
EMOJI = "\U0001F600"  # outside the BMP: two UTF-16 code units
MAX_BODY_BYTES = 1024 * 1024


# -- helpers -------------------------------------------------------------------
def post_chat(api, body: bytes | str, content_type: str | None = "application/json", **kw):
    headers = {"Content-Type": content_type} if content_type is not None else {}
    data = body.encode("utf-8") if isinstance(body, str) else body
    return api.post("/chats", data=data, headers=headers, **kw)


def nested_array(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def chat_id(api) -> str:
    return api.create("react to me")["chatId"]


# -- query: GET /v1/chats --------------------------------------------------------
@pytest.mark.parametrize("key", ["Take", "take", "TAKE", "tAkE"])
def test_query_keys_match_case_insensitively(api, key):
    response = api.get("/chats", params={key: 5})
    assert response.status_code == 200
    assert len(response.json()["messages"]) == 5


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "tRuE", " true", "true ", "\ttrue\t"])
def test_ascending_true_in_any_case_and_with_blanks_sorts_oldest_first(api, value):
    everything = api.all_messages()
    response = api.get("/chats", params={"Ascending": value, "Take": 20})
    assert response.status_code == 200
    assert response.json()["messages"] == everything[:20]


@pytest.mark.parametrize("value", ["false", "False", "FALSE", " false ", "\tfalse"])
def test_ascending_false_in_any_case_and_with_blanks_sorts_newest_first(api, value):
    everything = api.all_messages()
    response = api.get("/chats", params={"Ascending": value, "Take": 20})
    assert response.status_code == 200
    assert response.json()["messages"] == everything[::-1][:20]


@pytest.mark.parametrize("value", ["1", "0", "yes", "no", "on", "t", "truee"])
def test_ascending_accepts_only_true_or_false(api, value):
    with nothing_changes(api):
        response = api.get("/chats", params={"Ascending": value})
        assert_validation_problem(response, {"Ascending": [f"The value '{value}' is not valid for Ascending."]})


@pytest.mark.parametrize("value", ["abc", "1.5", "5abc", "ten", "1e1", "5-"])
def test_take_that_is_not_an_integer_is_not_valid(api, value):
    with nothing_changes(api):
        response = api.get("/chats", params={"Take": value})
        assert_validation_problem(response, {"Take": [f"The value '{value}' is not valid for Take."]})


@pytest.mark.parametrize("name", ["Take", "Skip", "Ascending", "SortBy"])
def test_empty_value_is_invalid(api, name):
    with nothing_changes(api):
        response = api.get("/chats", params={name: ""})
        assert_validation_problem(response, {name: ["The value '' is invalid."]})


def test_blank_value_is_invalid_and_quoted_as_sent(api):
    response = api.get("/chats", params={"Take": " "})
    assert_validation_problem(response, {"Take": ["The value ' ' is invalid."]})


@pytest.mark.parametrize("value", ["0", "21", "-1", "2147483647", "-2147483648"])
def test_take_outside_1_to_20_is_out_of_range(api, value):
    with nothing_changes(api):
        response = api.get("/chats", params={"Take": value})
        assert_validation_problem(response, {"Take": [TAKE_RANGE]})


@pytest.mark.parametrize("value, expected", [("1", 1), ("20", 20), (" 5 ", 5), ("+5", 5), ("05", 5),
                                             ("0x5", 5), ("0XA", 10), ("&h5", 5), ("#14", 20)])
def test_take_accepts_int_parse_forms_within_range(api, value, expected):
    response = api.get("/chats", params={"Take": value})
    assert response.status_code == 200
    assert len(response.json()["messages"]) == expected


@pytest.mark.parametrize("name, value", [
    ("Take", "2147483648"), ("Take", "-2147483649"), ("Skip", "2147483648"),
    ("Skip", "99999999999999999999"),
])
def test_int32_overflow_is_not_valid(api, name, value):
    with nothing_changes(api):
        response = api.get("/chats", params={name: value})
        assert_validation_problem(response, {name: [f"The value '{value}' is not valid for {name}."]})


def test_skip_at_int32_max_is_valid_and_gives_an_empty_page(api):
    total = len(api.all_messages())
    response = api.get("/chats", params={"Skip": 2147483647})
    assert response.status_code == 200
    assert response.json() == {"totalCount": total, "messages": []}


@pytest.mark.parametrize("params", [
    [("Take", "3"), ("Take", "7")],
    [("Take", "3"), ("take", "7")],
    [("TAKE", "3"), ("Take", "abc")],
])
def test_repeated_key_binds_its_first_value(api, params):
    response = api.get("/chats", params=params)
    assert response.status_code == 200
    assert len(response.json()["messages"]) == 3


def test_repeated_key_with_a_bad_first_value_quotes_all_values_comma_joined(api):
    response = api.get("/chats", params=[("Take", "abc"), ("take", "5")])
    assert_validation_problem(response, {"Take": ["The value 'abc,5' is not valid for Take."]})


def test_repeated_key_with_an_empty_first_value_quotes_all_values_comma_joined(api):
    response = api.get("/chats", params=[("Take", ""), ("Take", "5")])
    assert_validation_problem(response, {"Take": ["The value ',5' is invalid."]})


def test_repeated_key_with_an_out_of_range_first_value_is_out_of_range(api):
    response = api.get("/chats", params=[("Take", "0"), ("Take", "5")])
    assert_validation_problem(response, {"Take": [TAKE_RANGE]})


def test_several_bad_parameters_are_all_reported(api):
    response = api.get("/chats", params={"Take": "abc", "Skip": "x", "Ascending": "yes"})
    assert_validation_problem(response, {
        "Take": ["The value 'abc' is not valid for Take."],
        "Skip": ["The value 'x' is not valid for Skip."],
        "Ascending": ["The value 'yes' is not valid for Ascending."],
    })


@pytest.mark.parametrize("skip", [-1, -5, -2147483648])
def test_negative_skip_behaves_as_zero(api, skip):
    first_page = api.get("/chats", params={"Take": 10}).json()
    response = api.get("/chats", params={"Take": 10, "Skip": skip})
    assert response.status_code == 200
    assert response.json() == first_page


def test_skip_beyond_the_total_gives_an_empty_page_with_the_full_total(api):
    total = len(api.all_messages())
    response = api.get("/chats", params={"Skip": total + 100})
    assert response.status_code == 200
    assert response.json() == {"totalCount": total, "messages": []}


def test_skip_just_before_the_end_gives_the_last_message(api):
    everything = api.all_messages()
    response = api.get("/chats", params={"Skip": len(everything) - 1})
    assert response.json() == {"totalCount": len(everything), "messages": everything[-1:]}


def test_unknown_query_parameters_are_ignored(api):
    response = api.get("/chats", params={"Take": 2, "Page": "abc", "Limit": "-1"})
    assert response.status_code == 200
    assert len(response.json()["messages"]) == 2


@pytest.mark.parametrize("value", ["foo", "createdAtt", "thumbs_up", ":smile:", "Pinned,CreatedAt"])
def test_unknown_sort_by_is_refused(api, value):
    with nothing_changes(api):
        response = api.get("/chats", params={"SortBy": value})
        assert_validation_problem(response, {"SortBy": [f"The value '{value}' is not valid for SortBy."]})


@pytest.mark.parametrize("canonical, variants", [
    ("Pinned", ["pinned", "PINNED", "pInNeD"]),
    ("CreatedAt", ["createdat", "CREATEDAT"]),
    (":thumbs_up:", [":THUMBS_UP:", ":Thumbs_Up:"]),
    (":thumbsdown:", [":THUMBSDOWN:"]),
])
def test_sort_by_matches_case_insensitively(api, canonical, variants):
    for ascending in ("true", "false"):
        expected = api.get("/chats", params={"SortBy": canonical, "Ascending": ascending})
        assert expected.status_code == 200
        for variant in variants:
            response = api.get("/chats", params={"SortBy": variant, "Ascending": ascending})
            assert response.status_code == 200
            assert response.json() == expected.json(), variant


def test_sort_by_pinned_descending_puts_pinned_messages_first(api):
    response = api.get("/chats", params={"SortBy": "Pinned", "Ascending": "false"})
    messages = response.json()["messages"]
    flags = [m["pinned"] is not None for m in messages]
    assert any(flags)
    assert flags == sorted(flags, reverse=True)


# -- body: POST /v1/chats ----------------------------------------------------------
@pytest.mark.parametrize("name", ["message", "Message", "MESSAGE", "mEsSaGe"])
def test_body_property_names_match_case_insensitively(api, name):
    response = post_chat(api, json.dumps({name: "hi there"}))
    assert response.status_code == 200
    created = response.json()
    assert created["message"] == "hi there"
    assert any(m["chatId"] == created["chatId"] for m in api.all_messages())


def test_unknown_body_properties_are_ignored(api):
    body = {"message": "hi", "extra": 1, "nested": {"a": [1, {"b": None}]}, "chatId": "mine"}
    response = post_chat(api, json.dumps(body))
    assert response.status_code == 200
    assert response.json()["message"] == "hi"
    assert response.json()["chatId"] != "mine"


def test_the_last_of_duplicate_spellings_wins(api):
    response = post_chat(api, '{"message": "first", "MESSAGE": "second"}')
    assert response.status_code == 200
    assert response.json()["message"] == "second"


@pytest.mark.parametrize("body", [
    "{}",
    '{"text": "hi"}',
    '{"message": null}',
    '{"message": ""}',
    '{"message": " "}',
    '{"message": "   \\t\\n  "}',
    '{"Message": "\\u00a0\\u2003"}',
])
def test_missing_null_empty_or_blank_message_is_required(api, body):
    with nothing_changes(api):
        response = post_chat(api, body)
        assert_validation_problem(response, {"Message": [MESSAGE_REQUIRED]})


@pytest.mark.parametrize("text", [
    "x" * 280,
    EMOJI * 140,
    "x" * 278 + EMOJI,
    "é" * 280,  # in the BMP: one code unit each
    "中" * 280,
])
def test_message_of_280_utf16_units_is_accepted(api, text):
    response = post_chat(api, json.dumps({"message": text}))
    assert response.status_code == 200
    assert response.json()["message"] == text


@pytest.mark.parametrize("text", [
    "x" * 281,
    EMOJI * 141,
    "x" * 279 + EMOJI,
    "é" * 281,
    "x" * 10_000,
])
def test_message_over_280_utf16_units_is_refused(api, text):
    with nothing_changes(api):
        response = post_chat(api, json.dumps({"message": text}))
        assert_validation_problem(response, {"Message": [MESSAGE_TOO_LONG]})


def test_blank_message_over_280_units_fails_both_rules_required_first(api):
    with nothing_changes(api):
        response = post_chat(api, json.dumps({"message": " " * 281}))
        assert_validation_problem(response, {"Message": [MESSAGE_REQUIRED, MESSAGE_TOO_LONG]})


@pytest.mark.parametrize("body", ['{"message": 1,}', '{"message": [1, x]}', '{"message": true x',
                                  '{"message": ' + nested_array(40) + "}"])
def test_a_wrong_type_is_reported_before_a_later_syntax_error(api, body):
    # System.Text.Json reads as a stream: the conversion fails before it meets the bad token.
    with nothing_changes(api):
        message = assert_json_failure(post_chat(api, body), "$.message")
        assert message.startswith("The JSON value could not be converted to System.String."), message


def test_wrong_json_type_reports_the_conversion_with_its_path(api):
    with nothing_changes(api):
        response = post_chat(api, '{"message": 1}')
        assert_validation_problem(response, {
            "request": [BODY_REQUIRED],
            "$.message": ["The JSON value could not be converted to System.String. "
                          "Path: $.message | LineNumber: 0 | BytePositionInLine: 13."],
        })


@pytest.mark.parametrize("value", ["1", "1.5", "true", "false", "{}", '{"a": "b"}', "[]", '["hi"]'])
def test_non_string_message_cannot_be_converted_to_string(api, value):
    with nothing_changes(api):
        response = post_chat(api, '{"message": %s}' % value)
        message = assert_json_failure(response, "$.message")
        assert message.startswith("The JSON value could not be converted to System.String. "
                                  "Path: $.message | LineNumber: 0 | BytePositionInLine: ")


def test_conversion_error_path_keeps_the_clients_spelling(api):
    response = post_chat(api, '{"Message": 1}')
    assert_json_failure(response, "$.Message")


@pytest.mark.parametrize("body", ["[]", '["hi"]', '"hi"', "5", "true", '[{"message": "hi"}]'])
def test_body_that_is_not_an_object_is_refused_at_the_root(api, body):
    with nothing_changes(api):
        response = post_chat(api, body)
        message = assert_json_failure(response, "$")
        assert message.startswith("The JSON value could not be converted to ")
        assert " Path: $ | LineNumber: 0 | BytePositionInLine: " in message


@pytest.mark.parametrize("body, key", [
    ("{", "$"),
    ('{"message": x}', "$.message"),
    ('{"message": "hi",}', "$"),
    ("garbage", "$"),
    ('{"message": "hi" "there"}', "$"),
    ('{"message": "hi"', "$"),
    ('{"message": "unterminated', "$.message"),
    ('{"message" "hi"}', "$"),
    ("{message: 'hi'}", "$"),
    ('{"message": "hi"} trailing', "$"),
    ('{"message": "bad \\q escape"}', "$.message"),
    ('{"extra": [1, 2,], "message": "hi"}', "$.extra"),
    ('{"extra": {"deep": x}, "message": "hi"}', "$.extra"),
])
def test_malformed_json_is_refused_with_path_and_position(api, body, key):
    with nothing_changes(api):
        response = post_chat(api, body)
        assert_json_failure(response, key)


def test_syntax_error_at_the_root_reads_as_system_text_json_words_it(api):
    response = post_chat(api, "garbage")
    assert_validation_problem(response, {
        "request": [BODY_REQUIRED],
        "$": ["'g' is an invalid start of a value. Path: $ | LineNumber: 0 | BytePositionInLine: 0."],
    })


def test_trailing_comma_is_reported_at_the_root_after_the_complete_value(api):
    # .NET 8 captures: "...Change the reader options. Path: $ | LineNumber: 0 | BytePositionInLine: 20."
    # for {"username":"ava_t",}; the property's name is cleared once its value is read.
    response = post_chat(api, '{"message":"hi",}')
    assert_validation_problem(response, {
        "request": [BODY_REQUIRED],
        "$": ["The JSON object contains a trailing comma at the end which is not supported in this "
              "mode. Change the reader options. Path: $ | LineNumber: 0 | BytePositionInLine: 16."],
    })


def test_line_numbers_and_byte_positions_are_zero_based(api):
    response = post_chat(api, '{\n  "message": "hi",\n}')
    message = assert_json_failure(response, "$")
    assert message.endswith(" Path: $ | LineNumber: 2 | BytePositionInLine: 0.")


def test_open_object_reports_the_depth_at_the_end(api):
    response = post_chat(api, "{")
    assert_validation_problem(response, {
        "request": [BODY_REQUIRED],
        "$": ["Expected depth to be zero at the end of the JSON payload. There is an open JSON "
              "object or array that should be closed. Path: $ | LineNumber: 0 | BytePositionInLine: 1."],
    })


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_number_literals_are_not_json(api, literal):
    with nothing_changes(api):
        response = post_chat(api, '{"message": %s}' % literal)
        assert_json_failure(response, "$.message")


def test_non_finite_literal_in_an_unknown_property_is_not_json_either(api):
    with nothing_changes(api):
        response = post_chat(api, '{"message": "hi", "extra": NaN}')
        assert_json_failure(response, "$.extra")


@pytest.mark.parametrize("depth, kind", [(32, "array"), (33, "array"), (100, "array"), (40, "object"),
                                         (500, "array"), (900, "array"), (5000, "array"),
                                         (900, "object")])
def test_json_nested_deeper_than_32_is_refused(api, depth, kind):
    inner = nested_array(depth) if kind == "array" else '{"a":' * depth + "1" + "}" * depth
    with nothing_changes(api):
        # With the root object, the unknown property's value sits at depth + 1.
        response = post_chat(api, '{"message": "hi", "extra": %s}' % inner)
        errors = assert_validation_problem(response)
        assert set(errors) == {"request", "$.extra"}, errors
        [message] = errors["$.extra"]
        assert message.startswith("The maximum configured depth of 32 has been exceeded. "
                                  f"Cannot read next JSON {kind}. Path: $.extra | LineNumber: 0 | ")


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"'])
def test_utf8_charset_is_read(api, charset):
    response = post_chat(api, '{"message": "héllo"}', content_type=f"application/json; charset={charset}")
    assert response.status_code == 200
    assert response.json()["message"] == "héllo"


def test_utf16_charset_is_read(api):
    data = '{"message": "héllo"}'.encode("utf-16")
    response = post_chat(api, data, content_type="application/json; charset=utf-16")
    assert response.status_code == 200
    assert response.json()["message"] == "héllo"


@pytest.mark.parametrize("charset", ["latin1", "iso-8859-1", "utf8", "ascii"])
def test_a_charset_the_json_formatter_cannot_read_is_unsupported(api, charset):
    with nothing_changes(api):
        response = post_chat(api, '{"message": "hi"}', content_type=f"application/json; charset={charset}")
        assert response.status_code == 415
        assert response.json()["title"] == "Unsupported Media Type"


def test_json_nested_exactly_32_deep_is_accepted(api):
    response = post_chat(api, '{"message": "hi", "extra": %s}' % nested_array(31))
    assert response.status_code == 200


@pytest.mark.parametrize("body", [b"", b"null", b"  null  ", b"\r\nnull\r\n"])
def test_empty_or_null_body_is_a_missing_body(api, body):
    with nothing_changes(api):
        response = post_chat(api, body)
        assert_validation_problem(response, {"": [EMPTY_BODY], "request": [BODY_REQUIRED]})


@pytest.mark.parametrize("body, line, byte", [
    (b" ", 0, 1), (b"   ", 0, 3), (b"\t", 0, 1), (b"\n\n ", 2, 1), (b"\xef\xbb\xbf", 0, 0),
])
def test_blank_body_has_no_json_tokens(api, body, line, byte):
    # Not Content-Length: 0, so the input formatter hands it to System.Text.Json.
    with nothing_changes(api):
        response = post_chat(api, body)
        assert_validation_problem(response, {
            "request": [BODY_REQUIRED],
            "$": ["The input does not contain any JSON tokens. Expected the input to start with a "
                  "valid JSON token, while isFinalBlock is true. "
                  f"Path: $ | LineNumber: {line} | BytePositionInLine: {byte}."],
        })


def test_body_of_non_json_blanks_is_not_blank(api):
    with nothing_changes(api):
        response = post_chat(api, "\u00a0")
        assert_json_failure(response, "$")


@pytest.mark.parametrize("body", [b"\xff\xfe", b'{"message": "\xff"}', b'{"message": "\xc3"}'])
def test_body_that_is_not_utf8_is_refused(api, body):
    with nothing_changes(api):
        response = post_chat(api, body)
        errors = assert_validation_problem(response)
        assert errors["request"] == [BODY_REQUIRED]
        assert any(key.startswith("$") for key in errors), errors


@pytest.mark.parametrize("escaped", ["\\ud800", "\\uDE00x", "a\\udbff", "\\ud83d\\u0041"])
def test_lone_surrogate_cannot_be_converted_to_string(api, escaped):
    with nothing_changes(api):
        response = post_chat(api, '{"message": "%s"}' % escaped)
        message = assert_json_failure(response, "$.message")
        assert message.startswith("The JSON value could not be converted to System.String. ")


def test_escaped_surrogate_pair_is_one_character(api):
    response = post_chat(api, '{"message": "\\ud83d\\ude00"}')
    assert response.status_code == 200
    assert response.json()["message"] == EMOJI


def test_utf8_byte_order_mark_is_skipped(api):
    response = post_chat(api, b"\xef\xbb\xbf" + json.dumps({"message": "hi"}).encode())
    assert response.status_code == 200
    assert response.json()["message"] == "hi"


def test_bmp_text_is_written_literally_and_emoji_as_upper_case_surrogate_pairs(api):
    # System.Text.Json's relaxed encoder: BMP text as is, astral characters escaped.
    text = f"héllo 中文 {EMOJI}"
    response = post_chat(api, json.dumps({"message": text}, ensure_ascii=False))
    assert response.status_code == 200
    assert "héllo 中文 \\uD83D\\uDE00".encode() in response.content
    assert response.json()["message"] == text


# -- body: POST /v1/chats/{chatId}/reactions --------------------------------------
@pytest.mark.parametrize("name, reaction", [
    ("reaction", ":thumbs_up:"), ("Reaction", ":thumbs_down:"), ("REACTION", ":thumbs_up:"),
])
def test_reaction_property_name_matches_case_insensitively(api, chat_id, name, reaction):
    response = api.post(f"/chats/{chat_id}/reactions", json={name: reaction, "extra": [1]})
    assert response.status_code == 200
    listed = api.get("/chats/reactions", params={"chatIds": chat_id}).json()
    assert listed == [{"chatId": chat_id, "id": response.json()["reactionId"], "reaction": reaction}]


@pytest.mark.parametrize("reaction", [":smile:", ":thumbsup:", ":thumbsdown:", ":THUMBS_UP:",
                                      "thumbs_up", " :thumbs_up:", "👍"])
def test_reaction_outside_the_allowed_values_is_refused(api, chat_id, reaction):
    with nothing_changes(api):
        response = api.post(f"/chats/{chat_id}/reactions", json={"reaction": reaction})
        assert_validation_problem(response, {"Reaction": [REACTION_NOT_ALLOWED]})


@pytest.mark.parametrize("body", ["{}", '{"emoji": ":thumbs_up:"}', '{"reaction": ""}',
                                  '{"reaction": "  "}', '{"reaction": null}'])
def test_missing_reaction_is_required(api, chat_id, body):
    with nothing_changes(api):
        response = api.post(f"/chats/{chat_id}/reactions", data=body, headers=JSON)
        # [AllowedValues] refuses a missing value too, and every failing rule is reported.
        assert_validation_problem(response, {"Reaction": ["The Reaction field is required.",
                                                          REACTION_NOT_ALLOWED]})


def test_wrong_json_type_for_reaction_reports_its_path(api, chat_id):
    with nothing_changes(api):
        response = api.post(f"/chats/{chat_id}/reactions", data='{"reaction": true}', headers=JSON)
        message = assert_json_failure(response, "$.reaction")
        assert message.startswith("The JSON value could not be converted to System.String.")


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b"{", b'{"reaction": ":thumbs_up:",}'])
def test_bad_reaction_bodies_are_refused(api, chat_id, body):
    with nothing_changes(api):
        response = api.post(f"/chats/{chat_id}/reactions", data=body, headers=JSON)
        assert_validation_problem(response)


def test_binding_fails_before_the_message_is_looked_up(api):
    # Model binding runs before the action, so a bad body to an unknown chat is a 400.
    with nothing_changes(api):
        response = api.post("/chats/no-such-chat/reactions", json={"reaction": ":smile:"})
        assert_validation_problem(response, {"Reaction": [REACTION_NOT_ALLOWED]})


# -- the problem body itself --------------------------------------------------------
BAD_REQUESTS = [
    pytest.param("GET", "/chats?Take=abc", None, id="query"),
    pytest.param("POST", "/chats", b"{}", id="required"),
    pytest.param("POST", "/chats", b'{"message": 1}', id="conversion"),
    pytest.param("POST", "/chats", b"{", id="syntax"),
    pytest.param("POST", "/chats", b"", id="empty"),
]


@pytest.mark.parametrize("method, path, body", BAD_REQUESTS)
def test_every_400_is_a_validation_problem_in_dotnet8_field_order(api, method, path, body):
    with nothing_changes(api):
        headers = JSON if body is not None else None
        response = api.request(method, path, data=body, headers=headers)
        assert_validation_problem(response)
        # The raw text too: type, title, status, errors, traceId, compact.
        assert re.match(rb'^\{"type":"[^"]+","title":"[^"]+","status":400,"errors":\{.*\},'
                        rb'"traceId":"00-[0-9a-f]{32}-[0-9a-f]{16}-00"\}$', response.content)


@pytest.mark.parametrize("method, path, body", BAD_REQUESTS)
def test_trace_id_differs_between_requests(api, method, path, body):
    headers = JSON if body is not None else None
    first = api.request(method, path, data=body, headers=headers).json()["traceId"]
    second = api.request(method, path, data=body, headers=headers).json()["traceId"]
    assert first != second


# -- 415 ------------------------------------------------------------------------------
@pytest.mark.parametrize("content_type, body", [
    ("text/plain", b'{"message": "hi"}'),
    ("application/x-www-form-urlencoded", b"message=hi"),
    ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="message"\r\n\r\nhi\r\n--x--'),
    ("application/xml", b"<message>hi</message>"),
    ("application/jsonx", b'{"message": "hi"}'),
    ("json", b'{"message": "hi"}'),
    (None, b'{"message": "hi"}'),
    (None, b""),
    ("", b'{"message": "hi"}'),
])
def test_non_json_content_type_is_unsupported_media_type(api, content_type, body):
    with nothing_changes(api):
        response = post_chat(api, body, content_type=content_type)
        assert response.status_code == 415
        assert response.headers["Content-Type"] == PROBLEM_JSON
        problem = response.json()
        assert list(problem) == ["type", "title", "status", "traceId"]
        assert problem["type"] == UNSUPPORTED_TYPE
        assert problem["title"] == "Unsupported Media Type"
        assert problem["status"] == 415
        assert TRACE_ID.match(problem["traceId"])


def test_form_post_to_reactions_is_unsupported_media_type(api, chat_id):
    with nothing_changes(api):
        response = api.post(f"/chats/{chat_id}/reactions", data={"reaction": ":thumbs_up:"})
        assert response.status_code == 415
        assert response.json()["type"] == UNSUPPORTED_TYPE


def test_media_type_is_checked_before_the_body_is_read(api):
    response = post_chat(api, b"{ not json", content_type="text/plain")
    assert response.status_code == 415


@pytest.mark.parametrize("content_type", [
    "application/json",
    "text/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/merge-patch+json",
    "application/problem+json",
])
def test_json_media_types_are_accepted(api, content_type):
    response = post_chat(api, '{"message": "hi"}', content_type=content_type)
    assert response.status_code == 200
    assert response.json()["message"] == "hi"


# -- 413 ------------------------------------------------------------------------------
def _padded_body(size: int) -> bytes:
    body = json.dumps({"message": "big"}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_body_over_one_mebibyte_is_payload_too_large_with_no_body(api):
    with nothing_changes(api):
        response = post_chat(api, _padded_body(MAX_BODY_BYTES + 1))
        assert response.status_code == 413
        assert response.content == b""


def test_body_over_the_limit_is_journaled_with_the_reason(api, mock):
    mock.journal.clear()
    assert post_chat(api, _padded_body(MAX_BODY_BYTES + 1)).status_code == 413
    (entry,) = mock.journal.entries()
    assert entry["operationId"] == "createChat" and entry["status"] == 413
    assert entry["violations"] == [f"the body is over the {MAX_BODY_BYTES}-byte limit"]


def test_body_of_exactly_one_mebibyte_is_accepted(api):
    body = _padded_body(MAX_BODY_BYTES)
    assert len(body) == MAX_BODY_BYTES
    response = post_chat(api, body)
    assert response.status_code == 200
    assert response.json()["message"] == "big"
