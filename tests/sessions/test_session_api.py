"""The Session API over real HTTP: a wallet proves itself with a real signature, makes or joins a
session, and chats with the token it got; every answer is checked against openapi/sessions.yaml
(or chats.yaml) by the ``api`` client."""
from __future__ import annotations

import re

import pytest
import requests
from support import DEMO_API_KEY, NOT_FOUND_TYPE, bearer, host_session, join, wallet_token

import mockchats

PROBLEM = "application/problem+json; charset=utf-8"


def control(api, method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(method, api.root_url + "/_mock" + path, timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response


def advance(api, seconds: float) -> None:
    control(api, "POST", "/clock", json={"advanceSeconds": seconds})


def assert_problem(response, status: int, title: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    if title is not None:
        assert body["title"] == title
    return body


def assert_challenge(response, challenge: str) -> None:
    assert response.status_code == 401, response.text
    assert response.content == b""
    assert response.headers["WWW-Authenticate"] == challenge


# -- wallet proof ------------------------------------------------------------------------------
def test_a_nonce_is_an_int32_inside_the_message_to_sign(api):
    response = api.get("/wallet-proof/nonce", as_=None)
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["nonce"], int) and 0 < body["nonce"] < 2**31
    assert body["message"] == f"Sign this message to prove you own this wallet. Nonce: {body['nonce']}"


def test_every_nonce_is_new(api):
    nonces = {api.get("/wallet-proof/nonce", as_=None).json()["nonce"] for _ in range(5)}
    assert len(nonces) == 5


def proof(api, wallet, *, message: str | None = None, signature: str | None = None, address: str | None = None,
          query: str = ""):
    if message is None:
        message = api.get("/wallet-proof/nonce", as_=None).json()["message"]
    body = {"walletAddress": address or wallet.address, "message": message,
            "signature": signature or wallet.sign(message)}
    return api.post("/wallet-proof/verify" + query, as_=None, json=body), message


@pytest.mark.parametrize("query", ["", "?chain=Ethereum", "?chain=ethereum", "?chain=ETHEREUM"])
def test_a_real_signature_earns_a_wallet_token(api, query):
    wallet = mockchats.Wallet()
    response, _ = proof(api, wallet, query=query)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"token"}
    assert response.json()["token"].count(".") == 2


def test_the_address_compares_in_any_letter_case(api):
    wallet = mockchats.Wallet()
    for address in (wallet.address.lower(), "0x" + wallet.address[2:].upper()):
        response, _ = proof(api, wallet, address=address)
        assert response.status_code == 200, response.text


def test_a_nonce_is_used_up_by_a_successful_verify(api):
    wallet = mockchats.Wallet()
    first, message = proof(api, wallet)
    assert first.status_code == 200
    again, _ = proof(api, wallet, message=message)
    assert "already used" in assert_problem(again, 400)["detail"]


def test_a_nonce_is_used_up_by_a_failed_verify_too(api):
    wallet, other = mockchats.Wallet(), mockchats.Wallet()
    failed, message = proof(api, wallet, signature=None, address=other.address)
    assert "not made by the wallet address" in assert_problem(failed, 400)["detail"]
    retry, _ = proof(api, wallet, message=message)
    assert "already used" in assert_problem(retry, 400)["detail"]


def test_a_message_the_mock_never_issued_is_refused(api):
    wallet = mockchats.Wallet()
    response, _ = proof(api, wallet, message="Sign this message to prove you own this wallet. Nonce: 7")
    assert "not the message of a nonce" in assert_problem(response, 400)["detail"]


def test_a_nonce_expires_after_five_minutes_of_the_mocks_clock(api):
    wallet = mockchats.Wallet()
    message = api.get("/wallet-proof/nonce", as_=None).json()["message"]
    advance(api, 5 * 60 + 1)
    response, _ = proof(api, wallet, message=message)
    assert "expired" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("signature", ["0x1234", "0x" + "zz" * 65, "not hex", "0x" + "00" * 65])
def test_a_malformed_signature_is_a_400_saying_so(api, signature):
    response, _ = proof(api, mockchats.Wallet(), signature=signature)
    assert "signature" in assert_problem(response, 400)["detail"].lower()


def test_a_signature_by_another_key_is_refused(api):
    wallet, other = mockchats.Wallet(), mockchats.Wallet()
    message = api.get("/wallet-proof/nonce", as_=None).json()["message"]
    response, _ = proof(api, wallet, message=message, signature=other.sign(message))
    assert "not made by the wallet address" in assert_problem(response, 400)["detail"]


# -- create --------------------------------------------------------------------------------------
def test_create_answers_the_hosts_credentials_with_the_default_rules(api):
    created = host_session(api)
    assert created["credentials"]["role"] == "Host"
    assert 3590 <= created["expiresIn"] <= 3600
    assert created["rules"] == {"expiry": 3600, "maxFiles": 10, "maxUsers": 10, "maxTotalMegaBytes": 100,
                                "passwordProtected": False, "whiteListAddresses": []}
    assert created["credentials"]["pseudonym"]  # a generated name when none is given


def test_a_new_session_is_empty_and_its_host_chats_in_it(api):
    created = host_session(api)
    token = created["credentials"]["token"]
    listed = api.get("/chats", token=token)
    assert listed.json() == {"totalCount": 0, "messages": []}
    posted = api.post("/chats", token=token, json={"message": "hello from a real login"})
    assert posted.status_code == 200
    page = api.get("/chats", token=token).json()
    assert page["totalCount"] == 1
    assert page["messages"][0]["user"] == {"id": created["credentials"]["id"],
                                           "name": created["credentials"]["pseudonym"]}
    # and it is not the fixture session's
    assert "hello from a real login" not in {m["message"] for m in api.all_messages()}


def test_the_new_session_shows_on_the_control_plane_and_goes_with_a_reset(api):
    created = host_session(api)
    ids = [s["sessionId"] for s in control(api, "GET", "/sessions").json()]
    assert created["sessionId"] in ids
    control(api, "POST", "/reset")
    assert created["sessionId"] not in [s["sessionId"] for s in control(api, "GET", "/sessions").json()]
    gone = api.get("/session/current", token=created["credentials"]["token"])
    assert gone.status_code in (401, 404)  # a reset forgets the session; the token may outlive the key


# -- join ------------------------------------------------------------------------------------------
def test_join_answers_a_clients_credentials_and_the_users(api):
    created = host_session(api)
    joined = join(api, created["sessionId"])
    assert joined["credentials"]["role"] == "Client"
    assert "expiry" not in joined["rules"]
    users = {u["id"]: u for u in joined["users"]}
    assert set(users) == {created["credentials"]["id"], joined["credentials"]["id"]}
    assert users[joined["credentials"]["id"]]["address"] == joined["wallet"].address.lower()


def test_joiners_chat_in_the_same_session(api):
    created = host_session(api)
    joined = join(api, created["sessionId"])
    api.post("/chats", token=joined["credentials"]["token"], json={"message": "hi host"})
    page = api.get("/chats", token=created["credentials"]["token"]).json()
    assert [m["message"] for m in page["messages"]] == ["hi host"]


def test_joining_an_unknown_session_is_404(api):
    _, token = wallet_token(api)
    response = api.post("/session/join", as_=None, json={"sessionId": "no-such-session"}, headers=bearer(token))
    assert assert_problem(response, 404)["type"] == NOT_FOUND_TYPE


def test_the_fixture_sessions_are_joinable_by_id(api):
    session_id = control(api, "GET", "/sessions").json()[0]["sessionId"]
    joined = join(api, session_id)
    assert joined["sessionId"] == session_id
    assert any(m["message"] for m in api.get("/chats", token=joined["credentials"]["token"]).json()["messages"])


def test_joining_again_is_the_same_user_with_a_new_token_and_the_old_one_still_works(api):
    created = host_session(api)
    first = join(api, created["sessionId"])
    second = join(api, created["sessionId"], wallet=first["wallet"])
    assert second["credentials"]["id"] == first["credentials"]["id"]
    assert second["credentials"]["token"] != first["credentials"]["token"]
    for token in (first["credentials"]["token"], second["credentials"]["token"]):
        assert api.get("/session/current", token=token).status_code == 200


def test_the_creator_joins_again_as_the_host(api):
    created = host_session(api)
    again = join(api, created["sessionId"], wallet=created["wallet"])
    assert again["credentials"]["role"] == "Host"
    assert again["credentials"]["id"] == created["credentials"]["id"]


def test_an_expired_session_cannot_be_joined(api):
    created = host_session(api)
    advance(api, 3601)
    _, token = wallet_token(api)
    response = api.post("/session/join", as_=None, json={"sessionId": created["sessionId"]}, headers=bearer(token))
    assert "expired" in assert_problem(response, 422)["detail"]


# -- the current session, kick, disconnect, delete ---------------------------------------------------
def test_the_current_session_lists_its_users_and_rules(api):
    created = host_session(api)
    joined = join(api, created["sessionId"])
    current = api.get("/session/current", token=joined["credentials"]["token"])
    assert current.status_code == 200
    body = current.json()
    assert body["id"] == created["sessionId"]
    assert body["creatorId"] == created["credentials"]["id"]
    assert body["expiry"] == 3600 and body["maxUsers"] == 10
    assert [u["role"] for u in body["users"]] == ["Host", "Client"]


def test_a_fixture_token_reads_its_fixture_session(api):
    body = api.get("/session/current", as_="alice").json()
    assert {u["name"] for u in body["users"]} >= {"Alice", "Bob"}
    assert any(u["role"] == "Host" for u in body["users"])


def test_a_guest_token_is_no_session_apis_caller(api):
    response = api.get("/session/current", token="a-token-nobody-issued")
    assert_challenge(response, 'Bearer error="invalid_token"')


def test_the_host_kicks_a_client_whose_token_then_finds_nothing(api):
    created = host_session(api)
    joined = join(api, created["sessionId"])
    kicked = api.post("/session/current/kick", token=created["credentials"]["token"],
                      json={"userId": joined["credentials"]["id"]})
    assert kicked.status_code == 200 and kicked.content == b""
    for path in ("/chats", "/session/current"):
        assert_problem(api.get(path, token=joined["credentials"]["token"]), 404)
    users = api.get("/session/current", token=created["credentials"]["token"]).json()["users"]
    assert [u["id"] for u in users] == [created["credentials"]["id"]]
    # a kicked user may join again, as a new user
    again = join(api, created["sessionId"], wallet=joined["wallet"])
    assert again["credentials"]["id"] != joined["credentials"]["id"]


def test_a_client_may_not_kick(api):
    created = host_session(api)
    joined = join(api, created["sessionId"])
    response = api.post("/session/current/kick", token=joined["credentials"]["token"],
                        json={"userId": created["credentials"]["id"]})
    assert response.status_code == 403 and response.content == b""


def test_kicking_an_unknown_user_is_404_and_the_host_itself_422(api):
    created = host_session(api)
    token = created["credentials"]["token"]
    assert_problem(api.post("/session/current/kick", token=token, json={"userId": "nobody"}), 404)
    assert_problem(api.post("/session/current/kick", token=token, json={"userId": created["credentials"]["id"]}), 422)


def test_a_user_who_disconnects_is_gone_and_the_session_stays(api):
    created = host_session(api)
    joined = join(api, created["sessionId"])
    left = api.post("/session/disconnect", token=created["credentials"]["token"])
    assert left.status_code == 200 and left.content == b""
    assert_problem(api.get("/chats", token=created["credentials"]["token"]), 404)
    assert api.get("/session/current", token=joined["credentials"]["token"]).json()["users"][0]["role"] == "Client"


def test_only_the_host_deletes_the_session_and_then_every_token_finds_nothing(api):
    created = host_session(api)
    joined = join(api, created["sessionId"])
    refused = api.delete("/session/current", token=joined["credentials"]["token"])
    assert refused.status_code == 403
    deleted = api.delete("/session/current", token=created["credentials"]["token"])
    assert deleted.status_code == 200 and deleted.content == b""
    for token in (created["credentials"]["token"], joined["credentials"]["token"]):
        assert_problem(api.get("/chats", token=token), 404)
        assert_problem(api.get("/session/current", token=token), 404)


def test_a_fixture_host_deleting_its_session_leaves_its_token_finding_nothing(api, fresh):
    deleted = api.delete("/session/current", as_="host")
    assert deleted.status_code == 200
    for who in ("host", "alice"):
        assert_problem(api.get("/chats", as_=who), 404)
    # open auth's guests belonged to that session: none is let in now
    assert_problem(api.get("/chats", token="a-guest-token"), 404)


# -- tokens ----------------------------------------------------------------------------------------
def test_a_wallet_token_is_no_chats_token(api):
    _, token = wallet_token(api)
    assert_challenge(api.get("/chats", token=token), 'Bearer error="invalid_token"')
    assert_challenge(api.get("/session/current", token=token), 'Bearer error="invalid_token"')


def test_session_tokens_work_in_strict_auth(api):
    control(api, "POST", "/reset", json={"auth": "strict"})
    created = host_session(api)
    assert api.get("/chats", token=created["credentials"]["token"]).status_code == 200


def test_after_expiry_the_token_finds_nothing_then_after_the_skew_it_is_expired(api):
    created = host_session(api, {})
    token = created["credentials"]["token"]
    advance(api, 3600)
    assert_problem(api.get("/chats", token=token), 404)
    assert_problem(api.get("/session/current", token=token), 404)
    advance(api, 5 * 60 + 1)
    for path in ("/chats", "/session/current"):
        response = api.get(path, token=token)
        assert response.status_code == 401 and response.content == b""
        assert re.fullmatch(r'Bearer error="invalid_token", error_description="The token expired at '
                            r"'\d\d/\d\d/\d{4} \d\d:\d\d:\d\d'\"", response.headers["WWW-Authenticate"])


def test_a_token_signed_by_another_key_is_refused_in_strict_auth(api):
    control(api, "POST", "/reset", json={"auth": "strict"})
    other = mockchats.build().sessions.wallet_token("0x" + "ab" * 20).token
    assert_challenge(api.get("/chats", token=other), 'Bearer error="invalid_token"')


# -- documents and the journal ---------------------------------------------------------------------
def test_both_documents_are_served(api):
    sessions = requests.get(api.root_url + "/openapi/sessions.json", timeout=10).json()
    assert sessions["info"] == {**sessions["info"], "title": "Session API", "version": "1.1.0"}
    assert sessions["servers"][0]["url"] == api.base_url
    chats = requests.get(api.root_url + "/openapi/chats.json", timeout=10).json()
    assert chats == requests.get(api.root_url + "/openapi.json", timeout=10).json()
    assert chats["info"]["title"] != "Session API"


def test_the_session_api_is_journaled_by_operation(api):
    created = host_session(api)
    api.get("/session/current", token=created["credentials"]["token"])
    entries = control(api, "GET", "/requests").json()
    operations = [e["operationId"] for e in entries]
    assert {"getNonce", "verifyWalletProof", "createSession", "getCurrentSession"} <= set(operations)
    current = next(e for e in entries if e["operationId"] == "getCurrentSession")
    assert current["user"]["id"] == created["credentials"]["id"]
    assert current["user"]["role"] == "Host"


# -- what create and join take: tokens and keys, in ASP.NET's order ------------------------------


def test_create_without_a_bearer_is_the_challenge_before_the_key(api):
    response = api.post("/session", as_=None, json={})
    assert_challenge(response, "Bearer")


def test_create_with_a_bearer_not_the_mocks_is_an_invalid_token(api):
    response = api.post("/session", as_=None, json={}, headers={**bearer("nonsense"), "X-API-KEY": DEMO_API_KEY})
    assert_challenge(response, 'Bearer error="invalid_token"')


def test_create_without_an_api_key_is_a_401_problem_without_a_challenge(api):
    _, token = wallet_token(api)
    response = api.post("/session", as_=None, json={}, headers=bearer(token))
    assert_problem(response, 401, "Unauthorized")
    assert "WWW-Authenticate" not in response.headers


def test_open_auth_takes_any_api_key_and_strict_auth_only_known_ones(api):
    _, token = wallet_token(api)
    assert api.post("/session", as_=None, json={}, headers={**bearer(token), "X-API-KEY": "anything"}).ok
    control(api, "POST", "/reset", json={"auth": "strict"})
    _, token = wallet_token(api)
    refused = api.post("/session", as_=None, json={}, headers={**bearer(token), "X-API-KEY": "anything"})
    assert_problem(refused, 401, "Unauthorized")
    assert api.post("/session", as_=None, json={}, headers={**bearer(token), "X-API-KEY": DEMO_API_KEY}).ok


def test_a_session_token_cannot_create_a_session(api):
    created = host_session(api)
    response = api.post("/session", as_=None, json={},
                        headers={**bearer(created["credentials"]["token"]), "X-API-KEY": DEMO_API_KEY})
    assert_challenge(response, 'Bearer error="invalid_token"')


def test_a_password_protected_session_is_a_401_problem_without_the_password(api):
    created = host_session(api, {"password": "s3cret"})
    assert created["rules"]["passwordProtected"] is True
    _, token = wallet_token(api)
    for password in (None, "wrong"):
        response = api.post("/session/join", as_=None, json={"sessionId": created["sessionId"], "password": password},
                            headers=bearer(token))
        assert_problem(response, 401, "Unauthorized")
        assert "WWW-Authenticate" not in response.headers
    assert join(api, created["sessionId"], password="s3cret")["credentials"]["role"] == "Client"


def test_join_needs_a_wallet_token_not_a_session_token(api):
    created = host_session(api)
    response = api.post("/session/join", as_=None, json={"sessionId": created["sessionId"]},
                        headers=bearer(created["credentials"]["token"]))
    assert_challenge(response, 'Bearer error="invalid_token"')


# -- nested rules and identity, bound as System.Text.Json binds them -----------------------------
def test_the_identity_names_the_host_and_the_rules_are_kept(api):
    whitelisted = mockchats.Wallet()
    created = host_session(api, {"identity": {"name": "Ada", "chainAddress": None},
                                 "rules": {"userCapacity": 3, "expiryDurationInSeconds": 600, "password": None,
                                           "allowOnlyWhitelistedAddresses": True,
                                           "whiteListAddresses": [{"address": whitelisted.address}]}})
    assert created["credentials"]["pseudonym"] == "Ada"
    assert created["expiresIn"] <= 600
    assert created["rules"] == {"expiry": 600, "maxFiles": 10, "maxUsers": 3, "maxTotalMegaBytes": 100,
                                "passwordProtected": False, "whiteListAddresses": [whitelisted.address]}
    # only the whitelist may join, in any letter case
    _, outsider = wallet_token(api)
    refused = api.post("/session/join", as_=None, json={"sessionId": created["sessionId"]}, headers=bearer(outsider))
    assert "whitelist" in assert_problem(refused, 422)["detail"]
    assert join(api, created["sessionId"], wallet=whitelisted)["credentials"]["role"] == "Client"


def test_the_host_counts_toward_the_capacity(api):
    created = host_session(api, {"rules": {"userCapacity": 2}})
    join(api, created["sessionId"])
    _, third = wallet_token(api)
    full = api.post("/session/join", as_=None, json={"sessionId": created["sessionId"]}, headers=bearer(third))
    assert "full" in assert_problem(full, 422)["detail"]


def test_rules_password_wins_over_the_deprecated_one(api):
    created = host_session(api, {"password": "old", "rules": {"password": "new"}})
    assert join(api, created["sessionId"], password="new")["credentials"]["role"] == "Client"


@pytest.mark.parametrize("rules, word", [({"userCapacity": 0}, "userCapacity"),
                                         ({"expiryDurationInSeconds": 0}, "expiryDurationInSeconds"),
                                         ({"allowOnlyWhitelistedAddresses": True}, "whiteListAddresses")])
def test_rules_that_cannot_hold_are_422_and_make_nothing(api, rules, word):
    before = control(api, "GET", "/sessions").json()
    _, token = wallet_token(api)
    response = api.post("/session", as_=None, json={"rules": rules}, headers={**bearer(token), "X-API-KEY": "k"})
    assert word in assert_problem(response, 422)["detail"]
    assert control(api, "GET", "/sessions").json() == before


def test_a_wrong_type_deep_in_the_rules_is_a_400_at_its_json_path(api):
    _, token = wallet_token(api)
    response = api.post("/session", as_=None, json={"rules": {"userCapacity": "ten"}},
                        headers={**bearer(token), "X-API-KEY": "k"})
    errors = assert_problem(response, 400)["errors"]
    assert list(errors) == ["request", "$.rules.userCapacity"]
    assert errors["$.rules.userCapacity"][0].startswith(
        "The JSON value could not be converted to System.Nullable`1[System.Int32]. Path: $.rules.userCapacity")


def test_an_unknown_chain_is_the_action_parameters_400(api):
    response, _ = proof(api, mockchats.Wallet(), query="?chain=Solana")
    assert assert_problem(response, 400)["errors"] == {"chain": ["The value 'Solana' is not valid."]}


# -- the control plane knows the Session API's operations ----------------------------------------------
def test_a_fault_on_a_session_operation_strikes_it(api):
    control(api, "POST", "/faults", json={"operationId": "getNonce", "status": 503})
    assert_problem(api.get("/wallet-proof/nonce", as_=None), 503)


def test_the_journal_filters_by_a_session_operation(api):
    host_session(api)
    entries = control(api, "GET", "/requests", params={"operationId": "createSession"}).json()
    assert [e["status"] for e in entries] == [200]
