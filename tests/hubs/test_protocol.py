"""The SignalR server's rules without I/O (mockchats.hubs): negotiate, framing, handshake, the
connection state machine, the builders' exact bytes, SSE and long-polling framing."""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockchats import hubs

RS = "\x1e"
HANDSHAKE = '{"protocol":"json","version":1}' + RS
UNKNOWN = "Failed to invoke '{}' due to an error on the server. HubException: Method does not exist."
PROTOCOL_ERROR_CLOSE = '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}' + RS


def test_the_signalr_imitation_uses_the_standard_library_only():
    # The protocol does no I/O and stands apart, so the ASGI layer (hubs/asgi.py) can drive it
    # over every transport and it can be read alone; the hubs' model and transports are apart.
    folder = Path(hubs.__file__).parent
    for path in (folder / "__init__.py", folder / "protocol.py", folder / "negotiate.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", f"{path.name} imports {name}"
                assert top not in {"socket", "threading", "asyncio", "time", "selectors"}, f"{path.name}: I/O"


def opened(now: float = 0.0, **options) -> hubs.HubConnection:
    connection = hubs.HubConnection(now, **options)
    assert connection.receive(HANDSHAKE, now).send == ("{}" + RS,)
    return connection


# --- negotiate ---------------------------------------------------------------------------------

ID_BYTES, TOKEN_BYTES = bytes(range(16)), bytes(range(16, 32))
TRANSPORTS = ('[{"transport":"WebSockets","transferFormats":["Text","Binary"]},'
              '{"transport":"ServerSentEvents","transferFormats":["Text"]},'
              '{"transport":"LongPolling","transferFormats":["Text","Binary"]}]')


def test_negotiate_version_1_gives_a_separate_token_in_aspnets_field_order():
    body = hubs.negotiate("1", ID_BYTES, TOKEN_BYTES)
    assert hubs.dumps(body) == ('{"negotiateVersion":1,"connectionId":"AAECAwQFBgcICQoLDA0ODw",'
                                '"connectionToken":"EBESExQVFhcYGRobHB0eHw","availableTransports":' + TRANSPORTS + "}")


@pytest.mark.parametrize("value", [None, "0", [], " 0 ", "+0", "-0"])
def test_negotiate_version_0_writes_the_version_and_no_token(value):
    body = hubs.negotiate(value, ID_BYTES, TOKEN_BYTES)
    assert list(body) == ["negotiateVersion", "connectionId", "availableTransports"]
    assert body["negotiateVersion"] == 0 and body["connectionId"] == "AAECAwQFBgcICQoLDA0ODw"


@pytest.mark.parametrize("value", ["2", "99", "2147483647", " +5\t"])
def test_negotiate_version_above_1_is_1(value):
    assert hubs.negotiate(value, ID_BYTES, TOKEN_BYTES)["negotiateVersion"] == 1


@pytest.mark.parametrize("value", ["", "abc", "1.0", "1e1", "0x1", "2147483648", "1_0", "١", ["1", "1"], "9" * 5000])
def test_negotiate_version_not_an_integer_is_a_200_error_alone(value):
    assert hubs.negotiate(value, ID_BYTES, TOKEN_BYTES) == {
        "error": "The client requested a non-integer protocol version."}


def test_negotiate_version_below_0_is_refused():
    assert hubs.negotiate("-1", ID_BYTES, TOKEN_BYTES) == {
        "error": "The client requested version '-1', but the server does not support this version."}
    with pytest.raises(hubs.NegotiateError):
        hubs.negotiate_version("-3")


def test_connection_ids_are_22_characters_of_base64url():
    assert hubs.new_connection_id(b"\xff" * 16) == "_" * 21 + "w"
    assert len(hubs.new_connection_id(bytes(16))) == 22
    assert hubs.connection_ids(0, ID_BYTES, TOKEN_BYTES) == ("AAECAwQFBgcICQoLDA0ODw",) * 2
    with pytest.raises(ValueError):
        hubs.new_connection_id(b"short")


def test_the_query_key_matches_ignoring_case():
    pairs = [("NegotiateVersion", "1"), ("id", "x"), ("negotiateversion", "2")]
    assert hubs.query_values(pairs, "negotiateVersion") == ["1", "2"]
    assert hubs.query_values(pairs, "absent") == []


# --- framing -----------------------------------------------------------------------------------

def test_several_messages_in_one_chunk():
    parser = hubs.FrameParser()
    assert parser.feed('{"type":6}\x1e{"type":6}\x1e{"ty') == [b'{"type":6}', b'{"type":6}']
    assert parser.pending == 4


def test_a_message_split_across_chunks():
    parser = hubs.FrameParser()
    assert parser.feed('{"type"') == []
    assert parser.feed(b":6") == []
    assert parser.feed("}\x1e") == [b'{"type":6}']
    assert parser.pending == 0


def test_a_message_of_32767_bytes_passes_and_one_of_32768_does_not():
    parser = hubs.FrameParser()
    assert parser.feed("x" * 32767 + RS) == [b"x" * 32767]
    with pytest.raises(hubs.MessageTooLarge, match="The maximum message size of 32768B was exceeded."):
        parser.feed("x" * 32768 + RS)


def test_a_huge_message_is_refused_before_its_end_arrives():
    parser = hubs.FrameParser()
    assert parser.feed("x" * 32768) == []  # exactly the window: may still end
    with pytest.raises(hubs.MessageTooLarge):
        parser.feed("x")


def test_sizes_are_utf8_bytes():
    parser = hubs.FrameParser(max_message_size=4)
    assert parser.feed("éx" + RS) == ["éx".encode()]  # 3 bytes and the separator: within the window
    with pytest.raises(hubs.MessageTooLarge):
        parser.feed("éé" + RS)  # two characters, but four bytes
    with pytest.raises(hubs.MessageTooLarge):
        hubs.FrameParser(max_message_size=4).feed("ééé")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.binary(), st.sampled_from([RS, HANDSHAKE, '{"type":1,"target":"x"'])),
                max_size=8))
