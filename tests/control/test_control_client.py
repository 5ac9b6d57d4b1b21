"""The Python client, ``mockchats.Control``, over real HTTP: one method per control call.

Every control response is checked against the plane's own document,
``GET /_mock/openapi.json`` (support's ``Plane``: status declared, content type, body schema
with OpenAPI 3.0 semantics); partner responses go through conftest's ``api``, which checks
them against openapi/chats.yaml. The fixtures (``plane``, ``busy``...) are in this folder's
conftest.py.
"""
from __future__ import annotations

import pytest
import yaml
from support import (
    SCENARIOS,
    ZED_AND_YAN,
    control_document,
    document_with,
    partner_world,
    small_session,
)

from mockchats import ControlError, worlds

#: Every test starts and ends in the start world: faults, clock and journal never leak.
pytestmark = pytest.mark.usefixtures("fresh")


# -- the Python client -------------------------------------------------------------------------
def test_the_client_has_one_method_per_call(control, api, server, tmp_path, default_session):
    assert [s["name"] for s in control.scenarios()] == SCENARIOS
    assert control.load_scenario("empty")["scenario"] == "empty"
    assert control.load_scenario("busy-room", seed=2)["seed"] == 2
    assert control.reset()["scenario"] is None
    assert control.reset(seed=3, scenario="empty", auth="strict") == {
        "auth": "strict", "seed": 3, "scenario": "empty", "sessions": 1,
        "messages": sum(len(s.messages) for s in worlds.load_scenario("empty"))}
    control.reset()
    state = control.state()
    assert state == worlds.to_document(worlds.load())
    assert control.replace_state(document_with(small_session()))["messages"] == 1
    control.replace_state(state)
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump(partner_world()), encoding="utf-8")
    assert control.load_own_scenario(path=str(path), seed=4)["messages"] == 6
    assert control.load_own_scenario(document=partner_world(1))["messages"] == 2
    control.reset()
    session = control.create_session(ZED_AND_YAN)
    assert [s["sessionId"] for s in control.sessions()] == [default_session, session["sessionId"]]
    chat = api.create("pinned by the client")["chatId"]
    assert control.pin(default_session, chat)["chatId"] == chat
    fault = control.add_fault(operationId="createChat", status=503, times=1, when="after")
    assert [f["id"] for f in control.faults()] == [fault["id"]]
    assert control.remove_fault(fault["id"]) is None
    control.add_fault(operationId="listChats", delayMs=1)
    assert control.clear_faults() is None and control.faults() == []
    assert control.freeze_clock("2030-01-01T00:00:00Z") == {"now": "2030-01-01T00:00:00Z", "frozen": True}
    assert control.advance_clock(60)["now"] == "2030-01-01T00:01:00Z"
    assert control.clock()["frozen"] is True
    assert control.freeze_clock()["frozen"] is True
    assert control.real_clock()["frozen"] is False
    control.clear_requests()
    api.get("/chats", params={"take": 1})
    api.create("x")
    assert [e["operationId"] for e in control.requests()] == ["listChats", "createChat"]
    assert len(control.requests(operation_id="createChat", method="post", path="/v1/chats", limit=1)) == 1
    assert control.clear_requests() is None and control.requests() == []
    assert control.openapi() == control_document(server.root_url)


def test_the_client_raises_control_errors(control):
    with pytest.raises(ControlError) as missing:
        control.load_scenario("no-such-world")
    assert missing.value.status == 404 and missing.value.body["status"] == 404
    with pytest.raises(ControlError) as wrong:
        control.add_fault(operationId="listChats")
    assert wrong.value.status == 400 and wrong.value.body["errors"]
    with pytest.raises(ControlError) as unknown:
        control.remove_fault("fault-999")
    assert unknown.value.status == 404
    with pytest.raises(ControlError) as odd:
        control.remove_fault("a?b#c")  # quoted: still a fault id, not a query
    assert odd.value.status == 404 and "a?b#c" in odd.value.body["detail"]
    with pytest.raises(ControlError) as bad_session:
        control.pin("no/such?session", "x")
    assert bad_session.value.status == 404
