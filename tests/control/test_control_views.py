"""The control plane's views and the Mock calls behind them, called directly.

The HTTP behaviour is tested over real HTTP in test_control_*.py; here each view is called as a
function under Flask's ``test_request_context``, which reaches what HTTP alone cannot (a client
that is not on this machine, without a server listening beyond it) and shows a refusal as the
exception the view raises, before it is written as problem+json.
"""
from __future__ import annotations

import json

import pytest

import mockchats
from mockchats import worlds
from mockchats.control import views
from mockchats.control.views import Refused
from mockchats.core.journal import Exchange, Journal, QueryRefused


@pytest.fixture(scope="module")
def built():
    return mockchats.build()


@pytest.fixture
def mock(built):
    built.reset()
    yield built
    built.reset()


def call(mock, view, path: str, *args, method: str = "POST", **request):
    """``view(*args)`` as it runs for a request to ``/_mock{path}`` on ``mock``'s app."""
    with mock.app.test_request_context("/_mock" + path, method=method, **request):
        return view(*args)


def test_a_view_is_a_function_of_the_module_found_by_its_endpoint(mock):
    assert mock.app.view_functions["control.set_clock"] is views.set_clock
    assert mock.app.view_functions["control.load_scenario"] is views.load_scenario


def test_a_view_reaches_the_mock_of_the_app_serving_the_request(mock):
    other = mockchats.build(seed=7)
    assert json.loads(call(mock, views.index, "", method="GET").get_data())["status"]["seed"] == worlds.DEFAULT_SEED
    assert json.loads(call(other, views.index, "", method="GET").get_data())["status"]["seed"] == 7


def test_a_refusal_is_raised_with_its_status_and_places(mock):
    with pytest.raises(Refused) as refused:
        call(mock, views.set_clock, "/clock", json={"freeze": "10000-01-01T00:00:00Z"})
    assert refused.value.status == 400
    assert list(refused.value.errors) == ["$.freeze"]
    assert not mock.clock.frozen


def test_a_fault_that_could_never_match_is_refused_before_it_is_added(mock):
    with pytest.raises(Refused) as refused:
        call(mock, views.add_fault, "/faults", json={"operationId": "createChat", "path": "/v1/chats/{chatId}",
                                                     "status": 500})
    assert refused.value.status == 400
    assert "could never match" in refused.value.errors["$.path"][0]
    assert mock.faults.list() == []


def test_a_delete_with_a_query_removes_nothing(mock):
    call(mock, views.add_fault, "/faults", json={"operationId": "createChat", "status": 503})
    with pytest.raises(Refused) as refused:
        call(mock, views.clear_faults, "/faults?operationId=createChat", method="DELETE")
    assert refused.value.errors == {"operationId": ["DELETE /_mock/faults takes no query parameters."]}
    assert len(mock.faults.list()) == 1


def test_only_this_machine_drives_the_mock_without_an_admin_token(mock):
    assert call(mock, views.require_admin_token, "/reset", environ_base={"REMOTE_ADDR": "::1"}) is None
    with pytest.raises(Refused) as refused:
        call(mock, views.require_admin_token, "/reset", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert refused.value.status == 403
    assert "loopback" in refused.value.detail


def test_with_an_admin_token_a_remote_client_needs_it(mock):
    guarded = mockchats.build(admin_token="s3cret")
    remote = {"REMOTE_ADDR": "192.0.2.10"}
    answer = call(guarded, views.require_admin_token, "/reset", environ_base=remote)
    assert (answer.status_code, answer.headers["WWW-Authenticate"]) == (401, "Bearer")
    assert call(guarded, views.require_admin_token, "/reset", environ_base=remote,
                headers={"Authorization": "Bearer s3cret"}) is None


def test_an_unknown_scenario_is_a_404_and_nothing_changed(mock):
    before = worlds.to_document(mock.store.snapshot())
    with pytest.raises(Refused) as refused:
        call(mock, views.load_scenario, "/scenarios/nope", "nope")
    assert refused.value.status == 404
    assert refused.value.detail.startswith("unknown scenario 'nope'; known scenarios: busy-room, default")
    assert worlds.to_document(mock.store.snapshot()) == before
    assert mock.scenario is None


# -- the Mock's world changes, which the views translate -------------------------------------

def test_loading_a_scenario_keeps_the_clock_faults_and_journal_but_a_reset_does_not(mock):
    mock.clock.freeze()
    mock.faults.add(operation_id="createChat", status=503)
    mock.journal.record(Exchange("GET", "/v1/chats"))
    mock.load_scenario("empty", seed=3)
    assert (mock.scenario, mock.seed, mock.store.size()) == ("empty", 3, (1, 0))
    assert mock.clock.frozen and len(mock.faults.list()) == 1 and len(mock.journal.entries()) == 1
    mock.reset()
    assert (mock.scenario, mock.seed) == (None, worlds.DEFAULT_SEED)
    assert not mock.clock.frozen and mock.faults.list() == [] and mock.journal.entries() == []


def test_a_partner_document_is_named_document_and_takes_the_seed(mock):
    document = worlds.to_document(mockchats.build().store.snapshot())
    mock.load_own_scenario(document=document, seed=5)
    assert (mock.scenario, mock.seed) == ("document", 5)
    with pytest.raises(TypeError):
        mock.load_own_scenario(seed=5)


def test_replacing_the_state_forgets_the_scenario_and_keeps_the_seed(mock):
    mock.load_scenario("empty", seed=9)
    mock.replace_state(worlds.to_document(mockchats.build().store.snapshot()))
    assert (mock.scenario, mock.seed) == (None, 9)
    assert mock.store.size() == mockchats.build().store.size()


def test_a_document_that_does_not_hold_together_changes_nothing(mock):
    document = worlds.to_document(mock.store.snapshot())
    bad = {**document, "sessions": document["sessions"] + document["sessions"][:1]}  # the same ids twice
    with pytest.raises(worlds.FixtureError):
        mock.replace_state(bad)
    assert worlds.to_document(mock.store.snapshot()) == document


# -- the journal's one query -----------------------------------------------------------------

def test_the_journal_answers_a_query_or_refuses_it_by_parameter():
    journal = Journal()
    journal.record(Exchange("GET", "/v1/chats", operation_id="getChats", status=200))
    journal.record(Exchange("POST", "/v1/chats", operation_id="createChat", status=400))
    assert [e["id"] for e in journal.query([("status", "4xx")], ["getChats", "createChat"])] == [2]
    with pytest.raises(QueryRefused) as refused:
        journal.query([("operationId", "getchats"), ("limit", "-1")], ["getChats", "createChat"])
    assert list(refused.value.errors) == ["operationId", "limit"]
    assert "did you mean 'getChats'?" in refused.value.errors["operationId"][0]
