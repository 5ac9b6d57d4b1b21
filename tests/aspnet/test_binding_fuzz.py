"""The binder and the contract checks against arbitrary, hostile input (Hypothesis).

Whatever a client sends, binding ends in a binding or a :class:`BindingFailed`, never
another exception (a 500): Python's own parsing limits -- recursion depth, the
4,300-digit int conversion limit, float overflow, lone surrogates, NUL -- must never
reach the caller. The same holds for ``check_request`` and ``check_response``, which
the journal and ``mockchats proxy`` run on every request and answer.
"""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mockchats import aspnet
from mockchats.aspnet.binding import BindingFailed, RequestBinder
from mockchats.contract.checks import Contract
from mockchats.core.spec import Spec

SPEC = Spec()
CONTRACT = Contract(SPEC)
BINDERS = {op.operation_id: RequestBinder(op) for op in SPEC.operations}
BODY_OPERATIONS = sorted(op.operation_id for op in SPEC.operations if op.body_schema is not None)
#: MOCKCHATS_FUZZ_EXAMPLES=20000 hunts longer than the suite's quick pass.
FUZZ = settings(max_examples=int(os.environ.get("MOCKCHATS_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
#: Longest message an error may carry: it names the place and at most a character or a short value.
MAX_MESSAGE = 400

# -- JSON-ish text ----------------------------------------------------------------
# Built as text, not through json.dumps, so the hostile spellings Python's parser has
# limits on reach the binder as a client would send them.
huge_integers = st.sampled_from([4300, 4301, 5000, 20_000]).flatmap(
    lambda digits: st.sampled_from(["", "-"]).map(lambda sign: sign + "9" * digits))
numbers = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    huge_integers,
    st.sampled_from(["1e999", "-1e999", "1E+400", "0.5e-999", "1" * 5000 + ".5", "-0", "1.0",
                     "NaN", "Infinity", "-Infinity", "01", "1.", ".5", "+1", "-", "1e", "0x10"]),
)
escapes = st.sampled_from(["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\ud83d", "\\ude00x", "\\u0000",
                           "\\n", "\\\"", "\\\\", "\\u12", "\\x", "\\/"])
raw_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
strings = st.lists(st.one_of(raw_text.map(lambda t: json.dumps(t, ensure_ascii=False)[1:-1]),
                             escapes, st.sampled_from(["\x00", "\x1f", "\u2028", "é", "😀"])),
                   max_size=4).map(lambda parts: '"' + "".join(parts) + '"')
keys = st.one_of(st.sampled_from(['"message"', '"Message"', '"MESSAGE"', '"reaction"', '"Reaction"',
                                  '"\\ud800"', '"mess\\u0061ge"', '""', '"x"']), strings)
scalars = st.one_of(st.sampled_from(["null", "true", "false", "True", "nul"]), numbers, strings)


def _containers(children):
    arrays = st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]")
    objects = st.lists(st.tuples(keys, children), max_size=4).map(
        lambda members: "{" + ",".join(f"{k}:{v}" for k, v in members) + "}")
    return st.one_of(arrays, objects)


json_values = st.recursive(scalars, _containers, max_leaves=12)
deep = st.tuples(st.integers(30, 3000), st.sampled_from(["[", "{\"a\":", "[{\"b\":"])).map(
    lambda spec: spec[1] * spec[0])
bodies = st.one_of(
    st.tuples(keys, json_values, st.lists(st.tuples(keys, json_values), max_size=3)).map(
        lambda t: "{" + ",".join(f"{k}:{v}" for k, v in [(t[0], t[1]), *t[2]]) + "}"),
    json_values,
    deep,
    deep.map(lambda opening: '{"message":"hi","x":' + opening),
)


@st.composite
def mangled(draw, texts=bodies):
    """A body, maybe cut short, with a character slipped in, padded, or re-encoded."""
    text = draw(texts)
    how = draw(st.sampled_from(["as is", "cut", "insert", "pad"]))
    if how == "cut" and text:
        text = text[:draw(st.integers(0, len(text) - 1))]
    elif how == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([",", "}", "]", ":", '"', "\\", "\x00", "\ud800", " "])) + text[at:]
    elif how == "pad":
        text = draw(st.sampled_from(["", " ", "\ufeff", "\t\n"])) + text + draw(st.sampled_from(["", " x", "}"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16"]))
    data = text.encode("utf-8" if encoding == "utf-8" else "utf-16-le", "surrogatepass")
    return data, encoding


def _assert_answerable(outcome, limit: int = MAX_MESSAGE) -> None:
    """What the mock would answer can be written: UTF-8 JSON, messages short and readable."""
    if isinstance(outcome, BindingFailed):
        assert outcome.status in (400, 415)
        body = aspnet.validation_problem(outcome.errors) if outcome.status == 400 else aspnet.problem(415)
        aspnet.dumps(body).decode("utf-8")
        for key, messages in outcome.errors.items():
            assert isinstance(key, str) and len(key) <= limit
            for message in messages:
                assert isinstance(message, str) and 0 < len(message) <= limit, message
    else:
        assert isinstance(outcome, dict)
        # What binds is stored and served again: it must encode as UTF-8 JSON.
        aspnet.dumps(outcome).decode("utf-8")
        for value in outcome.values():
            assert isinstance(value, str)
            value.encode("utf-8")


def _bind(operation_id: str, data: bytes, encoding: str = "utf-8"):
    binder = BINDERS[operation_id]
    try:
        return binder.bind_body(data, [], encoding)
    except BindingFailed as exc:
        return exc


# -- the body binder ---------------------------------------------------------------
@FUZZ
@given(operation_id=st.sampled_from(BODY_OPERATIONS), body=mangled())
@example(operation_id="createChat", body=(b'{"message":"hi","x":' + b"1" * 4301 + b"}", "utf-8"))
@example(operation_id="createChat", body=(b'{"message":' + b"1" * 4301 + b"}", "utf-8"))
@example(operation_id="addReaction", body=(b'{"reaction":":thumbs_up:","n":[' + b"-" + b"7" * 9000 + b"]}", "utf-8"))
@example(operation_id="createChat", body=(b'{"message":1e999}', "utf-8"))
@example(operation_id="createChat", body=(b'{"\\ud800":1,"message":"hi"}', "utf-8"))
@example(operation_id="createChat", body=(b'{"message":"a\\u0000b","x":"\\udfff"}', "utf-8"))
@example(operation_id="createChat", body=(b"[" * 100_000, "utf-8"))
@example(operation_id="createChat", body=(b'{"message":"NaN","x":NaN}', "utf-8"))
def test_binding_a_body_never_raises(operation_id, body):
    data, encoding = body
    _assert_answerable(_bind(operation_id, data, encoding))


@FUZZ
@given(data=st.binary(max_size=200))
def test_binding_any_bytes_never_raises(data):
    for operation_id in BODY_OPERATIONS:
        _assert_answerable(_bind(operation_id, data))


@FUZZ
@given(content_type=st.one_of(st.none(), st.text(max_size=60),
                              st.sampled_from(["application/json; charset=utf-16", "text/json;charset=\"x\"",
                                               "application/x+json; charset=", "application/json\x00"])))
def test_checking_a_media_type_never_raises(content_type):
    try:
        RequestBinder.check_media_type(content_type)
    except BindingFailed as exc:
        assert exc.status == 415


# -- the query binder --------------------------------------------------------------
query_keys = st.one_of(st.sampled_from(["Take", "take", "Skip", "SortBy", "Ascending", "chatIds",
                                        "chatIds[0]", "chatIds[1]", "chatIds[99999999999999999999]",
                                        "chatIds[" + "0" * 5000 + "]", "chatIds[٣]", "%00", "Take%00"]),
                       st.text(max_size=10))
query_values = st.one_of(numbers, huge_integers, st.text(max_size=10),
                         st.sampled_from(["", "0x7FFFFFFF", "&h1F", "#FFFFFFFFF", "0" * 5000 + "1", "%ff",
                                          "%ud800", "%00", "+", " 1 ", "true\x00"]))
query_strings = st.one_of(
    st.lists(st.tuples(query_keys, query_values), max_size=5).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
    st.binary(max_size=100).map(lambda raw: raw.decode("latin-1")),
).map(lambda text: text.encode("utf-8", "surrogatepass").decode("latin-1"))  # WSGI's QUERY_STRING


@FUZZ
@given(operation_id=st.sampled_from(sorted(BINDERS)), query_string=query_strings)
@example(operation_id="listChats", query_string="Take=" + "9" * 5000)
@example(operation_id="listChats", query_string="Skip=" + "0" * 5000 + "1")
@example(operation_id="listReactions", query_string="chatIds[" + "1" * 5000 + "]=x")
def test_binding_a_query_never_raises(operation_id, query_string):
    try:
        outcome = BINDERS[operation_id].bind_query_string(query_string, [])
    except BindingFailed as exc:
        outcome = exc
    if isinstance(outcome, BindingFailed):
        # The framework quotes a query value whole ("The value '...' is not valid for Take."),
        # and Kestrel bounds the request line: nothing longer than what was sent comes back.
        _assert_answerable(outcome, limit=MAX_MESSAGE + len(query_string))
    else:
        aspnet.dumps(outcome).decode("utf-8")


# -- the contract checks (journal, proxy) ------------------------------------------
paths = st.one_of(
    st.sampled_from(["/v1/chats", "/v1/chats/reactions", "/v1/chats/x/reactions", "/v1/CHATS/",
                     "/v1/chats/%00", "/v1/chats/%ff/reactions", "/v1/chats/%2F", "/v1/../v1/chats",
                     "/v1/chats/\x00", "/", "", "//", "/v1/chats/" + "a" * 5000]),
    st.text(max_size=30).map(lambda t: "/v1/" + t),
)


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "OPTIONS", "get", "\x00"]), path=paths,
       query=st.lists(st.tuples(query_keys, query_values), max_size=4),
       authorization=st.sampled_from([None, "Bearer x", "Bearer", "bearer \x00", "Basic a"]),
       content_type=st.sampled_from([None, "application/json", "text/plain", "application/json; charset=utf-16"]),
       body=st.one_of(st.none(), mangled().map(lambda b: b[0])))