def test_the_parser_raises_only_its_own_error(chunks):
    parser = hubs.FrameParser(max_message_size=64)
    for chunk in chunks:
        try:
            parser.feed(chunk)
        except hubs.MessageTooLarge:
            pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.binary(), st.sampled_from(
    [RS, HANDSHAKE, '{"type":1,"target":"x","arguments":[]}\x1e', '{"type":', "1e999", "[" * 100])), max_size=8))
def test_a_connection_never_raises_whatever_it_receives(chunks):
    connection = hubs.HubConnection(0.0, methods={"echo": lambda value: value})
    for at, chunk in enumerate(chunks):
        actions = connection.receive(chunk, float(at))
        assert all(text.endswith(RS) for text in actions.send)
        connection.poll(float(at))


# --- handshake ---------------------------------------------------------------------------------

@pytest.mark.parametrize("request_text, version", [
    ('{"protocol":"json","version":1}', 1),
    ('{"protocol": "json", "version": 1}', 1),  # pysignalr
    ('{"protocol":"json","version":0}', 0),  # signalrcore
    ('{"protocol":"json","version":2}', 2),
    ('{"protocol":"JSON","version":-4}', -4),  # the resolver ignores case; any version up to 2
    (' \n{"version":1,"extra":[1],"protocol":"json"} trailing', 1),  # the reader stops at the object's end
])
def test_handshakes_accepted(request_text, version):
    assert hubs.parse_handshake(request_text).version == version
    connection = hubs.HubConnection(0.0)
    actions = connection.receive(request_text + RS, 0.0)
    assert actions.send == ("{}" + RS,) and not actions.close and connection.open


