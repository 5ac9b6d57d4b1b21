"""Bearer authentication, answered as ASP.NET Core's JwtBearer handler answers.

Open mode (the default server) admits unknown well-formed tokens as Clients;
strict mode (a second server built here) knows only the fixture tokens.
"""
from __future__ import annotations

import base64
import json

import pytest
from support import Api, assert_forbidden, assert_unauthorized, nothing_changes

import mockchats
from mockchats.core.identity import jwt_claims

INVALID_TOKEN = 'Bearer error="invalid_token"'

# One request per operation; {chat} is replaced by a real message id.
OPERATIONS = [
    ("GET", "/chats", None),
    ("POST", "/chats", {"message": "hi"}),
    ("DELETE", "/chats/{chat}", None),
    ("POST", "/chats/{chat}/reactions", {"reaction": ":thumbs_up:"}),
    ("GET", "/chats/reactions?chatIds={chat}", None),
    ("DELETE", "/chats/{chat}/reactions/some-reaction", None),
    ("DELETE", "/chats/{chat}/pins/some-pin", None),
]


# -- helpers -------------------------------------------------------------------
def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_jwt(**claims) -> str:
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}."


def author_of(api, chat_id: str) -> dict:
    return next(m["user"] for m in api.all_messages() if m["chatId"] == chat_id)


def create_as(api, token: str, text: str = "hello") -> dict:
    response = api.post("/chats", token=token, json={"message": text})
    assert response.status_code == 200, response.text
    return response.json()


def user_id_of(api, who: str) -> str:
    return author_of(api, api.create(f"I am {who}", as_=who)["chatId"])["id"]


@pytest.fixture
def chat(api) -> str:
    return api.create("a message of alice's", as_="alice")["chatId"]


@pytest.fixture(scope="module")
def strict_server():
    mock = mockchats.build(auth="strict")
    server = mockchats.Server(mock.app, port=0).start()
    yield mock, server
    server.stop()


@pytest.fixture
def strict(strict_server) -> Api:
    mock, server = strict_server
    mock.store.reset()
    return Api(server.root_url)


# -- 401 -----------------------------------------------------------------------------
@pytest.mark.parametrize("method, path, body", OPERATIONS)
def test_no_authorization_header_is_a_bare_bearer_challenge(api, chat, method, path, body):
    with nothing_changes(api):
        response = api.request(method, path.format(chat=chat), token=None, json=body)
        assert_unauthorized(response, "Bearer")


@pytest.mark.parametrize("header", ["Basic xxx", "Basic aG9zdDpob3N0", "Bearer", "Bearer ", "Bearer    ",
                                    "Token host-token", "Bearerhost-token", "host-token"])
def test_non_bearer_or_empty_bearer_credentials_get_the_bare_challenge(api, header):
    response = api.get("/chats", headers={"Authorization": header})
    assert_unauthorized(response, "Bearer")


@pytest.mark.parametrize("token", ["ab@cd", "tok,en", "abc def", "tok\"en", "to;ken", "é"])
def test_token_outside_the_b64token_alphabet_is_an_invalid_token(api, token):
    with nothing_changes(api):
        response = api.post("/chats", token=token, json={"message": "hi"})
        assert_unauthorized(response, INVALID_TOKEN)


def test_authentication_comes_before_binding(api):
    with nothing_changes(api):
        response = api.post("/chats", token=None, data=b"{ not json", headers={"Content-Type": "text/plain"})
        assert_unauthorized(response, "Bearer")


def test_authentication_comes_before_the_lookup(api):
    response = api.delete("/chats/no-such-chat", token=None)
    assert_unauthorized(response, "Bearer")


# -- scheme ----------------------------------------------------------------------------
@pytest.mark.parametrize("header", ["Bearer host-token", "bearer host-token", "BEARER host-token",
                                    "bEaReR host-token", "Bearer   host-token  "])
def test_bearer_scheme_matches_case_insensitively(api, header):
    response = api.get("/chats", headers={"Authorization": header}, params={"Take": 1})
    assert response.status_code == 200


def test_scheme_case_does_not_change_who_the_caller_is(api):
    created = api.post("/chats", headers={"Authorization": "bearer alice-token"}, json={"message": "hi"})
    assert author_of(api, created.json()["chatId"])["name"] == "Alice"


# -- open mode: unknown tokens ------------------------------------------------------------
def test_unknown_token_is_admitted_and_can_post(api):
    created = create_as(api, "guest-token-1", "hello from a guest")
    author = author_of(api, created["chatId"])
    assert author["id"] and author["name"]
    assert author["name"] not in ("Host", "Alice", "Bob")


def test_unknown_token_is_a_client_that_cannot_delete_someone_elses_message(api, chat):
    with nothing_changes(api):
        assert_forbidden(api.delete(f"/chats/{chat}", token="guest-token-1"))


def test_unknown_token_is_a_client_that_cannot_remove_a_pin(api):
    pinned = next(m for m in api.all_messages() if m["pinned"])
    response = api.delete(f"/chats/{pinned['chatId']}/pins/{pinned['pinned']['id']}", token="guest-token-1")
    assert_forbidden(response)


