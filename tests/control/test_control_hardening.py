"""The control plane against hostile and careless input, over real HTTP.

Who may drive it (loopback only without an admin token), messages written for a person,
JSON that Python would read but no one can give back, the journal's refusals and new
filters, ``GET /_mock`` and ``POST /_mock/pins``. Every answer goes through the plane's
own document (support's ``Plane``).
"""
from __future__ import annotations

import json
import socket
import subprocess
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
import requests
from support import (
    PROBLEM,
    SERVINGS,
    ZED_AND_YAN,
    Plane,
    ServeProcess,
    assert_human,
    assert_problem,
    conform,
    control_document,
    rebound,
    served_root,
)

import mockchats
from mockchats import Control, ControlError
from mockchats.control.views import dns_host_reason, is_admin_token, is_loopback_address, is_loopback_host

#: Every test starts and ends in the start world (conftest's fresh).
pytestmark = pytest.mark.usefixtures("fresh")


def refused(response: requests.Response, status: int = 400) -> dict:
    problem = assert_problem(response, status, errors=status == 400)
    assert_human(problem)
    return problem


# -- who may drive the control plane ----------------------------------------------------------
def this_machines_outside_address() -> str:
    """An address of this machine that is not loopback (peers coming through it are not loopback)."""
    try:
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split()
    except (OSError, subprocess.SubprocessError):
        found = []
    for address in found:
        if ":" not in address and not is_loopback_address(address):
            return address
    try:  # no hostname -I: the address a route outwards would leave from
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
    except OSError:
        address = "127.0.0.1"
    if is_loopback_address(address):
        pytest.skip("this machine has no address but loopback")
    return address


def test_serve_says_a_dns_name_keeps_the_control_plane_closed_without_a_token():
    name = socket.gethostname()
    try:
        socket.getaddrinfo(name, None)
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    if dns_host_reason(name) is None:
        pytest.skip(f"this machine's name {name!r} is an address or localhost")
    with ServeProcess("--host", name) as process:
        banner = "".join(process.banner)
        code, _, _ = process.stop()
    assert "NOTE" in banner and "DNS name" in banner and "127.0.0.1" in banner, banner


def test_serve_warns_when_it_listens_beyond_the_machine_without_a_token():
    with ServeProcess("--host", "0.0.0.0") as process:
        banner = "".join(process.banner)
        assert "WARNING" in banner and "--admin-token" in banner and "loopback" in banner


@pytest.mark.parametrize("serving", SERVINGS)
def test_listening_beyond_the_machine_without_a_token_serves_the_control_plane_to_loopback_only(serving):
    outside = this_machines_outside_address()
    with served_root(serving, host="0.0.0.0") as root:
        port = urlsplit(root).port
        local, remote = f"http://127.0.0.1:{port}", f"http://{outside}:{port}"
        plane = Plane(local)
        before = plane.world()
        for method, path in [("GET", ""), ("GET", "/state"), ("POST", "/reset"), ("GET", "/requests"),
                             ("GET", "/openapi.json"), ("POST", "/faults"), ("PUT", "/state")]:
            response = requests.request(method, remote + "/_mock" + path, json={}, timeout=10)
            assert response.status_code == 403, (method, path, response.text)
            assert response.headers["Content-Type"] == PROBLEM
            problem = response.json()
            assert "--admin-token" in problem["detail"] and "loopback" in problem["detail"]
            assert_human(problem)
            if path != "/openapi.json":
                conform(plane.document, method, "/_mock" + path, response)
        assert plane.world() == before
        assert plane.ok("GET", "/state")["sessions"]
        # The partner API itself answers anyone.
        chats = requests.get(remote + "/v1/chats", headers={"Authorization": "Bearer alice-token"}, timeout=10)
        assert chats.status_code == 200


def test_with_an_admin_token_anyone_who_sends_it_drives_the_control_plane():
    outside = this_machines_outside_address()
    with ServeProcess("--host", "0.0.0.0", "--admin-token", "T") as process:
        assert "WARNING" not in "".join(process.banner)
        remote = f"http://{outside}:{urlsplit(process.base_url).port}"
        plane = Plane(remote, token="T")
        assert plane.ok("GET", "/state")["sessions"]
        assert plane.ok("POST", "/reset")["messages"] == 24
        unauthorized = requests.get(remote + "/_mock/state", timeout=10)
        assert unauthorized.status_code == 401 and unauthorized.content == b""


def test_a_loopback_server_says_no_warning():
    with ServeProcess() as process:
        banner = "".join(process.banner)
        assert "WARNING" not in banner
        (control_line,) = [line for line in process.banner if line.strip().startswith("control")]
        url = control_line.split()[1]
        assert url.endswith("/_mock")
        index = requests.get(url, timeout=10)  # the banner's control line answers its index
        assert index.status_code == 200 and index.json()["openapi"] == "/_mock/openapi.json"


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.1", False), ("192.0.2.2", False), ("::", False), ("::ffff:10.0.0.1", False),
    ("fe80::1%eth0", False), ("", False), (None, False), ("not-an-address", False)])
def test_which_peers_are_loopback(address, loopback):
    assert is_loopback_address(address) is loopback


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("[::1]", True),
                                            ("localhost", True), ("0.0.0.0", False), ("::", False)])
def test_which_listening_hosts_stay_on_the_machine(host, loopback):
    assert is_loopback_host(host) is loopback


