"""The Session API's model (mockchats.sessions.models): every rule of the wallet proof and of
sessions, on the mock's clock, with real keys and real signatures, and the events it publishes."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockchats.core.clock import Clock
from mockchats.core.errors import BadRequest, Forbidden, NotFound, Unauthorized, Unprocessable
from mockchats.core.events import Event, Events
from mockchats.core.tokens import CLOCK_SKEW, ExpiredToken, InvalidToken, TokenIssuer
from mockchats.sessions.models import (
    CLIENT,
    HOST,
    NONCE_LIFETIME,
    NONCE_MEMORY,
    Caller,
    Member,
    Rules,
    Session,
    SessionStore,
    pseudonym,
    rules_from_request,
)
from mockchats.sessions.wallet import Wallet

START = datetime(2025, 6, 26, 8, 0, 0, tzinfo=UTC)
ELSEWHERE = "0x" + "ab" * 20


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.freeze(START)
    return clock


@pytest.fixture
def published() -> list[Event]:
    """The events a hub delivers to a session's connections, in order."""
    return []


@pytest.fixture
def created() -> list[Event]:
    """SessionCreated: the mock's own, keeping the Chats API in step (no connection can hear it)."""
    return []


@pytest.fixture
def store(clock, published, created) -> SessionStore:
    events = Events()
    events.subscribe(lambda event: (created if event.event_type == "SessionCreated" else published).append(event))
    return SessionStore(tokens=TokenIssuer(), events=events, now=clock.now, api_keys=["demo-api-key"], seed=7)


# Keys are slow to make: a few for the whole module.
@pytest.fixture(scope="module")
def ada() -> Wallet:
    return Wallet()


@pytest.fixture(scope="module")
def grace() -> Wallet:
    return Wallet()


@pytest.fixture(scope="module")
def linus() -> Wallet:
    return Wallet()


def login(store: SessionStore, wallet: Wallet) -> str:
    """The wallet's address as a wallet token proves it, through the real proof."""
    nonce = store.issue_nonce()
    proof = store.verify_proof(wallet.address, nonce.message, wallet.sign(nonce.message))
    return store.wallet_of(proof.token)


def host_session(store, wallet, **request):
    """A new session made by ``wallet``: its credentials."""
    return store.create_session(login(store, wallet), request)


def caller(store, credentials) -> Caller:
    return store.caller_of(credentials.token)


def user_events(published, event_type):
    return [dict(e.data) for e in published if e.event_type == event_type]


# -- nonces ----------------------------------------------------------------------
def test_a_nonce_message_holds_its_nonce(store):
    nonce = store.issue_nonce()
    assert nonce.message == f"Sign this message to prove you own this wallet. Nonce: {nonce.value}"
    assert 0 < nonce.value <= 2**31 - 1  # an int32, as NonceDto says
    assert nonce.expires_at == START + timedelta(minutes=5)
    assert nonce.to_dto() == {"nonce": nonce.value, "message": nonce.message}


def test_nonces_are_never_the_same_twice(store):
    assert len({store.issue_nonce().value for _ in range(500)}) == 500


def test_a_seed_gives_the_same_nonces_ids_and_names(clock, ada):
    def run():
        store = SessionStore(tokens=TokenIssuer(), now=clock.now, seed=3)
        nonce = store.issue_nonce()
        made = store.create_session(ada.address.lower())
        joined = store.join(ELSEWHERE, made.session_id)
        return nonce.value, made.session_id, made.member, joined.member

    assert run() == run()


# -- the wallet proof -------------------------------------------------------------
def test_a_proof_answers_a_wallet_token_for_five_minutes(store, clock, ada):
    nonce = store.issue_nonce()
    proof = store.verify_proof(ada.address, nonce.message, ada.sign(nonce.message))
    assert proof.address == ada.address.lower()
    assert proof.expires_at == START + timedelta(minutes=5)
    assert proof.to_dto() == {"token": proof.token}
    claims = store.tokens.read(proof.token, clock.now())
    assert claims["sub"] == ada.address.lower() and claims["typ"] == "wallet"
    assert claims["exp"] - claims["iat"] == 300
    assert store.wallet_of(proof.token) == ada.address.lower()


def test_a_wallet_token_expires_with_jwtbearers_skew(store, clock, ada):
    nonce = store.issue_nonce()
    token = store.verify_proof(ada.address, nonce.message, ada.sign(nonce.message)).token
    clock.advance(timedelta(minutes=5) + CLOCK_SKEW)
    assert store.wallet_of(token) == ada.address.lower()
    clock.advance(timedelta(seconds=1))
    with pytest.raises(ExpiredToken) as expired:
        store.wallet_of(token)
    assert expired.value.expires_at == START + timedelta(minutes=5)


@pytest.mark.parametrize("spelling", [str.lower, str.upper, lambda a: a, lambda a: "0x" + a[2:].upper()])
def test_the_address_may_come_in_any_letter_case(store, ada, spelling):
    nonce = store.issue_nonce()
    proof = store.verify_proof(spelling(ada.address), nonce.message, ada.sign(nonce.message))
    assert proof.address == ada.address.lower()


