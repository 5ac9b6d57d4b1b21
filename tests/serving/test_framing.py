"""Malformed request framing, over raw sockets, on every server the mock runs on.

Kestrel answers a request whose framing it cannot read (a bad chunk size, a body that ends
early, a Content-Length it cannot parse) with an empty 400 and closes the connection. No such
request may reach the app (nothing journaled, nothing changed), get a 500, or be left
unanswered. ``mockchats serve`` (granian's forked worker), mockchats.Server in this process
(granian's embedded server, as the pytest plugin serves) and the proxy all answer as Kestrel
does. A client that ends its side with a body still owed is answered too.
"""
from __future__ import annotations

import socket
import struct
import time
from urllib.parse import urlsplit

import pytest
import requests
import support
from support import raw_exchange as exchange

import mockchats
from mockchats.contract.proxy import ContractProxy, ProxyServer

HEAD = (b"POST /v1/chats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\n"
        b"Content-Type: application/json\r\n")
CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"

# (name, request bytes, whether the client then ends its side): each is a malformed request.
MALFORMED = [
    ("a chunk size that is not hex", CHUNKED + b'zz\r\n{"message":"x"}\r\n0\r\n\r\n', False),
    ("a chunk shorter than its size", CHUNKED + b'40\r\n{"message":"x"}', True),
    ("a 20-digit chunk size", CHUNKED + b"1" * 20 + b'\r\n{"message":"x"}\r\n0\r\n\r\n', False),
    ("a 5,000-digit chunk size", CHUNKED + b"1" * 5000 + b'\r\n{"message":"x"}\r\n0\r\n\r\n', False),
    ("a body shorter than its Content-Length", HEAD + b'Content-Length: 64\r\n\r\n{"message":"x"}', True),
    ("a 5,000-digit Content-Length", HEAD + b"Content-Length: " + b"1" * 5000 + b'\r\n\r\n{"message":"x"}', False),
    ("a bad chunk size on the control plane",
     b"POST /_mock/reset HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", False),
]


def assert_empty_400(answer: tuple[str, dict, bytes]) -> None:
    status, headers, body = answer
    assert status.startswith("HTTP/1.1 400 "), answer
    assert (headers.get("content-length"), headers.get("connection"), body) == ("0", "close", b""), answer


def untouched(root_url: str) -> None:
    """Nothing reached the app: its journal is empty."""
    assert requests.get(root_url + "/_mock/requests", timeout=10).json() == []


@pytest.fixture(scope="module")
def plugin():
    """A default mock on mockchats.Server, as the pytest plugin serves it."""
    server = mockchats.Server(mockchats.build(), port=0).start()
    yield server
    server.stop()


def reset(served) -> tuple[str, str, int]:
    root = served.base_url.removesuffix("/v1")
    support.reset(root)
    parts = urlsplit(root)
    return root, parts.hostname, parts.port


@pytest.mark.parametrize("serving", ["granian", "plugin"])
@pytest.mark.parametrize("name, data, end", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_framing_is_an_empty_400(request, serving, name, data, end):
    root, host, port = reset(request.getfixturevalue(serving))
    before = requests.get(root + "/v1/chats", headers={"Authorization": "Bearer alice-token"}, timeout=10).json()
    requests.delete(root + "/_mock/requests", timeout=10).raise_for_status()
    assert_empty_400(exchange(host, port, data, end))
    untouched(root)
    after = requests.get(root + "/v1/chats", headers={"Authorization": "Bearer alice-token"}, timeout=10).json()
    assert after == before


@pytest.mark.parametrize("serving", ["granian", "plugin"])
def test_a_huge_content_length_is_answered_as_an_unreadable_one(request, serving):
    _, host, port = reset(request.getfixturevalue(serving))
    huge = exchange(host, port, HEAD + b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n{}")
    unreadable = exchange(host, port, HEAD + b"Content-Length: abc\r\n\r\n{}")
    assert huge[0] == unreadable[0] and huge[0].startswith("HTTP/1.1 400 ")
    assert huge[2] == unreadable[2]


@pytest.mark.parametrize("serving", ["granian", "plugin"])
def test_a_chunk_size_within_bounds_still_works(request, serving):
    """Chunk sizes are refused only where they could never be a body: leading zeros pass."""
    root, host, port = reset(request.getfixturevalue(serving))
    body = b'{"message":"zero-padded"}'
    status, _, answer = exchange(host, port, CHUNKED.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n")
                                 + b"%040x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert status.startswith("HTTP/1.1 200 ") and b"zero-padded" in answer


@pytest.fixture(scope="module")
def proxy(server):
    served = ProxyServer(ContractProxy(server.base_url), port=0).start()
    yield served
    served.stop()


@pytest.mark.parametrize("name, data, end", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_the_proxy_answers_malformed_framing_with_an_empty_400(mock, proxy, name, data, end):
    mock.reset()
    assert_empty_400(exchange(proxy.host, proxy.port, data, end))
    assert mock.journal.entries() == []  # nothing forwarded


@pytest.mark.parametrize("server_name", ["granian", "plugin"])
def test_an_upload_abandoned_mid_body_changes_nothing_and_the_server_goes_on(request, server_name):
    """The client closes its whole connection mid-body: the answer has nobody to go to, and
    sending it must not upset the server (its log is checked when the module ends)."""
    served = request.getfixturevalue(server_name)
    root, host, port = reset(served)
    requests.delete(root + "/_mock/requests", timeout=10).raise_for_status()
    for data in (CHUNKED + b'40\r\n{"message":"x"}', HEAD + b'Content-Length: 64\r\n\r\n{"message":"x"}'):
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(data)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # SO_LINGER 0: closed with a reset, the harshest way to leave.
    time.sleep(0.3)  # the server sees the reset
    untouched(root)
    listed = requests.get(root + "/v1/chats", headers={"Authorization": "Bearer alice-token"}, timeout=10)
    assert listed.status_code == 200
