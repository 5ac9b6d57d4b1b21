"""The journal's request headers and answers (``headers``, ``response``) over real HTTP: what each
kind of answer records (a success, a problem, a 404, a 413, a dropped connection), the 64 KiB cap
on both bodies, and the admin token hidden wherever it appears.

Every read goes through the control plane's own check (support's ``Plane``), so the JournalEntry
schema holds the new fields.
"""
from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests
from support import Plane

import mockchats
from mockchats.contract.proxy import ContractProxy, ProxyServer
from mockchats.core.journal import BODY_BYTES

pytestmark = pytest.mark.usefixtures("fresh")


def last(plane: Plane, **filters) -> dict:
    entries = plane.ok("GET", "/requests", params=filters)
    assert entries, "nothing journaled"
    return entries[-1]


def test_a_success_records_the_request_headers_and_the_answer_as_sent(plane, api):
    response = api.post("/chats", as_="alice", json={"message": "hello"}, headers={"X-Trace": "t-1"})
    assert response.status_code == 200
    entry = last(plane)
    assert entry["headers"]["Content-Type"] == "application/json"
    assert entry["headers"]["Authorization"] == "Bearer alice-token"
    assert entry["headers"]["X-Trace"] == "t-1"
    assert entry["headers"]["Content-Length"] == str(len(entry["body"]))
    assert entry["response"] == {"status": 200, "headers": entry["response"]["headers"], "body": response.text,
                                 "bodyTruncated": False}
    assert entry["response"]["headers"]["Content-Type"] == response.headers["Content-Type"]
    assert entry["response"]["headers"]["Content-Length"] == response.headers["Content-Length"]
    assert json.loads(entry["response"]["body"]) == response.json()


def test_a_problem_records_its_problem_details(plane, api):
    response = api.post("/chats", as_="alice", json={"message": ""})
    assert response.status_code == 400
    entry = last(plane)
    assert entry["response"]["status"] == 400
    assert entry["response"]["headers"]["Content-Type"] == "application/problem+json; charset=utf-8"
    assert entry["response"]["body"] == response.text
    assert json.loads(entry["response"]["body"])["status"] == 400


def test_a_404_and_a_401_record_their_empty_answers(plane, api, server):
    assert requests.get(server.root_url + "/v1/nowhere", timeout=10).status_code == 404
    entry = last(plane)
    assert (entry["path"], entry["response"]["status"], entry["response"]["body"]) == ("/v1/nowhere", 404, None)
    assert api.get("/chats", as_=None).status_code == 401
    entry = last(plane)
    assert entry["response"]["headers"]["WWW-Authenticate"] == "Bearer"
    assert "Authorization" not in entry["headers"]


def test_a_413_records_no_body_of_either_side(plane, api):
    response = api.post("/chats", as_="alice", data=b"{" + b" " * (1024 * 1024) + b"}",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    entry = last(plane)
    assert (entry["status"], entry["body"]) == (413, None)
    assert entry["response"] == {"status": 413, "headers": {"Content-Length": "0"}, "body": None,
                                 "bodyTruncated": False}
    assert entry["headers"]["Content-Length"] == str(1024 * 1024 + 2)


def test_a_dropped_connection_records_no_answer(plane, api):
    plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "drop": True, "times": 1})
    with pytest.raises(requests.ConnectionError):
        api.get("/chats", headers={"X-Before-The-Drop": "yes"})
    entry = last(plane)
    assert entry["status"] is None
    assert entry["response"] == {"status": None, "headers": {}, "body": None, "bodyTruncated": False}
    assert entry["headers"]["X-Before-The-Drop"] == "yes"


def test_both_bodies_are_kept_up_to_64_kib(plane, api, server):
    big = "x" * (BODY_BYTES * 2)
    plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "status": 200, "body": {"big": big},
                                           "times": 1})
    # Not through api: a fault's body is not the contract's.
    response = requests.get(server.base_url + "/chats", headers={"Authorization": "Bearer host-token"}, timeout=10)
    assert len(response.content) > BODY_BYTES
    entry = last(plane)
    assert entry["response"]["body"] == response.text[:BODY_BYTES]
    assert entry["response"]["bodyTruncated"] is True and entry["bodyTruncated"] is False
    api.post("/chats", as_="alice", json={"message": "y" * 1000, "padding": big})
    entry = last(plane)
    assert len(entry["body"]) == BODY_BYTES and entry["json"] is None
    assert entry["bodyTruncated"] is True and entry["response"]["bodyTruncated"] is False
    # Exactly 64 KiB is whole, not cut.
    exact = '{"message": "z", "pad": "' + "p" * (BODY_BYTES - 27) + '"}'
    assert len(exact.encode()) == BODY_BYTES
    api.post("/chats", as_="alice", data=exact, headers={"Content-Type": "application/json"})
    entry = last(plane)
    assert entry["body"] == exact and entry["bodyTruncated"] is False