def test_v_as_a_bare_recovery_id_is_accepted(store, ada):
    nonce = store.issue_nonce()
    signature = ada.sign(nonce.message)
    signature = signature[:-2] + f"{int(signature[-2:], 16) - 27:02x}"
    assert store.verify_proof(ada.address, nonce.message, signature).address == ada.address.lower()


@pytest.mark.parametrize("chain", ["Ethereum", "ethereum", "ETHEREUM"])
def test_the_chain_is_ethereum_in_any_case(store, ada, chain):
    nonce = store.issue_nonce()
    assert store.verify_proof(ada.address, nonce.message, ada.sign(nonce.message), chain).address


def test_another_chain_is_refused(store, ada):
    nonce = store.issue_nonce()
    with pytest.raises(BadRequest, match="Ethereum"):
        store.verify_proof(ada.address, nonce.message, ada.sign(nonce.message), "Bitcoin")


def test_a_nonce_is_used_up_by_a_successful_proof(store, ada):
    nonce = store.issue_nonce()
    signature = ada.sign(nonce.message)
    store.verify_proof(ada.address, nonce.message, signature)
    with pytest.raises(BadRequest, match="already used"):
        store.verify_proof(ada.address, nonce.message, signature)


@pytest.mark.parametrize("attempt", [
    lambda w, m: (w.address, m, "0x" + "00" * 65),  # a malformed signature
    lambda w, m: (ELSEWHERE, m, w.sign(m)),  # another address
    lambda w, m: (None, m, w.sign(m)),  # no address
    lambda w, m: ("not an address", m, w.sign(m)),
    lambda w, m: (w.address, m, None),  # no signature
])
def test_a_nonce_is_used_up_by_a_failed_proof_too(store, ada, attempt):
    nonce = store.issue_nonce()
    with pytest.raises(BadRequest):
        store.verify_proof(*attempt(ada, nonce.message))
    with pytest.raises(BadRequest, match="already used"):
        store.verify_proof(ada.address, nonce.message, ada.sign(nonce.message))


def test_a_nonce_expires_after_five_minutes_on_the_mocks_clock(store, clock, ada):
    early, late = store.issue_nonce(), store.issue_nonce()
    clock.advance(NONCE_LIFETIME - timedelta(seconds=1))
    assert store.verify_proof(ada.address, early.message, ada.sign(early.message))
    clock.advance(timedelta(seconds=1))
    with pytest.raises(BadRequest, match="expired"):
        store.verify_proof(ada.address, late.message, ada.sign(late.message))


def test_a_long_expired_nonce_is_forgotten(store, clock, ada):
    nonce = store.issue_nonce()
    clock.advance(NONCE_LIFETIME + NONCE_MEMORY)
    with pytest.raises(BadRequest, match="not the message of a nonce"):
        store.verify_proof(ada.address, nonce.message, ada.sign(nonce.message))


@pytest.mark.parametrize("message", [
    "Sign this message to prove you own this wallet. Nonce: 1",
    "hello", "", None, 42,
])
def test_a_message_the_mock_did_not_issue_is_refused(store, ada, message):
    store.issue_nonce()
    with pytest.raises(BadRequest, match="message"):
        store.verify_proof(ada.address, message, ada.sign(message if isinstance(message, str) else ""))


def test_an_altered_nonce_message_is_refused(store, ada):
    nonce = store.issue_nonce()
    altered = nonce.message + " "
    with pytest.raises(BadRequest, match="not the message of a nonce"):
        store.verify_proof(ada.address, altered, ada.sign(altered))
    # Naming another message did not use the nonce.
    assert store.verify_proof(ada.address, nonce.message, ada.sign(nonce.message))


def test_a_signature_by_another_wallet_is_refused(store, ada, grace):
    nonce = store.issue_nonce()
    with pytest.raises(BadRequest, match="not made by the wallet address"):
        store.verify_proof(ada.address, nonce.message, grace.sign(nonce.message))


def test_a_signature_of_another_message_is_refused(store, ada):
    nonce = store.issue_nonce()
    with pytest.raises(BadRequest, match="not made by the wallet address"):
        store.verify_proof(ada.address, nonce.message, ada.sign("something else"))


@pytest.mark.parametrize("signature, reason", [
    ("", "signature is required"),
    ("0xnothex", "not hex"),
    ("0x" + "ab" * 64, "not 65 bytes"),
    ("0x" + "ab" * 64 + "05", "v is 5"),
    ("0x" + "ff" * 64 + "1b", "not a valid secp256k1 signature"),
])
def test_a_malformed_signature_is_a_bad_request_saying_why(store, ada, signature, reason):
    nonce = store.issue_nonce()
    with pytest.raises(BadRequest, match=reason) as refused:
        store.verify_proof(ada.address, nonce.message, signature)
    assert refused.value.detail.startswith("The signature")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=st.one_of(st.none(), st.text(max_size=50), st.integers(), st.just(ELSEWHERE)),
       signature=st.one_of(st.none(), st.text(max_size=140), st.integers(),
                           st.binary(min_size=65, max_size=65).map(lambda b: "0x" + b.hex())),
       chain=st.one_of(st.just("Ethereum"), st.text(max_size=10)),
       named=st.booleans())
