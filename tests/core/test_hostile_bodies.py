"""Bodies and queries that meet Python's parsing limits, answered as ASP.NET Core answers them.

Python refuses to turn more than 4,300 digits into an int, overflows 1e999 to infinity,
keeps lone surrogates that UTF-8 cannot carry, and recurses while it parses. System.Text.Json
has none of these limits: it skips any number in an unknown property and refuses to
convert one into a known property. Each case goes over real HTTP; none may be a 500, and
a refused request changes nothing.
"""
from __future__ import annotations

import pytest
import requests
from support import BODY_REQUIRED, assert_json_failure, assert_validation_problem, nothing_changes

import mockchats
from mockchats.contract.proxy import ContractProxy

JSON = {"Content-Type": "application/json"}
HUGE = "1" * 4301  # one digit past int()'s limit
MAX_DEPTH_MESSAGE = "The maximum configured depth of 32 has been exceeded. Cannot read next JSON array."


def conversion_error(path: str, dotnet_type: str, end: int) -> str:
    return (f"The JSON value could not be converted to {dotnet_type}. Path: {path} | LineNumber: 0 | "
            f"BytePositionInLine: {end}.")


@pytest.fixture
def chat_id(api) -> str:
    return api.create("react to me")["chatId"]


def post(api, path: str, body: str):
    return api.post(path, data=body.encode("utf-8"), headers=JSON, as_="alice")


def reactions_of(api, chat_id: str) -> list:
    response = api.get("/chats/reactions", params={"chatIds": chat_id})
    assert response.status_code == 200, response.text
    return response.json()


# -- numbers longer than Python converts ---------------------------------------------
@pytest.mark.parametrize("unknown", [HUGE, "-" + HUGE, "[" + HUGE + "]", '{"deep": {"n": %s}}' % HUGE,
                                     "9" * 50_000])
def test_a_huge_number_in_an_unknown_property_is_skipped_by_create_chat(api, unknown):
    response = post(api, "/chats", '{"message": "hello", "extra": %s}' % unknown)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "hello"
    assert response.json()["chatId"] in {m["chatId"] for m in api.all_messages()}


def test_a_huge_number_in_the_message_is_a_conversion_error_at_its_path(api):
    body = '{"message":%s}' % HUGE
    with nothing_changes(api):
        response = post(api, "/chats", body)
        message = assert_json_failure(response, "$.message")
    assert message == conversion_error("$.message", "System.String", len(body) - 1)


def test_a_huge_number_in_an_unknown_property_is_skipped_by_add_reaction(api, chat_id):
    response = post(api, f"/chats/{chat_id}/reactions", '{"reaction": ":thumbs_up:", "n": %s}' % HUGE)
    assert response.status_code == 200, response.text
    assert [r["reaction"] for r in reactions_of(api, chat_id)] == [":thumbs_up:"]


def test_a_huge_number_as_the_reaction_is_a_conversion_error_at_its_path(api, chat_id):
    body = '{"reaction":-%s}' % HUGE
    with nothing_changes(api):
        response = post(api, f"/chats/{chat_id}/reactions", body)
        message = assert_json_failure(response, "$.reaction")
    assert message == conversion_error("$.reaction", "System.String", len(body) - 1)


def test_a_huge_number_before_a_syntax_error_is_still_read_first(api):
    """STJ reads as a stream: the conversion of `message` fails before the bad comma is seen."""
    body = '{"x":%s,"message":%s,}' % (HUGE, HUGE)
    with nothing_changes(api):
        message = assert_json_failure(post(api, "/chats", body), "$.message")
    assert message == conversion_error("$.message", "System.String", len(body) - 2)


def test_a_huge_number_as_the_whole_body_cannot_be_converted_to_the_request(api):
    with nothing_changes(api):
        message = assert_json_failure(post(api, "/chats", HUGE), "$")
    assert message.startswith("The JSON value could not be converted to QuickSync.Api.Models.CreateChatRequest. ")


