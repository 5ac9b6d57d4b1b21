"""mockchats.intercept: calls to the real host answered in-process, through the same pipeline.

The shared cases run both ways (over loopback HTTP with the suite's server, and in-process) and
must answer alike; the rest checks the block's life: decorator and context manager, nesting,
exceptions, faults, the journal, other hosts and a partner's own stubs left working.
"""
from __future__ import annotations

import asyncio
import re
import sys
import time

import httpcore
import httpx
import pytest
import requests
import requests.adapters
import responses
import respx
from respx.mocks import HTTPCoreMocker

import mockchats

HOST = "https://api.quicksync.me"
CHATS = HOST + "/v1/chats"
HOST_TOKEN = {"Authorization": "Bearer host-token"}

#: (method, path, headers, json body): the same calls over HTTP and in-process.
SHARED_CASES = [
    ("GET", "/v1/chats", HOST_TOKEN, None),
    ("GET", "/v1/chats?take=2&skip=1", HOST_TOKEN, None),
    ("GET", "/v1/chats?take=0", HOST_TOKEN, None),
    ("GET", "/v1/chats", {}, None),
    ("GET", "/v1/chats", {"Authorization": "Bearer nobody"}, None),
    ("POST", "/v1/chats", HOST_TOKEN, {"message": ""}),
    ("DELETE", "/v1/chats/not-a-chat", HOST_TOKEN, None),
    ("GET", "/v1/nowhere", HOST_TOKEN, None),
]


def _comparable(response: requests.Response | httpx.Response) -> tuple[int, dict[str, str], str]:
    headers = {name.lower(): value for name, value in response.headers.items() if name.lower() != "date"}
    body = re.sub(r'"traceId":"[^"]*"', '"traceId":"*"', response.text)
    return response.status_code, headers, body


def _patched() -> tuple[object, object, int]:
    """What the clients' send functions are now, and how many respx routers are in place."""
    return (requests.adapters.HTTPAdapter.send, httpcore.ConnectionPool.handle_request,
            len(HTTPCoreMocker.routers))


UNPATCHED = _patched()


@pytest.fixture(autouse=True)
def _nothing_stays_patched():
    yield
    assert _patched() == UNPATCHED


@pytest.mark.parametrize(("method", "path", "headers", "body"), SHARED_CASES)
def test_same_answers_as_over_http(api, method, path, headers, body):
    over_http = requests.request(method, api.root_url + path, headers=headers, json=body, timeout=10)
    with mockchats.intercept():
        with_requests = requests.request(method, HOST + path, headers=headers, json=body, timeout=10)
        with_httpx = httpx.request(method, HOST + path, headers=headers, json=body)
    expected = _comparable(over_http)
    assert _comparable(with_requests) == expected
    assert _comparable(with_httpx) == expected


def test_async_httpx_same_answers_as_over_http(api):
    over_http = [requests.request(method, api.root_url + path, headers=headers, json=body, timeout=10)
                 for method, path, headers, body in SHARED_CASES]

    async def calls() -> list[httpx.Response]:
        async with httpx.AsyncClient() as client:
            return [await client.request(method, HOST + path, headers=headers, json=body)
                    for method, path, headers, body in SHARED_CASES]

    with mockchats.intercept():
        in_process = asyncio.run(calls())
    assert [_comparable(r) for r in in_process] == [_comparable(r) for r in over_http]


def test_state_is_kept_across_calls_and_fresh_per_block():
    with mockchats.intercept() as mock:
        created = requests.post(CHATS, json={"message": "hello"}, headers=mock.headers("alice"), timeout=10)
        assert created.status_code == 200
        pages = [httpx.get(CHATS, params={"take": 20, "skip": skip}, headers=mock.headers("alice")).json()
                 for skip in (0, 20)]
        assert pages[0]["totalCount"] == 25
        assert created.json()["chatId"] in [message["chatId"] for page in pages for message in page["messages"]]
    with mockchats.intercept() as mock:
        assert httpx.get(CHATS, headers=mock.headers("alice")).json()["totalCount"] == 24


