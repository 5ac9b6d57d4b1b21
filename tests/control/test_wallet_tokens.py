"""``POST /_mock/wallet-tokens`` and ``GET /_mock/api-keys`` over real HTTP: a wallet token
without a signature, good for everything a verified one is good for; its refusals; the control
plane's rules (loopback or the admin token, never journaled).

Control answers go through support's ``Plane`` (checked against ``/_mock/openapi.json``);
partner answers through conftest's ``api`` (checked against both APIs' documents).
"""
from __future__ import annotations

import re
import socket
import subprocess
from urllib.parse import urlsplit

import pytest
import requests
from support import (
    DEMO_API_KEY,
    PROBLEM,
    Plane,
    assert_human,
    assert_problem,
    assert_unauthorized,
    bearer,
    conform,
)

import mockchats
from mockchats import Control, ControlError
from mockchats.control.views import is_loopback_address

#: Every test starts and ends in the start world (conftest's fresh).
pytestmark = pytest.mark.usefixtures("fresh")

ADDRESS = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"


def issue(plane: Plane, address: str = ADDRESS) -> str:
    answer = plane.ok("POST", "/wallet-tokens", 201, json={"address": address})
    assert list(answer) == ["token"]
    return answer["token"]


# -- what the token is good for --------------------------------------------------------------
def test_the_token_creates_a_session_whose_token_chats(plane, api):
    token = issue(plane)
    created = api.post("/session", as_=None, json={"identity": {"name": "Tess"}},
                       headers={**bearer(token), "X-API-KEY": DEMO_API_KEY})
    assert created.status_code == 200, created.text
    credentials = created.json()["credentials"]
    assert (credentials["pseudonym"], credentials["role"]) == ("Tess", "Host")
    session = bearer(credentials["token"])
    assert api.get("/chats", as_=None, headers=session).json()["totalCount"] == 0
    sent = api.post("/chats", as_=None, headers=session, json={"message": "after the login"})
    assert sent.status_code == 200, sent.text
    listed = api.get("/chats", as_=None, headers=session).json()
    assert [m["message"] for m in listed["messages"]] == ["after the login"]
    current = api.get("/session/current", as_=None, headers=session).json()
    assert [(u["name"], u["address"]) for u in current["users"]] == [("Tess", ADDRESS.lower())]
    assert created.json()["sessionId"] in [s["sessionId"] for s in plane.ok("GET", "/sessions")]


def test_the_token_joins_a_fixture_session(plane, api):
    room = plane.ok("GET", "/sessions")[0]["sessionId"]
    joined = api.post("/session/join", as_=None, json={"sessionId": room},
                      headers=bearer(issue(plane, "0X" + "AB" * 20)))
    assert joined.status_code == 200, joined.text
    assert joined.json()["credentials"]["role"] == "Client"
    assert joined.json()["users"][-1]["address"] == "0x" + "ab" * 20  # any letter case, kept in lower case
    token = joined.json()["credentials"]["token"]
    assert api.get("/chats", as_=None, headers=bearer(token)).json()["totalCount"] == 24


def test_the_token_is_a_wallet_token_and_expires_as_one(plane, api):
    token = issue(plane)
    # A wallet token is no session token.
    assert_unauthorized(api.get("/session/current", as_=None, headers=bearer(token)),
                        'Bearer error="invalid_token"')
    assert_unauthorized(api.get("/chats", as_=None, headers=bearer(token)), 'Bearer error="invalid_token"')
    # Five minutes, and JwtBearer's five minutes of clock skew, on the mock's clock.
    plane.ok("POST", "/clock", json={"freeze": "now"})
    plane.ok("POST", "/clock", json={"advanceSeconds": 10 * 60 + 1})
    late = api.post("/session", as_=None, json={}, headers={**bearer(token), "X-API-KEY": DEMO_API_KEY})
    assert late.status_code == 401 and late.content == b""
    assert re.fullmatch(r'Bearer error="invalid_token", error_description="The token expired at \'.+\'"',
                        late.headers["WWW-Authenticate"])


def test_each_call_issues_a_new_token(plane):
    assert issue(plane) != issue(plane)


def test_strict_auth_still_wants_a_known_api_key(plane, api, mock):
    plane.ok("POST", "/reset", json={"auth": "strict"})
    token = issue(plane)
    unknown = api.post("/session", as_=None, json={}, headers={**bearer(token), "X-API-KEY": "mine"})
    assert unknown.status_code == 401 and unknown.headers["Content-Type"].startswith("application/problem+json")
    (key,) = plane.ok("GET", "/api-keys")
    known = api.post("/session", as_=None, json={}, headers={**bearer(token), "X-API-KEY": key})
    assert known.status_code == 200, known.text


# -- the API keys ------------------------------------------------------------------------------
def test_the_api_keys_are_listed_sorted(plane, serve):
    assert plane.ok("GET", "/api-keys") == [DEMO_API_KEY]
    other = serve(mockchats.build(api_keys=("zeta-key", DEMO_API_KEY, "alpha-key")))
    assert Plane(other.root_url).ok("GET", "/api-keys") == ["alpha-key", DEMO_API_KEY, "zeta-key"]
    assert Control(other.root_url).api_keys() == ["alpha-key", DEMO_API_KEY, "zeta-key"]


def test_the_index_and_the_document_name_both_calls(plane):
    index = plane.ok("GET", "")
    assert (index["walletTokens"], index["apiKeys"]) == ("/_mock/wallet-tokens", "/_mock/api-keys")
    paths = plane.document["paths"]
    operation = paths["/_mock/wallet-tokens"]["post"]
    assert set(operation["responses"]) >= {"201", "400", "401", "403", "413", "415"}
    schema = plane.document["components"]["schemas"]["WalletTokenRequest"]
    assert schema["required"] == ["address"] and schema["additionalProperties"] is False
    assert "200" in paths["/_mock/api-keys"]["get"]["responses"]