def test_unknown_token_can_delete_its_own_message(api):
    created = create_as(api, "guest-token-1")
    assert api.delete(f"/chats/{created['chatId']}", token="guest-token-1").status_code == 204


def test_a_jwt_whose_payload_is_too_deep_to_read_is_an_opaque_token(api):
    payload = base64.urlsafe_b64encode(("[" * 5000 + "]" * 5000).encode()).rstrip(b"=").decode()
    token = f"{b64url({'alg': 'none'})}.{payload}."
    response = api.get("/chats", token=token)
    assert response.status_code == 200


def test_unknown_token_identity_is_stable_across_requests(api):
    first = author_of(api, create_as(api, "guest-token-1")["chatId"])
    second = author_of(api, create_as(api, "guest-token-1")["chatId"])
    assert first == second


def test_unknown_token_identity_is_stable_across_store_reset(api, mock):
    before = author_of(api, create_as(api, "guest-token-1")["chatId"])
    mock.store.reset()
    after = author_of(api, create_as(api, "guest-token-1")["chatId"])
    assert after == before


def test_different_unknown_tokens_are_different_users(api):
    one = author_of(api, create_as(api, "guest-token-1")["chatId"])
    two = author_of(api, create_as(api, "guest-token-2")["chatId"])
    assert one["id"] != two["id"]


def test_unknown_token_sees_the_default_session(api):
    as_guest = api.get("/chats", token="guest-token-1", params={"Take": 20})
    as_host = api.get("/chats", as_="host", params={"Take": 20})
    assert as_guest.json() == as_host.json()


@pytest.mark.parametrize("token", ["a-b.c_d~e+f/g", "abc==", "x" * 500])
def test_any_b64token_is_well_formed(api, token):
    response = api.get("/chats", token=token, params={"Take": 1})
    assert response.status_code == 200


# -- open mode: JWTs ----------------------------------------------------------------------
def test_jwt_sub_and_name_become_the_author(api):
    token = unsigned_jwt(sub="jwt-user-42", name="Jay Doubleyou")
    created = create_as(api, token)
    assert author_of(api, created["chatId"]) == {"id": "jwt-user-42", "name": "Jay Doubleyou"}


def test_jwt_with_a_numeric_sub_uses_it_as_the_id(api):
    created = create_as(api, unsigned_jwt(sub=12345, name="Numbers"))
    assert author_of(api, created["chatId"]) == {"id": "12345", "name": "Numbers"}


def test_jwt_without_name_still_uses_sub(api):
    created = create_as(api, unsigned_jwt(sub="jwt-user-43"))
    author = author_of(api, created["chatId"])
    assert author["id"] == "jwt-user-43" and author["name"]


def test_jwt_with_a_fixture_users_sub_acts_as_that_user(api, chat):
    alice_id = author_of(api, chat)["id"]
    token = unsigned_jwt(sub=alice_id, name="Not Alice")
    assert api.delete(f"/chats/{chat}", token=token).status_code == 204
    assert all(m["chatId"] != chat for m in api.all_messages())


def test_jwt_with_a_fixture_users_sub_keeps_that_users_name(api, chat):
    alice_id = author_of(api, chat)["id"]
    created = create_as(api, unsigned_jwt(sub=alice_id, name="Not Alice"))
    assert author_of(api, created["chatId"]) == {"id": alice_id, "name": "Alice"}


def test_jwt_with_a_fixture_clients_sub_has_only_that_clients_rights(api):
    bobs = api.create("bob's", as_="bob")["chatId"]
    alice_id = user_id_of(api, "alice")
    assert_forbidden(api.delete(f"/chats/{bobs}", token=unsigned_jwt(sub=alice_id)))


# -- 403 ---------------------------------------------------------------------------------
def test_client_deleting_someone_elses_message_is_forbidden_with_empty_body(api, chat):
    with nothing_changes(api):
        assert_forbidden(api.delete(f"/chats/{chat}", as_="bob"))


def test_client_removing_a_pin_is_forbidden_with_empty_body(api):
    pinned = next(m for m in api.all_messages() if m["pinned"])
    with nothing_changes(api):
        assert_forbidden(api.delete(f"/chats/{pinned['chatId']}/pins/{pinned['pinned']['id']}", as_="alice"))


def test_client_removing_someone_elses_reaction_is_forbidden_with_empty_body(api, chat):
    reaction = api.post(f"/chats/{chat}/reactions", as_="host", json={"reaction": ":thumbs_up:"})
    with nothing_changes(api):
        assert_forbidden(api.delete(f"/chats/{chat}/reactions/{reaction.json()['reactionId']}", as_="bob"))


def test_host_may_delete_any_message(api, chat):
    assert api.delete(f"/chats/{chat}", as_="host").status_code == 204


# -- strict mode ---------------------------------------------------------------------------
@pytest.mark.parametrize("token", ["guest-token-1", "abc", "host-token2", "HOST-TOKEN"])
def test_strict_mode_refuses_unknown_tokens(strict, token):
    response = strict.get("/chats", token=token)
    assert_unauthorized(response, INVALID_TOKEN)