def test_no_proof_input_ends_in_anything_but_a_bad_request(store, address, signature, chain, named):
    message = store.issue_nonce().message if named else "x"
    with pytest.raises(BadRequest):
        store.verify_proof(address, message, signature, chain)


def test_the_control_plane_makes_wallet_tokens_without_a_proof(store, ada):
    proof = store.wallet_token(ada.address)
    assert store.wallet_of(proof.token) == ada.address.lower()
    with pytest.raises(ValueError, match="not a wallet address"):
        store.wallet_token("0x123")


def test_a_session_token_is_no_wallet_token_and_the_other_way_round(store, ada):
    credentials = host_session(store, ada)
    with pytest.raises(InvalidToken):
        store.wallet_of(credentials.token)
    with pytest.raises(InvalidToken):
        store.caller_of(store.wallet_token(ada.address).token)


def test_a_token_another_mock_signed_is_refused(clock, store, ada):
    other = SessionStore(tokens=TokenIssuer(), now=clock.now)
    with pytest.raises(InvalidToken):
        store.wallet_of(other.wallet_token(ada.address).token)


# -- API keys --------------------------------------------------------------------
@pytest.mark.parametrize("strict", [False, True])
def test_a_known_key_is_accepted_in_both_modes(store, strict):
    store.check_api_key("demo-api-key", strict=strict)


def test_open_auth_accepts_any_non_empty_key(store):
    store.check_api_key("anything at all", strict=False)


def test_strict_auth_accepts_only_known_keys(store):
    with pytest.raises(Unauthorized, match="not known"):
        store.check_api_key("anything at all", strict=True)
    with pytest.raises(Unauthorized):
        store.check_api_key("DEMO-API-KEY", strict=True)  # keys are exact


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("key", [None, "", "   "])
def test_a_missing_key_is_refused_in_both_modes(store, key, strict):
    with pytest.raises(Unauthorized, match="missing"):
        store.check_api_key(key, strict=strict)


def test_keys_added_last_until_a_reset(store):
    store.add_api_key("partner-key")
    store.check_api_key("partner-key", strict=True)
    assert store.api_keys == {"demo-api-key", "partner-key"}
    store.reset()
    assert store.api_keys == {"demo-api-key"}
    with pytest.raises(ValueError):
        store.add_api_key(" ")


# -- creating a session -------------------------------------------------------------
def test_a_new_session_is_told_inside_the_mock_with_its_host(store, created, ada):
    made = host_session(store, ada, identity={"name": "Ada"})
    assert created == [Event(made.session_id, "SessionCreated", made.member.to_dto())]


def test_a_session_with_the_defaults(store, clock, published, ada):
    made = host_session(store, ada, identity={"name": "Ada", "chainAddress": ada.address})
    dto = made.to_dto()
    assert dto == {
        "sessionId": made.session_id,
        "expiresIn": 3600,
        "credentials": {"token": made.token, "id": made.member.id, "pseudonym": "Ada", "role": "Host"},
        "rules": {"expiry": 3600, "maxFiles": 10, "maxUsers": 10, "maxTotalMegaBytes": 100,
                  "passwordProtected": False, "whiteListAddresses": []},
    }
    claims = store.tokens.read(made.token, clock.now())
    assert {k: claims[k] for k in ("sub", "name", "role", "sid", "typ")} == {
        "sub": made.member.id, "name": "Ada", "role": "Host", "sid": made.session_id, "typ": "session"}
    assert claims["exp"] == int((START + timedelta(hours=1)).timestamp())  # with its session
    current = store.current(caller(store, made))
    assert current.creator_id == made.member.id
    assert current.users == (Member(made.member.id, "Ada", HOST, ada.address.lower()),)
    assert published == []  # nobody could be listening to a session not yet made


def test_a_nameless_host_gets_a_generated_pseudonym(store, ada):
    for identity in (None, {}, {"name": None}, {"name": "  "}):
        made = host_session(store, ada, identity=identity)
        assert made.member.name == pseudonym(made.session_id, ada.address)
        assert made.member.name.strip()


def test_sessions_and_users_get_distinct_guid_ids(store, ada):
    ids = set()
    for _ in range(20):
        made = host_session(store, ada)
        ids |= {made.session_id, made.member.id}
    assert len(ids) == 40
    for value in ids:
        assert len(value) == 36 and value[14] == "4" and value[19] in "89ab"


def test_rules_as_asked(store, clock, ada):
    made = host_session(store, ada, rules={
        "userCapacity": 3, "expiryDurationInSeconds": 90, "password": "s3cret",
        "allowOnlyWhitelistedAddresses": True, "whiteListAddresses": [{"address": ELSEWHERE.upper()}]})
    assert made.expires_in == 90
    assert made.to_dto()["rules"] == {"expiry": 90, "maxFiles": 10, "maxUsers": 3, "maxTotalMegaBytes": 100,
                                      "passwordProtected": True, "whiteListAddresses": [ELSEWHERE.upper()]}
    assert store.tokens.read(made.token, clock.now())["exp"] == int(START.timestamp()) + 90