@example(method="POST", path="/v1/chats", query=[], authorization="Bearer x", content_type="application/json",
         body=b'{"message":' + b"1" * 4301 + b"}")
def test_checking_a_request_never_raises(method, path, query, authorization, content_type, body):
    headers = {name: value for name, value in [("Authorization", authorization), ("Content-Type", content_type)]
               if value is not None}
    operation, violations, warnings = CONTRACT.check_request(method, path, query, headers, body)
    assert all(isinstance(line, str) for line in violations + warnings)


@FUZZ
@given(operation_id=st.sampled_from(sorted(BINDERS)), status=st.sampled_from([200, 204, 400, 401, 404, 500]),
       content_type=st.sampled_from(["application/json", "application/problem+json", None]),
       body=st.one_of(mangled().map(lambda b: b[0]), st.binary(max_size=100)))
@example(operation_id="listChats", status=200, content_type="application/json",
         body=b'{"messages":[],"totalCount":' + b"1" * 4301 + b"}")
@example(operation_id="listChats", status=200, content_type="application/json", body=b"[" * 100_000)
@example(operation_id="listChats", status=200, content_type="application/json", body=b'{"totalCount":1e999}')
def test_checking_a_response_never_raises(operation_id, status, content_type, body):
    operation = CONTRACT.operation(operation_id)
    headers = {"Content-Type": content_type} if content_type else {}
    violations = CONTRACT.check_response(operation, status, headers, body)
    assert all(isinstance(line, str) and len(line) <= 2 * MAX_MESSAGE for line in violations), violations


