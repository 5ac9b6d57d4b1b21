"""Routing as ASP.NET Core endpoint routing does it, the served spec, and start-up checks."""
from __future__ import annotations

import http.client
import json
import logging
import random
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import support
import yaml
from openapi_spec_validator import validate
from requests.structures import CaseInsensitiveDict
from support import check, operation_for

import mockchats
from mockchats.chats import responses as operations
from mockchats.core.spec import Spec

SPEC_FILE = Path(__file__).resolve().parents[2] / "openapi" / "chats.yaml"
PUBLIC_URL = "https://api.quicksync.me/v1"
OPERATION_IDS = {"listChats", "createChat", "deleteChat", "addReaction", "listReactions",
                 "deleteReaction", "deletePin"}
AUTH = {"Authorization": "Bearer host-token"}


# -- helpers -------------------------------------------------------------------
def raw_request(api, method: str, target: str, body: bytes = b"", headers: dict | None = None):
    """Send ``target`` byte for byte (no client-side normalising or re-quoting)."""
    url = urlsplit(api.root_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in {**AUTH, "Content-Length": str(len(body)), **(headers or {})}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        raw = connection.getresponse()
        response = requests.Response()
        response.status_code = raw.status
        response.headers = CaseInsensitiveDict(raw.getheaders())
        response._content = raw.read()
        return response
    finally:
        connection.close()


def get_root(api, path: str, **kw) -> requests.Response:
    """GET a path given from the server root, without following redirects; spec-checked."""
    response = api.session.get(api.root_url + path, headers=AUTH, allow_redirects=False, timeout=10, **kw)
    operation = operation_for("GET", path.split("?")[0])
    if operation is not None:
        check(operation, response)
    return response


def assert_empty(response) -> None:
    assert response.content == b""
    assert "Content-Type" not in response.headers


# -- case and trailing slash --------------------------------------------------------
@pytest.mark.parametrize("path", ["/V1/CHATS", "/v1/Chats", "/V1/chats/", "/v1/chats/", "/v1/CHATS/"])
def test_list_path_matches_case_insensitively_and_with_a_trailing_slash(api, path):
    response = get_root(api, path, params={"Take": 3})
    assert response.status_code == 200
    assert len(response.json()["messages"]) == 3


@pytest.mark.parametrize("path", ["/v1/Chats/reactions", "/V1/CHATS/REACTIONS", "/v1/chats/Reactions/"])
def test_literal_reactions_path_matches_case_insensitively(api, path):
    chat = api.messages()[0]
    response = get_root(api, path, params={"chatIds": chat["chatId"]})
    assert response.status_code == 200
    assert len(response.json()) == sum(r["count"] for r in chat["reactions"])


def test_post_with_odd_case_and_trailing_slash_creates_without_redirect(api):
    response = api.session.post(api.root_url + "/V1/Chats/", headers=AUTH, json={"message": "hi"},
                                allow_redirects=False, timeout=10)
    check(operation_for("POST", "/V1/Chats/"), response)
    assert response.status_code == 200
    assert response.json()["message"] == "hi"


def test_delete_with_odd_case_reaches_the_message(api):
    chat_id = api.create("bye")["chatId"]
    response = api.session.delete(f"{api.root_url}/V1/CHATS/{chat_id}/", headers=AUTH,
                                  allow_redirects=False, timeout=10)
    check(operation_for("DELETE", f"/V1/CHATS/{chat_id}/"), response)
    assert response.status_code == 204
    assert all(m["chatId"] != chat_id for m in api.all_messages())


def test_path_parameters_keep_their_case(api):
    chat_id = api.create("case matters")["chatId"]
    response = api.delete(f"/chats/{chat_id.upper()}")
    assert response.status_code == 404
    assert any(m["chatId"] == chat_id for m in api.all_messages())


def test_encoded_slash_stays_inside_a_path_segment(api):
    # Kestrel does not decode %2F in the path, so this targets deleteChat with an
    # unknown chatId (a 404 problem), not an unknown route (an empty 404).
    response = raw_request(api, "DELETE", "/v1/chats/a%2Fb")
    check(operation_for("DELETE", "/v1/chats/a%2Fb"), response)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json; charset=utf-8"


# -- 404 ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    "/", "/v1", "/v1/", "/v1/nothing", "/v1/chat", "/v1/chats/x/y", "/v1/chats/x/reactions/y/z",
    "/v1/chats/x/pins", "/v2/chats", "/chats", "/v1/chats/x/pins/y/z", "/openapi.yaml",
])
@pytest.mark.parametrize("auth", [True, False])
def test_unknown_path_is_404_with_no_body_and_no_content_type(api, path, auth):
    response = api.session.get(api.root_url + path, headers=AUTH if auth else {},
                               allow_redirects=False, timeout=10)
    assert response.status_code == 404
    assert_empty(response)