@pytest.mark.parametrize("request_, expected", [
    ({}, Rules()),
    (None, Rules()),
    ({"rules": None}, Rules()),
    ({"rules": {"userCapacity": None, "expiryDurationInSeconds": None, "password": None,
                "allowOnlyWhitelistedAddresses": None, "whiteListAddresses": None}}, Rules()),
    # The deprecated top-level fields, when the rules leave theirs null.
    ({"password": "old"}, Rules(password="old")),
    ({"whiteListAddresses": [ELSEWHERE]}, Rules(whitelist=(ELSEWHERE,))),
    ({"whiteListAddresses": [ELSEWHERE], "rules": {"allowOnlyWhitelistedAddresses": True}},
     Rules(whitelist_only=True, whitelist=(ELSEWHERE,))),
    # The rules' own win.
    ({"password": "old", "rules": {"password": "new"}}, Rules(password="new")),
    ({"whiteListAddresses": [ELSEWHERE], "rules": {"whiteListAddresses": []}}, Rules()),
    ({"whiteListAddresses": [ELSEWHERE], "rules": {"whiteListAddresses": [{"address": "0x" + "cd" * 20}]}},
     Rules(whitelist=("0x" + "cd" * 20,))),
    # An empty password is none.
    ({"rules": {"password": ""}}, Rules()),
    ({"password": "", "rules": {"password": None}}, Rules()),
    ({"rules": {"userCapacity": 1, "expiryDurationInSeconds": 1}}, Rules(capacity=1, expiry_seconds=1)),
    ({"rules": {"userCapacity": 2**31 - 1, "expiryDurationInSeconds": 2**31 - 1}},
     Rules(capacity=2**31 - 1, expiry_seconds=2**31 - 1)),
])
def test_rules_from_a_request(request_, expected):
    assert rules_from_request(request_) == expected


@pytest.mark.parametrize("request_, reason", [
    ({"rules": {"userCapacity": 0}}, "userCapacity must be at least 1"),
    ({"rules": {"userCapacity": -3}}, "userCapacity must be at least 1"),
    ({"rules": {"expiryDurationInSeconds": 0}}, "expiryDurationInSeconds must be positive"),
    ({"rules": {"expiryDurationInSeconds": -60}}, "expiryDurationInSeconds must be positive"),
    ({"rules": {"allowOnlyWhitelistedAddresses": True}}, "needs at least one address"),
    ({"rules": {"allowOnlyWhitelistedAddresses": True, "whiteListAddresses": []}}, "needs at least one address"),
    ({"whiteListAddresses": [ELSEWHERE], "rules": {"allowOnlyWhitelistedAddresses": True,
                                                    "whiteListAddresses": []}}, "needs at least one address"),
    ({"rules": {"whiteListAddresses": [{"address": "0x123"}]}}, r"rules.whiteListAddresses\[0\].address"),
    ({"rules": {"whiteListAddresses": [{"address": ELSEWHERE}, {"address": None}]}},
     r"rules.whiteListAddresses\[1\].address"),
    ({"rules": {"whiteListAddresses": [{}]}}, r"rules.whiteListAddresses\[0\].address"),
    ({"rules": {"whiteListAddresses": [None]}}, r"rules.whiteListAddresses\[0\].address"),
    ({"whiteListAddresses": ["nope"]}, r"whiteListAddresses\[0\] is not"),
    ({"whiteListAddresses": [None]}, r"whiteListAddresses\[0\] is not"),
    # What binding refuses first; the model stays safe anyway.
    ({"rules": {"userCapacity": "10"}}, "whole number"),
    ({"rules": {"userCapacity": True}}, "whole number"),
    ({"rules": {"expiryDurationInSeconds": 1.5}}, "whole number"),
    ({"rules": {"expiryDurationInSeconds": 2**31}}, "int32"),
    ({"rules": {"userCapacity": 2**63}}, "int32"),
    ({"rules": []}, "rules must be an object"),
    ({"rules": {"password": 5}}, "password must be text"),
    ({"rules": {"whiteListAddresses": "x"}}, "must be a list"),
    ({"whiteListAddresses": "x"}, "must be a list"),
    ({"rules": {"allowOnlyWhitelistedAddresses": "yes", "whiteListAddresses": [{"address": ELSEWHERE}]}},
     "true or false"),
])
def test_rules_that_cannot_hold_are_unprocessable(store, ada, published, request_, reason):
    with pytest.raises(Unprocessable, match=reason):
        store.create_session(ada.address.lower(), request_)
    assert store.sessions() == [] and published == []


@pytest.mark.parametrize("request_", [[], "x", 3])
def test_a_request_that_is_no_object_is_unprocessable(request_):
    with pytest.raises(Unprocessable):
        rules_from_request(request_)  # type: ignore[arg-type]


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
RULE_KEYS = ["userCapacity", "expiryDurationInSeconds", "password", "allowOnlyWhitelistedAddresses",
             "whiteListAddresses"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request_=st.fixed_dictionaries({}, optional={
    "identity": JSON | st.fixed_dictionaries({}, optional={"name": JSON, "chainAddress": JSON}),
    "password": JSON, "whiteListAddresses": JSON,
    "rules": JSON | st.fixed_dictionaries({}, optional={key: JSON for key in RULE_KEYS}),
}))
def test_no_create_request_ends_in_anything_but_a_session_or_unprocessable(store, ada, request_):
    try:
        made = store.create_session(ada.address.lower(), request_)
    except Unprocessable:
        return
    assert made.member.name and made.expires_in == made.rules.expiry_seconds > 0


