"""``mockchats proxy``: traffic passes through unchanged, and both directions are judged.

The proxy runs on a loopback port in front of the suite's mock (which keeps the contract)
and in front of a deliberately wrong server (which does not). Its journal at
``/_mock/requests`` must show request violations and warnings exactly as the mock's own
journal shows them (the two share one validator), plus the response violations.
"""
from __future__ import annotations

import sys

import pytest
import requests

import mockchats
from conformance import check, operation_for
from mockchats.proxy import ContractProxy
from serving import ServeProcess
from test_contract import wrong_chats_app

HOST = {"Authorization": "Bearer host-token"}
ALICE = {"Authorization": "Bearer alice-token"}


def serve_proxy(upstream: str) -> mockchats.Server:
    return mockchats.Server(ContractProxy(upstream), port=0).start()


@pytest.fixture(scope="module")
def proxy(server):
    served = serve_proxy(server.base_url)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def wrong_proxy():
    wrong = mockchats.Server(wrong_chats_app(), port=0).start()
    served = serve_proxy(wrong.base_url)
    yield served
    served.stop()
    wrong.stop()


@pytest.fixture
def fresh(mock, proxy):
    """The mock reset (its journal too) and the proxy's journal cleared."""
    mock.reset()
    requests.delete(proxy.root_url + "/_mock/requests", timeout=10).raise_for_status()
    return mock