def test_huge_query_numbers_are_not_valid(api):
    value = "9" * 5000
    with nothing_changes(api):
        response = api.get(f"/chats?Take={value}")
        assert_validation_problem(response, {"Take": [f"The value '{value}' is not valid for Take."]})


def test_leading_zeros_past_the_digit_limit_still_read_as_a_number(api):
    response = api.get("/chats?Take=" + "0" * 5000 + "3")
    assert response.status_code == 200, response.text
    assert len(response.json()["messages"]) == 3


def test_a_huge_collection_index_is_an_unknown_key(api, chat_id):
    assert post(api, f"/chats/{chat_id}/reactions", '{"reaction": ":thumbs_up:"}').status_code == 200
    response = api.get(f"/chats/reactions?chatIds[{'1' * 5000}]=x&chatIds={chat_id}")
    assert response.status_code == 200, response.text
    assert [entry["chatId"] for entry in response.json()] == [chat_id]


# -- floats that overflow ----------------------------------------------------------------
@pytest.mark.parametrize("number", ["1e999", "-1e999", "1E+400"])
def test_an_overflowing_number_in_an_unknown_property_is_skipped(api, number):
    response = post(api, "/chats", '{"message": "hello", "extra": %s}' % number)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
def test_an_overflowing_number_as_the_message_is_a_conversion_error(api, number):
    body = '{"message":%s}' % number
    with nothing_changes(api):
        message = assert_json_failure(post(api, "/chats", body), "$.message")
    assert message == conversion_error("$.message", "System.String", len(body) - 1)


# -- surrogates and NUL ------------------------------------------------------------------
def test_a_lone_surrogate_in_the_message_is_a_conversion_error(api):
    body = '{"message":"\\ud800"}'
    with nothing_changes(api):
        message = assert_json_failure(post(api, "/chats", body), "$.message")
    assert message == conversion_error("$.message", "System.String", len(body) - 1)


def test_a_lone_surrogate_in_an_unknown_value_is_skipped(api):
    response = post(api, "/chats", '{"message": "hello", "extra": "\\udc00"}')
    assert response.status_code == 200, response.text


def test_a_lone_surrogate_in_a_property_name_cannot_be_converted_to_the_request(api):
    """The reader unescapes every property name of the DTO to look it up, and cannot."""
    body = '{"\\ud800":1,"message":"hello"}'
    with nothing_changes(api):
        message = assert_json_failure(post(api, "/chats", body), "$")
    assert message == conversion_error("$", "QuickSync.Api.Models.CreateChatRequest", len('{"\\ud800"'))


def test_an_escaped_nul_is_text_and_comes_back_escaped(api):
    response = post(api, "/chats", '{"message": "a\\u0000b"}')
    assert response.status_code == 200, response.text
    assert b'"a\\u0000b"' in response.content
    assert response.json()["message"] == "a\x00b"


def test_a_raw_nul_inside_a_string_is_a_syntax_error(api):
    with nothing_changes(api):
        message = assert_json_failure(post(api, "/chats", '{"message":"a\x00b"}'), "$.message")
    assert message.startswith("'\x00' is invalid within a JSON string. The string should be correctly escaped.")


# -- nesting -----------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deep_nesting_in_an_unknown_property_is_refused_at_32(api, depth):
    body = '{"message":"hi","x":' + "[" * depth + "]" * depth + "}"
    with nothing_changes(api):
        response = post(api, "/chats", body)
        message = assert_json_failure(response, "$.x")
    assert message.startswith(MAX_DEPTH_MESSAGE + " Path: $.x | ")
    assert response.json()["errors"]["request"] == [BODY_REQUIRED]


def test_deep_nesting_in_a_reaction_body_is_refused_at_32(api, chat_id):
    with nothing_changes(api):
        response = post(api, f"/chats/{chat_id}/reactions", '{"reaction":":thumbs_up:","x":' + '{"a":' * 500)
        message = assert_json_failure(response, "$.x")
    assert message.startswith("The maximum configured depth of 32 has been exceeded. Cannot read next JSON object.")


