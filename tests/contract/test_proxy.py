"""``mockchats proxy``: traffic passes through unchanged, and both directions are judged.

The proxy runs on a loopback port in front of the suite's mock (which keeps the contract)
and in front of a deliberately wrong server (which does not). Its journal at
``/_mock/requests`` must show request violations and warnings exactly as the mock's own
journal shows them (the two share one validator), plus the response violations.
"""
from __future__ import annotations

import signal
import sys

import pytest
import requests
from support import ServeProcess, check, operation_for, raw_exchange, wrong_chats_app
from werkzeug.test import EnvironBuilder, run_wsgi_app

import mockchats
import mockchats.cli
from mockchats.contract.checks import Contract
from mockchats.contract.proxy import ContractProxy, ProxyServer

HOST = {"Authorization": "Bearer host-token"}
ALICE = {"Authorization": "Bearer alice-token"}


def serve_proxy(upstream: str, **options) -> ProxyServer:
    return ProxyServer(ContractProxy(upstream, **options), port=0).start()


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
def fresh(fresh, proxy):
    """The mock reset (its journal too: conftest's fresh) and the proxy's journal cleared."""
    requests.delete(proxy.root_url + "/_mock/requests", timeout=10).raise_for_status()
    return fresh


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
    assert "body $: 'totalCount' and 'messages' are required." in listing["responseViolations"]
    assert creating["violations"] == []
    assert creating["responseViolations"] == [
        "status 201 is not declared (declared: 200, 400, 401, 404, 413, 415, 429, 503)"]
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


@pytest.mark.parametrize("upstream, problem", [
    ("ftp://h/v1", "the upstream must start with http:// or https:// (it starts with ftp://)"),
    ("http://[::1", "the upstream is not a URL (an IPv6 host needs both its brackets)"),
    ("http://h:99999/v1", "the upstream's port is not a number from 1 to 65535"),
    ("http://h:x/v1", "the upstream's port is not a number from 1 to 65535"),
    ("h:8080", "the upstream must start with http:// or https:// (it has no scheme)"),
    ("http://h/v1?x=1", "the upstream must not carry a query or a fragment"),
    ("http://u:pw@h/v1", "the upstream must not carry a user name or password"),
])
def test_a_malformed_upstream_is_a_usage_error(upstream, problem):
    """The rule `mockchats contract --base-url` uses, so the two commands take the same URLs."""
    from click.testing import CliRunner

    result = CliRunner().invoke(mockchats.cli.main, ["proxy", "--upstream", upstream, "--port", "0"])
    assert result.exit_code == 2
    assert f"{problem}; give an http(s) URL such as http://host:8080/v1, not '{upstream}'" in result.output


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
    assert "RESPONSE VIOLATION: body $: 'items' and 'total' are not properties here" in lines[0]
    assert "REQUEST VIOLATION: no bearer token" in lines[1]


# -- bodies over the limit ---------------------------------------------------------------------
JSON_ALICE = b"Authorization: Bearer alice-token\r\nContent-Type: application/json\r\n"


def exchange(served: mockchats.Server, data: bytes, timeout: float = 5) -> tuple[str, dict, bytes]:
    """Raw bytes to the proxy, its answer read until it closes (fails if it waits for more)."""
    return raw_exchange(served.host, served.port, data, timeout=timeout)


def chunked(body: bytes, size: int) -> bytes:
    """``body`` in chunks of ``size`` bytes, with the closing chunk."""
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def message_body(size: int) -> bytes:
    """A createChat body of exactly ``size`` bytes."""
    return b'{"message": "' + b"a" * (size - 15) + b'"}'


@pytest.fixture(scope="module")
def small_proxy(server):
    """A proxy whose limit is 100 bytes, in front of the suite's mock."""
    served = serve_proxy(server.base_url, max_body_bytes=100)
    yield served
    served.stop()


@pytest.fixture
def small(fresh, small_proxy):
    requests.delete(small_proxy.root_url + "/_mock/requests", timeout=10).raise_for_status()
    return small_proxy


def assert_refused(answer: tuple[str, dict, bytes]) -> None:
    """An empty 413 and a closed connection, as Kestrel refuses a body over its limit."""
    status, headers, body = answer
    assert status.startswith("HTTP/1.1 413 ")
    assert (headers["content-length"], headers["connection"], body) == ("0", "close", b"")
    assert "content-type" not in headers