def test_the_handle():
    with mockchats.intercept(scenario="empty", seed=3) as mock:
        assert mock.url == HOST + "/v1" and mock.root_url == HOST
        assert mock.url_for("/chats") == CHATS
        assert mock.status["scenario"] == "empty" and mock.status["seed"] == 3
        assert mock.tokens["Host"] == "host-token"
        assert requests.get(CHATS, headers=mock.headers("host"), timeout=10).json()["totalCount"] == 0
        with pytest.raises(NotImplementedError, match="hubs are not served in-process"):
            mock.hub_url()
        mock.load_scenario("default")
        assert requests.get(CHATS, headers=mock.headers("host"), timeout=10).json()["totalCount"] == 24
        mock.reset(scenario="empty")
        assert mock.requests() == []


def test_strict_auth():
    with mockchats.intercept(auth="strict") as mock:
        assert mock.status["auth"] == "strict"


def test_as_a_decorator_sync_and_async():
    block = mockchats.intercept()

    @block
    def sync_call() -> tuple[int, int]:
        answer = requests.post(CHATS, json={"message": "one"}, headers=HOST_TOKEN, timeout=10)
        return answer.status_code, len(block.handle.requests(operation_id="createChat"))

    @block
    async def async_call() -> tuple[int, int]:
        async with httpx.AsyncClient() as client:
            answer = await client.get(CHATS, headers=HOST_TOKEN)
        return answer.json()["totalCount"], len(block.handle.requests())

    assert sync_call() == (200, 1)
    assert sync_call() == (200, 1)  # each call a fresh world
    assert asyncio.run(async_call()) == (24, 1)
    assert sync_call.__name__ == "sync_call"


def test_blocks_nest_as_a_stack():
    with mockchats.intercept() as outer:
        requests.post(CHATS, json={"message": "outer"}, headers=HOST_TOKEN, timeout=10)
        with mockchats.intercept(scenario="empty") as inner:
            assert httpx.get(CHATS, headers=HOST_TOKEN).json()["totalCount"] == 0
            assert requests.get(CHATS, headers=HOST_TOKEN, timeout=10).json()["totalCount"] == 0
            with mockchats.intercept(base_urls=("https://other.quicksync.test",)) as other:
                # Another base URL: the block outside it still answers the real host.
                assert httpx.get(CHATS, headers=HOST_TOKEN).json()["totalCount"] == 0
                answer = requests.get("https://other.quicksync.test/v1/chats", headers=HOST_TOKEN, timeout=10)
                assert answer.json()["totalCount"] == 24
                assert len(other.requests()) == 1
        assert len(inner.requests()) == 3
        assert requests.get(CHATS, headers=HOST_TOKEN, timeout=10).json()["totalCount"] == 25
        assert httpx.get(CHATS, headers=HOST_TOKEN).json()["totalCount"] == 25
    assert [entry["status"] for entry in outer.requests()] == [200, 200, 200]


def test_an_exception_inside_the_block_leaves_nothing_patched(server):
    with pytest.raises(RuntimeError, match="the partner's code failed"):
        with mockchats.intercept():
            with mockchats.intercept():
                assert _patched() != UNPATCHED
                raise RuntimeError("the partner's code failed")
    assert _patched() == UNPATCHED
    # The clients reach the network again.
    assert requests.get(server.base_url + "/chats", headers=HOST_TOKEN, timeout=10).status_code == 200
    assert httpx.get(server.base_url + "/chats", headers=HOST_TOKEN).status_code == 200