def journal(served: mockchats.Server, **filters) -> list[dict]:
    response = requests.get(served.root_url + "/_mock/requests", params=filters, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    return response.json()


# -- good traffic ------------------------------------------------------------------------------
def test_good_traffic_passes_through_unchanged(fresh, server, proxy):
    direct = requests.get(server.base_url + "/chats", params={"Take": 5, "SortBy": "Pinned"},
                          headers=HOST, timeout=10)
    proxied = requests.get(proxy.base_url + "/chats", params={"Take": 5, "SortBy": "Pinned"},
                           headers=HOST, timeout=10)
    check(operation_for("GET", "/v1/chats"), proxied)
    assert (proxied.status_code, proxied.content) == (direct.status_code, direct.content)
    assert proxied.headers["Content-Type"] == direct.headers["Content-Type"]

    created = requests.post(proxy.base_url + "/chats", json={"message": "through the proxy"},
                            headers=ALICE, timeout=10)
    check(operation_for("POST", "/v1/chats"), created)
    assert created.status_code == 200 and created.json()["message"] == "through the proxy"
    chat_id = created.json()["chatId"]
    refused = requests.delete(f"{proxy.base_url}/chats/{chat_id}", timeout=10)
    check(operation_for("DELETE", "/v1/chats/x"), refused)
    assert (refused.status_code, refused.content) == (401, b"")
    assert refused.headers["WWW-Authenticate"] == "Bearer" and "Content-Type" not in refused.headers
    deleted = requests.delete(f"{proxy.base_url}/chats/{chat_id}", headers=ALICE, timeout=10)
    assert (deleted.status_code, deleted.content) == (204, b"")

    # The upstream saw each request once, as sent.
    seen = fresh.journal.entries()
    assert [(e["method"], e["operationId"], e["status"]) for e in seen] == [
        ("GET", "listChats", 200), ("GET", "listChats", 200), ("POST", "createChat", 200),
        ("DELETE", "deleteChat", 401), ("DELETE", "deleteChat", 204)]
    assert seen[2]["body"] == '{"message": "through the proxy"}'


def test_good_requests_are_journaled_without_violations(fresh, proxy):
    requests.get(proxy.base_url + "/chats", params={"Take": 3}, headers=HOST, timeout=10)
    chat_id = requests.get(proxy.base_url + "/chats", headers=HOST, timeout=10).json()["messages"][0]["chatId"]
    requests.get(proxy.base_url + "/chats/reactions", params={"chatIds": [chat_id, "nope"]},
                 headers=HOST, timeout=10)
    requests.post(f"{proxy.base_url}/chats/{chat_id}/reactions", json={"reaction": ":thumbs_down:"},
                  headers=ALICE, timeout=10)
    entries = journal(proxy)
    assert [e["operationId"] for e in entries] == ["listChats", "listChats", "listReactions", "addReaction"]
    for entry in entries:
        assert (entry["violations"], entry["warnings"], entry["responseViolations"]) == ([], [], []), entry
        assert entry["user"] is None and entry["status"] == 200
    assert entries[0]["path"] == "/v1/chats" and entries[0]["query"] == {"Take": ["3"]}
    assert journal(proxy, operationId="addReaction", limit=1)[0]["body"] == '{"reaction": ":thumbs_down:"}'


# -- bad requests ------------------------------------------------------------------------------
def test_bad_requests_are_flagged_and_still_forwarded(fresh, proxy):
    low = requests.get(proxy.base_url + "/chats", params={"take": 0}, headers=HOST, timeout=10)
    anonymous = requests.get(proxy.base_url + "/chats", timeout=10)
    assert (low.status_code, anonymous.status_code) == (400, 401)  # the upstream's answers
    entries = journal(proxy)
    assert entries[0]["violations"] == ["Take: The field Take must be between 1 and 20."]
    assert entries[0]["warnings"] == ["query parameter 'take' is spelled 'Take' in the contract"]
    assert entries[1]["violations"] == ["no bearer token"]
    assert entries[0]["responseViolations"] == entries[1]["responseViolations"] == []


BAD_REQUESTS = [  # (method, path, query, headers, body): what the mock and the proxy must judge alike
    ("GET", "/v1/chats", {"take": "0"}, HOST, None),
    ("GET", "/v1/chats", {"Take": "abc", "SortBy": "Oldest"}, HOST, None),
    ("GET", "/v1/chats", {"Ascending": "False"}, HOST, None),
    ("GET", "/v1/chats", {}, {}, None),
    ("GET", "/v1/chats", {}, {"Authorization": "Basic eDp5"}, None),
    ("GET", "/V1/CHATS/", {"take": "5"}, HOST, None),
    ("GET", "/v1/chats/reactions", {"chatIds[0]": "x"}, HOST, None),
    ("POST", "/v1/chats", {}, {**HOST, "Content-Type": "text/plain"}, b"hi"),
    ("POST", "/v1/chats", {}, {**HOST, "Content-Type": "application/json"}, b'{"Message": "hi"}'),
    ("POST", "/v1/chats", {}, {**HOST, "Content-Type": "application/json"}, b'{"message": "x",}'),
    ("POST", "/v1/chats", {}, {**HOST, "Content-Type": "application/json"}, b""),
    ("POST", "/v1/chats/nope/reactions", {}, {**HOST, "Content-Type": "application/json"},
     b'{"reaction": ":thumbsup:"}'),
    ("PUT", "/v1/chats", {}, HOST, None),
    ("GET", "/v1/nothing-here", {}, HOST, None),
]


@pytest.mark.parametrize("method, path, query, headers, body", BAD_REQUESTS)
def test_the_proxy_judges_requests_exactly_as_the_mock_does(fresh, proxy, method, path, query, headers, body):
    response = requests.request(method, proxy.root_url + path, params=query, headers=headers, data=body,
                                timeout=10)
    (mine,) = journal(proxy)
    (mocks,) = fresh.journal.entries()
    assert mine["status"] == mocks["status"] == response.status_code
    assert (mine["operationId"], mine["violations"], mine["warnings"]) == (
        mocks["operationId"], mocks["violations"], mocks["warnings"])
    assert mine["responseViolations"] == []


# -- a wrong upstream ----------------------------------------------------------------------------
def test_a_wrong_upstream_is_flagged_response_by_response(wrong_proxy):
    requests.delete(wrong_proxy.root_url + "/_mock/requests", timeout=10)
    listed = requests.get(wrong_proxy.base_url + "/chats", params={"Take": 0}, timeout=10)
    created = requests.post(wrong_proxy.base_url + "/chats", json={"message": "hi"}, headers=ALICE, timeout=10)
    broken = requests.delete(wrong_proxy.base_url + "/chats/m-1", headers=ALICE, timeout=10)
    assert (listed.status_code, created.status_code, broken.status_code) == (200, 201, 500)
    assert broken.text == "<h1>Internal Server Error</h1>"  # still passed on unchanged

    listing, creating, deleting = journal(wrong_proxy)
    assert listing["violations"] == ["no bearer token"]  # the request was wrong too
    assert "body $: 'totalCount' is a required property" in listing["responseViolations"]
    assert creating["violations"] == []
    assert creating["responseViolations"] == [
        "status 201 is not declared (declared: 200, 400, 401, 413, 415, 429, 503)"]
    assert deleting["responseViolations"] == [
        "status 500 is not declared (declared: 204, 401, 403, 404, 429, 503)",
        "error body is text/html, not application/problem+json: '<h1>Internal Server Error</h1>'"]


def test_an_unreachable_upstream_is_a_502_with_a_response_violation():
    served = serve_proxy("http://127.0.0.1:9/v1")
    try:
        response = requests.get(served.base_url + "/chats", headers=HOST, timeout=10)
        (entry,) = journal(served)
    finally:
        served.stop()
    assert (response.status_code, response.content) == (502, b"")
    assert entry["status"] == 502 and entry["responseViolations"][0].startswith("the upstream did not answer")


# -- where requests go -----------------------------------------------------------------------
@pytest.mark.parametrize("upstream, target, forwarded", [
    ("http://h:8080/v1", "/v1/chats?Take=5", "/v1/chats?Take=5"),
    ("http://h:8080", "/v1/chats", "/v1/chats"),
    ("http://h:8080/", "/V1/Chats/x%2Fy", "/V1/Chats/x%2Fy"),
    ("http://h:8080/api/v1", "/V1/Chats/x%2Fy", "/api/v1/Chats/x%2Fy"),
    ("https://staging.example.com/chats-api/v1/", "/v1/chats/reactions?chatIds=a&chatIds=b",
     "/chats-api/v1/chats/reactions?chatIds=a&chatIds=b"),
    ("http://h:8080/v1", "/openapi.json", "/openapi.json"),
    ("http://h:8080/v1", "/v10/chats", "/v10/chats"),
])
def test_the_proxy_maps_its_v1_onto_the_upstream_base(upstream, target, forwarded):
    assert ContractProxy(upstream).upstream_target(target) == forwarded


def test_a_non_http_upstream_is_refused():
    with pytest.raises(ValueError, match="http"):
        ContractProxy("ftp://h/v1")


def test_the_proxy_command_logs_one_line_per_request():
    wrong = mockchats.Server(wrong_chats_app(), port=0).start()
    try:
        with ServeProcess("--upstream", wrong.base_url,
                          command=[sys.executable, "-m", "mockchats", "proxy"]) as served:
            requests.get(served.base_url + "/chats", headers=HOST, timeout=10)
            requests.get(served.base_url + "/chats", params={"take": 0}, timeout=10)
            code, out, err = served.stop()
    finally:
        wrong.stop()
    assert code == 0 and "mockchats proxy stopped." in out
    assert f"upstream  {wrong.base_url}" in "".join(served.banner)
    lines = [line for line in err.splitlines() if line.startswith('"GET')]
    assert len(lines) == 2, err
    assert lines[0].startswith('"GET /v1/chats" 200') and "listChats" in lines[0]
    assert "REQUEST VIOLATION" not in lines[0]
    assert "RESPONSE VIOLATION: body $: Additional properties are not allowed" in lines[0]
    assert "REQUEST VIOLATION: no bearer token" in lines[1]
