"""The plugin's hub kit, run as a partner runs it (pytest in a subprocess, as test_plugin.py does):
the README's pysignalr example as written, and ``hub_url``, ``events``, ``push_event``,
``close_hub_connections`` and the marker's ``chat_hub=True`` over real WebSockets."""
from __future__ import annotations

import re
from pathlib import Path

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example(first_line: str) -> str:
    """The README's Python block that begins with ``first_line``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    (block,) = [b for b in blocks if b.startswith(first_line)]
    return block


#: What a partner writes with a plain WebSocket client: the kit's calls, checked against what the
#: client itself received.
KIT_TESTS = r'''
import json

import pytest
import requests
import websocket

RS = "\x1e"


def connect(url, token):
    socket = websocket.create_connection(url.replace("http://", "ws://") + f"?access_token={token}", timeout=5)
    socket.send(json.dumps({"protocol": "json", "version": 1}) + RS)
    assert socket.recv() == "{}" + RS
    return socket


def received(socket):
    while True:
        message = json.loads(socket.recv().rstrip(RS))
        if message.get("type") != 6:
            return message


def test_the_urls(mockchats):
    assert mockchats.hub_url() == mockchats.url + "/hubs/session"
    assert mockchats.hub_url("chat") == mockchats.url + "/hubs/chat"
    negotiate = requests.post(mockchats.hub_url("chat") + "/negotiate", headers=mockchats.headers("host"))
    assert negotiate.status_code == 404  # no chat hub without the marker


def test_push_event_reaches_the_default_session(mockchats):
    socket = connect(mockchats.hub_url(), mockchats.tokens["alice"])
    assert mockchats.push_event("FileAdded", {"fileId": "f1"}) == 1
    default = mockchats.control.sessions()[0]["sessionId"]
    assert received(socket) == {"type": 1, "target": "FileAdded", "arguments": [
        {"sessionId": default, "eventType": "FileAdded", "data": {"fileId": "f1"}}]}
    [event] = mockchats.events()
    assert (event["hub"], event["eventType"], event["data"], event["delivered"]) == (
        "session", "FileAdded", {"fileId": "f1"}, 1)
    assert mockchats.push_event("FileAdded", {}, session_id="nobody-there") == 0
    assert mockchats.events("chat") == []
    socket.close()


def test_events_begin_with_the_test(mockchats):
    assert mockchats.events() == []


def test_close_hub_connections(mockchats):
    socket = connect(mockchats.hub_url(), mockchats.tokens["host"])
    assert mockchats.close_hub_connections(allow_reconnect=True) == 1
    assert received(socket) == {"type": 7, "allowReconnect": True}
    dropped = connect(mockchats.hub_url(), mockchats.tokens["host"])
    assert mockchats.close_hub_connections(drop=True) == 1
    try:
        frame = dropped.recv()
    except websocket.WebSocketConnectionClosedException:
        frame = ""
    assert frame == ""  # the socket closed with no Close message
    assert mockchats.close_hub_connections() == 0


@pytest.mark.mockchats(chat_hub=True)
def test_the_chat_hub_under_the_marker(mockchats):
    socket = connect(mockchats.hub_url("chat"), mockchats.tokens["bob"])
    made = requests.post(f"{mockchats.url}/chats", json={"message": "hub, hear me"}, headers=mockchats.headers("alice"))
    assert made.status_code == 200
    message = received(socket)
    assert message["target"] == "MessageCreated"
    assert message["arguments"][0]["data"]["chatId"] == made.json()["chatId"]
    [event] = mockchats.events("chat")
    assert event["data"]["message"] == "hub, hear me" and event["delivered"] == 1
    pin = mockchats.pin(made.json()["chatId"])
    assert received(socket)["arguments"][0]["data"] == {"chatId": pin["chatId"], "pinId": pin["pinId"]}
    assert mockchats.push_event("Typing", {"userId": "x"}, hub="chat") == 1
    assert received(socket)["target"] == "Typing"
    socket.close()


@pytest.mark.mockchats(chat_hub=True, scenario="empty")
def test_the_marked_tests_share_their_server_and_start_clean(mockchats):
    assert mockchats.events() == []
    assert mockchats.status["scenario"] == "empty"
    assert requests.post(mockchats.hub_url("chat") + "/negotiate", headers=mockchats.headers("host")).status_code == 200
'''


def test_the_readme_example_hears_a_join(pytester):
    example = readme_example("# test_realtime.py")
    pytester.makepyfile(test_realtime=example)
    # An unawaited task or an unclosed socket of the example's would show as this warning.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           "-W", "error::pytest.PytestUnraisableExceptionWarning")
    result.assert_outcomes(passed=1)


def test_the_hub_kit(pytester):
    pytester.makepyfile(test_kit=KIT_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=6)
