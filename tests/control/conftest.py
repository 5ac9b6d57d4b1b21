"""The control tests' fixtures: the plane of the session's server (``plane``, checking every
answer against /_mock/openapi.json) and its Python client (``control``), the default session,
servers of a test's own (``serve``), and a world with something in every part (``busy``)."""
from __future__ import annotations

import pytest
from support import ZED_AND_YAN, Plane

import mockchats
from mockchats import Control


@pytest.fixture
def plane(server) -> Plane:
    return Plane(server.root_url)


@pytest.fixture
def control(server) -> Control:
    return Control(server.root_url)


@pytest.fixture
def default_session(plane) -> str:
    return plane.ok("GET", "/state")["sessions"][0]["id"]


@pytest.fixture
def serve():
    """Start other mocks on their own servers: ``serve(mock)`` -> Server, stopped afterwards."""
    started = []

    def start(mock):
        started.append(mockchats.Server(mock.app, port=0).start())
        return started[-1]
    yield start
    for server in started:
        server.stop()


@pytest.fixture
def busy(plane, api, default_session):
    """A world with something in every part: a session, a fault, a frozen clock, a message, a pin
    and journal entries, so that "nothing changed" means something."""
    session = plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    message = api.create("before the wrong call")
    plane.ok("POST", f"/sessions/{default_session}/pins", 201, json={"chatId": message["chatId"]})
    plane.ok("POST", "/faults", 201, json={"operationId": "deleteReaction", "status": 503, "times": 3})
    plane.ok("POST", "/clock", json={"freeze": "2031-05-05T05:05:05Z"})
    api.get("/chats", params={"take": 3})
    return {"session": session, "message": message}