# -- messages for a person --------------------------------------------------------------------
WORDED = [
    ("POST", "/reset", {"seed": "1"}, "$.seed", "Must be a whole number, not a string."),
    ("POST", "/reset", {"seed": None}, "$.seed", "Must be a whole number, not null."),
    ("POST", "/reset", {"auth": "loose"}, "$.auth", "Must be one of 'open', 'strict', not 'loose'."),
    ("POST", "/reset", {"reset": True}, "$", "'reset' is not a property here; known: auth, scenario, seed."),
    ("POST", "/reset", None, "$", "Must be an object, not null."),
    ("POST", "/reset", [1], "$", "Must be an object, not an array."),
    ("POST", "/clock", {"real": False}, "$.real", "Can only be true, not false."),
    ("POST", "/clock", {}, "$", "Needs exactly one of freeze, advanceSeconds or real."),
    ("POST", "/clock", {"freeze": "now", "real": True}, "$",
     "Takes only one of freeze, advanceSeconds or real; freeze and real were both given."),
    ("POST", "/clock", {"freeze": None}, "$.freeze", "Must be a string, not null."),
    ("POST", "/clock", {"advanceSeconds": -1}, "$.advanceSeconds", "Must be at least 0, not -1."),
    ("POST", "/clock", {"advanceSeconds": {"a": 1}}, "$.advanceSeconds", "Must be a number, not an object."),
    ("POST", "/sessions", {"users": [{"name": "Zed", "role": "Admin"}]}, "$.users[0].role",
     "Must be one of 'Host', 'Client', not 'Admin'."),
    ("POST", "/sessions", {"users": {"name": "Zed"}}, "$.users", "Must be an array, not an object."),
    ("POST", "/sessions", {"users": []}, "$.users", "Must hold at least 1 item."),
    ("POST", "/sessions", {"users": [{"name": "", "role": "Host"}]}, "$.users[0].name", "Must not be empty."),
    ("POST", "/sessions", {}, "$", "'users' is required."),
    ("POST", "/pins", {"chatId": 5}, "$.chatId", "Must be a string, not a number."),
    ("POST", "/faults", {"path": "chats", "status": 503}, "$.path", "Must start with /, not 'chats'."),
    ("POST", "/faults", {"status": 503}, "$", "Needs at least one of operationId, method or path."),
    ("POST", "/faults", {"operationId": "listChats", "status": 503, "probability": 1.5}, "$.probability",
     "Must be at most 1, not 1.5."),
    ("POST", "/faults", {"operationId": "listChats", "status": 429, "headers": {"Retry-After": "1\r\nX: y"}},
     "$.headers.Retry-After", "Must not hold control characters, not '1\\u000d\\u000aX: y'."),
    ("POST", "/faults", {"operationId": "noSuch", "status": 503}, "$.operationId",
     "'noSuch' is not an operation; known: addReaction, createChat, createSession, deleteChat, "
     "deleteCurrentSession, deletePin, deleteReaction, disconnectSession, getCurrentSession, getNonce, "
     "joinSession, kickUser, listChats, listReactions, verifyWalletProof."),
    ("POST", "/scenarios", {"document": {"sessions": [{"id": "a/b", "users": []}]}}, "$.document.sessions[0].id",
     "Must be an id without /, ?, # or blanks, not 'a/b'."),
    ("PUT", "/state", {"sessions": [{"id": "s", "users": [{"id": "u", "name": "U", "role": "Host",
                                                           "token": "bad token"}]}]},
     "$.sessions[0].users[0].token",
     "Must be a bearer token: letters, digits and -._~+/, then any =, not 'bad token'."),
    ("PUT", "/state", {"sessions": [{"id": "s", "users": [{"id": "u", "name": "U", "role": "Host"}],
                                     "messages": [{"chatId": "m", "userId": "u", "message": " ",
                                                   "createdAt": "2025-06-26T08:00:00Z"}]}]},
     "$.sessions[0].messages[0].message", "Must not be blank, not ' '."),
    # One wording with the fixture files: lengths as .NET counts them, every extra, clipped values.
    ("PUT", "/state", {"sessions": [{"id": "s", "users": [{"id": "u", "name": "U", "role": "Host"}],
                                     "messages": [{"chatId": "m", "userId": "u", "message": "x" * 279 + "\U0001f600",
                                                   "createdAt": "2025-06-26T08:00:00Z"}]}]},
     "$.sessions[0].messages[0].message", "Must be at most 280 characters long (in UTF-16 code units, as .NET "
     f"counts: an emoji is 2); '{'x' * 40}…' is 281."),
    ("POST", "/reset", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}, "$",
     "'a', 'b', 'c' and 2 more are not properties here; known: auth, scenario, seed."),
    ("POST", "/sessions", {"users": [{"name": "Zed", "role": "x" * 100}]}, "$.users[0].role",
     f"Must be one of 'Host', 'Client', not '{'x' * 40}…'."),
    ("POST", "/faults", {"operationId": "listChats", "status": 10 ** 100}, "$.status",
     "Must be at most 599, not a number of about 101 digits."),
    ("POST", "/faults", {"operationId": "listChats", "delayMs": 2.5}, "$.delayMs", "Must be a whole number, not 2.5."),
]


@pytest.mark.parametrize("method, path, body, place, message", WORDED,
                         ids=[f"{m} {p} {json.dumps(b)[:50]}" for m, p, b, _, _ in WORDED])
def test_schema_errors_are_said_in_words(plane, method, path, body, place, message):
    before = plane.world()
    problem = refused(plane.request(method, path, data=json.dumps(body),
                                    headers={"Content-Type": "application/json"}))
    assert message in problem["errors"][place], problem
    assert place in problem["detail"] and message in problem["detail"]
    assert plane.world() == before


def test_properties_missing_together_are_said_once(plane):
    before = plane.world()
    problem = refused(plane.post("/sessions", json={"users": [{}]}))
    assert problem["errors"] == {"$.users[0]": ["'name' and 'role' are required."]}
    assert plane.world() == before