@pytest.mark.parametrize("method, target", [
    ("GET", "/v1/chats//"), ("DELETE", "/v1/chats/some-chat//"), ("GET", "/v1//chats"),
])
def test_more_than_one_trailing_or_doubled_slash_is_an_unknown_path(api, mock, method, target):
    # Routing forgives one trailing slash only, and an empty segment matches no parameter.
    mock.journal.clear()
    response = raw_request(api, method, target)
    assert response.status_code == 404
    assert_empty(response)
    (entry,) = mock.journal.entries()
    assert entry["operationId"] is None and entry["violations"], entry


def test_unknown_path_with_a_body_is_404_and_changes_nothing(api):
    before = api.all_messages()
    response = api.session.post(api.base_url + "/messages", headers=AUTH, json={"message": "hi"}, timeout=10)
    assert response.status_code == 404
    assert_empty(response)
    assert api.all_messages() == before


# -- 405 ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/chats", {"GET", "POST"}),
    ("PATCH", "/chats", {"GET", "POST"}),
    ("DELETE", "/chats", {"GET", "POST"}),
    ("HEAD", "/chats", {"GET", "POST"}),
    ("OPTIONS", "/chats", {"GET", "POST"}),
    ("GET", "/chats/some-chat", {"DELETE"}),
    ("POST", "/chats/some-chat", {"DELETE"}),
    ("PUT", "/chats/some-chat", {"DELETE"}),
    ("OPTIONS", "/chats/some-chat", {"DELETE"}),
    ("GET", "/chats/some-chat/reactions", {"POST"}),
    ("DELETE", "/chats/some-chat/reactions", {"POST"}),
    ("GET", "/chats/some-chat/reactions/r", {"DELETE"}),
    ("POST", "/chats/some-chat/pins/p", {"DELETE"}),
    # The literal route (GET) and the {chatId} route (DELETE) both match this path.
    ("POST", "/chats/reactions", {"DELETE", "GET"}),
    ("HEAD", "/chats/reactions", {"DELETE", "GET"}),
])
@pytest.mark.parametrize("auth", [True, False])
def test_wrong_method_is_405_with_allow_and_no_body(api, method, path, allowed, auth):
    response = api.session.request(method, api.base_url + path, headers=AUTH if auth else {},
                                   allow_redirects=False, timeout=10)
    assert response.status_code == 405
    assert_empty(response)
    allow = response.headers["Allow"]
    assert re.fullmatch(r"[A-Z]+(, [A-Z]+)*", allow), allow  # joined with ", " as ASP.NET joins them
    assert set(allow.split(", ")) == allowed
    assert allow.split(", ") == [m for m in ("GET", "POST", "DELETE") if m in allowed]  # the spec's order


def test_wrong_method_changes_nothing(api):
    before = api.all_messages()
    chat_id = before[0]["chatId"]
    for method in ("PUT", "PATCH", "POST"):
        response = api.session.request(method, f"{api.base_url}/chats/{chat_id}", headers=AUTH,
                                       json={"message": "x"}, timeout=10)
        assert response.status_code == 405
    assert api.all_messages() == before


def test_a_parameter_route_chosen_over_a_literal_one_keeps_the_spelling_sent(api, mock):
    # DELETE /v1/chats/REACTIONS: the literal route (GET) matches the path first, but only
    # the {chatId} route takes DELETE; its chatId is "REACTIONS" as sent, a path it spells
    # exactly as the client did (no spelling warning).
    mock.journal.clear()
    response = raw_request(api, "DELETE", "/v1/chats/REACTIONS")
    check(operation_for("DELETE", "/v1/chats/REACTIONS"), response)
    assert response.status_code == 404  # an unknown message, as a problem
    (entry,) = mock.journal.entries()
    assert entry["operationId"] == "deleteChat"
    assert entry["path"] == "/v1/chats/REACTIONS"
    assert entry["warnings"] == [] and entry["violations"] == [], entry