# -- joining --------------------------------------------------------------------------
def test_joining_answers_a_client_the_rules_and_the_users(store, clock, published, ada, grace):
    made = host_session(store, ada, identity={"name": "Ada"})
    clock.advance(timedelta(seconds=60))
    joined = store.join(login(store, grace), made.session_id)
    dto = joined.to_dto()
    assert dto == {
        "sessionId": made.session_id,
        "expiresIn": 3540,
        "credentials": {"token": joined.token, "id": joined.member.id, "pseudonym": joined.member.name,
                        "role": "Client"},
        "rules": {"maxFiles": 10, "maxUsers": 10, "maxTotalMegaBytes": 100, "passwordProtected": False,
                  "whiteListAddresses": []},
        "users": [
            {"id": made.member.id, "role": "Host", "name": "Ada", "address": ada.address.lower()},
            {"id": joined.member.id, "role": "Client", "name": joined.member.name, "address": grace.address.lower()},
        ],
    }
    assert joined.member.name == pseudonym(made.session_id, grace.address)
    claims = store.tokens.read(joined.token, clock.now())
    assert claims["exp"] == int((START + timedelta(hours=1)).timestamp())
    assert claims["role"] == "Client" and claims["sid"] == made.session_id
    assert published == [Event(made.session_id, "UserAdded", dto["users"][1])]


@pytest.mark.parametrize("session_id", ["00000000-0000-4000-8000-000000000000", "", None, 42])
def test_joining_an_unknown_session_is_not_found(store, ada, session_id):
    host_session(store, ada)
    with pytest.raises(NotFound):
        store.join(ELSEWHERE, session_id)


def test_a_protected_session_takes_its_password(store, ada, grace):
    made = host_session(store, ada, rules={"password": "s3cret"})
    with pytest.raises(Unauthorized, match="missing"):
        store.join(grace.address.lower(), made.session_id)
    with pytest.raises(Unauthorized, match="missing"):
        store.join(grace.address.lower(), made.session_id, "")
    with pytest.raises(Unauthorized, match="wrong"):
        store.join(grace.address.lower(), made.session_id, "S3CRET")
    joined = store.join(grace.address.lower(), made.session_id, "s3cret")
    assert joined.to_dto()["rules"]["passwordProtected"] is True


def test_the_deprecated_password_protects_too(store, ada, grace):
    made = host_session(store, ada, password="old")
    with pytest.raises(Unauthorized):
        store.join(grace.address.lower(), made.session_id, "new")
    assert store.join(grace.address.lower(), made.session_id, "old")


def test_a_password_for_an_open_session_is_ignored(store, ada, grace):
    made = host_session(store, ada)
    assert store.join(grace.address.lower(), made.session_id, "whatever").member.role == CLIENT


def test_the_host_counts_toward_the_capacity(store, published, ada, grace, linus):
    made = host_session(store, ada, rules={"userCapacity": 2})
    store.join(grace.address.lower(), made.session_id)
    with pytest.raises(Unprocessable, match="full"):
        store.join(linus.address.lower(), made.session_id)
    assert len(store.current(caller(store, made)).users) == 2
    assert len(published) == 1  # the refused join changed nothing


def test_a_session_for_one_holds_only_its_host(store, ada, grace):
    made = host_session(store, ada, rules={"userCapacity": 1})
    with pytest.raises(Unprocessable, match="full"):
        store.join(grace.address.lower(), made.session_id)
    assert store.join(ada.address.lower(), made.session_id).member.id == made.member.id  # already in


def test_a_seat_frees_when_its_user_leaves(store, ada, grace, linus):
    made = host_session(store, ada, rules={"userCapacity": 2})
    joined = store.join(grace.address.lower(), made.session_id)
    store.disconnect(caller(store, joined))
    assert store.join(linus.address.lower(), made.session_id).member.role == CLIENT


def test_a_whitelist_admits_its_addresses_in_any_case(store, ada, grace, linus):
    made = host_session(store, ada, rules={"allowOnlyWhitelistedAddresses": True,
                                           "whiteListAddresses": [{"address": grace.address.upper()}]})
    assert store.join(grace.address.lower(), made.session_id).member.role == CLIENT
    with pytest.raises(Unprocessable, match="whitelist"):
        store.join(linus.address.lower(), made.session_id)


def test_a_whitelist_not_required_admits_anyone(store, ada, linus):
    made = host_session(store, ada, rules={"whiteListAddresses": [{"address": ELSEWHERE}]})
    assert store.join(linus.address.lower(), made.session_id).member.role == CLIENT


def test_the_creator_is_never_kept_out_by_its_own_whitelist(store, ada):
    made = host_session(store, ada, rules={"allowOnlyWhitelistedAddresses": True,
                                           "whiteListAddresses": [{"address": ELSEWHERE}]})
    store.disconnect(caller(store, made))
    assert store.join(ada.address.lower(), made.session_id).member.role == HOST