def test_a_state_with_thousands_of_faults_lists_the_first_200(plane):
    users = [{"id": "u", "name": "U", "role": "Host"}]
    messages = [{"chatId": f"m{n}", "userId": "u", "message": "", "createdAt": "2025-06-26T08:00:00Z"}
                for n in range(1000)]
    before = plane.ok("GET", "/state")
    problem = refused(plane.put("/state", json={"sessions": [{"id": "s", "users": users, "messages": messages}]}))
    assert sum(map(len, problem["errors"].values())) == 200
    assert problem["detail"].endswith("(and more)")
    assert plane.ok("GET", "/state") == before


def test_an_unknown_session_is_no_session_and_an_unknown_message_names_its_session(plane, api, default_session):
    chat = api.create("here")["chatId"]
    problem = refused(plane.post("/sessions/nope/pins", json={"chatId": chat}), 404)
    assert problem["detail"] == "No session 'nope'."
    problem = refused(plane.post(f"/sessions/{default_session}/pins", json={"chatId": "gone"}), 404)
    assert problem["detail"] == f"No message 'gone' in session '{default_session}'."
    assert refused(plane.delete("/faults/f'1"), 404)["detail"] == "No fault 'f'1'."


@pytest.mark.parametrize("instant", ["10000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
                                     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_instant_out_of_range_says_so(plane, instant):
    problem = refused(plane.post("/clock", json={"freeze": instant}))
    assert "out of range" in problem["detail"] and "9999-12-31T23:59:59.9999999Z" in problem["detail"]
    assert problem["errors"]["$.freeze"] == [f"'{instant}' is outside 0001-01-01T00:00:00Z to "
                                             "9999-12-31T23:59:59.9999999Z (UTC)."]
    assert plane.ok("GET", "/clock")["frozen"] is False


@pytest.mark.parametrize("instant", ["tomorrow", "2030-01-01T00:00:00", "2030-13-01T00:00:00Z"])
def test_an_instant_that_is_not_one_says_what_one_is(plane, instant):
    problem = refused(plane.post("/clock", json={"freeze": instant}))
    assert "2030-01-01T00:00:00Z" in problem["detail"] and "out of range" not in problem["detail"]


@pytest.mark.parametrize("seconds", ["1e15", "1e308", "9" * 400, "3e11"])
def test_advancing_past_the_end_of_time_says_so(plane, seconds):
    response = plane.post("/clock", data=f'{{"advanceSeconds": {seconds}}}',
                          headers={"Content-Type": "application/json"})
    problem = refused(response)
    assert "past 9999-12-31T23:59:59.9999999Z" in problem["detail"]
    assert plane.ok("GET", "/clock")["frozen"] is False


@pytest.mark.parametrize("content_type, said", [(None, "sent without a Content-Type"),
                                                ("text/plain", "sent as 'text/plain'")])
def test_a_body_not_sent_as_json_says_how_it_was_sent(plane, content_type, said):
    headers = {"Content-Type": content_type} if content_type else {}
    problem = refused(plane.post("/clock", data=b'{"real": true}', headers=headers), 415)
    assert said in problem["detail"] and "application/json" in problem["detail"]


# -- JSON that Python reads but no one can give back ------------------------------------------
HOSTILE = [
    ("huge int", '{"seed": ' + "1" * 5000 + "}", "$.seed", "A number has more than 4300 digits."),
    ("huge negative int", '{"seed": -' + "9" * 4301 + "}", "$.seed", "A number has more than 4300 digits."),
    ("huge int deep", '{"a": [1, {"b": ' + "7" * 4301 + "}]}", "$.a[1].b", "A number has more than 4300 digits."),
    ("float overflow", '{"seed": 1e999}', "$.seed", "out of range"),
    ("negative float overflow", '{"seed": -1e999}', "$.seed", "out of range"),
    ("float overflow without an exponent", '{"seed": [1' + "0" * 400 + '.5]}', "$.seed[0]", "out of range"),
    ("NaN", '{"seed": NaN}', "$", "NaN is not a JSON value"),
    ("deep nesting", "[" * 100_000 + "]" * 100_000, "$", "deeper than 64"),
    ("nesting past 64", '{"a": ' + "[" * 70 + "]" * 70 + "}", "$.a" + "[0]" * 63, "deeper than 64"),
    ("lone surrogate", '{"scenario": "\\ud800"}', "$.scenario", "lone UTF-16 surrogate"),
    ("lone surrogate key", '{"\\udfff": 1}', "$", "lone UTF-16 surrogate"),
    ("raw NUL", '{"scenario": "a\x00"}', "$",
     "Byte 0x00 is invalid within a JSON string. The string should be correctly escaped (line 1, column 16)."),
    ("not UTF-8", b'{"scenario": "\xff"}', "$", "not UTF-8"),
    ("truncated", '{"seed": ', "$", "There is an open JSON object or array that should be closed "
                                     "(line 1, column 10)."),
    ("not JSON", "hello", "$", '"h" is an invalid start of a value (line 1, column 1).'),
    ("not JSON, u", "u", "$", '"u" is an invalid start of a value (line 1, column 1).'),
    ("unquoted property name", "{", "$", "Expected depth to be zero at the end of the JSON payload"),
    ("property name without quotes", "{seed: 1}", "$",
     '"s" is an invalid start of a property name. Expected a \'"\' (line 1, column 2).'),
    ("bare NUL", "\x00", "$", "Byte 0x00 is an invalid start of a value (line 1, column 1)."),
    ("trailing comma", '{"seed": 1,}', "$", "trailing comma"),
    ("two values", '{} {}', "$", '"{" is invalid after a single JSON value. Expected end of data'),
    ("a missing comma", '[1 [2]]', "$", '"[" is invalid after a value. Expected either ",", "}", or "]"'),
]
PLACES = [("POST", "/reset"), ("POST", "/clock"), ("POST", "/faults"), ("PUT", "/state"),
          ("POST", "/scenarios"), ("POST", "/scenarios/default"), ("POST", "/sessions"), ("POST", "/pins")]


@pytest.mark.parametrize("name, body, place, said", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_json_no_one_can_give_back_is_a_400_everywhere(plane, api, name, body, place, said):
    api.create("something to lose")
    before = plane.world()
    for method, path in PLACES:
        response = plane.request(method, path, data=body if isinstance(body, bytes) else body.encode("utf-8",
                                 "surrogatepass"), headers={"Content-Type": "application/json"})
        problem = refused(response)
        assert list(problem["errors"]) == [place], (path, problem)
        assert said in problem["errors"][place][0], (path, problem)
    assert plane.world() == before


def test_a_utf8_byte_order_mark_is_read_past(plane):
    response = plane.post("/reset", data=b'\xef\xbb\xbf{"seed": 7}', headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["seed"] == 7


@pytest.mark.parametrize("body", [
    {"scenario": "a\u0000b"}, {"seed": 10**300}, {"seed": -(10**300)}, {"auth": "open\u0000"},
    {"scenario": "../../etc/passwd"}, {"scenario": "x" * 100_000}, {"seed": 1.0},
])
def test_odd_but_valid_json_never_answers_a_500(plane, body):
    response = plane.post("/reset", data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400, 404), response.text
    if response.status_code >= 400:
        assert_human(response.json())
        assert "x" * 100 not in response.json()["detail"]


@pytest.mark.parametrize("path, body", [
    ("/sessions", {"users": [{"name": "\u0000\ud7ff\U0001f600", "role": "Host"}]}),
    ("/faults", {"operationId": "listChats", "status": 503, "times": 10**40, "body": [[[[{"a": 10**30}]]]]}),
    ("/faults", {"method": "\u0000", "status": 503}),
    ("/faults", {"path": "/v1/chats/\u0000", "status": 503}),
    ("/pins", {"chatId": "\u0000"}),
    ("/scenarios", {"path": "x" * 10_000}),
    ("/scenarios", {"document": {"sessions": [{"id": "s", "users": [{"id": "u", "name": "U", "role": "Host"}],
                                               "generate": {"messages": 10**30}}]}}),
])
def test_odd_values_in_each_call_never_answer_a_500(plane, path, body):
    response = plane.post(path, json=body)
    assert response.status_code in (200, 201, 400, 404), response.text
    if response.status_code >= 400:
        assert_human(response.json())
    assert plane.get("/faults").status_code == 200
    assert plane.get("/sessions").status_code == 200


# -- the journal refuses what it cannot answer ------------------------------------------------
@pytest.mark.parametrize("query, key, said", [
    ("operationId=createchat", "operationId", "'createchat' is not an operation (did you mean 'createChat'?)"),
    ("operationId=nope", "operationId", "known: addReaction, createChat, createSession, deleteChat"),
    ("operation=createChat", "operation", "'operation' is not a filter; known: operationId, method, path, "
                                          "status, user, kind, hub, limit."),
    ("Limit=3", "Limit", "is not a filter"),
    ("limit=1&limit=2", "limit", "limit is given more than once."),
    ("status=600", "status", "neither a status code"),
    ("status=4x", "status", "neither a status code"),
    ("status=abc", "status", "nor a class (1xx to 5xx, e.g. 4xx)"),
    ("limit=%C2%B2", "limit", "is not a whole number"),
])
def test_a_journal_query_it_cannot_answer_is_a_400_listing_what_is_known(plane, query, key, said):
    problem = refused(plane.get(f"/requests?{query}"))
    assert any(said in message for message in problem["errors"][key]), problem


@pytest.mark.parametrize("limit, kept", [("9" * 5000, 2), ("0" * 5000 + "1", 1), ("18446744073709551616", 2)])
def test_a_limit_of_any_length_is_read(plane, api, limit, kept):
    api.get("/chats", params={"take": 1})
    api.get("/chats", params={"take": 2})
    entries = plane.ok("GET", f"/requests?limit={limit}")
    assert [e["query"]["take"] for e in entries] == [["1"], ["2"]][-kept:]


def test_the_client_raises_for_an_operation_that_does_not_exist(server):
    with pytest.raises(ControlError) as wrong:
        Control(server.root_url).requests(operation_id="createchat")
    assert wrong.value.status == 400 and "did you mean 'createChat'" in wrong.value.body["detail"]


def test_the_journal_filters_by_status_and_user(plane, api):
    api.create("by alice", as_="alice")
    api.get("/chats", as_="bob", params={"take": 1})
    api.delete("/chats/no-such-message", as_="bob")
    api.get("/chats", token=None)
    assert [e["status"] for e in plane.ok("GET", "/requests?status=2xx")] == [200, 200]
    assert [e["status"] for e in plane.ok("GET", "/requests?status=4XX")] == [404, 401]
    assert [e["status"] for e in plane.ok("GET", "/requests?status=404")] == [404]
    assert plane.ok("GET", "/requests?status=500") == []
    bob = [e["operationId"] for e in plane.ok("GET", "/requests?user=BOB")]
    assert bob == ["listChats", "deleteChat"]
    alice_id = plane.ok("GET", "/requests?user=alice")[0]["user"]["id"]
    assert [e["operationId"] for e in plane.ok("GET", f"/requests?user={alice_id}")] == ["createChat"]
    assert plane.ok("GET", "/requests?user=nobody") == []
    assert [e["status"] for e in plane.ok("GET", "/requests?user=bob&status=4xx&operationId=deleteChat")] == [404]


def test_a_dropped_request_matches_no_status(plane, api, server):
    plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "drop": True, "times": 1})
    with pytest.raises(requests.ConnectionError):
        requests.get(server.base_url + "/chats", headers={"Authorization": "Bearer alice-token"}, timeout=10)
    assert [e["status"] for e in plane.ok("GET", "/requests")] == [None]
    for status in ("2xx", "5xx", "4xx", "1xx"):
        assert plane.ok("GET", f"/requests?status={status}") == []


def raw_post(server, body: bytes) -> None:
    """createChat with ``body`` as it is: whatever the answer, the journal keeps the body."""
    requests.post(server.base_url + "/chats", data=body, timeout=10,
                  headers={"Authorization": "Bearer alice-token", "Content-Type": "application/json"})


def test_each_entry_carries_its_body_parsed_as_json(plane, api, server):
    api.create("parsed", as_="alice")
    api.get("/chats", params={"take": 1})
    raw_post(server, b"plain words")
    raw_post(server, b'[1, 2.5, "x", null, {"a": true}, -0, 1E2]')
    entries = plane.ok("GET", "/requests")
    assert [e["json"] for e in entries] == [{"message": "parsed"}, None, None,
                                            [1, 2.5, "x", None, {"a": True}, 0, 100.0]]
    assert entries[2]["body"] == "plain words"


@pytest.mark.parametrize("body", [
    b'{"message": "hi", "x": ' + b"1" * 5000 + b"}",
    b'{"message": "hi", "x": 1e999}',
    b'{"message": "hi", "x": -1e999}',
    b'{"message": "hi", "x": NaN}',
    b'{"message": "hi", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b"[" * 65 + b"]" * 65,
    b'{"message": "hi", "x": "\\ud800"}',
    b'{"message": "hi", "\\udc00": 1}',
    b'{"message": "hi", "x": "' + b"x" * 70_000 + b'"}',  # cut at 64 KiB: no longer JSON
    b"\xff\xfe{}",
])
def test_a_body_no_one_can_give_back_has_json_null(plane, server, body):
    raw_post(server, body)
    (entry,) = plane.ok("GET", "/requests")
    assert entry["json"] is None
    assert entry["body"]


def test_json_up_to_the_limits_is_given_back(plane, server):
    deep = b"[" * 64 + b"]" * 64
    big = b"9" * 4300
    raw_post(server, deep)
    raw_post(server, b'{"n": ' + big + b', "t": "\\u0000\\ud83d\\ude00"}')
    first, second = plane.ok("GET", "/requests")
    value = first["json"]
    for _ in range(63):
        (value,) = value
    assert value == []
    assert second["json"] == {"n": int(big), "t": "\u0000\U0001f600"}


# -- the index and pins by chat id ------------------------------------------------------------
def test_the_index_points_at_every_part(plane, server):
    index = plane.ok("GET", "")
    assert index["openapi"] == "/_mock/openapi.json"
    assert index["status"] == plane.ok("POST", "/reset")
    document = control_document(server.root_url)
    for name, path in index.items():
        if name not in ("status", "ui"):
            assert path in document["paths"] or path == "/_mock/openapi.json", name
    # The dashboard is a page, not a call of the document: it is there, for a browser.
    page = requests.get(server.root_url + index["ui"], timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert requests.get(server.root_url + index["openapi"], timeout=10).json() == document
    assert plane.ok("GET", "/requests") == []  # the index is not a partner request


def test_the_index_is_behind_the_admin_token(serve):
    server = serve(mockchats.build(admin_token="T"))
    response = requests.get(server.root_url + "/_mock", timeout=10)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert Plane(server.root_url, token="T").ok("GET", "")["openapi"] == "/_mock/openapi.json"


def test_a_message_is_pinned_by_its_chat_id_alone(plane, api, default_session):
    chat = api.create("pin me by id", as_="bob")["chatId"]
    pin = plane.ok("POST", "/pins", 201, json={"chatId": chat})
    assert pin == {"sessionId": default_session, "chatId": chat, "pinId": pin["pinId"]}
    assert {m["chatId"]: m for m in api.all_messages()}[chat]["pinned"] == {"id": pin["pinId"]}
    assert plane.ok("POST", "/pins", 201, json={"chatId": chat}) == pin  # pinning twice keeps the pin
    assert plane.ok("POST", f"/sessions/{default_session}/pins", 201, json={"chatId": chat})["pinId"] == pin["pinId"]


def test_a_message_of_another_session_is_pinned_there(plane, api):
    created = plane.ok("POST", "/sessions", 201, json={"users": ZED_AND_YAN})
    zed, yan = (u["token"] for u in created["users"])
    chat = api.post("/chats", token=yan, json={"message": "elsewhere"}).json()["chatId"]
    pin = plane.ok("POST", "/pins", 201, json={"chatId": chat})
    assert pin["sessionId"] == created["sessionId"]
    assert api.get("/chats", token=yan).json()["messages"][0]["pinned"] == {"id": pin["pinId"]}
    assert api.delete(f"/chats/{chat}/pins/{pin['pinId']}", token=zed).status_code == 200


def test_pinning_a_message_no_session_holds_is_404_and_changes_nothing(plane, api):
    api.create("stays unpinned")
    before = plane.world()
    problem = refused(plane.post("/pins", json={"chatId": "no-such-message"}), 404)
    assert problem["detail"] == "No message 'no-such-message'."
    refused(plane.post("/pins", json={}))
    refused(plane.post("/pins", json={"chatId": "x", "sessionId": "y"}))
    assert plane.world() == before


def test_the_proxys_journal_refuses_and_filters_alike(server):
    from mockchats.contract.proxy import ContractProxy

    started = mockchats.Server(ContractProxy(server.base_url), port=0).start()
    try:
        journal = started.root_url + "/_mock/requests"
        requests.get(started.base_url + "/chats", headers={"Authorization": "Bearer alice-token"}, timeout=10)
        requests.get(started.base_url + "/chats", timeout=10)
        wrong = requests.get(journal, params={"operationId": "listchats"}, timeout=10)
        assert wrong.status_code == 400 and wrong.headers["Content-Type"] == PROBLEM
        assert_human(wrong.json())
        assert "did you mean 'listChats'" in wrong.json()["errors"]["operationId"][0]
        assert requests.get(journal, params={"since": "1"}, timeout=10).status_code == 400
        assert [e["status"] for e in requests.get(journal, params={"status": "4xx"}, timeout=10).json()] == [401]
        assert [e["json"] for e in requests.get(journal, timeout=10).json()] == [None, None]
    finally:
        started.stop()


# -- web pages of other sites cannot drive the control plane (cross-site request forgery) ----
EVIL = "https://evil.example"


def own_origin(root_url: str) -> str:
    parts = urlsplit(root_url)
    return f"{parts.scheme}://{parts.netloc}"


def something_to_lose(plane, api) -> dict:
    api.create("something to lose")
    plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "status": 503, "times": 5})
    plane.ok("POST", "/clock", json={"freeze": "2030-01-01T00:00:00Z"})
    return plane.world()


@pytest.mark.parametrize("method, path, headers, data", [
    # What a page can send with a form or fetch(..., {mode: "no-cors"}): no preflight, no CORS needed.
    ("POST", "/reset", {"Origin": EVIL}, None),
    ("POST", "/reset", {"Origin": EVIL, "Content-Type": "text/plain"}, b""),
    ("POST", "/scenarios/empty", {"Origin": EVIL, "Content-Type": "application/x-www-form-urlencoded"}, b""),
    ("POST", "/reset", {"Origin": EVIL, "Content-Type": "application/json"}, b'{"seed": 9}'),
    ("DELETE", "/requests", {"Origin": EVIL}, None),
    ("DELETE", "/faults", {"Origin": "null"}, None),  # a sandboxed frame or a file:// page
    ("POST", "/clock", {"Origin": "http://127.0.0.1:1", "Content-Type": "text/plain"}, b'{"real": true}'),
    ("GET", "/state", {"Origin": EVIL}, None),
    ("POST", "/reset", {"Sec-Fetch-Site": "cross-site"}, None),  # a navigation: no Origin, but this
    ("POST", "/reset", {"Sec-Fetch-Site": "same-site"}, None),
])
def test_a_web_page_of_another_site_is_refused_and_changes_nothing(plane, api, method, path, headers, data):
    before = something_to_lose(plane, api)
    problem = refused(plane.request(method, path, headers=headers, data=data), 403)
    assert "web pages of other sites" in problem["detail"]
    assert ("Sec-Fetch-Site" in problem["detail"]) == ("Origin" not in headers)
    assert plane.world() == before  # not reset, not loaded, not cleared, and nothing journaled


def test_the_mocks_own_origin_and_programs_without_one_still_drive_it(plane, server):
    own = own_origin(server.root_url)
    assert plane.ok("POST", "/scenarios/empty", headers={"Origin": own, "Sec-Fetch-Site": "same-origin"},
                    json={})["messages"] == 0
    assert plane.ok("POST", "/reset", headers={"Origin": own})["messages"] == 24
    plane.ok("POST", "/scenarios/empty", headers={"Origin": own.upper()})
    assert plane.ok("POST", "/reset", headers={"Sec-Fetch-Site": "none"})["messages"] == 24
    plane.ok("POST", "/scenarios/empty")
    assert plane.ok("POST", "/reset")["messages"] == 24  # curl, requests, the plugin: no Origin


def test_the_same_host_on_another_port_or_scheme_is_another_origin(plane, server):
    parts = urlsplit(server.root_url)
    for origin in (f"{parts.scheme}://{parts.hostname}:{parts.port + 1}", f"https://{parts.netloc}",
                   f"{own_origin(server.root_url)}/ui", f"{own_origin(server.root_url)}.evil.example"):
        refused(plane.post("/reset", headers={"Origin": origin}), 403)


def test_an_admin_token_does_not_let_another_site_in():
    with ServeProcess("--admin-token", "T") as process:
        plane = Plane(own_origin(process.base_url), token="T")
        before = plane.world()
        refused(plane.post("/reset", headers={"Origin": EVIL, "Content-Type": "text/plain"}, data=b""), 403)
        refused(plane.post("/reset", headers={"Sec-Fetch-Site": "cross-site"}), 403)
        assert plane.world() == before
        assert plane.ok("POST", "/reset", headers={"Origin": own_origin(plane.root_url)})


# -- a page whose DNS name is rebound to 127.0.0.1 cannot drive it either (DNS rebinding) ------
@pytest.mark.parametrize("method, path, origin, data", [
    ("GET", "/sessions", True, None),  # every session's tokens
    ("GET", "/state", False, None),  # a same-origin GET may come without Origin
    ("POST", "/reset", True, None),
    ("POST", "/reset", False, None),
    ("POST", "/scenarios/empty", True, b"{}"),
    ("DELETE", "/requests", True, None),
    ("GET", "", False, None),
    ("GET", "/clock", False, None),
])
def test_a_page_rebound_to_this_machine_is_refused_and_changes_nothing(plane, api, server, method, path, origin,
                                                                        data):
    before = something_to_lose(plane, api)
    host = rebound(server.root_url)
    headers = {"Host": host, **({"Origin": f"http://{host}"} if origin else {}),
               **({"Content-Type": "application/json"} if data else {})}
    problem = refused(plane.request(method, path, headers=headers, data=data), 403)
    assert "DNS name" in problem["detail"] and "--admin-token" in problem["detail"]
    assert "127.0.0.1" in problem["detail"] and "localhost" in problem["detail"]
    assert plane.world() == before
    if not path:  # the document too: it is no secret, but it is the plane's
        response = requests.get(server.root_url + "/_mock/openapi.json", headers=headers, timeout=10)
        assert response.status_code == 403


@pytest.mark.parametrize("name", ["evil.example", "EVIL.example", "evil.example.", "localhost.evil.example",
                                  "localhost.", "127.0.0.1.nip.io", "my-machine", "0x7f.1"])
def test_any_dns_name_but_localhost_is_refused(plane, server, name):
    if name == "localhost.":  # a fully qualified localhost is still localhost
        assert plane.ok("GET", "/clock", headers={"Host": rebound(server.root_url, name)})
        return
    refused(plane.get("/clock", headers={"Host": rebound(server.root_url, name)}), 403)
    refused(plane.get("/clock", headers={"Host": name}), 403)  # no port: the scheme's own


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LocalHost", "app.localhost", "[::1]", "[::ffff:127.0.0.1]",
                                  "192.0.2.1", "[2001:db8::1]"])
