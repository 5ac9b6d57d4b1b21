"""A request a delay fault holds across a reset, a scenario load or a state import.

It belongs to a world that is gone: it must change nothing in the new one, stay out of
the new journal, and be answered 503 problem+json saying why. Checked over real HTTP on
both servings: ``mockchats serve`` (granian's forked worker) and mockchats.Server in this
process (granian's embedded server, as the pytest plugin runs it).
"""
from __future__ import annotations

import threading
import time

import pytest
import requests
from support import SERVINGS, served_root

ALICE = {"Authorization": "Bearer alice-token"}
DETAIL = "The mock's world changed while this request was held."
DELAY_MS = 2000


@pytest.fixture(scope="module", params=SERVINGS)
def root(request):
    """The root URL of a mock served by ``mockchats serve`` or by mockchats.Server."""
    with served_root(request.param) as root:
        yield root


def _held_create(root: str, when: str, text: str) -> dict:
    """Arm a delay fault, send a createChat it holds, and return what the client got (in a dict
    filled once the answer came)."""
    fault = {"operationId": "createChat", "delayMs": DELAY_MS, "times": 1, "when": when}
    assert requests.post(root + "/_mock/faults", json=fault, timeout=10).status_code == 201
    got: dict = {}

    def send():
        got["response"] = requests.post(root + "/v1/chats", json={"message": text}, headers=ALICE,
                                        timeout=10)

    thread = threading.Thread(target=send)
    thread.start()
    got["thread"] = thread
    # The fault counts a strike just before it holds the request: from then on it is held.
    deadline = time.monotonic() + DELAY_MS / 1000 / 2
    while time.monotonic() < deadline:
        if [f["fired"] for f in requests.get(root + "/_mock/faults", timeout=10).json()] == [1]:
            return got
        time.sleep(0.01)
    raise AssertionError("the delayed request was not held in time")


def _texts(root: str) -> list[str]:
    response = requests.get(root + "/v1/chats", params={"Take": 20, "Ascending": "false"}, headers=ALICE,
                            timeout=10)
    assert response.status_code == 200
    return [m["message"] for m in response.json()["messages"]]


def _state_document(root: str) -> dict:
    response = requests.get(root + "/_mock/state", timeout=10)
    assert response.status_code == 200
    return response.json()


SWITCHES = {
    "reset": lambda root, _: requests.post(root + "/_mock/reset", timeout=10),
    # A partner's scenario given as a document (a shipped one takes longer to load than the
    # delay leaves; both replace the world the same way).
    "scenario": lambda root, document: requests.post(root + "/_mock/scenarios", json={"document": document},
                                                     timeout=10),
    # The start state, exported before the held request came in, imported again.
    "state": lambda root, document: requests.put(root + "/_mock/state", json=document, timeout=10),
}


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_a_request_held_across_a_world_change_acts_on_nothing(root, switch, when):
    text = f"held across a {switch} ({when})"
    requests.post(root + "/_mock/reset", timeout=10).raise_for_status()
    start = _state_document(root)
    got = _held_create(root, when, text)
    assert SWITCHES[switch](root, start).status_code == 200
    got["thread"].join(timeout=10)
    response = got["response"]
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["detail"] == DETAIL
    assert problem["status"] == 503 and problem["title"] == "Service Unavailable"
    assert list(problem)[-1] == "traceId"
    assert text not in _texts(root)
    assert text not in str(_state_document(root))
    journal = requests.get(root + "/_mock/requests", timeout=10).json()
    assert [e for e in journal if e["method"] == "POST" and e["path"] == "/v1/chats"] == []


def test_a_held_request_in_an_unchanged_world_is_answered(root):
    """The check compares worlds, not time: with no reset the held request goes through."""
    text = "held, nothing changed"
    requests.post(root + "/_mock/reset", timeout=10).raise_for_status()
    got = _held_create(root, "before", text)
    got["thread"].join(timeout=10)
    assert got["response"].status_code == 200, got["response"].text
    assert text in _texts(root)
    journal = requests.get(root + "/_mock/requests", params={"operationId": "createChat"}, timeout=10).json()
    assert [e["status"] for e in journal] == [200]