def test_a_repeated_header_is_one_value_joined_with_commas(plane, server):
    address = urlsplit(server.root_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.putrequest("GET", "/v1/chats?take=1")
        connection.putheader("Authorization", "Bearer host-token")
        connection.putheader("X-Repeated", "one")
        connection.putheader("X-Repeated", "two")
        connection.endheaders()
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    assert last(plane)["headers"]["X-Repeated"] == "one, two"


def test_the_admin_token_is_hidden_in_headers_query_and_bodies(serve):
    token = "s3cret-admin-token"
    mock = mockchats.build(admin_token=token)
    server = serve(mock)
    plane = Plane(server.root_url, token)
    requests.post(server.base_url + f"/chats?note={token}&{token}=1", json={"message": f"it is {token}"},
                  headers={"Authorization": "Bearer alice-token", "X-Leak": f"a {token} b"}, timeout=10)
    # The token in a JSON string written with escapes, and percent-encoded in the query.
    escaped = "".join(f"\\u{ord(c):04x}" for c in token)
    requests.post(server.base_url + "/chats?n=" + "".join(f"%{b:02X}" for b in token.encode()),
                  data=f'{{"message": "{escaped}"}}', headers={"Authorization": "Bearer alice-token",
                                                               "Content-Type": "application/json"}, timeout=10)
    requests.get(server.base_url + "/chats", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    entries = plane.ok("GET", "/requests")
    assert len(entries) == 3
    assert token not in json.dumps(entries)
    first, second, third = entries
    assert first["query"] == {"note": ["[redacted]"], "[redacted]": ["1"]}
    assert first["headers"]["X-Leak"] == "a [redacted] b"
    assert first["body"] == '{"message": "it is [redacted]"}' and first["json"] == {"message": "it is [redacted]"}
    assert json.loads(first["response"]["body"])["message"] == "it is [redacted]"
    assert second["query"] == {"n": ["[redacted]"]} and second["json"] == {"message": "[redacted]"}
    assert third["headers"]["Authorization"] == "Bearer [redacted]"
    # Hidden when read, not when recorded: the journal holds what was sent (and the token it hides
    # is the mock's now).
    mock.admin_token = None
    assert token in json.dumps(mock.journal.entries())


def test_the_admin_token_is_hidden_in_the_path_and_in_hub_entries(serve):
    token = "s3cret-admin-token"
    mock = mockchats.build(admin_token=token)
    server = serve(mock)
    plane = Plane(server.root_url, token)
    alice = {"Authorization": "Bearer alice-token"}
    requests.get(server.base_url + f"/chats/{token}", headers=alice, timeout=10)
    # Percent-encoded in part (sent as is: requests would decode it): the path is then shown decoded.
    connection = http.client.HTTPConnection(urlsplit(server.root_url).hostname, urlsplit(server.root_url).port,
                                            timeout=10)
    try:
        connection.request("GET", f"/v1/chats/{token[:3]}%{ord(token[3]):02X}{token[4:]}/x%20y", headers=alice)
        connection.getresponse().read()
    finally:
        connection.close()
    requests.get(server.base_url + "/chats/caf%C3%A9", headers=alice, timeout=10)  # no token: as sent
    mock.journal.record_hub(hub="session", action="received", connection_id="c-1", session_id="s-1",
                            user_id="u-1", transport="webSockets",
                            detail={"message": {"arguments": [f"it is {token}"], token: 1}, "reason": token})
    entries = plane.ok("GET", "/requests")
    assert token not in json.dumps(entries)
    assert [entry["path"] for entry in entries] == ["/v1/chats/[redacted]", "/v1/chats/[redacted]/x y",
                                                    "/v1/chats/caf%C3%A9"]
    assert "/v1/chats/[redacted] is not an operation" in entries[0]["violations"][0]  # what it says quotes it
    (hub,) = plane.ok("GET", "/requests", params={"kind": "hub"})
    assert hub["detail"] == {"message": {"arguments": ["it is [redacted]"], "[redacted]": 1}, "reason": "[redacted]"}
    # Hidden when read, not when recorded.
    mock.admin_token = None
    held = mock.journal.entries(kind="all")
    assert held[0]["path"] == f"/v1/chats/{token}" and held[-1]["detail"]["reason"] == token


def test_the_app_alone_records_the_headers_from_the_environ():
    # In-process (no server to pass the raw headers): read back from the WSGI environ.
    mock = mockchats.build()
    client = mock.app.test_client()
    answer = client.post("/v1/chats", json={"message": "hi"}, headers={"Authorization": "Bearer alice-token",
                                                                       "X-Api-Thing": "v"})
    entry = mock.journal.entries()[-1]
    assert entry["headers"]["Content-Type"] == "application/json"
    assert entry["headers"]["X-Api-Thing"] == "v"
    assert entry["response"]["status"] == 200 and entry["response"]["body"] == answer.get_data(as_text=True)


def test_the_proxys_journal_records_headers_and_answers_too(server):
    proxy = ProxyServer(ContractProxy(server.base_url), port=0).start()
    try:
        response = requests.get(proxy.base_url + "/chats", params={"take": 1},
                                headers={"Authorization": "Bearer host-token"}, timeout=10)
        entry = requests.get(proxy.root_url + "/_mock/requests", timeout=10).json()[-1]
    finally:
        proxy.stop()
    assert entry["headers"]["Authorization"] == "Bearer host-token"
    assert entry["response"]["status"] == 200 and entry["response"]["body"] == response.text
    assert entry["response"]["headers"]["Content-Type"] == response.headers["Content-Type"]