# -- refusals ----------------------------------------------------------------------------------
NOT_ADDRESSES = [
    "", "0x", "hello", ADDRESS[:-1], ADDRESS + "0", ADDRESS[2:], "0x" + "g" * 40, " " + ADDRESS,
    ADDRESS + " ", ADDRESS + "\n", "\n" + ADDRESS, ADDRESS + "\u0000", "0x" + "０" * 40, "0x" + "a" * 100_000,
    "\ud800", "<script>alert(1)</script>", "'; DROP TABLE sessions; --", "../../etc/passwd", "%00",
    5, 0.5, True, None, [ADDRESS], {"address": ADDRESS},
]


@pytest.mark.parametrize("address", NOT_ADDRESSES, ids=[repr(a)[:30] for a in NOT_ADDRESSES])
def test_what_is_not_an_address_is_a_400_naming_it(plane, address):
    before = plane.world()
    response = plane.post("/wallet-tokens", json={"address": address})
    problem = assert_problem(response, 400, errors=True)
    assert list(problem["errors"]) == ["$.address"]
    assert "$.address" in problem["detail"]
    assert_human(problem)
    assert plane.world() == before


@pytest.mark.parametrize("body, place", [
    ({}, "$"), ({"address": ADDRESS, "name": "Tess"}, "$"), ([ADDRESS], "$"), (ADDRESS, "$"), (None, "$"),
])
def test_a_body_of_another_shape_is_a_400(plane, body, place):
    response = plane.post("/wallet-tokens", json=body)
    problem = assert_problem(response, 400, errors=True)
    assert place in problem["errors"]
    assert_human(problem)


def test_no_body_or_not_json(plane):
    problem = assert_problem(plane.post("/wallet-tokens"), 400, errors=True)
    assert problem["detail"] == "A JSON body is required."
    assert_problem(plane.post("/wallet-tokens", data=f'{{"address": "{ADDRESS}"}}',
                              headers={"Content-Type": "text/plain"}), 415)
    problem = assert_problem(plane.post("/wallet-tokens", data='{"address": ',
                                        headers={"Content-Type": "application/json"}), 400, errors=True)
    assert_human(problem)


def test_the_client_method_and_its_refusal(server, api):
    control = Control(server.root_url)
    token = control.wallet_token(ADDRESS)
    created = api.post("/session", as_=None, json={}, headers={**bearer(token), "X-API-KEY": DEMO_API_KEY})
    assert created.status_code == 200, created.text
    with pytest.raises(ControlError, match=r"^400: .*\$\.address") as refused:
        control.wallet_token("0x123")
    assert refused.value.status == 400 and list(refused.value.body["errors"]) == ["$.address"]


# -- the control plane's rules -----------------------------------------------------------------
def test_issuing_and_listing_are_not_journaled(plane, api):
    issue(plane)
    plane.ok("GET", "/api-keys")
    plane.post("/wallet-tokens", json={"address": "nope"})
    assert plane.ok("GET", "/requests") == []
    api.get("/wallet-proof/nonce", as_=None)  # a partner call is, as ever
    assert [e["operationId"] for e in plane.ok("GET", "/requests")] == ["getNonce"]


def test_a_web_page_of_another_site_is_refused(plane, server):
    response = requests.post(server.root_url + "/_mock/wallet-tokens", json={"address": ADDRESS},
                             headers={"Origin": "https://evil.example"}, timeout=10)
    assert_problem(response, 403)
    conform(plane.document, "POST", "/_mock/wallet-tokens", response)


def test_the_admin_token_guards_both_calls(serve):
    server = serve(mockchats.build(admin_token="T"))
    for method, path, body in [("POST", "/wallet-tokens", {"address": ADDRESS}), ("GET", "/api-keys", None)]:
        response = requests.request(method, server.root_url + "/_mock" + path, json=body, timeout=10)
        assert response.status_code == 401 and response.content == b""
        assert response.headers["WWW-Authenticate"] == "Bearer"
    admin = Plane(server.root_url, token="T")
    assert admin.ok("POST", "/wallet-tokens", 201, json={"address": ADDRESS})["token"]
    assert admin.ok("GET", "/api-keys") == [DEMO_API_KEY]
    assert Control(server.root_url, admin_token="T").wallet_token(ADDRESS)


def outside_address() -> str:
    """An address of this machine that is not loopback (as test_control_hardening finds one)."""
    try:
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split()
    except (OSError, subprocess.SubprocessError):
        found = []
    for address in found:
        if ":" not in address and not is_loopback_address(address):
            return address
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
    except OSError:
        address = "127.0.0.1"
    if is_loopback_address(address):
        pytest.skip("this machine has no address but loopback")
    return address


def test_without_an_admin_token_only_this_machine_gets_a_token():
    outside = outside_address()
    server = mockchats.Server(mockchats.build(), host="0.0.0.0", port=0).start()
    try:
        port = urlsplit(server.root_url).port
        remote = f"http://{outside}:{port}/_mock"
        local = Plane(f"http://127.0.0.1:{port}")
        for method, path, body in [("POST", "/wallet-tokens", {"address": ADDRESS}), ("GET", "/api-keys", None)]:
            response = requests.request(method, remote + path, json=body, timeout=10)
            assert response.status_code == 403, response.text
            assert response.headers["Content-Type"] == PROBLEM
            assert "loopback" in response.json()["detail"]
            conform(local.document, method, "/_mock" + path, response)
        assert local.ok("POST", "/wallet-tokens", 201, json={"address": ADDRESS})["token"]
    finally:
        server.stop()