def test_literal_segment_wins_for_get_but_delete_reaches_the_parameter_route(api):
    # DELETE /chats/reactions is deleteChat with chatId "reactions": an unknown message.
    response = api.delete("/chats/reactions")
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"


# -- the served spec -----------------------------------------------------------------------
def test_openapi_json_lists_this_server_first_and_the_public_one_second(api):
    response = api.session.get(api.root_url + "/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    servers = response.json()["servers"]
    assert servers[0]["url"] == api.base_url
    assert servers[1]["url"] == PUBLIC_URL
    assert len(servers) == 2


def test_openapi_json_needs_no_token(api):
    response = api.session.get(api.root_url + "/openapi.json", timeout=10)
    assert response.status_code == 200


def test_openapi_json_is_a_valid_openapi_document(api):
    document = api.session.get(api.root_url + "/openapi.json", timeout=10).json()
    validate(document)


def test_openapi_json_is_the_spec_file_apart_from_servers(api):
    served = api.session.get(api.root_url + "/openapi.json", timeout=10).json()
    on_disk = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    assert {k: v for k, v in served.items() if k != "servers"} == \
           {k: v for k, v in on_disk.items() if k != "servers"}


def test_openapi_json_path_is_case_insensitive(api):
    response = api.session.get(api.root_url + "/OpenAPI.json", timeout=10, allow_redirects=False)
    assert response.status_code == 200
    assert response.json()["servers"][0]["url"] == api.base_url


def test_spec_file_is_a_valid_openapi_document():
    validate(yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8")))


def test_spec_file_declares_exactly_the_seven_operations():
    document = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    found = [op["operationId"] for item in document["paths"].values()
             for method, op in item.items() if isinstance(op, dict) and "operationId" in op]
    assert len(found) == len(set(found))
    assert set(found) == OPERATION_IDS


# -- start-up checks -------------------------------------------------------------------------
def test_app_starts_when_handlers_match_the_spec(mock):
    mockchats.create_app(mock)


def test_app_refuses_to_start_when_a_handler_is_missing(mock, monkeypatch):
    monkeypatch.delitem(operations.HANDLERS, "deletePin")
    with pytest.raises(mockchats.StartupError, match=r"operation 'deletePin' in .* has no handler"):
        mockchats.create_app(mock)


def test_app_refuses_to_start_when_a_handler_is_extra(mock, monkeypatch):
    monkeypatch.setitem(operations.HANDLERS, "pinChat", lambda store, caller, call: None)
    with pytest.raises(mockchats.StartupError, match=r"handler 'pinChat' has no operation in "):
        mockchats.create_app(mock)


def test_startup_error_names_every_mismatch(mock, monkeypatch):
    monkeypatch.delitem(operations.HANDLERS, "listChats")
    monkeypatch.delitem(operations.HANDLERS, "addReaction")
    monkeypatch.setitem(operations.HANDLERS, "pinChat", lambda store, caller, call: None)
    with pytest.raises(mockchats.StartupError) as raised:
        mockchats.create_app(mock)
    for name in ("listChats", "addReaction", "pinChat"):
        assert repr(name) in str(raised.value)


def test_app_refuses_a_parameter_that_does_not_fill_its_segment(mock, tmp_path):
    document = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    document["paths"]["/chats/{chatId}.json"] = document["paths"].pop("/chats/{chatId}")
    odd = tmp_path / "chats.yaml"
    odd.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(mockchats.StartupError, match=r"deleteChat: path segment '\{chatId\}.json'"):
        mockchats.create_app(mock, spec=Spec(odd))


# -- an unhandled error ------------------------------------------------------------------
def test_an_unhandled_error_is_an_empty_500_logged_and_journaled(api, mock, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the mock")

    monkeypatch.setattr(mock.store, "list_messages", broken)  # what listChats calls
    mock.journal.clear()
    with caplog.at_level(logging.ERROR, logger="mockchats.errors"):
        response = api.session.get(api.base_url + "/chats", headers=AUTH, timeout=10)  # 500 is undeclared
    assert response.status_code == 500
    assert_empty(response)
    (entry,) = mock.journal.entries()
    assert entry["operationId"] == "listChats" and entry["status"] == 500
    (record,) = [r for r in caplog.records if r.name == "mockchats.errors"]
    assert record.exc_info and "a bug in the mock" in str(record.exc_info[1])


# -- fuzz: odd input never breaks the server -------------------------------------------------
SEGMENTS = ["v1", "V1", "chats", "CHATS", "reactions", "pins", "x", "", "%", "%Z", "%ZZ", "%2F", "%2f",
            "%00", "%FF", "%C3%28", "%E2%82", "..", ".", "%2e%2e", "%C3%A9", "%F0%9F%98%80", "a%20b", "~",
            "%25", ";x=1", "*", "openapi.json", "c46bc129-1e62-4807-8b19-13dc19025fcd"]
QUERY_KEYS = ["Skip", "Take", "SortBy", "Ascending", "chatIds", "take", "chatIds[0]", "chatIds[x]",
              "", "%", "%ZZ", "a%00b", "[", "]", "="]
QUERY_VALUES = ["", "0", "-1", "20", "21", "abc", "%", "%ZZ", "%FF", "%00", "true", "yes", "Pinned",
                ":thumbs_up:", "%E2%82", "1e9", "99999999999999999999", "+", "%20", "%20true%20", ",", "&"]
CONTENT_TYPES = [None, "application/json", "text/plain", "application/json; charset=latin1",
                 "application/x-www-form-urlencoded", "application/+json", "", ";", "application/json;;"]
METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]
BODIES = [b"", b"{", b"}", b"[", b"null", b'{"message": "hi"}', b'{"reaction": ":thumbs_up:"}',
          b'{"message": "\xff"}', b"\x00", b"\xef\xbb\xbf", b'{"a":' * 50, b'"' * 3, b"\\u0000",
          b'{"message": "\\ud800"}', b'{"message": "\\uDE00x"}', b'{"\\u0000": 1}', b'{"message": 1e999}']


def _odd_path(rng: random.Random) -> str:
    parts = [rng.choice(SEGMENTS) for _ in range(rng.randint(0, 5))]
    if rng.random() < 0.6:
        parts = ["v1", "chats", *parts[:3]]
    return "/" + "/".join(parts) + ("/" if rng.random() < 0.2 else "")


def _odd_query(rng: random.Random) -> str:
    pairs = []
    for _ in range(rng.randint(0, 4)):
        key, value = rng.choice(QUERY_KEYS), rng.choice(QUERY_VALUES)
        pairs.append(rng.choice([f"{key}={value}", key, f"{key}=", f"={value}", f"{key}=={value}"]))
    return ("?" + "&".join(pairs)) if pairs else rng.choice(["", "?", "?&", "?&&"])


def _odd_body(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return rng.choice(BODIES)
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))


def test_fuzzed_requests_never_get_a_server_error(api):
    rng = random.Random(20250626)
    failures = []
    for _ in range(1500):
        method = rng.choice(METHODS)
        target = _odd_path(rng) + _odd_query(rng)
        body = _odd_body(rng) if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        headers = {}
        content_type = rng.choice(CONTENT_TYPES)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if rng.random() < 0.1:
            headers["Authorization"] = rng.choice(["Bearer ", "Bearer a@b", "bearer x y", "Basic x"])
        response = raw_request(api, method, target, body, headers)
        if response.status_code >= 500:
            failures.append((method, target, body, headers, response.status_code))
    assert failures == []
    # Nothing odd got stored either: the session still reads back whole.
    assert len(api.all_messages()) >= 1


@pytest.mark.parametrize("target", [
    "/v1/chats?Take=%", "/v1/chats?Take=%ZZ", "/v1/chats?%=%", "/v1/chats?Take=%FF",
    "/v1/chats?SortBy=%E2%82", "/v1/chats?Ascending=%00", "/v1/chats/reactions?chatIds=%ZZ&chatIds=%",
    "/v1/chats?&&&", "/v1/chats?=5", "/v1/chats?Take",
])
def test_bad_percent_encodings_in_the_query_are_client_errors_at_worst(api, target):
    response = raw_request(api, "GET", target)
    assert response.status_code in (200, 400)
    check(operation_for("GET", target.split("?")[0]), response)


@pytest.mark.parametrize("target", [
    "/v1/chats/%ZZ", "/v1/chats/%", "/v1/chats/%00", "/v1/chats/%FF", "/v1/chats/%C3%28",
    "/v1/chats/%ZZ/reactions/%", "/v1/chats/%/pins/%ZZ",
])
def test_bad_percent_encodings_in_path_parameters_are_not_found(api, target):
    response = raw_request(api, "DELETE", target)
    assert response.status_code == 404
    check(operation_for("DELETE", target), response)


def test_a_204_keeps_the_connection_open_as_kestrel_does(api):
    connection = http.client.HTTPConnection(urlsplit(api.root_url).hostname, urlsplit(api.root_url).port,
                                            timeout=10)
    headers = {**AUTH, "Content-Type": "application/json"}
    connection.request("POST", "/v1/chats", body='{"message": "short-lived"}', headers=headers)
    created = connection.getresponse()
    chat_id = json.loads(created.read())["chatId"]
    connection.request("DELETE", f"/v1/chats/{chat_id}", headers=headers)
    deleted = connection.getresponse()
    assert deleted.read() == b"" and deleted.status == 204
    assert not deleted.will_close and deleted.getheader("Connection") is None
    connection.request("GET", "/v1/chats?Take=1", headers=headers)  # same connection, still open
    assert connection.getresponse().status == 200
    connection.close()


# -- refused requests change nothing ---------------------------------------------------------------
def _refusals(alices: str, reaction: str, pinned: str, pin: str) -> list[tuple]:
    """(expected status, method, path, headers, body) of requests the mock must refuse,
    each of which would change something if it got through."""
    alice, bob, host = ({"Authorization": f"Bearer {t}-token"} for t in ("alice", "bob", "host"))
    as_json = {"Content-Type": "application/json"}
    return [
        (400, "POST", "/v1/chats", {**alice, **as_json}, b'{"message": ""}'),
        (400, "POST", "/v1/chats", {**alice, **as_json}, b'{"message": 1}'),
        (400, "POST", "/v1/chats", {**alice, **as_json}, json.dumps({"message": "x" * 281}).encode()),
        (400, "POST", "/v1/chats", {**alice, **as_json}, b'{"message": "half'),
        (400, "POST", f"/v1/chats/{alices}/reactions", {**bob, **as_json}, b'{"reaction": ":smile:"}'),
        (401, "POST", "/v1/chats", as_json, b'{"message": "no token"}'),
        (401, "DELETE", f"/v1/chats/{alices}", {"Authorization": "Bearer not/a@token"}, b""),
        (403, "DELETE", f"/v1/chats/{alices}", bob, b""),
        (403, "DELETE", f"/v1/chats/{alices}/reactions/{reaction}", bob, b""),
        (403, "DELETE", f"/v1/chats/{pinned}/pins/{pin}", alice, b""),
        (404, "DELETE", "/v1/chats/no-such-message", host, b""),
        (404, "POST", "/v1/chats/no-such-message/reactions", {**bob, **as_json}, b'{"reaction": ":thumbs_up:"}'),
        (404, "DELETE", f"/v1/chats/{alices}/reactions/no-such-reaction", host, b""),
        (404, "DELETE", f"/v1/chats/{pinned}/pins/no-such-pin", host, b""),
        (404, "POST", "/v1/messages", {**alice, **as_json}, b'{"message": "wrong path"}'),
        (405, "PUT", "/v1/chats", {**alice, **as_json}, b'{"message": "wrong method"}'),
        (413, "POST", "/v1/chats", {**alice, **as_json},
         json.dumps({"message": "x" * (1024 * 1024)}).encode()),
        (415, "POST", "/v1/chats", {**alice, "Content-Type": "text/plain"}, b'{"message": "not json"}'),
        (400, "POST", "/v1/chats", {**alice, **as_json, "Prefer": "code=400"}, b'{"message": "preferred"}'),
        (200, "POST", "/v1/chats", {**alice, **as_json, "Prefer": "code=200"}, b'{"message": "preferred"}'),
    ]


@pytest.fixture(scope="module", params=support.SERVINGS)
def served_root(request):
    """The mock served each way: ``mockchats serve``, and mockchats.Server in this process."""
    with support.served_root(request.param) as root:
        yield root


def _exported(root: str) -> dict:
    response = requests.get(root + "/_mock/state", timeout=10)
    assert response.status_code == 200
    return response.json()


def _world(root: str) -> tuple[str, str, str, str]:
    """A reset world with a message of Alice's (with her reaction) and a pinned message."""
    assert requests.post(root + "/_mock/reset", timeout=10).status_code == 200
    alice = {"Authorization": "Bearer alice-token"}
    alices = requests.post(root + "/v1/chats", json={"message": "alice's"}, headers=alice, timeout=10).json()
    reaction = requests.post(root + f"/v1/chats/{alices['chatId']}/reactions", json={"reaction": ":thumbs_up:"},
                             headers=alice, timeout=10).json()
    session = _exported(root)["sessions"][0]["id"]
    pinned = requests.post(root + f"/_mock/sessions/{session}/pins", json={"chatId": alices["chatId"]},
                           timeout=10).json()
    return alices["chatId"], reaction["reactionId"], pinned["chatId"], pinned["pinId"]


def _send(root: str, method: str, path: str, headers: dict, body: bytes) -> int:
    return requests.request(method, root + path, headers=headers, data=body, timeout=10).status_code


def test_refused_requests_change_nothing(served_root):
    refusals = _refusals(*_world(served_root))
    before = _exported(served_root)
    statuses = [_send(served_root, method, path, headers, body) for _, method, path, headers, body in refusals]
    assert statuses == [status for status, *_ in refusals]
    assert _exported(served_root) == before


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 429, "headers": {"Retry-After": "1"}},
                                   {"status": 503, "delayMs": 50}])