@pytest.mark.parametrize("request_text, error", [
    ('{"protocol":"messagepack","version":1}', "The protocol 'messagepack' is not supported."),
    ('{"protocol":"json","version":3}', "The server does not support version 3 of the 'json' protocol."),
    ('{"protocol":"Json","version":2147483647}',
     "The server does not support version 2147483647 of the 'Json' protocol."),
    ('{"version":1}', "An unexpected error occurred during connection handshake."),
    ('{"protocol":"json"}', "An unexpected error occurred during connection handshake."),
    ('{"protocol":"json","version":null}', "An unexpected error occurred during connection handshake."),
    ('{"protocol":null,"version":1}', "An unexpected error occurred during connection handshake."),
    ('{"protocol":"json","version":"1"}', "An unexpected error occurred during connection handshake."),
    ('{"protocol":"json","version":1.0}', "An unexpected error occurred during connection handshake."),
    ('{"protocol":"json","version":2147483648}', "An unexpected error occurred during connection handshake."),
    ('{"protocol":"json","version":true}', "An unexpected error occurred during connection handshake."),
    ("[]", "An unexpected error occurred during connection handshake."),
    ("", "An unexpected error occurred during connection handshake."),
    ("not json", "An unexpected error occurred during connection handshake."),
    ('{"protocol":"json","version":1', "An unexpected error occurred during connection handshake."),
])
def test_handshakes_refused_answer_the_error_then_close(request_text, error):
    with pytest.raises(hubs.HandshakeError) as refused:
        hubs.parse_handshake(request_text)
    assert refused.value.error == error
    connection = hubs.HubConnection(0.0)
    actions = connection.receive(request_text + RS + '{"type":6}' + RS, 0.0)
    assert actions.send == (json.dumps({"error": error}, separators=(",", ":")) + RS,)
    assert actions.close and connection.closed and actions.reason.startswith("handshake refused")
    assert connection.receive('{"type":6}' + RS, 1.0) == hubs.Actions()


def test_handshake_error_keeps_the_clients_spelling_and_does_not_escape_quotes():
    assert hubs.handshake_response("The protocol 'x' is not supported.") == \
        '{"error":"The protocol \'x\' is not supported."}\x1e'


def test_a_handshake_over_the_size_limit_is_canceled():
    connection = hubs.HubConnection(0.0)
    actions = connection.receive("x" * 40000, 0.0)
    assert actions.send == ('{"error":"Handshake was canceled."}' + RS,) and actions.close


def test_the_handshake_times_out_after_15_seconds():
    connection = hubs.HubConnection(10.0)
    assert connection.next_deadline() == 25.0
    assert connection.poll(24.9) == hubs.Actions()
    actions = connection.poll(25.0)
    assert actions.send == ('{"error":"Handshake was canceled."}' + RS,) and actions.close
    assert connection.next_deadline() is None


def test_a_handshake_split_across_chunks_and_followed_by_messages():
    connection = hubs.HubConnection(0.0)
    assert connection.receive('{"protocol":"js', 0.0) == hubs.Actions()
    actions = connection.receive('on","version":1}\x1e{"type":1,"invocationId":"7","target":"Nope","arguments":[]}'
                                 '\x1e', 0.0)
    assert actions.send == ("{}" + RS, '{"type":3,"invocationId":"7","error":"' + UNKNOWN.format("Nope") + '"}' + RS)


def test_events_wait_for_the_handshake():
    connection = hubs.HubConnection(0.0)
    assert connection.event("UserAdded", {}, now=0.0) == hubs.Actions()


# --- messages ----------------------------------------------------------------------------------

def test_an_unknown_method_with_an_id_gets_the_completion_error():
    connection = opened()
    actions = connection.receive('{"type":1,"invocationId":"1","target":"SendMessage","arguments":["hi"]}' + RS, 1.0)
    assert actions.send == ('{"type":3,"invocationId":"1","error":"Failed to invoke \'SendMessage\' due to an error '
                            'on the server. HubException: Method does not exist."}' + RS,)
    assert not actions.close and actions.received[0]["target"] == "SendMessage"


@pytest.mark.parametrize("message", [
    '{"type":1,"target":"SendMessage","arguments":["hi"]}',
    '{"type":1,"invocationId":"","target":"SendMessage","arguments":[]}',
    '{"type":1,"target":"","arguments":[]}',
])
def test_an_unknown_method_without_an_id_gets_nothing(message):
    connection = opened()
    actions = connection.receive(message + RS, 1.0)
    assert actions.send == () and not actions.close and connection.open


