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