def test_the_same_wallet_again_is_the_same_user_with_a_new_token(store, published, ada, grace):
    made = host_session(store, ada)
    first = store.join(grace.address.lower(), made.session_id)
    again = store.join(grace.address.upper().replace("0X", "0x"), made.session_id)
    assert again.member == first.member
    assert again.token != first.token
    for credentials in (first, again):  # the older token stays valid
        assert store.current(caller(store, credentials)).id == made.session_id
    assert len(store.current(caller(store, first)).users) == 2
    assert len(user_events(published, "UserAdded")) == 1  # nothing changed the second time


def test_the_host_joining_its_own_session_is_its_host(store, ada):
    made = host_session(store, ada)
    again = store.join(ada.address.lower(), made.session_id)
    assert again.member == made.member and again.member.role == HOST


def test_joining_an_expired_session_is_unprocessable(store, clock, ada, grace):
    made = host_session(store, ada, rules={"expiryDurationInSeconds": 60})
    clock.advance(timedelta(seconds=60))
    with pytest.raises(Unprocessable, match="expired"):
        store.join(grace.address.lower(), made.session_id)
    with pytest.raises(Unprocessable, match="expired"):  # before the password is asked for
        store.join(grace.address.lower(), made.session_id, "wrong")


def test_an_expired_session_is_told_before_a_wrong_password(store, clock, ada, grace):
    made = host_session(store, ada, rules={"expiryDurationInSeconds": 60, "password": "p"})
    clock.advance(timedelta(minutes=2))
    with pytest.raises(Unprocessable):
        store.join(grace.address.lower(), made.session_id, "wrong")


# -- the current session -------------------------------------------------------------
def test_the_current_session(store, ada, grace):
    made = host_session(store, ada, identity={"name": "Ada"}, rules={"userCapacity": 4, "password": "p"})
    joined = store.join(grace.address.lower(), made.session_id, "p")
    for credentials in (made, joined):
        assert store.current(caller(store, credentials)).to_dto() == {
            "id": made.session_id, "creatorId": made.member.id, "expiry": 3600, "maxFiles": 10, "maxUsers": 4,
            "maxTotalMegaBytes": 100, "passwordProtected": True, "whiteListAddresses": [],
            "users": [made.member.to_dto(), joined.member.to_dto()],
        }


def test_a_caller_of_no_session_is_not_found(store):
    with pytest.raises(NotFound):
        store.current(Caller("no-such-session", "no-such-user"))


# -- kicking -----------------------------------------------------------------------------
def test_the_host_kicks_a_user(store, published, ada, grace):
    made = host_session(store, ada)
    joined = store.join(grace.address.lower(), made.session_id)
    kicked = store.kick(caller(store, made), joined.member.id)
    assert kicked == joined.member
    assert published[-1] == Event(made.session_id, "UserRemoved", joined.member.to_dto())
    assert [u.id for u in store.current(caller(store, made)).users] == [made.member.id]
    # The kicked user's token still authenticates, but finds no session.
    kicked_caller = caller(store, joined)
    with pytest.raises(NotFound):
        store.current(kicked_caller)
    with pytest.raises(NotFound):
        store.disconnect(kicked_caller)


def test_a_client_may_not_kick(store, published, ada, grace, linus):
    made = host_session(store, ada)
    first = store.join(grace.address.lower(), made.session_id)
    second = store.join(linus.address.lower(), made.session_id)
    for target in (second.member.id, made.member.id, first.member.id, "nobody", None):
        with pytest.raises(Forbidden):  # whatever the target: the role is checked first
            store.kick(caller(store, first), target)
    assert len(store.current(caller(store, made)).users) == 3
    assert user_events(published, "UserRemoved") == []


@pytest.mark.parametrize("user_id", ["00000000-0000-4000-8000-000000000000", "", None, 7])
def test_kicking_an_unknown_user_is_not_found(store, ada, user_id):
    made = host_session(store, ada)
    with pytest.raises(NotFound):
        store.kick(caller(store, made), user_id)


def test_kicking_a_user_of_another_session_is_not_found(store, ada, grace):
    mine = host_session(store, ada)
    theirs = host_session(store, grace)
    with pytest.raises(NotFound):
        store.kick(caller(store, mine), theirs.member.id)
    assert store.current(caller(store, theirs)).users == (theirs.member,)


def test_the_host_cannot_kick_itself(store, ada):
    made = host_session(store, ada)
    with pytest.raises(Unprocessable, match="itself"):
        store.kick(caller(store, made), made.member.id)


def test_kicking_twice_is_not_found(store, ada, grace):
    made = host_session(store, ada)
    joined = store.join(grace.address.lower(), made.session_id)
    store.kick(caller(store, made), joined.member.id)
    with pytest.raises(NotFound):
        store.kick(caller(store, made), joined.member.id)


def test_a_kicked_user_may_join_again_as_a_new_user(store, published, ada, grace):
    made = host_session(store, ada)
    joined = store.join(grace.address.lower(), made.session_id)
    store.kick(caller(store, made), joined.member.id)
    back = store.join(grace.address.lower(), made.session_id)
    assert back.member.id != joined.member.id
    assert back.member.name == joined.member.name  # the wallet's pseudonym in this session
    assert store.current(caller(store, back)).users == (made.member, back.member)
    with pytest.raises(NotFound):  # the token from before the kick stays dead
        store.current(caller(store, joined))
    assert [e.event_type for e in published] == ["UserAdded", "UserRemoved", "UserAdded"]