def test_a_stream_invocation_to_an_unknown_method_gets_the_same_error():
    actions = opened().receive('{"type":4,"invocationId":"2","target":"Counter","arguments":[10]}' + RS, 1.0)
    assert actions.send == ('{"type":3,"invocationId":"2","error":"' + UNKNOWN.format("Counter") + '"}' + RS,)


@pytest.mark.parametrize("message", [
    '{"type":5,"invocationId":"2"}',  # CancelInvocation
    '{"type":6}',  # Ping
    '{"type":3,"invocationId":"9","result":1}',  # a Completion for nothing the server asked
    '{"type":2,"invocationId":"9","item":1}',  # a StreamItem for a stream the server never opened
    '{"type":8,"sequenceId":1}', '{"type":9,"sequenceId":1}',  # stateful reconnect, not offered
    '{"type":42,"whatever":1}', '{"type":0}',  # types this protocol does not know: skipped
    '{"type":6} garbage after the object',
])
def test_messages_the_server_ignores(message):
    connection = opened()
    actions = connection.receive(message + RS, 1.0)
    assert actions.send == () and not actions.close and connection.open


def test_close_from_the_client_ends_the_connection_with_aspnets_close():
    connection = opened()
    actions = connection.receive('{"type":7}' + RS + '{"type":1,"invocationId":"1","target":"x","arguments":[]}' + RS,
                                 1.0)
    assert actions.send == ('{"type":7}' + RS,) and actions.close and connection.closed
    assert actions.reason == "closed by the client"
    assert connection.event("UserAdded", {}, now=2.0) == hubs.Actions()


@pytest.mark.parametrize("message", [
    "not json", "[1]", "", "\ufeff{}", '{"type":"1"}', '{"type":1.0}', '{"type":true}', '{"type":null}', "{}",
    '{"type":2147483648}', '{"type":1,"arguments":[]}', '{"type":1,"target":"x"}', '{"type":1,"target":5}',
    '{"type":1,"target":"x","arguments":{}}', '{"type":1,"invocationId":1,"target":"x","arguments":[]}',
    '{"type":1,"target":"x","arguments":[],"headers":{"a":1}}',
    '{"type":1,"target":"x","arguments":[],"streamIds":"a"}',
    '{"type":4,"target":"x"}', '{"type":5}', '{"type":5,"invocationId":""}', '{"type":3}',
    '{"type":3,"invocationId":"1","error":"e","result":1}', '{"type":2,"invocationId":"1"}',
    '{"type":2,"item":1,"invocationId":"1"}', '{"type":7,"allowReconnect":"yes"}', '{"type":7,"error":5}',
    '{"type":8}', '{"type":6,"x":NaN}', '{"type":6,"x":' + "[" * 70 + "]" * 70 + "}", '{"type":6,"x":"\udcff"}',
])
def test_malformed_messages_close_with_an_error(message):
    connection = opened()
    actions = connection.receive(message + RS + '{"type":6}' + RS, 1.0)
    assert actions.send == (PROTOCOL_ERROR_CLOSE,) and actions.close and connection.closed
    assert actions.reason


def test_invalid_utf8_closes_with_an_error():
    actions = opened().receive(b'{"type":6,"x":"\xff"}\x1e', 1.0)
    assert actions.send == (PROTOCOL_ERROR_CLOSE,) and actions.close


def test_a_huge_message_after_the_handshake_closes_with_an_error():
    connection = opened()
    actions = connection.receive('{"type":6,"x":"' + "x" * 40000, 1.0)
    assert actions.send == (PROTOCOL_ERROR_CLOSE,) and actions.close
    assert actions.reason == ("The maximum message size of 32768B was exceeded. "
                              "The message size can be configured in AddHubOptions.")