def test_an_address_or_localhost_still_drives_it(plane, api, server, name):
    host = rebound(server.root_url, name)
    plane.ok("POST", "/scenarios/empty", headers={"Host": host, "Origin": f"http://{host}"}, json={})
    assert plane.ok("POST", "/reset", headers={"Host": host})["messages"] == 24
    assert plane.ok("GET", "/sessions", headers={"Host": name})  # no port


def test_with_an_admin_token_a_dns_name_is_the_tokens_business():
    with ServeProcess("--admin-token", "T") as process:
        plane = Plane(own_origin(process.base_url), token="T")
        host = rebound(plane.root_url)
        assert plane.ok("POST", "/reset", headers={"Host": host, "Origin": f"http://{host}"})["messages"] == 24
        assert plane.ok("GET", "/sessions", headers={"Host": host})
        unauthorized = requests.get(plane.root_url + "/_mock/sessions", headers={"Host": host}, timeout=10)
        assert unauthorized.status_code == 401 and unauthorized.content == b""


def test_the_dashboard_page_holds_nothing_and_is_served_under_any_name(server):
    page = requests.get(server.root_url + "/_mock/ui", headers={"Host": rebound(server.root_url)}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")


def test_the_in_process_mode_names_the_real_host_and_still_drives_it():
    with mockchats.intercept() as mock:
        assert mock.control.requests() == []
        mock.control.reset()


@pytest.mark.parametrize("host, reason", [
    ("127.0.0.1:8080", False), ("127.0.0.1", False), ("[::1]:8080", False), ("[::1]", False),
    ("[fe80::1%25eth0]:80", False), ("localhost:8080", False), ("LOCALHOST", False), ("a.b.localhost:1", False),
    ("localhost.:8080", False), ("", False), ("10.1.2.3:9", False),
    ("evil.example:8080", True), ("evil.example", True), ("localhost.evil.example", True), ("evillocalhost", True),
    # A browser writes 127.0.0.1 for these (the URL standard's IPv4 forms): only a program sends them.
    ("[evil.example]:80", True), ("evil.example:http", True), ("2130706433", True), ("0x7f000001", True),
    ("évil.example", True)])
def test_which_hosts_name_the_server_by_a_dns_name(host, reason):
    assert (dns_host_reason(host) is not None) is reason


@pytest.mark.parametrize("given, same", [("T", True), ("t", False), ("T ", False), ("", False), (None, False),
                                         ("TT", False), ("é", False), ("\udcff", False), ("\u00e9", False)])
def test_the_admin_token_is_compared_as_bytes_whatever_is_sent(given, same):
    assert is_admin_token(given, "T") is same
    assert is_admin_token(given, "é") is (given == "é")


def test_a_token_of_any_bytes_is_refused_with_a_401_not_a_500(serve):
    root = serve(mockchats.build(admin_token="T")).root_url
    for sent in (b"Bearer \xc3\xa9\xff", b"Bearer T\xe9", "Bearer T\u00e9".encode()):
        response = requests.get(root + "/_mock/state", headers={"Authorization": sent}, timeout=10)
        assert response.status_code == 401, sent
    for given in ("%FF%FE", "T%C3%A9x", "%ED%B3%BF"):  # the stream takes it as ?access_token= too
        assert requests.get(root + "/_mock/requests/stream?access_token=" + given, timeout=10).status_code == 401


@pytest.mark.parametrize("path, content_type", [("/reset", "text/plain"),
                                                ("/scenarios/empty", "application/x-www-form-urlencoded"),
                                                ("/scenarios/empty", "multipart/form-data; boundary=x")])
def test_an_empty_body_said_to_be_something_else_than_json_is_a_415(plane, api, path, content_type):
    before = something_to_lose(plane, api)
    problem = refused(plane.post(path, headers={"Content-Type": content_type}, data=b""), 415)
    assert "application/json" in problem["detail"]
    assert plane.world() == before


# -- a DELETE removes all it names, so it takes no filter ------------------------------------
@pytest.mark.parametrize("path, query", [("/requests", "?status=4xx"), ("/requests", "?operationId=createChat"),
                                         ("/faults", "?operationId=listChats"), ("/faults/nope", "?x=1")])
def test_a_delete_with_a_query_is_refused_and_removes_nothing(plane, api, path, query):
    api.create("kept in the journal")
    api.messages()
    before = something_to_lose(plane, api)
    problem = refused(plane.delete(path + query))
    assert "takes no query parameters" in problem["detail"]
    assert list(problem["errors"]) == [query[1:].split("=")[0]]
    assert plane.world() == before
    assert plane.ok("DELETE", "/requests", 204) is None and plane.ok("GET", "/requests") == []


# -- a fault that could never do anything --------------------------------------------------
@pytest.mark.parametrize("fault, place, said", [
    ({"operationId": "createChat", "drop": False}, "$", "A fault needs an effect"),
    ({"operationId": "createChat", "delayMs": 0}, "$", "A fault needs an effect"),
    ({"operationId": "createChat", "method": "GET", "status": 500}, "$.method",
     "createChat is a POST call, not GET, so the fault could never match."),
    ({"operationId": "createChat", "path": "/v1/chats/{chatId}/reactions", "status": 500}, "$.path",
     "is not the path of createChat"),
    ({"operationId": "listChats", "status": 204, "body": "xyz"}, "$.body", "A 204 answer carries no body"),
    ({"path": "/v1/chats", "status": 304, "body": {"a": 1}}, "$.body", "A 304 answer carries no body"),
    ({"method": "POST", "status": 205, "body": None}, "$.body", "A 205 answer carries no body"),
    ({"operationId": "listChats", "delayMs": 50, "body": "late"}, "$.body",
     "body is part of the fault's answer; give the status it goes with."),
    ({"operationId": "listChats", "drop": True, "headers": {"Retry-After": "1"}}, "$.headers",
     "headers is part of the fault's answer; give the status it goes with."),
])
def test_a_fault_that_can_never_act_is_refused(plane, api, fault, place, said):
    before = plane.world()
    problem = refused(plane.post("/faults", json=fault))
    assert place in problem["errors"] and said in problem["errors"][place][0], problem
    assert plane.world() == before


def test_a_fault_whose_conditions_agree_is_still_taken(plane, api):
    plane.ok("POST", "/faults", 201, json={"operationId": "createChat", "method": "post", "path": "/v1/chats",
                                           "status": 204, "times": 1})
    assert plane.ok("POST", "/faults", 201, json={"operationId": "listChats", "drop": True, "delayMs": 0})
    assert plane.ok("POST", "/faults", 201, json={"operationId": "deleteChat", "delayMs": 1, "times": 1})


# -- the clock's last instant is the whole last second of 9999 (.NET's DateTime.MaxValue) -------
@pytest.mark.parametrize("instant, shown", [("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
                                            ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
                                            ("9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.999999Z")])
def test_the_clock_holds_the_whole_last_second(plane, instant, shown):
    assert plane.ok("POST", "/clock", json={"freeze": instant}) == {"now": shown, "frozen": True}
    problem = refused(plane.post("/clock", json={"advanceSeconds": 1}))
    assert problem["errors"]["$.advanceSeconds"] == ["1 seconds from now is past 9999-12-31T23:59:59.9999999Z."]
    assert plane.ok("GET", "/clock") == {"now": shown, "frozen": True}


@pytest.mark.parametrize("at", [datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
                                datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1)))])
