"""Shared fixtures: one real mockchats server on a loopback port, reset for every test; and
``mockchats serve`` for a module. The helpers are in support.py."""
from __future__ import annotations

import pytest
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
def api(mock, server) -> Api:
    mock.store.reset()
    return Api(server.root_url)


@pytest.fixture(scope="module")
def granian():
    """``mockchats serve`` (granian) for a module's tests; it must stop cleanly."""
    with ServeProcess() as served:
        yield served
        code, _, err = served.stop()
    assert code == 0 and "Traceback" not in err, err