@pytest.mark.parametrize("body, found", [
    (b'{"messages":[],"totalCount":' + b"1" * 4301 + b"}",
     "the body holds a number of 4301 digits, longer than any .NET number type writes"),
    (b"[" * 100_000 + b"]" * 100_000, "the body nests 100000 levels deep; the service's serializer writes at most 32"),
    (b"\xff{}", "the body is not UTF-8 (byte 0): "),
])
def test_a_response_python_cannot_read_is_one_violation_saying_why(body, found):
    operation = CONTRACT.operation("listChats")
    [violation] = CONTRACT.check_response(operation, 200, {"Content-Type": "application/json"}, body)
    assert violation.startswith(found), violation


@pytest.fixture
def lowered_int_digits():
    """A host process (a partner's test run) that lowers Python's int digit limit after import."""
    import sys

    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)  # the lowest Python allows
    yield
    sys.set_int_max_str_digits(before)


def test_a_lowered_int_digit_limit_is_honoured_when_binding_and_checking(lowered_int_digits):
    number = b"7" * 700
    assert _bind("createChat", b'{"message":"hi","n":' + number + b"}") == {"message": "hi"}
    refused = _bind("createChat", b'{"message":' + number + b"}")
    assert isinstance(refused, BindingFailed) and list(refused.errors) == ["request", "$.message"]
    violations = CONTRACT.check_response(CONTRACT.operation("listChats"), 200, {"Content-Type": "application/json"},
                                         b'{"messages":[],"totalCount":' + number + b"}")
    assert violations == ["the body holds a number of 700 digits, longer than any .NET number type writes"]