# -- disconnecting ---------------------------------------------------------------------
def test_a_client_disconnects(store, published, ada, grace):
    made = host_session(store, ada)
    joined = store.join(grace.address.lower(), made.session_id)
    assert store.disconnect(caller(store, joined)) == joined.member
    assert published[-1] == Event(made.session_id, "UserRemoved", joined.member.to_dto())
    with pytest.raises(NotFound):
        store.current(caller(store, joined))
    with pytest.raises(NotFound):
        store.disconnect(caller(store, joined))


def test_the_host_may_leave_and_the_session_stays(store, ada, grace):
    made = host_session(store, ada)
    joined = store.join(grace.address.lower(), made.session_id)
    store.disconnect(caller(store, made))
    with pytest.raises(NotFound):
        store.current(caller(store, made))
    current = store.current(caller(store, joined))
    assert current.users == (joined.member,) and current.creator_id == made.member.id
    # The creator comes back as the Host, a new user: creatorId follows it.
    back = store.join(ada.address.lower(), made.session_id)
    assert back.member.role == HOST and back.member.id != made.member.id
    assert store.current(caller(store, joined)).creator_id == back.member.id
    with pytest.raises(Forbidden):
        store.delete(caller(store, joined))
    store.delete(caller(store, back))


# -- deleting ---------------------------------------------------------------------------
def test_the_host_deletes_the_session(store, published, ada, grace):
    made = host_session(store, ada)
    joined = store.join(grace.address.lower(), made.session_id)
    store.delete(caller(store, made))
    assert published[-1] == Event(made.session_id, "SessionDestroyed", {})
    for credentials in (made, joined):
        with pytest.raises(NotFound):
            store.current(caller(store, credentials))
    with pytest.raises(NotFound):
        store.delete(caller(store, made))
    with pytest.raises(NotFound):
        store.join(grace.address.lower(), made.session_id)
    assert store.sessions() == []
    assert store.next_expiry() is None


def test_a_client_may_not_delete(store, published, ada, grace):
    made = host_session(store, ada)
    joined = store.join(grace.address.lower(), made.session_id)
    with pytest.raises(Forbidden):
        store.delete(caller(store, joined))
    assert store.current(caller(store, made)).id == made.session_id
    assert [e.event_type for e in published] == ["UserAdded"]


def test_deleting_one_session_leaves_the_others(store, ada, grace):
    mine, theirs = host_session(store, ada), host_session(store, grace)
    store.delete(caller(store, mine))
    assert store.current(caller(store, theirs)).id == theirs.session_id


# -- expiry on the mock's clock ------------------------------------------------------------
def test_a_session_expires_when_the_clock_says(store, clock, published, ada, grace):
    made = host_session(store, ada, rules={"expiryDurationInSeconds": 120})
    joined = store.join(grace.address.lower(), made.session_id)
    assert store.next_expiry() == START + timedelta(seconds=120)
    clock.advance(timedelta(seconds=119))
    assert store.expire_due() == []
    assert store.current(caller(store, joined)).id == made.session_id
    clock.advance(timedelta(seconds=1))
    assert store.expire_due() == [made.session_id]
    assert published[-1] == Event(made.session_id, "SessionExpired", {})
    assert store.expire_due() == []  # told once
    assert store.next_expiry() is None
    for credentials in (made, joined):
        with pytest.raises(NotFound):
            store.current(caller(store, credentials))
    [view] = store.sessions()
    assert view.expired and view.expires_at == START + timedelta(seconds=120)


def test_any_call_expires_what_is_due_first(store, clock, published, ada, grace):
    made = host_session(store, ada, rules={"expiryDurationInSeconds": 60})
    clock.advance(timedelta(minutes=1))
    with pytest.raises(NotFound):
        store.current(caller(store, made))
    assert [e.event_type for e in published] == ["SessionExpired"]
    assert store.expire_due() == []


def test_sessions_expire_in_the_order_of_their_expiry(store, clock, published, ada, grace, linus):
    late = host_session(store, ada, rules={"expiryDurationInSeconds": 300})
    early = host_session(store, grace, rules={"expiryDurationInSeconds": 100})
    deleted = host_session(store, linus, rules={"expiryDurationInSeconds": 50})
    store.delete(caller(store, deleted))
    assert store.next_expiry() == START + timedelta(seconds=100)
    clock.advance(timedelta(hours=1))
    assert store.expire_due() == [early.session_id, late.session_id]
    assert [e.session_id for e in published if e.event_type == "SessionExpired"] == [early.session_id,
                                                                                     late.session_id]


def test_an_expired_session_stays_expired_when_the_clock_goes_back(store, clock, ada):
    made = host_session(store, ada, rules={"expiryDurationInSeconds": 60})
    clock.advance(timedelta(minutes=2))
    store.expire_due()
    clock.freeze(START)
    with pytest.raises(NotFound):
        store.current(caller(store, made))
    with pytest.raises(Unprocessable):
        store.join(ELSEWHERE, made.session_id)