def test_an_object_as_the_reaction_fails_its_conversion_before_its_depth(api, chat_id):
    """A body read in one buffer is not read ahead: the string converter meets '{' first."""
    with nothing_changes(api):
        response = post(api, f"/chats/{chat_id}/reactions", '{"reaction":' + '{"a":' * 500)
        message = assert_json_failure(response, "$.reaction")
    assert message == conversion_error("$.reaction", "System.String", len('{"reaction":{'))


# -- the same bodies through `mockchats proxy` (its contract checks judge both directions) --
HOSTILE_ANSWERS = {
    "/v1/chats": b'{"messages":[],"totalCount":' + HUGE.encode() + b"}",
    "/v1/chats/reactions": b"[" * 100_000 + b"]" * 100_000,
}


def hostile_upstream(environ, start_response):
    """A server whose answers Python cannot read: a huge number, and nesting past its recursion."""
    body = HOSTILE_ANSWERS.get(environ["PATH_INFO"], b"")
    start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def proxies(server):
    upstream = mockchats.Server(hostile_upstream, port=0).start()
    in_front = {name: mockchats.Server(ContractProxy(base), port=0).start()
                for name, base in [("mock", server.base_url), ("hostile", upstream.base_url)]}
    yield in_front
    for served in in_front.values():
        served.stop()
    upstream.stop()


def proxy_journal(served) -> list[dict]:
    response = requests.get(served.root_url + "/_mock/requests", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_proxy_judges_a_huge_number_as_the_service_would(api, proxies):
    proxy = proxies["mock"]
    headers = {"Authorization": "Bearer alice-token", "Content-Type": "application/json"}
    skipped = requests.post(proxy.base_url + "/chats", data='{"message":"hi","n":%s}' % HUGE,
                            headers=headers, timeout=10)
    assert skipped.status_code == 200, skipped.text
    refused = requests.post(proxy.base_url + "/chats", data='{"message":%s}' % HUGE, headers=headers, timeout=10)
    assert refused.status_code == 400, refused.text
    *_, first, second = proxy_journal(proxy)
    assert (first["status"], first["violations"], first["responseViolations"]) == (200, [], [])
    assert second["status"] == 400 and second["responseViolations"] == []
    assert second["violations"] == [
        "request: The request field is required.",
        "$.message: " + conversion_error("$.message", "System.String", len('{"message":') + len(HUGE)),
    ]


@pytest.mark.parametrize("path, violation", [
    ("/chats", "the body holds a number of 4301 digits, longer than any .NET number type writes"),
    ("/chats/reactions?chatIds=x", "the body nests 100000 levels deep; the service's serializer writes at most 32"),
])
def test_the_proxy_passes_on_an_answer_python_cannot_read_and_says_why(proxies, path, violation):
    proxy = proxies["hostile"]
    response = requests.get(proxy.base_url + path, headers={"Authorization": "Bearer x"}, timeout=10)
    assert response.status_code == 200
    assert response.content == HOSTILE_ANSWERS["/v1" + path.split("?")[0]]
    assert proxy_journal(proxy)[-1]["responseViolations"] == [violation]


# -- instants Python's datetime cannot hold --------------------------------------------------
@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_state_with_an_instant_past_year_1_or_9999_in_utc_is_refused(mock, server, instant):
    """In UTC these fall outside datetime's years 1..9999: converting them raised OverflowError."""
    mock.reset()
    before = requests.get(server.root_url + "/_mock/state", timeout=10).json()
    state = requests.get(server.root_url + "/_mock/state", timeout=10).json()
    message = next(m for s in state["sessions"] for m in s.get("messages", []))
    message["createdAt"] = instant
    response = requests.put(server.root_url + "/_mock/state", json=state, timeout=10)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "createdAt" in response.json()["detail"]
    assert requests.get(server.root_url + "/_mock/state", timeout=10).json() == before