def test_other_hosts_are_left_alone(server):
    with mockchats.intercept() as mock:
        # The suite's loopback server stands for another host: it answers, not the block.
        requests.post(server.base_url + "/chats", json={"message": "there"}, headers=HOST_TOKEN, timeout=10)
        assert httpx.get(server.base_url + "/chats", headers=HOST_TOKEN).json()["totalCount"] == 25
        assert requests.get(CHATS, headers=HOST_TOKEN, timeout=10).json()["totalCount"] == 24
        assert [entry["method"] for entry in mock.requests()] == ["GET"]
    mockchats.Control(server.root_url).reset()


def test_a_partners_own_stubs_keep_working():
    with responses.RequestsMock() as partner_requests, respx.mock(assert_all_called=True) as partner_httpx:
        partner_requests.get("https://payments.example/status", json={"ok": "requests"})
        partner_httpx.get("https://payments.example/status").respond(json={"ok": "httpx"})
        with mockchats.intercept() as mock:
            late = partner_httpx.get("https://payments.example/late").respond(json={"late": True})
            assert requests.get("https://payments.example/status", timeout=10).json() == {"ok": "requests"}
            assert httpx.get("https://payments.example/status").json() == {"ok": "httpx"}
            assert httpx.get("https://payments.example/late").json() == {"late": True}
            assert requests.get(CHATS, headers=HOST_TOKEN, timeout=10).json()["totalCount"] == 24
            assert httpx.get(CHATS, headers=HOST_TOKEN).json()["totalCount"] == 24
            assert len(mock.requests()) == 2
        assert late.called
        # After the block the partner's stubs answer alone, as before it.
        assert requests.get("https://payments.example/status", timeout=10).json() == {"ok": "requests"}
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(CHATS, timeout=10)


def test_a_partners_responses_activate_begun_inside_the_block():
    # As on a partner's test that takes the mockchats_intercept fixture and is decorated with
    # @responses.activate: the partner's default mock starts after the block.
    with mockchats.intercept() as mock:
        @responses.activate
        def partner_test():
            responses.add(responses.GET, "https://payments.example/status", json={"ok": True})
            assert requests.get("https://payments.example/status", timeout=10).json() == {"ok": True}
            assert requests.get(CHATS, headers=HOST_TOKEN, timeout=10).json()["totalCount"] == 24
            created = requests.post(CHATS, json={"message": "inside"}, headers=HOST_TOKEN, timeout=10)
            assert created.status_code == 200

        partner_test()
        assert [entry["operationId"] for entry in mock.requests()] == ["listChats", "createChat"]
        assert requests.get(CHATS, headers=HOST_TOKEN, timeout=10).json()["totalCount"] == 25
    assert not any("quicksync" in str(getattr(route, "url", "")) for route in responses.mock.registered())


def test_a_respx_router_started_inside_the_block():
    with mockchats.intercept() as mock:
        with respx.mock(assert_all_called=True) as partner_httpx:
            partner_httpx.get("https://payments.example/inside").respond(json={"inside": True})
            assert httpx.get("https://payments.example/inside").json() == {"inside": True}
            assert httpx.get(CHATS, headers=HOST_TOKEN).status_code == 200
        assert httpx.get(CHATS, headers=HOST_TOKEN).status_code == 200
        assert len(mock.requests()) == 2


def test_fault_status():
    with mockchats.intercept() as mock:
        mock.fail("listChats", 503, times=2)
        assert requests.get(CHATS, headers=HOST_TOKEN, timeout=10).status_code == 503
        assert httpx.get(CHATS, headers=HOST_TOKEN).status_code == 503
        assert httpx.get(CHATS, headers=HOST_TOKEN).status_code == 200


def test_fault_delay_waits():
    with mockchats.intercept() as mock:
        mock.inject_fault(operationId="listChats", delayMs=300, times=2)
        started = time.perf_counter()
        assert requests.get(CHATS, headers=HOST_TOKEN, timeout=10).status_code == 200
        assert httpx.get(CHATS, headers=HOST_TOKEN).status_code == 200
        assert time.perf_counter() - started >= 0.6


