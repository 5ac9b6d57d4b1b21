"""Shared fixtures: one real mockchats server on a loopback port, reset for every test;
``mockchats serve`` for a module; and a module's own server with the chat hub on (``chat_server``,
``chat_api`` resetting it around each test, ``hubs`` opening its connections). The helpers are in support.py."""
from __future__ import annotations

import pytest
from hubs.clients import RawHub
from support import Api, ServeProcess

import mockchats


@pytest.fixture(scope="session")
def mock():
    return mockchats.build()


@pytest.fixture(scope="session")
def server(mock):
    server = mockchats.Server(mock.app, port=0).start()
    yield server
    server.stop()


@pytest.fixture
def fresh(mock):
    """The session mock as at start, before and after: its state, faults, clock, journal and auth
    mode never leak from one test into another. Other servers are reset with support.reset."""
    mock.reset()
    yield mock
    mock.reset()


@pytest.fixture
def api(fresh, server) -> Api:
    return Api(server.root_url)


@pytest.fixture(scope="module")
def granian():
    """``mockchats serve`` (granian) for a module's tests; it must stop cleanly."""
    with ServeProcess() as served:
        yield served
        code, _, err = served.stop()
    assert code == 0 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def chat_mock():
    return mockchats.build(chat_hub=True)


@pytest.fixture(scope="module")
def chat_server(chat_mock):
    server = mockchats.Server(chat_mock.app, port=0).start()
    yield server
    server.stop()


@pytest.fixture
def chat_api(chat_mock, chat_server) -> Api:
    chat_mock.reset()  # closes the previous test's connections, and forgets what was sent
    yield Api(chat_server.root_url)
    chat_mock.reset()


@pytest.fixture
def hubs(chat_api):
    """``hubs(token, hub="chat")`` opens a RawHub to the chat server; all are closed afterwards."""
    opened: list[RawHub] = []

    def connect(token: str, hub: str = "chat") -> RawHub:
        opened.append(RawHub(chat_api.root_url, token, hub=hub))
        return opened[-1]

    yield connect
    for hub in opened:
        hub.close()