def test_several_messages_in_one_frame_are_answered_in_order():
    actions = opened().receive(''.join(
        f'{{"type":1,"invocationId":"{n}","target":"M{n}","arguments":[]}}' + RS for n in range(3)), 1.0)
    assert [json.loads(text[:-1])["invocationId"] for text in actions.send] == ["0", "1", "2"]
    assert len(actions.received) == 3


# --- the table of callable methods --------------------------------------------------------------

def hub_methods():
    def fail():
        raise RuntimeError("secret detail")

    def refuse():
        raise hubs.HubError("Not in this session.")

    return {"Echo": lambda value: value, "Nothing": lambda: None, "Fail": fail, "Refuse": refuse}


@pytest.mark.parametrize("call, answer", [
    ('"target":"Echo","arguments":[{"a":"é😀"}]', '"result":{"a":"é\\uD83D\\uDE00"}'),
    ('"target":"echo","arguments":[1]', '"result":1'),  # names match ignoring case
    ('"target":"Nothing","arguments":[]', '"result":null'),
    ('"target":"Echo","arguments":[]', '"error":"Failed to invoke \'Echo\' due to an error on the server."'),
    ('"target":"Fail","arguments":[]', '"error":"An unexpected error occurred invoking \'Fail\' on the server."'),
    ('"target":"Refuse","arguments":[]',
     '"error":"An unexpected error occurred invoking \'Refuse\' on the server. HubException: Not in this session."'),
    ('"target":"Echo","arguments":[1],"streamIds":["s"]',
     '"error":"An unexpected error occurred invoking \'Echo\' on the server. HubException: Client sent 1 stream(s), '
     'Hub method expects 0."'),
])
def test_callable_methods_answer_as_aspnet(call, answer):
    connection = opened(methods=hub_methods())
    actions = connection.receive('{"type":1,"invocationId":"5",' + call + "}" + RS, 1.0)
    assert actions.send == ('{"type":3,"invocationId":"5",' + answer + "}" + RS,)


def test_callable_methods_without_an_id_answer_nothing():
    calls = []
    connection = opened(methods={"Record": calls.append})
    assert connection.receive('{"type":1,"target":"Record","arguments":[3]}' + RS, 1.0).send == ()
    assert calls == [3]


def test_a_stream_invocation_of_a_plain_method_is_refused():
    actions = opened(methods=hub_methods()).receive(
        '{"type":4,"invocationId":"8","target":"Echo","arguments":[1]}' + RS, 1.0)
    assert actions.send == ('{"type":3,"invocationId":"8","error":"The client attempted to invoke the non-streaming '
                            '\'Echo\' method with a streaming invocation."}' + RS,)


# --- keep-alive and timeouts -----------------------------------------------------------------

def test_a_ping_is_due_15_seconds_after_the_last_send():
    connection = opened(now=100.0)
    assert connection.next_deadline() == 115.0
    assert connection.poll(114.9) == hubs.Actions()
    assert connection.event("UserAdded", {"x": 1}, now=110.0).send  # a send resets the interval
    assert connection.poll(124.9) == hubs.Actions()
    assert connection.poll(125.0).send == ('{"type":6}' + RS,)
    assert connection.next_deadline() == 140.0


def test_the_keep_alive_interval_is_configurable():
    connection = opened(keep_alive_interval=2.0)
    assert connection.poll(2.0).send == ('{"type":6}' + RS,)


def test_the_client_timeout_starts_with_the_clients_first_ping():
    connection = opened(keep_alive_interval=1000.0)
    assert connection.poll(500.0) == hubs.Actions()  # no ping from the client: no timeout
    connection.receive('{"type":6}' + RS, 500.0)
    assert connection.next_deadline() == 530.0
    connection.receive('{"type":6}' + RS, 520.0)
    assert connection.poll(549.0) == hubs.Actions()
    actions = connection.poll(550.0)
    assert actions.send == ('{"type":7,"allowReconnect":true}' + RS,) and actions.close
    assert actions.reason == "client timed out"


# --- the server's own closes and pushes ----------------------------------------------------