def test_fault_delay_leaves_an_async_clients_loop_running():
    async def call_with_a_timeout() -> float:
        async with httpx.AsyncClient() as client:
            started = time.perf_counter()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get(CHATS, headers=HOST_TOKEN), 0.1)
            return time.perf_counter() - started

    with mockchats.intercept() as mock:
        mock.inject_fault(operationId="listChats", delayMs=1000, times=1)
        assert asyncio.run(call_with_a_timeout()) < 0.5


def test_fault_drop_raises_each_clients_own_error():
    with mockchats.intercept() as mock:
        mock.inject_fault(operationId="createChat", drop=True, times=3, when="after")
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(CHATS, json={"message": "lost"}, headers=HOST_TOKEN, timeout=10)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(CHATS, json={"message": "lost"}, headers=HOST_TOKEN)

        async def async_call() -> None:
            async with httpx.AsyncClient() as client:
                await client.post(CHATS, json={"message": "lost"}, headers=HOST_TOKEN)

        with pytest.raises(httpx.RemoteProtocolError):
            asyncio.run(async_call())
        # when="after": the state changed though the answer never came; the journal says so.
        assert httpx.get(CHATS, headers=HOST_TOKEN).json()["totalCount"] == 27
        assert [entry["status"] for entry in mock.requests(operation_id="createChat")] == [None] * 3


def test_the_journal_and_the_contract_checks():
    with mockchats.intercept() as mock:
        requests.get(CHATS, params={"take": 3}, headers=mock.headers("bob"), timeout=10)
        httpx.post(CHATS, json={"message": "hi"}, headers=mock.headers("alice"))
        entries = mock.requests()
        assert [(entry["operationId"], entry["status"]) for entry in entries] == [("listChats", 200),
                                                                                  ("createChat", 200)]
        assert entries[0]["query"] == {"take": ["3"]}
        mock.assert_no_violations()
        requests.get(CHATS, params={"take": 0}, headers=HOST_TOKEN, timeout=10)
        with pytest.raises(AssertionError, match=r"GET /v1/chats\?take=0 -> 400"):
            mock.assert_no_violations()


def test_login_through_the_intercepted_session_api():
    with mockchats.intercept() as mock:
        credentials = mock.login("Zed", host=True)["credentials"]
        answer = requests.get(CHATS, headers={"Authorization": f"Bearer {credentials['token']}"}, timeout=10)
        assert answer.status_code == 200
        joined = mock.login(None)
        assert joined["credentials"]["token"]
        assert [entry["operationId"] for entry in mock.requests()] == [
            "getNonce", "verifyWalletProof", "createSession", "listChats",
            "getNonce", "verifyWalletProof", "joinSession"]


def test_a_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "respx", None)
    with pytest.raises(ImportError, match=re.escape("pip install mockchats[intercept]")):
        with mockchats.intercept():
            pass


def test_the_fixture_creates_in_its_own_world(mockchats_intercept):
    answer = requests.post(CHATS, json={"message": "mine"}, headers=mockchats_intercept.headers("alice"),
                           timeout=10)
    assert answer.status_code == 200
    assert httpx.get(CHATS, headers=HOST_TOKEN).json()["totalCount"] == 25


def test_the_fixture_is_reset_per_test(mockchats_intercept):
    assert httpx.get(CHATS, headers=HOST_TOKEN).json()["totalCount"] == 24
    assert len(mockchats_intercept.requests()) == 1  # the other test's calls are gone


@pytest.mark.mockchats(scenario="empty", seed=5)
def test_the_fixture_takes_the_marker(mockchats_intercept):
    assert mockchats_intercept.status["scenario"] == "empty"
    assert mockchats_intercept.status["seed"] == 5
    assert requests.get(CHATS, headers=HOST_TOKEN, timeout=10).json()["totalCount"] == 0
    with pytest.raises(NotImplementedError):
        mockchats_intercept.hub_url()