def test_the_client_lets_the_server_say_an_instant_is_out_of_range(server, at):
    with pytest.raises(ControlError) as raised:
        Control(server.root_url).freeze_clock(at)
    assert raised.value.status == 400 and "out of range" in str(raised.value)
    assert Control(server.root_url).clock()["frozen"] is False


def test_the_client_sends_an_instant_with_its_own_offset(server):
    control = Control(server.root_url)
    assert control.freeze_clock(datetime(2030, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))))["now"] \
        == "2030-01-01T00:00:00Z"
    assert control.freeze_clock(datetime(2030, 1, 1, 0, 0, 0, 500))["now"] == "2030-01-01T00:00:00.0005Z"


# -- a rule an inline document breaks is keyed by its JSON path -------------------------------
def broken_document(plane, breaks: str) -> dict:
    document = plane.ok("GET", "/state")
    session = document["sessions"][0]
    message = next(m for m in session["messages"] if m.get("reactions"))
    session["messages"] = [message]
    document["sessions"] = [session]
    if breaks == "duplicate reaction":
        first = message["reactions"][0]
        message["reactions"] = [first, {**first, "id": "another-reaction-id"}]
    elif breaks == "createdAt":
        message["createdAt"] = "0001-01-01T00:00:00+01:00"
    else:
        message["userId"] = "no-such-user"
    return document


@pytest.mark.parametrize("breaks, place, said", [
    ("duplicate reaction", "sessions[0].messages[0].reactions[1]", "already gave"),
    ("createdAt", "sessions[0].messages[0].createdAt", "is not a valid instant"),
    ("userId", "sessions[0].messages[0].userId", "'no-such-user' is not a user of session"),
])
def test_a_rule_an_inline_document_breaks_is_keyed_by_its_json_path(plane, api, breaks, place, said):
    document = broken_document(plane, breaks)
    before = something_to_lose(plane, api)
    for method, path, body, root in [("POST", "/scenarios", {"document": document}, "$.document."),
                                     ("PUT", "/state", document, "$.")]:
        problem = refused(plane.request(method, path, json=body))
        assert list(problem["errors"]) == [root + place], problem
        (message,) = problem["errors"][root + place]
        assert said in message and not message.startswith(("document:", "state:")), message
        assert not message[0].islower() and message.endswith("."), message
        assert root + place in problem["detail"]
    assert plane.world() == before