def test_an_injected_fault_before_the_operation_changes_nothing(served_root, fault):
    chat_id = _world(served_root)[0]
    for operation_id in ("createChat", "addReaction", "deleteChat"):
        armed = {"operationId": operation_id, "when": "before", **fault}
        assert requests.post(served_root + "/_mock/faults", json=armed, timeout=10).status_code == 201
    before = _exported(served_root)
    alice = {"Authorization": "Bearer alice-token", "Content-Type": "application/json"}
    bob = {**alice, "Authorization": "Bearer bob-token"}
    statuses = [_send(served_root, "POST", "/v1/chats", alice, b'{"message": "struck"}'),
                _send(served_root, "POST", f"/v1/chats/{chat_id}/reactions", bob, b'{"reaction": ":thumbs_down:"}'),
                _send(served_root, "DELETE", f"/v1/chats/{chat_id}", alice, b"")]
    assert statuses == [fault["status"]] * 3
    assert _exported(served_root) == before


def test_a_refused_request_with_an_unissued_token_only_admits_the_guest(served_root):
    """Open auth's one documented exception (fidelity entry 34): the guest joins, nothing else."""
    refusals = _refusals(*_world(served_root))
    before = _exported(served_root)
    guest = {"Authorization": "Bearer a-token-nobody-issued"}
    for status, method, path, headers, body in refusals:
        if "Authorization" not in headers or status in (401, 403):
            continue  # refused before the token is read, or its refusal is about the user
        sent = _send(served_root, method, path, {**headers, **guest}, body)
        expected = 403 if "/pins/" in path else status  # a Client removing a pin: 403 for any id
        assert sent == expected, (method, path)
    after = _exported(served_root)
    assert after["sessions"][1:] == before["sessions"][1:]
    first_before, first_after = before["sessions"][0], after["sessions"][0]
    assert first_after["messages"] == first_before["messages"]
    added = [u for u in first_after["users"] if u not in first_before["users"]]
    assert first_after["users"][:len(first_before["users"])] == first_before["users"]
    assert [(u["role"], u["token"]) for u in added] == [("Client", "a-token-nobody-issued")]
