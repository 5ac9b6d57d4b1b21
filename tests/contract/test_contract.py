"""``mockchats contract`` and the shared checks behind it.

The command runs as a partner runs it (a real process) against real servers on loopback
ports: the mock, which must keep its contract, and a deliberately wrong server, which
must fail, naming the operation and the violation. The checks themselves
(:func:`mockchats.contract.checks.check_request` / :func:`check_response`) are tested directly.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import requests
from support import wrong_chats_app

import mockchats
from mockchats import contract

OPERATIONS = ["listChats", "createChat", "addReaction", "listReactions", "deleteReaction", "deleteChat",
              "deletePin"]
SPEC_ERROR_CASES = {  # (operationId, case) -> the status the contract promises
    ("listChats", "no token"): 401, ("listChats", "Take=0"): 400, ("createChat", "missing message"): 400,
    ("createChat", "text/plain body"): 415, ("addReaction", "unknown chatId"): 404,
    ("deleteReaction", "unknown chatId"): 404, ("deleteChat", "unknown chatId"): 404,
    ("deletePin", "unknown chatId"): 404, ("deleteChat", "a Client deletes the Host's message"): 403,
}


def run_contract(base_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mockchats", "contract", "--base-url", base_url, *args],
                          capture_output=True, text=True, timeout=60)


def cases_of(report: dict) -> dict[tuple[str, str], dict]:
    return {(case["operationId"], case["case"]): case for case in report["cases"]}


@pytest.fixture(scope="module")
def wrong_server():
    server = mockchats.Server(wrong_chats_app(), port=0).start()
    yield server
    server.stop()


# -- against the mock --------------------------------------------------------------------
def test_the_mock_passes_and_the_reports_say_so(mock, server, tmp_path):
    mock.reset()
    before = snapshot_of(mock)
    xml_path, json_path = tmp_path / "contract.xml", tmp_path / "contract.json"
    result = run_contract(server.base_url, "--token", "alice-token", "--host-token", "host-token",
                          "--report", str(xml_path))
    assert result.returncode == 0, result.stdout + result.stderr
    for operation_id in OPERATIONS:
        assert f"\n{operation_id}\n" in result.stdout
    assert "0 failed" in result.stdout and "contract kept" in result.stdout
    assert "Traceback" not in result.stderr

    suites = ET.parse(xml_path).getroot()
    assert suites.tag == "testsuites" and suites.get("failures") == "0" and suites.get("skipped") == "0"
    assert [suite.get("name") for suite in suites] == OPERATIONS
    assert int(suites.get("tests")) == sum(len(suite) for suite in suites) >= 25
    assert all(case.tag == "testcase" and not list(case) for suite in suites for case in suite)

    mock.reset()
    result = run_contract(server.base_url, "--token", "alice-token", "--host-token", "host-token",
                          "--report", str(json_path))
    assert result.returncode == 0, result.stdout
    report = json.loads(json_path.read_text())
    assert report["passed"] is True and report["baseUrl"] == server.base_url
    assert report["summary"] == {"cases": len(report["cases"]), "passed": len(report["cases"]),
                                 "failed": 0, "skipped": 0}
    cases = cases_of(report)
    for key, status in SPEC_ERROR_CASES.items():
        assert (cases[key]["expected"], cases[key]["got"], cases[key]["verdict"]) == (status, status, "pass")
    assert cases[("deletePin", "unpin as the Host")]["got"] == 200
    assert {case["operationId"] for case in report["cases"]} == set(OPERATIONS)

    # It cleaned up: the same messages as before, less the one pin the API cannot restore.
    after = snapshot_of(mock)
    unpinned = [chat_id for chat_id, pinned in before.items() if pinned and not after[chat_id]]
    assert after.keys() == before.keys() and len(unpinned) == 1
    assert any(unpinned[0] in note for note in report["notes"]) and report["leftovers"] == []


def snapshot_of(mock) -> dict[str, bool]:
    """chatId -> pinned, for every message of the default session."""
    host = next(u for u in mock.store.users() if u.token == "host-token")
    _, page = mock.store.list_messages(host, skip=0, take=10_000, sort_by="CreatedAt", ascending=True)
    return {m.chat_id: bool(m.pin_id) for m in page}


def test_without_a_host_token_the_host_only_cases_are_skipped_not_failed(mock, server, tmp_path):
    mock.reset()
    before = snapshot_of(mock)
    report_path = tmp_path / "report.json"
    result = run_contract(server.base_url, "--token", "alice-token", "--report", str(report_path))
    assert result.returncode == 0, result.stdout
    cases = cases_of(json.loads(report_path.read_text()))
    for key in [("deletePin", "unpin as the Host"), ("deletePin", "unknown chatId"),
                ("deleteChat", "a Client deletes the Host's message")]:
        assert cases[key]["verdict"] == "skip" and "--host-token" in cases[key]["skipReason"]
    assert "skipped" in result.stdout and "needs the Host's token: --host-token" in result.stdout
    assert snapshot_of(mock) == before  # nothing created stays, nothing unpinned


def test_without_a_pinned_message_the_unpin_is_skipped(mock, server, tmp_path):
    mock.reset(scenario="empty")
    try:
        report_path = tmp_path / "report.json"
        result = run_contract(server.base_url, "--token", "alice-token", "--host-token", "host-token",
                              "--report", str(report_path))
        assert result.returncode == 0, result.stdout
        case = cases_of(json.loads(report_path.read_text()))[("deletePin", "unpin as the Host")]
        assert case["verdict"] == "skip" and case["skipReason"] == "no pinned message in the listing"
        assert snapshot_of(mock) == {}  # the empty room is empty again
    finally:
        mock.reset()


# -- against a wrong server ------------------------------------------------------------------
def test_a_wrong_server_fails_naming_the_operation_and_the_violation(wrong_server, tmp_path):
    report_path = tmp_path / "report.json"
    result = run_contract(wrong_server.base_url, "--token", "alice-token", "--host-token", "host-token",
                          "--report", str(report_path))
    assert result.returncode == 1, result.stdout
    out = result.stdout
    assert "contract violated by" in out
    listing = out.split("\nlistChats\n")[1].split("\n\n")[0]
    assert "FAIL" in listing
    assert "body $: 'totalCount' and 'messages' are required." in listing
    assert "expected 400, got 200" in listing  # Take=0 was not refused
    creating = out.split("\ncreateChat\n")[1].split("\n\n")[0]
    assert "status 201 is not declared (declared: 200, 400, 401, 404, 413, 415, 429, 503)" in creating
    reacting = out.split("\naddReaction\n")[1].split("\n\n")[0]
    assert "error body is text/html, not application/problem+json" in reacting

    report = json.loads(report_path.read_text())
    assert report["passed"] is False
    failed = {case["operationId"] for case in report["cases"] if case["verdict"] == "FAIL"}
    assert failed == set(OPERATIONS)
    listed = cases_of(report)[("listChats", "list messages")]
    assert listed["got"] == 200 and any("'totalCount' and 'messages' are required." in v for v in listed["violations"])


def test_a_wrong_server_fails_in_the_junit_report_too(wrong_server, tmp_path):
    report_path = tmp_path / "report.xml"
    result = run_contract(wrong_server.base_url, "--token", "alice-token", "--report", str(report_path))
    assert result.returncode == 1
    suites = ET.parse(report_path).getroot()
    assert int(suites.get("failures")) > 0
    listing = next(suite for suite in suites if suite.get("name") == "listChats")
    failure = listing.find("testcase[@name='list messages']/failure")
    assert failure is not None and "'totalCount' and 'messages' are required." in failure.text


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_is_one_line_and_exit_1(tmp_path):
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    report = tmp_path / "report.json"
    result = run_contract(base_url, "--token", "t", "--timeout", "2", "--report", str(report))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr == f"Error: cannot reach {base_url}: connection refused\n"
    assert not report.exists()


def test_an_unreachable_server_is_refused_from_python_too():
    with pytest.raises(contract.Unreachable, match="^cannot reach http://127.0.0.1:[0-9]+/v1: connection refused$"):
        contract.run(f"http://127.0.0.1:{closed_port()}/v1", "t", timeout=2)


def test_a_bad_report_name_is_a_usage_error(tmp_path):
    bad = run_contract("http://127.0.0.1:9/v1", "--token", "t", "--report", str(tmp_path / "report.txt"))
    assert bad.returncode == 2 and ".xml (JUnit) or .json" in bad.stderr


@pytest.mark.parametrize("base_url, problem", [
    ("ftp://127.0.0.1/v1", "the base URL must start with http:// or https:// (it starts with ftp://)"),
    ("localhost:8080/v1", "the base URL must start with http:// or https:// (it has no scheme)"),
    ("127.0.0.1:8080/v1", "the base URL must start with http:// or https:// (it has no scheme)"),
    ("http:///v1", "the base URL has no host (http://HOST[:PORT]/v1)"),
    ("http://:8080/v1", "the base URL has no host (http://HOST[:PORT]/v1)"),
    ("http://127.0.0.1:99999/v1", "the base URL's port is not a number from 1 to 65535"),
    ("http://127.0.0.1:80a/v1", "the base URL's port is not a number from 1 to 65535"),
    ("http://127.0.0.1:0/v1", "the base URL's port is not a number from 1 to 65535"),
    ("http://user:secret@127.0.0.1:8080/v1", "the base URL must not carry a user name or password"),
    ("http://[::1/v1", "the base URL is not a URL (an IPv6 host needs both its brackets)"),
    ("http://127.0.0.1/v1?x=1", "the base URL must not carry a query or a fragment"),
    ("http://127.0.0.1 /v1", "the base URL holds a blank or a control character"),
])
def test_a_malformed_base_url_is_a_usage_error_before_any_case(base_url, problem):
    result = run_contract(base_url, "--token", "t")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert f"Error: Invalid value for --base-url: {problem}\n" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(ValueError, match=re.escape(problem)):
        contract.run(base_url, "t")


def test_a_host_token_equal_to_the_token_is_a_usage_error_and_sends_nothing(mock, server):
    mock.reset()
    result = run_contract(server.base_url, "--token", "alice-token", "--host-token", "alice-token")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert ("Error: Invalid value for --host-token: the same token as --token; give the Host's own, "
            "or leave it out to skip the Host's cases\n") in result.stderr
    journal = requests.get(server.root_url + "/_mock/requests", timeout=10)
    assert journal.status_code == 200 and journal.json() == []
    with pytest.raises(ValueError, match="the Host's token is the same as the Client's"):
        contract.run(server.base_url, "alice-token", "alice-token")


@pytest.mark.parametrize("option, token, problem", [
    ("--token", "", "a bearer token cannot be empty"),
    ("--token", "alice token", "a bearer token cannot hold a blank or a control character"),
    ("--host-token", "host\ntoken", "a bearer token cannot hold a blank or a control character"),
])
def test_a_token_that_cannot_be_sent_is_a_usage_error_and_sends_nothing(mock, server, option, token, problem):
    mock.reset()
    options = {"--token": "alice-token", "--host-token": "host-token", option: token}
    result = run_contract(server.base_url, *[part for pair in options.items() for part in pair])
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "" and f"Error: Invalid value for {option}: {problem}\n" in result.stderr
    assert requests.get(server.root_url + "/_mock/requests", timeout=10).json() == []
    with pytest.raises(ValueError, match=problem):
        contract.run(server.base_url, options["--token"], options["--host-token"])


# -- the response check ------------------------------------------------------------------------
LIST = contract.operation_for("GET", "/v1/chats")
DELETE_PIN = contract.operation_for("DELETE", "/v1/chats/c/pins/p")
JSON_TYPE = {"Content-Type": "application/json; charset=utf-8"}
MESSAGE = {"chatId": "c", "message": "hi", "createdAt": "2025-06-26T08:48:07.13Z",
           "user": {"id": "u", "name": "U"}, "pinned": None, "reactions": []}


def listing(*messages) -> bytes:
    return json.dumps({"totalCount": len(messages), "messages": list(messages)}).encode()


def test_a_conforming_listing_passes_with_nullable_pinned_either_way():
    assert contract.check_response(LIST, 200, JSON_TYPE, listing(MESSAGE, {**MESSAGE, "pinned": {"id": "p"}})) == []


@pytest.mark.parametrize("change, violation", [
    ({"pinned": "yes"}, "body $.messages[0].pinned: Must be an object, not a string."),
    ({"createdAt": "yesterday"}, "body $.messages[0].createdAt: Must be a date-time, not 'yesterday'."),
    ({"extra": 1}, "body $.messages[0]: 'extra' is not a property here; "
                   "known: chatId, createdAt, message, pinned, reactions, user."),
    ({"reactions": [{"name": ":smile:", "count": 1, "users": []}]},
     "body $.messages[0].reactions[0].name: Must be one of ':thumbs_up:', ':thumbs_down:', not ':smile:'."),
])
def test_a_wrong_message_is_named_by_its_json_path(change, violation):
    assert contract.check_response(LIST, 200, JSON_TYPE, listing({**MESSAGE, **change})) == [violation]


def test_a_missing_field_is_a_violation():
    body = {k: v for k, v in MESSAGE.items() if k != "pinned"}
    assert contract.check_response(LIST, 200, JSON_TYPE, listing(body)) == [
        "body $.messages[0]: 'pinned' is required."]


def test_errors_must_be_declared_and_problem_json():
    assert contract.check_response(LIST, 500, {"Content-Type": "text/html"}, b"<h1>oops</h1>") == [
        "status 500 is not declared (declared: 200, 400, 401, 404, 429, 503)",
        "error body is text/html, not application/problem+json: '<h1>oops</h1>'"]
    assert contract.check_response(LIST, 400, JSON_TYPE, b'{"title": "x"}') == [
        "content type 'application/json' is not application/problem+json"]


def test_declared_headers_and_empty_bodies_are_checked():
    assert contract.check_response(LIST, 401, {}, b"") == ["declared header WWW-Authenticate is missing"]
    assert contract.check_response(LIST, 401, {"www-authenticate": "Bearer"}, b"") == []
    assert contract.check_response(DELETE_PIN, 200, {}, b"{}") == [
        "a body was sent where the spec declares none: '{}'"]
    assert contract.check_response(LIST, 200, JSON_TYPE, b"not json")[0].startswith("the body is not JSON")


# -- the request check -------------------------------------------------------------------------
AUTH = {"Authorization": "Bearer alice-token"}


@pytest.mark.parametrize("method, path, query, headers, body, violations, warnings", [
    ("GET", "/v1/chats", [("Take", "5")], AUTH, b"", [], []),
    ("GET", "/v1/chats", [("take", "0")], AUTH, b"", ["Take: The field Take must be between 1 and 20."],
     ["query parameter 'take' is spelled 'Take' in the contract"]),
    ("GET", "/v1/chats", [], {}, b"", ["no bearer token"], []),
    ("GET", "/V1/Chats/", [], AUTH, b"", [], ["path '/V1/Chats/' is spelled '/v1/chats' in the contract"]),
    ("POST", "/v1/chats", [], {**AUTH, "Content-Type": "text/plain"}, b"hi",
     ["Content-Type 'text/plain' is not JSON"], []),
    ("POST", "/v1/chats", [], AUTH, b'{"message": "hi"}', ["no Content-Type: the body is not read as JSON"], []),
    ("POST", "/v1/chats", [], {**AUTH, "content-type": "application/json"}, b'{"Message": "hi"}', [],
     ["body property 'Message' is spelled 'message' in the contract"]),
    ("POST", "/v1/chats", [], {**AUTH, "Content-Type": "application/json"}, b"{}",
     ["Message: The Message field is required."], []),
    ("PUT", "/v1/chats", [], AUTH, b"", ["PUT /v1/chats is not an operation of the contract"], []),
    ("DELETE", "/v1/chats/a%2Fb", [], AUTH, b"", [], []),
])
def test_check_request_judges_as_the_mock_does(method, path, query, headers, body, violations, warnings):
    operation, found, warned = contract.check_request(method, path, query, headers, body)
    assert (found, warned) == (violations, warnings)
    assert (operation is None) == (method == "PUT")


def test_literal_routes_win_and_unknown_ones_are_none():
    assert contract.operation_for("GET", "/v1/chats/reactions").operation_id == "listReactions"
    assert contract.operation_for("DELETE", "/v1/chats/reactions").operation_id == "deleteChat"
    assert contract.operation_for("GET", "/v1/chats/x/../reactions").operation_id == "listReactions"
    assert contract.operation_for("DELETE", "/v1/chats//reactions/r") is None
    assert contract.operation_for("GET", "/v2/chats") is None
