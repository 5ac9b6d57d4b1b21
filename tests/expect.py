"""Assertions shared by the test files: what a refusal looks like, and "nothing changed"."""
from __future__ import annotations

import contextlib
import copy

NOT_FOUND_TYPE = "https://tools.ietf.org/html/rfc9110#section-15.5.5"


def snapshot(api) -> tuple[list, list]:
    """Everything a client can see of the session: its messages and their reactions."""
    messages = api.all_messages()
    reactions = api.get("/chats/reactions", params={"chatIds": [m["chatId"] for m in messages]})
    assert reactions.status_code == 200, reactions.text
    return messages, reactions.json()


@contextlib.contextmanager
def nothing_changes(api):
    before = snapshot(api)
    yield
    assert snapshot(api) == before, "a refused request changed the session"


def assert_unauthorized(response, challenge: str) -> None:
    """JwtBearer's challenge: 401, no body, the given WWW-Authenticate."""
    assert response.status_code == 401
    assert response.content == b""
    assert "Content-Type" not in response.headers
    assert response.headers["WWW-Authenticate"] == challenge


def assert_forbidden(response) -> None:
    """Forbid(): 403, no body, no challenge."""
    assert response.status_code == 403
    assert response.content == b""
    assert "Content-Type" not in response.headers
    assert "WWW-Authenticate" not in response.headers


def assert_not_found(response) -> None:
    """NotFound() in an [ApiController]: 404 problem+json."""
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["type"], body["title"], body["status"]) == (NOT_FOUND_TYPE, "Not Found", 404)


def data_of(document: dict) -> dict:
    """A fixture document without descriptions, with optional lists filled in."""
    document = copy.deepcopy(document)
    document.pop("description", None)
    for session in document["sessions"]:
        session.pop("description", None)
        session.setdefault("messages", [])
        for message in session["messages"]:
            message.setdefault("reactions", [])
    return document