def test_a_declared_length_over_the_default_limit_is_refused_before_the_body_comes(fresh, proxy):
    # Kestrel's default: 30,000,000 bytes. Only 11 bytes of the body are ever sent.
    answer = exchange(proxy, b"POST /v1/chats HTTP/1.1\r\nHost: x\r\n" + JSON_ALICE
                      + b"Content-Length: 30000001\r\n\r\n" + b'{"message":')
    assert_refused(answer)
    assert fresh.journal.entries() == []  # nothing forwarded
    (entry,) = journal(proxy)
    assert (entry["operationId"], entry["status"], entry["body"]) == ("createChat", 413, None)
    assert entry["violations"] == ["body of 30,000,001 bytes is over the 30,000,000-byte limit"]


def test_a_body_of_exactly_the_limit_is_forwarded_and_one_more_byte_is_not(fresh, small):
    head = b"POST /v1/chats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + JSON_ALICE
    status, _, body = exchange(small, head + b"Content-Length: 100\r\n\r\n" + message_body(100))
    assert status.startswith("HTTP/1.1 200 ") and b'"chatId"' in body
    assert_refused(exchange(small, head + b"Content-Length: 101\r\n\r\n" + message_body(101)))
    assert [e["status"] for e in fresh.journal.entries()] == [200]
    assert [e["violations"] for e in journal(small)] == [
        [], ["body of 101 bytes is over the 100-byte limit"]]


def test_a_chunked_body_is_counted_by_its_bytes_not_its_framing(fresh, small):
    head = b"POST /v1/chats HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n" + JSON_ALICE
    # 100 bytes of body in 4-byte chunks: over 300 bytes on the wire, and within the limit.
    status, _, body = exchange(small, head + b"\r\n" + chunked(message_body(100), 4))
    assert status.startswith("HTTP/1.1 200 ") and b'"chatId"' in body
    (forwarded,) = fresh.journal.entries()
    assert forwarded["body"] == message_body(100).decode()


def test_a_chunked_body_is_refused_at_the_limit_without_waiting_for_the_rest(fresh, small):
    head = b"POST /v1/chats HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + JSON_ALICE
    # 150 bytes sent of a body that never ends (no closing chunk): the answer comes anyway.
    sent = chunked(message_body(150), 10)[:-len(b"0\r\n\r\n")]
    assert_refused(exchange(small, head + b"\r\n" + sent))
    assert fresh.journal.entries() == []
    (entry,) = journal(small)
    assert entry["violations"] == ["body of more than 100 bytes (chunked) is over the 100-byte limit"]
    assert not any("280" in violation for violation in entry["violations"])


def test_a_client_still_sending_its_body_reads_the_413(fresh, small):
    response = requests.post(small.base_url + "/chats", data=message_body(5_000_000),
                             headers={**ALICE, "Content-Type": "application/json"}, timeout=30)
    assert (response.status_code, response.content) == (413, b"")
    assert response.headers["Connection"] == "close"
    assert fresh.journal.entries() == []
    assert journal(small)[0]["violations"] == ["body of 5,000,000 bytes is over the 100-byte limit"]


def test_under_another_wsgi_server_the_proxy_still_refuses_an_oversized_body(fresh, server):
    # The mock's own bridge reads the body whole before the app; the app refuses it all the same.
    served = mockchats.Server(ContractProxy(server.base_url, max_body_bytes=100), port=0).start()
    try:
        response = requests.post(served.base_url + "/chats", data=message_body(101),
                                 headers={**ALICE, "Content-Type": "application/json"}, timeout=10)
        (entry,) = journal(served)
    finally:
        served.stop()
    assert (response.status_code, response.content) == (413, b"")
    assert fresh.journal.entries() == []
    assert entry["violations"] == ["body of 101 bytes is over the 100-byte limit"]


def test_an_upstream_413_is_reported_by_size_not_by_the_280_character_rule(fresh, proxy):
    # Under the proxy's limit, over the mock's (1 MiB): the mock answers 413 unbound.
    body = message_body(1_048_577)
    response = requests.post(proxy.base_url + "/chats", data=body,
                             headers={**ALICE, "Content-Type": "application/json"}, timeout=30)
    assert (response.status_code, response.content) == (413, b"")
    (entry,) = journal(proxy)
    assert entry["violations"] == ["body of 1,048,577 bytes is over the upstream's limit (it answered 413)"]
    assert entry["responseViolations"] == []