def test_event_pushes_an_invocation_without_an_id():
    connection = opened()
    actions = connection.event("UserAdded", {"sessionId": "s", "eventType": "UserAdded", "data": {}}, now=1.0)
    assert actions.send == ('{"type":1,"target":"UserAdded","arguments":[{"sessionId":"s","eventType":"UserAdded",'
                            '"data":{}}]}' + RS,)


@pytest.mark.parametrize("options, text", [
    ({}, '{"type":7}'),
    ({"error": "The session was not found."}, '{"type":7,"error":"The session was not found."}'),
    ({"allow_reconnect": True}, '{"type":7,"allowReconnect":true}'),
    ({"error": "The mock was reset.", "allow_reconnect": True},
     '{"type":7,"error":"The mock was reset.","allowReconnect":true}'),
])
def test_the_server_closes_with_a_close_message(options, text):
    connection = opened()
    actions = connection.close(1.0, **options)
    assert actions.send == (text + RS,) and actions.close and connection.closed
    assert connection.close(2.0) == hubs.Actions() and connection.poll(99.0) == hubs.Actions()


def test_closing_before_the_handshake_sends_nothing():
    connection = hubs.HubConnection(0.0)
    actions = connection.close(1.0, error="The mock was reset.")
    assert actions.send == () and actions.close


def test_drop_ends_without_a_close_message():
    connection = opened()
    actions = connection.drop()
    assert actions == hubs.Actions(close=True, reason="dropped") and connection.closed


# --- builders, byte for byte ---------------------------------------------------------------

def test_builders_write_compact_json_in_aspnets_key_order():
    assert hubs.invocation("SessionExpired", {"sessionId": "s", "eventType": "SessionExpired", "data": {}}) == \
        '{"type":1,"target":"SessionExpired","arguments":[{"sessionId":"s","eventType":"SessionExpired","data":{}}]}\x1e'
    assert hubs.invocation("NoArguments") == '{"type":1,"target":"NoArguments","arguments":[]}\x1e'
    assert hubs.ping() == '{"type":6}\x1e'
    assert hubs.close_message() == '{"type":7}\x1e'
    assert hubs.close_message(error="") == '{"type":7,"error":""}\x1e'  # an empty string is still an error
    assert hubs.completion("1") == '{"type":3,"invocationId":"1"}\x1e'
    assert hubs.completion("1", result=[1, True, None]) == '{"type":3,"invocationId":"1","result":[1,true,null]}\x1e'
    assert hubs.handshake_response() == "{}\x1e"


def test_dumps_writes_text_as_system_text_json():
    assert hubs.dumps({"name": "Zoë <b>&'\"\\\n\u2028"}) == '{"name":"Zoë <b>&\'\\"\\\\\\n\u2028"}'
    assert hubs.dumps("😀") == '"\\uD83D\\uDE00"'
    assert hubs.dumps("\udcff") == '"\\udcff"'  # a lone surrogate cannot be UTF-8: escaped


# --- SSE and long polling ------------------------------------------------------------------

def test_sse_framing():
    assert hubs.SSE_PREAMBLE == ":\r\n"
    assert hubs.sse_event('{"type":6}\x1e') == 'data: {"type":6}\x1e\r\n\r\n'
    assert hubs.sse_event("a\nb\r\nc") == "data: a\r\ndata: b\r\ndata: c\r\n\r\n"
    assert hubs.sse_event("a\n") == "data: a\r\ndata: \r\n\r\n"
    assert hubs.sse_event("\r\nx") == "data: \r\r\ndata: x\r\n\r\n"  # a one-byte line keeps its \r, as ASP.NET
    assert hubs.sse_event("") == "\r\n"


def test_long_poll_body_concatenates_framed_messages():
    assert hubs.long_poll_body([hubs.ping(), hubs.close_message()]) == '{"type":6}\x1e{"type":7}\x1e'
    assert hubs.long_poll_body([]) == ""


def test_actions_combine_in_order():
    first = hubs.Actions(send=("a",))
    second = hubs.Actions(send=("b",), close=True, reason="done")
    assert first + second == hubs.Actions(send=("a", "b"), close=True, reason="done")