def test_strict_mode_refuses_a_jwt_even_with_a_fixture_users_sub(api, strict):
    alice_id = user_id_of(api, "alice")
    response = strict.get("/chats", token=unsigned_jwt(sub=alice_id, name="Alice"))
    assert_unauthorized(response, INVALID_TOKEN)


def test_strict_mode_without_credentials_is_the_bare_challenge(strict):
    assert_unauthorized(strict.get("/chats", token=None), "Bearer")
    assert_unauthorized(strict.get("/chats", headers={"Authorization": "Basic xxx"}), "Bearer")


def test_strict_mode_refused_tokens_change_nothing(strict):
    with nothing_changes(strict):
        assert_unauthorized(strict.post("/chats", token="intruder", json={"message": "hi"}), INVALID_TOKEN)


@pytest.mark.parametrize("who", ["host", "alice", "bob"])
def test_strict_mode_accepts_fixture_tokens(strict, who):
    assert strict.get("/chats", as_=who).status_code == 200
    created = strict.create(f"strictly {who}", as_=who)
    assert created["message"] == f"strictly {who}"


def test_strict_mode_accepts_any_case_of_the_scheme(strict):
    response = strict.get("/chats", headers={"Authorization": "BEARER bob-token"})
    assert response.status_code == 200


def test_strict_mode_keeps_ownership_rules(strict):
    alices = strict.create("alice in strict mode", as_="alice")["chatId"]
    assert_forbidden(strict.delete(f"/chats/{alices}", as_="bob"))
    assert strict.delete(f"/chats/{alices}", as_="alice").status_code == 204


# -- open mode: a token the mock did not issue shows in the journal ------------------------------
GUEST_WARNING = "token not issued by the mock: admitted as a guest Client"


def journal(api, **filters) -> list[dict]:
    response = api.session.get(api.root_url + "/_mock/requests", params=filters, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_token_the_mock_did_not_issue_is_flagged_on_every_request(api, mock):
    mock.journal.clear()
    create_as(api, "alice-tokn", "a mistyped token")  # admitted here
    assert api.get("/chats", token="alice-tokn").status_code == 200  # known from now on
    refused = api.post("/chats", token="alice-tokn", json={"message": ""})
    assert refused.status_code == 400
    entries = journal(api)
    assert [(e["operationId"], e["status"]) for e in entries] == [
        ("createChat", 200), ("listChats", 200), ("createChat", 400)]
    for entry in entries:
        assert entry["user"]["role"] == "Client"
        assert GUEST_WARNING in entry["warnings"], entry


@pytest.mark.parametrize("who", ["host", "alice", "bob"])
def test_a_fixture_token_carries_no_guest_warning(api, mock, who):
    mock.journal.clear()
    api.create("an issued token", as_=who)
    (entry,) = journal(api)
    assert not [w for w in entry["warnings"] if "not issued" in w], entry


def test_a_control_plane_token_carries_no_guest_warning(api, mock):
    created = api.session.post(api.root_url + "/_mock/sessions", json={"users": [{"name": "Zed", "role": "Host"}]},
                               timeout=10)
    assert created.status_code == 201, created.text
    token = created.json()["users"][0]["token"]
    mock.journal.clear()
    create_as(api, token, "from a control-plane session")
    (entry,) = journal(api)
    assert entry["user"]["name"] == "Zed"
    assert not [w for w in entry["warnings"] if "not issued" in w], entry


def test_a_jwt_naming_a_fixture_user_is_flagged_with_who_it_became(api, mock, chat):
    alice_id = author_of(api, chat)["id"]
    mock.journal.clear()
    create_as(api, unsigned_jwt(sub=alice_id, name="Not Alice"))
    (entry,) = journal(api)
    assert entry["user"]["name"] == "Alice"
    assert "token not issued by the mock: admitted as Alice (Client), the user its sub claim names" \
        in entry["warnings"], entry


def test_a_guest_token_is_flagged_again_after_a_reset(api, mock):
    create_as(api, "guest-token-1")
    mock.store.reset()
    mock.journal.clear()
    create_as(api, "guest-token-1")
    (entry,) = journal(api)
    assert GUEST_WARNING in entry["warnings"]


def test_strict_mode_journals_a_refused_token_without_the_guest_warning(strict_server, strict):
    mock, _ = strict_server
    mock.journal.clear()
    assert_unauthorized(strict.get("/chats", token="alice-tokn"), INVALID_TOKEN)
    (entry,) = journal(strict)
    assert entry["status"] == 401 and GUEST_WARNING not in entry["warnings"]


def test_a_guest_jwt_nested_past_any_parser_is_a_guest_by_its_hash(api):
    # The unverified payload is read within bounds: a deep one is simply not a readable JWT,
    # so its guest gets a name derived from the token, and nothing reaches a JSON parser's limit.
    deep = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).rstrip(b"=").decode()
    token = f"eyJhbGciOiJIUzI1NiJ9.{deep}.sig"
    response = api.get("/chats", token=token)
    assert response.status_code == 200
    assert jwt_claims(token) == {}