# -- hostile input -------------------------------------------------------------------------------
class BrokenContract(Contract):
    """A contract whose checks fail, as a checker bug would."""

    def check_request(self, *args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    def check_response(self, *args, **kwargs):
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")


def test_a_failing_check_never_costs_the_client_its_answer(fresh, server):
    served = ProxyServer(ContractProxy(server.base_url, contract=BrokenContract()), port=0).start()
    try:
        response = requests.post(served.base_url + "/chats", json={"message": "checked or not"},
                                 headers=ALICE, timeout=10)
        (entry,) = journal(served)
    finally:
        served.stop()
    assert response.status_code == 200 and response.json()["message"] == "checked or not"
    assert entry["status"] == 200 and entry["violations"] == entry["responseViolations"] == []
    assert entry["warnings"] == [
        "the request could not be checked (an error in mockchats: RecursionError); passed on unchecked",
        "the response could not be checked (an error in mockchats: ValueError); passed on unchecked"]


LONG_NUMBER = "1" + "0" * 5000  # over Python's 4,300-digit int conversion limit


@pytest.mark.parametrize("body, status", [
    ('{"message": "long number", "extra": %s}' % LONG_NUMBER, 200),  # unknown: skipped
    ('{"message": %s}' % LONG_NUMBER, 400),  # known: a conversion error at $.message
])
def test_a_json_number_over_4300_digits_is_judged_as_the_mock_judges_it(fresh, proxy, body, status):
    response = requests.post(proxy.base_url + "/chats", data=body,
                             headers={**ALICE, "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == status
    (mine,) = journal(proxy)
    (mocks,) = fresh.journal.entries()
    assert (mine["status"], mine["violations"], mine["warnings"]) == (
        mocks["status"], mocks["violations"], mocks["warnings"])
    assert mine["responseViolations"] == []
    assert bool(mine["violations"]) == (status == 400)
    if status == 400:
        assert any(violation.startswith("$.message: ") for violation in mine["violations"])


@pytest.mark.parametrize("target", [
    b"/v1/chats%zz", b"/v1/chats/%C3/reactions", b"/v1/chats/%00", b"/v1/chats?Take=%C3&x=%zz",
    b"/v1/chats/..%2F..%2F_mock", b"//v1/chats", b"http://elsewhere/v1/chats", b"*",
    b"/v1/chats/" + b"%F0%9F" * 2000, b"/v1/chats?" + b"chatIds=x&" * 2000,
])
def test_hostile_targets_are_forwarded_and_answered(fresh, proxy, target):
    status, _, _ = exchange(proxy, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                            b"Authorization: Bearer host-token\r\n\r\n")
    code = int(status.split()[1])
    (entry,) = journal(proxy)
    (forwarded,) = fresh.journal.entries()
    assert code < 500 and entry["status"] == forwarded["status"] == code


def test_a_control_character_in_the_target_is_a_400_and_not_forwarded(fresh, proxy):
    status, headers, body = exchange(proxy, b"GET /v1/ch\x01ats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status.startswith("HTTP/1.1 400 ") and (headers["content-length"], body) == ("0", b"")
    assert fresh.journal.entries() == []
    # The server's HTTP parser refuses the target before the proxy sees it, as Kestrel's
    # would: there is no request to journal.
    assert journal(proxy) == []


def test_under_a_lenient_wsgi_server_a_control_character_in_the_target_is_journaled(fresh, server):
    """The proxy is a WSGI app: under a server that passes such a target on, it answers the
    400 itself, forwards nothing, and journals why."""
    app = ContractProxy(server.base_url)
    environ = EnvironBuilder(path="/v1/chats", headers={"Connection": "close"}).get_environ()
    environ["REQUEST_URI"] = "/v1/ch\x01ats"  # as the client sent it
    chunks, status, headers = run_wsgi_app(app, environ)
    assert status.startswith("400 ") and (headers["Content-Length"], b"".join(chunks)) == ("0", b"")
    assert fresh.journal.entries() == []
    (entry,) = app.journal.entries()
    assert entry["violations"][-1] == "the request target holds a character HTTP does not allow; not forwarded"


def test_expect_100_continue_without_a_body_is_answered_not_left_waiting(fresh, proxy):
    status, _, _ = exchange(proxy, b"DELETE /v1/chats/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                            b"Expect: 100-continue\r\nAuthorization: Bearer host-token\r\n\r\n")
    assert status.startswith("HTTP/1.1 404 ")
    assert [e["status"] for e in fresh.journal.entries()] == [404]


def test_a_browser_preflight_is_passed_on_and_not_judged(fresh, proxy):
    answer = requests.options(proxy.base_url + "/chats", timeout=10, headers={
        "Origin": "http://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert answer.status_code == 204  # the upstream mock's own preflight answer
    assert answer.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert journal(proxy) == []  # not the app's request: nothing to judge, nothing to count
    plain = requests.options(proxy.base_url + "/chats", timeout=10)  # no preflight headers
    assert plain.status_code == 405
    (entry,) = journal(proxy)
    assert entry["method"] == "OPTIONS" and entry["violations"]


def test_huge_headers_are_forwarded_or_refused_but_never_a_500(fresh, proxy):
    big = requests.get(proxy.base_url + "/chats", headers={**HOST, "X-Big": "a" * 100_000}, timeout=10)
    assert big.status_code == 200  # the upstream's answer
    many = requests.get(proxy.base_url + "/chats", headers={**HOST, **{f"X-{i}": "v" for i in range(500)}},
                        timeout=10)
    assert many.status_code < 500
    status, headers, body = exchange(proxy, b"GET /v1/chats HTTP/1.1\r\nHost: x\r\nX-Huge: "
                                     + b"a" * 300_000 + b"\r\n\r\n")
    assert " 431 " in status and body == b""


# -- the command: a summary, and an exit status for CI ------------------------------------------
def run_proxy_command(upstream: str, *options: str, stop: signal.Signals, traffic) -> tuple[int, str, str]:
    """``mockchats proxy`` as a process: send ``traffic(base_url)``, stop it with ``stop``."""
    with ServeProcess("--upstream", upstream, *options,
                      command=[sys.executable, "-m", "mockchats", "proxy"]) as served:
        traffic(served.base_url)
        served.process.send_signal(stop)
        out, err = served.process.communicate(timeout=15)
        return served.process.returncode, out, err


def good_and_bad_traffic(base_url: str) -> None:
    requests.get(base_url + "/chats", headers=HOST, timeout=10)  # conforms
    requests.get(base_url + "/chats", params={"take": 5}, headers=HOST, timeout=10)  # a warning only
    requests.get(base_url + "/chats", timeout=10)  # no token
    requests.post(base_url + "/chats", data=message_body(500), timeout=10,  # over --max-body-bytes
                  headers={**ALICE, "Content-Type": "application/json"})


def good_traffic(base_url: str) -> None:
    requests.get(base_url + "/chats", headers=HOST, timeout=10)
    requests.get(base_url + "/chats", params={"take": 5}, headers=HOST, timeout=10)  # a warning only


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_proxy_prints_a_summary_and_exits_0_when_stopped(server, stop):
    code, out, err = run_proxy_command(server.base_url, "--max-body-bytes", "400", stop=stop,
                                       traffic=good_and_bad_traffic)
    assert code == 0, err
    assert "mockchats proxy: 4 requests, 2 with violations" in out.splitlines()
    assert "body of 500 bytes is over the 400-byte limit" in err


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_fail_on_violation_exits_1_when_anything_broke_the_contract(server, stop):
    code, out, _ = run_proxy_command(server.base_url, "--max-body-bytes", "400", "--fail-on-violation",
                                     stop=stop, traffic=good_and_bad_traffic)
    assert code == 1 and "mockchats proxy: 4 requests, 2 with violations" in out


def test_fail_on_violation_exits_0_when_there_were_only_warnings(server):
    code, out, err = run_proxy_command(server.base_url, "--fail-on-violation", stop=signal.SIGTERM,
                                       traffic=good_traffic)
    assert "warning: query parameter 'take' is spelled 'Take'" in err
    assert code == 0 and "mockchats proxy: 2 requests, 0 with violations" in out