def test_a_session_token_outlives_its_session_by_the_clock_skew(store, clock, ada):
    made = host_session(store, ada, rules={"expiryDurationInSeconds": 60})
    clock.advance(timedelta(seconds=60) + CLOCK_SKEW)
    with pytest.raises(NotFound):  # the token still authenticates; the session is gone for it
        store.current(caller(store, made))
    clock.advance(timedelta(seconds=1))
    with pytest.raises(ExpiredToken) as expired:
        store.caller_of(made.token)
    assert expired.value.expires_at == START + timedelta(seconds=60)


def test_a_later_join_gets_the_seconds_left(store, clock, ada, grace):
    made = host_session(store, ada, rules={"expiryDurationInSeconds": 600})
    clock.advance(timedelta(seconds=599))
    joined = store.join(grace.address.lower(), made.session_id)
    assert joined.expires_in == 1
    claims = store.tokens.read(joined.token, clock.now())
    assert claims["exp"] - claims["iat"] == 1


# -- the world: loaded sessions, reset, replace, snapshot -----------------------------------
def fixture_session() -> Session:
    host = Member("f0000000-0000-4000-8000-000000000001", "Host", HOST)
    alice = Member("f0000000-0000-4000-8000-000000000002", "Alice", CLIENT)
    return Session("f0000000-0000-4000-8000-000000000000", Rules(), host.id, START,
                   members={host.id: host, alice.id: alice})


def test_a_fixture_session_is_joinable_by_id_and_never_expires(clock, published, grace):
    store = SessionStore([fixture_session()], tokens=TokenIssuer(), now=clock.now)
    clock.advance(timedelta(days=365))
    joined = store.join(grace.address.lower(), "f0000000-0000-4000-8000-000000000000")
    assert [u.name for u in joined.users] == ["Host", "Alice", joined.member.name]
    assert joined.member.role == CLIENT and joined.expires_in == 3600
    assert joined.to_dto()["users"][0]["address"] is None
    assert store.next_expiry() is None
    # A fixture user (known by its fixture token, which the wiring maps) is a caller like any.
    host = Caller("f0000000-0000-4000-8000-000000000000", "f0000000-0000-4000-8000-000000000001")
    store.kick(host, joined.member.id)
    assert [u.name for u in store.current(host).users] == ["Host", "Alice"]


def test_a_reset_forgets_what_the_api_made(store, clock, ada):
    loaded = SessionStore([fixture_session()], tokens=TokenIssuer(), now=clock.now)
    made = loaded.create_session(ada.address.lower())
    loaded.join(ELSEWHERE, "f0000000-0000-4000-8000-000000000000")
    nonce = loaded.issue_nonce()
    loaded.reset()
    assert [s.id for s in loaded.sessions()] == ["f0000000-0000-4000-8000-000000000000"]
    assert len(loaded.sessions()[0].users) == 2
    with pytest.raises(NotFound):
        loaded.current(loaded.caller_of(made.token))
    with pytest.raises(BadRequest, match="not the message of a nonce"):
        loaded.verify_proof(ada.address, nonce.message, ada.sign(nonce.message))


def test_a_snapshot_round_trips_through_replace(store, clock, ada, grace):
    made = host_session(store, ada, rules={"expiryDurationInSeconds": 600, "password": "p"})
    joined = store.join(grace.address.lower(), made.session_id, "p")
    snapshot = store.snapshot()
    store.kick(caller(store, made), joined.member.id)  # later changes do not reach the snapshot
    assert len(snapshot[0].members) == 2
    store.replace(snapshot)
    assert store.current(caller(store, joined)).users == (made.member, joined.member)
    assert store.next_expiry() == START + timedelta(seconds=600)
    again = store.join(grace.address.lower(), made.session_id, "p")
    assert again.member == joined.member


def test_replace_keeps_the_keys_unless_given(store):
    store.replace([])
    assert store.api_keys == {"demo-api-key"}
    store.replace([], api_keys=["other"])
    assert store.api_keys == {"other"}
    store.reset()
    assert store.api_keys == {"demo-api-key"}


def test_a_replaced_session_past_its_expiry_expires_at_the_next_call(store, clock, published, ada):
    made = host_session(store, ada, rules={"expiryDurationInSeconds": 60})
    snapshot = store.snapshot()
    clock.advance(timedelta(minutes=5))
    store.replace(snapshot)
    assert store.expire_due() == [made.session_id]


# -- concurrency -----------------------------------------------------------------------------
def test_concurrent_joins_never_overfill_a_session(store, published, ada):
    made = host_session(store, ada, rules={"userCapacity": 5})
    addresses = [f"0x{index:040x}" for index in range(1, 41)]
    outcomes: list[str] = []

    def join(address):
        try:
            store.join(address, made.session_id)
            outcomes.append("in")
        except Unprocessable:
            outcomes.append("full")

    threads = [threading.Thread(target=join, args=(a,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("in") == 4 and outcomes.count("full") == 36
    users = store.current(caller(store, made)).users
    assert len(users) == 5
    # Events went out in the order the joins were committed.
    assert [e.data["id"] for e in published] == [u.id for u in users[1:]]

