"""What the fixture format holds for the Session API (rules, expiry, creator, wallet addresses,
apiKeys), loaded from a file and served over real HTTP; and GET /_mock/state then PUT
/_mock/state round-tripping sessions made through the API."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from support import Api, bearer, host_session, join, reset, wallet_token

import mockchats
from mockchats import worlds
from mockchats.sessions.models import Rules
from mockchats.worlds import FixtureError

PARTNER_KEY = "partner-key"
EXTRA_KEY = "extra-key"


def instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def control(root_url: str, method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(method, root_url + "/_mock" + path, timeout=30, **kwargs)
    assert response.status_code < 300, response.text
    return response


def state(root_url: str) -> dict:
    return control(root_url, "GET", "/state").json()


def listed_sessions(root_url: str) -> list[str]:
    return [s["sessionId"] for s in control(root_url, "GET", "/sessions").json()]


def create(api: Api, key: str, body: dict | None = None, wallet=None) -> requests.Response:
    _, token = wallet_token(api, wallet)
    return api.post("/session", as_=None, json=body or {}, headers={**bearer(token), "X-API-KEY": key})


def try_join(api: Api, session_id: str, wallet=None, password: str | None = None) -> requests.Response:
    _, token = wallet_token(api, wallet)
    return api.post("/session/join", as_=None, json={"sessionId": session_id, "password": password},
                    headers=bearer(token))


def assert_problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()


# -- a partner's fixture file, served ----------------------------------------------------------
@pytest.fixture(scope="module")
def wallets():
    return {name: mockchats.Wallet() for name in ("host", "guest", "vip")}


def partner_document(wallets: dict) -> dict:
    soon = datetime.now(UTC) + timedelta(minutes=10)
    return {
        "apiKeys": [PARTNER_KEY],
        "sessions": [
            {"id": "lobby", "users": [
                {"id": "lobby-host", "name": "Hana", "role": "Host", "token": "lobby-host-token",
                 "address": wallets["host"].address},
                {"id": "lobby-client", "name": "Cleo", "role": "Client", "token": "lobby-client-token"}]},
            {"id": "locked", "rules": {"password": "sesame", "userCapacity": 3},
             "users": [{"id": "locked-host", "name": "Lock", "role": "Host"}]},
            {"id": "vip", "rules": {"allowOnlyWhitelistedAddresses": True,
                                    "whiteListAddresses": [wallets["vip"].address.upper().replace("0X", "0x")]},
             "users": [{"id": "vip-host", "name": "Vic", "role": "Host"}]},
            {"id": "brief", "expiresAt": instant(soon),
             "users": [{"id": "brief-host", "name": "Bree", "role": "Host", "token": "brief-host-token"}],
             "messages": [{"chatId": "brief-1", "userId": "brief-host", "message": "short-lived",
                           "createdAt": "2025-06-26T08:00:00Z"}]},
            {"id": "gone", "createdAt": "2025-01-01T00:00:00Z", "expiresAt": "2025-01-01T01:00:00Z",
             "users": [{"id": "gone-host", "name": "Gus", "role": "Host", "token": "gone-host-token"}]},
        ],
    }


@pytest.fixture(scope="module")
def partner(tmp_path_factory, wallets):
    path = tmp_path_factory.mktemp("fixtures") / "partner.yaml"
    path.write_text(json.dumps(partner_document(wallets)), encoding="utf-8")
    server = mockchats.Server(mockchats.build(path, auth="strict", api_keys=(EXTRA_KEY,)).app, port=0).start()
    yield server.root_url
    server.stop()


@pytest.fixture
def papi(partner) -> Api:
    reset(partner)
    yield Api(partner)
    reset(partner)


def test_strict_auth_accepts_the_fixtures_keys_and_those_given_at_start(papi):
    assert create(papi, PARTNER_KEY).status_code == 200
    assert create(papi, EXTRA_KEY).status_code == 200
    body = assert_problem(create(papi, "demo-api-key"), 401)
    assert body["title"] == "Unauthorized"


def test_a_scenario_without_api_keys_keeps_the_start_ones_and_one_with_them_brings_its_own(papi):
    control(papi.root_url, "POST", "/scenarios/empty")
    assert create(papi, PARTNER_KEY).status_code == 200
    assert create(papi, EXTRA_KEY).status_code == 200
    assert "apiKeys" not in state(papi.root_url)
    control(papi.root_url, "POST", "/scenarios/default")  # the shipped default lists demo-api-key
    assert create(papi, "demo-api-key").status_code == 200
    assert create(papi, EXTRA_KEY).status_code == 200  # --api-key keys hold in every world
    assert_problem(create(papi, PARTNER_KEY), 401)
    assert state(papi.root_url)["apiKeys"] == ["demo-api-key", EXTRA_KEY]
    control(papi.root_url, "POST", "/reset")
    assert create(papi, PARTNER_KEY).status_code == 200
    assert_problem(create(papi, "demo-api-key"), 401)


def test_the_shipped_fixtures_hold_the_demo_key():
    assert worlds.load_world().api_keys == ("demo-api-key",)
    assert mockchats.build().sessions.api_keys == {"demo-api-key"}


def test_a_fixture_without_api_keys_knows_only_those_given(tmp_path, wallets):
    document = partner_document(wallets)
    del document["apiKeys"]
    path = tmp_path / "keyless.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert mockchats.build(path).sessions.api_keys == frozenset()
    assert mockchats.build(path, api_keys=("k1", "k2")).sessions.api_keys == {"k1", "k2"}


def test_a_fixture_session_with_a_password_refuses_a_join_without_it(papi):
    body = assert_problem(try_join(papi, "locked"), 401)
    assert body["title"] == "Unauthorized"
    assert_problem(try_join(papi, "locked", password="wrong"), 401)
    joined = join(papi, "locked", password="sesame")
    assert joined["credentials"]["role"] == "Client"
    assert joined["rules"]["passwordProtected"] is True
    assert joined["rules"]["maxUsers"] == 3
    assert [u["id"] for u in joined["users"]][0] == "locked-host"


def test_a_fixture_sessions_capacity_counts_its_listed_users(papi):
    join(papi, "locked", password="sesame")
    join(papi, "locked", password="sesame")  # the Host and two Clients: 3
    assert_problem(try_join(papi, "locked", password="sesame"), 422)


def test_a_fixture_sessions_whitelist_admits_its_addresses_in_any_case(papi, wallets):
    assert join(papi, "vip", wallet=wallets["vip"])["credentials"]["role"] == "Client"
    assert_problem(try_join(papi, "vip", wallet=wallets["guest"]), 422)


def test_a_fixture_users_address_makes_its_wallet_that_user(papi, wallets):
    joined = join(papi, "lobby", wallet=wallets["host"])
    assert (joined["credentials"]["id"], joined["credentials"]["role"]) == ("lobby-host", "Host")
    assert joined["credentials"]["pseudonym"] == "Hana"
    users = {u["id"]: u["address"] for u in joined["users"]}
    assert users == {"lobby-host": wallets["host"].address.lower(), "lobby-client": None}
    # Its session token chats as the fixture's Host.
    sent = papi.post("/chats", token=joined["credentials"]["token"], json={"message": "by wallet"})
    assert sent.status_code == 200, sent.text
    by_fixture_token = papi.get("/chats", token="lobby-host-token", params={"Take": 20})
    assert [m["message"] for m in by_fixture_token.json()["messages"]] == ["by wallet"]


def test_a_fixture_session_expires_at_its_expires_at(papi):
    assert "brief" in listed_sessions(papi.root_url)
    listed = papi.get("/chats", token="brief-host-token", params={"Take": 20})
    assert listed.status_code == 200, listed.text
    join(papi, "brief")
    control(papi.root_url, "POST", "/clock", json={"advanceSeconds": 11 * 60})
    assert "brief" not in listed_sessions(papi.root_url)
    assert_problem(try_join(papi, "brief"), 422)
    assert_problem(papi.get("/chats", token="brief-host-token"), 404)
    # Still known to the Session API, so exported, without the messages the Chats API dropped.
    [brief] = [s for s in state(papi.root_url)["sessions"] if s["id"] == "brief"]
    assert brief["messages"] == [] and "expiresAt" in brief


def test_a_fixture_session_already_past_its_expiry_is_expired_from_the_start(papi):
    assert "gone" not in listed_sessions(papi.root_url)
    assert_problem(try_join(papi, "gone"), 422)
    assert_problem(try_join(papi, "nowhere"), 404)


def test_a_reset_brings_back_the_fixture_sessions_and_their_expiry(papi):
    control(papi.root_url, "POST", "/clock", json={"advanceSeconds": 11 * 60})
    assert "brief" not in listed_sessions(papi.root_url)
    control(papi.root_url, "POST", "/reset")
    assert "brief" in listed_sessions(papi.root_url) and "gone" not in listed_sessions(papi.root_url)


def test_the_partner_state_round_trips(papi, wallets):
    join(papi, "lobby", wallet=wallets["guest"])
    before = state(papi.root_url)
    assert "apiKeys" not in before  # the keys the mock started with
    assert {s["id"] for s in before["sessions"]} >= {"lobby", "locked", "vip", "brief", "gone"}
    [vip] = [s for s in before["sessions"] if s["id"] == "vip"]
    assert vip["rules"]["allowOnlyWhitelistedAddresses"] is True
    control(papi.root_url, "PUT", "/state", json=before)
    assert state(papi.root_url) == before


# -- sessions made through the API: exported, restored, forgotten --------------------------------
RULES = {"rules": {"userCapacity": 3, "expiryDurationInSeconds": 7200, "password": "pw",
                   "allowOnlyWhitelistedAddresses": False}}


def test_an_api_session_shows_in_the_control_plane_and_is_gone_after_a_reset(api):
    made = host_session(api, RULES)
    listed = control(api.root_url, "GET", "/sessions").json()
    [entry] = [s for s in listed if s["sessionId"] == made["sessionId"]]
    assert [(u["id"], u["role"]) for u in entry["users"]] == [(made["credentials"]["id"], "Host")]
    control(api.root_url, "POST", "/reset")
    assert made["sessionId"] not in listed_sessions(api.root_url)
    assert made["sessionId"] not in {s["id"] for s in state(api.root_url)["sessions"]}
    assert_problem(try_join(api, made["sessionId"], password="pw"), 404)
    assert_problem(api.get("/session/current", token=made["credentials"]["token"]), 404)


def test_an_api_session_round_trips_through_get_and_put_state(api):
    made = host_session(api, RULES)
    guest = join(api, made["sessionId"], password="pw")
    sent = api.post("/chats", token=guest["credentials"]["token"], json={"message": "kept"})
    assert sent.status_code == 200, sent.text
    saved = state(api.root_url)
    [entry] = [s for s in saved["sessions"] if s["id"] == made["sessionId"]]
    assert entry["rules"] == {"userCapacity": 3, "expiryDurationInSeconds": 7200, "password": "pw"}
    assert entry["creatorAddress"] == made["wallet"].address.lower()
    assert [u.get("address") for u in entry["users"]] == [made["wallet"].address.lower(),
                                                          guest["wallet"].address.lower()]
    assert [m["message"] for m in entry["messages"]] == ["kept"]
    assert "expiresAt" in entry and "createdAt" in entry

    control(api.root_url, "POST", "/scenarios/empty")  # another world: the session is gone
    assert_problem(api.get("/session/current", token=made["credentials"]["token"]), 404)
    control(api.root_url, "PUT", "/state", json=saved)
    assert state(api.root_url) == saved

    # The tokens this mock signed authenticate again, on both APIs.
    current = api.get("/session/current", token=guest["credentials"]["token"])
    assert current.status_code == 200, current.text
    assert current.json()["maxUsers"] == 3 and current.json()["passwordProtected"] is True
    assert current.json()["creatorId"] == made["credentials"]["id"]
    listed = api.get("/chats", token=made["credentials"]["token"], params={"Take": 20})
    assert [m["message"] for m in listed.json()["messages"]] == ["kept"]
    # Joinable by id with its rules: password, then capacity (Host, guest and one more).
    assert_problem(try_join(api, made["sessionId"]), 401)
    join(api, made["sessionId"], password="pw")
    assert_problem(try_join(api, made["sessionId"], password="pw"), 422)
    # The creator's wallet is the Host again.
    again = join(api, made["sessionId"], wallet=made["wallet"], password="pw")
    assert (again["credentials"]["id"], again["credentials"]["role"]) == (made["credentials"]["id"], "Host")


def test_a_whitelisted_api_session_round_trips(api):
    vip = mockchats.Wallet()
    made = host_session(api, {"rules": {"allowOnlyWhitelistedAddresses": True,
                                        "whiteListAddresses": [{"address": vip.address}]}})
    saved = state(api.root_url)
    control(api.root_url, "POST", "/reset")
    control(api.root_url, "PUT", "/state", json=saved)
    assert state(api.root_url) == saved
    assert_problem(try_join(api, made["sessionId"]), 422)
    assert join(api, made["sessionId"], wallet=vip)["rules"]["whiteListAddresses"] == [vip.address]


def test_users_who_left_are_former_users_and_their_messages_stay(api):
    made = host_session(api)
    guest = join(api, made["sessionId"])
    api.post("/chats", token=guest["credentials"]["token"], json={"message": "before I go"})
    kicked = api.post("/session/current/kick", token=made["credentials"]["token"],
                      json={"userId": guest["credentials"]["id"]})
    assert kicked.status_code == 200, kicked.text
    left = api.post("/session/disconnect", token=made["credentials"]["token"])
    assert left.status_code == 200, left.text
    saved = state(api.root_url)
    [entry] = [s for s in saved["sessions"] if s["id"] == made["sessionId"]]
    assert entry["users"] == []
    assert entry["formerUsers"] == [made["credentials"]["id"], guest["credentials"]["id"]]
    assert entry["creatorId"] == made["credentials"]["id"]
    control(api.root_url, "PUT", "/state", json=saved)
    assert state(api.root_url) == saved
    # The creator's wallet comes back as the Host and sees the message of the user who left.
    again = join(api, made["sessionId"], wallet=made["wallet"])
    assert again["credentials"]["role"] == "Host"
    listed = api.get("/chats", token=again["credentials"]["token"], params={"Take": 20})
    assert [m["message"] for m in listed.json()["messages"]] == ["before I go"]


def test_an_expired_api_session_round_trips_expired(api):
    made = host_session(api, {"rules": {"expiryDurationInSeconds": 60}})
    control(api.root_url, "POST", "/clock", json={"advanceSeconds": 120})
    assert made["sessionId"] not in listed_sessions(api.root_url)
    saved = state(api.root_url)
    [entry] = [s for s in saved["sessions"] if s["id"] == made["sessionId"]]
    assert entry["rules"] == {"expiryDurationInSeconds": 60} and entry["messages"] == []
    control(api.root_url, "PUT", "/state", json=saved)
    assert state(api.root_url) == saved
    assert made["sessionId"] not in listed_sessions(api.root_url)
    assert_problem(try_join(api, made["sessionId"]), 422)


def test_the_default_world_exports_as_it_always_did(api):
    assert state(api.root_url) == worlds.to_document(worlds.load())
    assert "apiKeys" not in state(api.root_url)


def test_a_state_with_its_own_api_keys_replaces_the_keys(api):
    document = state(api.root_url)
    document["apiKeys"] = ["mine"]
    control(api.root_url, "PUT", "/state", json=document)
    assert state(api.root_url)["apiKeys"] == ["mine"]
    control(api.root_url, "POST", "/reset", json={"auth": "strict"})
    assert "apiKeys" not in state(api.root_url)


def test_a_put_state_with_its_own_keys_is_what_strict_auth_accepts(api):
    document = state(api.root_url)
    document["apiKeys"] = ["mine"]
    control(api.root_url, "POST", "/reset", json={"auth": "strict"})
    control(api.root_url, "PUT", "/state", json=document)
    assert create(api, "mine").status_code == 200
    assert_problem(create(api, "demo-api-key"), 401)


# -- the format itself ---------------------------------------------------------------------------
ADDRESS = "0x" + "ab" * 20
COHOST = "0x" + "ef" * 20


def full_document() -> dict:
    return {
        "apiKeys": ["k-1", "k 2"],
        "sessions": [{
            "id": "s-1",
            "rules": {"userCapacity": 4, "expiryDurationInSeconds": 600, "password": "pw",
                      "allowOnlyWhitelistedAddresses": True, "whiteListAddresses": ["0x" + "CD" * 20]},
            "createdAt": "2025-06-26T08:00:00Z", "expiresAt": "2025-06-26T08:10:00Z",
            "creatorId": "u-cohost", "creatorAddress": COHOST,
            "users": [{"id": "u-client", "name": "C", "role": "Client", "token": "c-token"},
                      {"id": "u-host", "name": "H", "role": "Host", "address": ADDRESS},
                      {"id": "u-cohost", "name": "K", "role": "Host", "address": COHOST}],
            "formerUsers": ["u-left"],
            "messages": [{"chatId": "m-1", "userId": "u-left", "message": "hi",
                          "createdAt": "2025-06-26T08:01:00Z",
                          "reactions": [{"id": "r-1", "userId": "u-client", "reaction": ":thumbs_up:"}]}],
        }],
    }


def test_a_world_carries_the_session_apis_records():
    world = worlds.build_world(full_document())
    [record] = world.sessions
    assert world.api_keys == ("k-1", "k 2")
    assert (record.rules.capacity, record.rules.expiry_seconds, record.rules.password) == (4, 600, "pw")
    assert record.rules.whitelist_only and record.rules.whitelist == ("0x" + "CD" * 20,)
    assert record.creator_id == "u-cohost" and record.creator_address == COHOST
    assert record.expires_at - record.created_at == timedelta(minutes=10)
    assert {m.id: m.address for m in record.members.values()} == {"u-client": None, "u-host": ADDRESS,
                                                                  "u-cohost": COHOST}


def test_addresses_are_kept_in_lower_case():
    document = full_document()
    document["sessions"][0]["users"][1]["address"] = ADDRESS.upper().replace("0X", "0x")
    document["sessions"][0]["creatorAddress"] = COHOST.upper().replace("0X", "0x")
    [record] = worlds.build_world(document).sessions
    assert record.members["u-host"].address == ADDRESS and record.creator_address == COHOST


def test_the_full_format_round_trips_through_to_document():
    document = full_document()
    assert worlds.to_document(worlds.build_world(copy.deepcopy(document))) == document


def test_the_first_host_is_the_creator_unless_the_document_says_otherwise():
    document = full_document()
    del document["sessions"][0]["creatorId"]
    [record] = worlds.build_world(document).sessions
    assert record.creator_id == "u-host"
    assert "creatorId" not in worlds.to_document(worlds.build_world(document))["sessions"][0]


def test_defaults_for_sessions_that_say_nothing():
    document = {"sessions": [{"id": "s", "users": [{"id": "c", "name": "C", "role": "Client"},
                                                    {"id": "h", "name": "H", "role": "Host"}]}]}
    world = worlds.build_world(document)
    [record] = world.sessions
    assert world.api_keys is None
    assert record.creator_id == "h" and record.expires_at is None and record.creator_address is None
    assert record.rules == Rules()
    assert worlds.to_document(world) == {**document, "sessions": [{**document["sessions"][0], "messages": []}]}


def _mutate(change) -> dict:
    document = full_document()
    change(document)
    return document


def _set(path, value):
    def change(document):
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


def _drop(path):
    def change(document):
        target = document
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    return change


S0 = ["sessions", 0]
INVALID = {
    "bad address": (_set(S0 + ["users", 1, "address"], "0x1234"), "sessions[0].users[1].address",
                    "pattern ^0x[0-9a-fA-F]{40}$"),
    "address twice": (_set(S0 + ["users", 0, "address"], ADDRESS.upper().replace("0X", "0x")),
                      "sessions[0].users[1].address", "already used at sessions[0].users[0].address"),
    "creatorId naming nobody": (_set(S0 + ["creatorId"], "u-nobody"), "sessions[0].creatorId",
                                "'u-nobody' is not a user of session 's-1'"),
    "creatorId naming a Client": (_set(S0 + ["creatorId"], "u-client"), "sessions[0].creatorId",
                                  "is a Client; the creator is a Host"),
    "whitelist required but empty": (_set(S0 + ["rules", "whiteListAddresses"], []), "sessions[0].rules",
                                     "allowOnlyWhitelistedAddresses needs at least one address"),
    "capacity below one": (_set(S0 + ["rules", "userCapacity"], 0), "sessions[0].rules.userCapacity",
                           "at least 1"),
    "expiry not positive": (_set(S0 + ["rules", "expiryDurationInSeconds"], 0),
                            "sessions[0].rules.expiryDurationInSeconds", "at least 1"),
    "empty password": (_set(S0 + ["rules", "password"], ""), "sessions[0].rules.password", "empty"),
    "unknown rule": (_set(S0 + ["rules", "maxFiles"], 3), "sessions[0].rules", "maxFiles"),
    "whitelist of objects": (_set(S0 + ["rules", "whiteListAddresses"], [{"address": ADDRESS}]),
                             "sessions[0].rules.whiteListAddresses[0]", "string"),
    "expiresAt not an instant": (_set(S0 + ["expiresAt"], "soon"), "sessions[0].expiresAt", "ISO 8601"),
    "expires before it was made": (_set(S0 + ["expiresAt"], "2025-06-26T07:00:00Z"), "sessions[0].expiresAt",
                                   "before it was made"),
    "former user still a user": (_set(S0 + ["formerUsers"], ["u-client"]), "sessions[0].formerUsers[0]",
                                 "is a user of the session"),
    "message by nobody": (_drop(S0 + ["formerUsers"]), "sessions[0].messages[0].userId",
                          "'u-left' is not a user of session"),
    "no users and nobody who left": (lambda d: d["sessions"][0].update(users=[], formerUsers=[], messages=[],
                                                                        creatorId="x", rules={}),
                                     "sessions[0].users", "at least one user"),
    "api key with a blank end": (_set(["apiKeys", 1], "k-2 "), "apiKeys[1]", "not an API key"),
    "api key twice": (_set(["apiKeys", 1], "k-1"), "apiKeys[1]", "already listed at apiKeys[0]"),
    "api key empty": (_set(["apiKeys", 1], ""), "apiKeys[1]", "empty"),
}


@pytest.mark.parametrize("change, place, reason", INVALID.values(), ids=INVALID.keys())
def test_invalid_session_api_parts_name_the_place_and_the_reason(change, place, reason):
    with pytest.raises(FixtureError) as caught:
        worlds.build_world(_mutate(change), "partner.yaml")
    message = str(caught.value)
    assert message.startswith(f"partner.yaml: {place}: "), message
    assert reason in message, message


def test_generated_messages_need_a_user_to_write_them():
    document = {"sessions": [{"id": "s", "users": [], "formerUsers": ["x"], "generate": {"messages": 3}}]}
    with pytest.raises(FixtureError, match=r"sessions\[0\]\.generate\.messages: generated messages need a user"):
        worlds.build_world(document)


def test_put_state_names_the_place_of_a_session_api_fault(api):
    document = state(api.root_url)
    document["sessions"][0]["creatorId"] = "nobody"
    refused = requests.put(api.root_url + "/_mock/state", json=document, timeout=30)
    body = assert_problem(refused, 400)
    assert list(body["errors"]) == ["$.sessions[0].creatorId"]
    assert "'nobody' is not a user of session" in body["errors"]["$.sessions[0].creatorId"][0]


def test_the_control_plane_document_describes_the_new_fields(api):
    document = requests.get(api.root_url + "/_mock/openapi.json", timeout=30).json()
    schemas = document["components"]["schemas"]
    assert "apiKeys" in schemas["FixtureDocument"]["properties"]
    assert {"rules", "expiresAt", "creatorId", "formerUsers"} <= set(schemas["FixtureSession"]["properties"])
    assert "address" in schemas["FixtureUser"]["properties"]
