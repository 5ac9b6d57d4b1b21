"""The mock's JWTs (mockchats.core.tokens): signed with a key of the mock's own, read as
ASP.NET Core's JwtBearer reads them, on the mock's clock, and refused with its challenge."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from mockchats.core.identity import Unauthenticated
from mockchats.core.tokens import (
    CLOCK_SKEW,
    SESSION,
    SIGNATURE_INVALID,
    WALLET,
    ExpiredToken,
    InvalidToken,
    TokenIssuer,
    invariant_datetime,
)

NOW = datetime(2025, 6, 26, 8, 48, 7, tzinfo=UTC)
CLAIMS = {"sub": "9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "name": "Ada", "role": "Host",
          "sid": "6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b", "typ": SESSION}


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer()


def _segment(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_token_carries_its_claims_and_its_lifetime(issuer):
    token = issuer.issue(CLAIMS, timedelta(hours=1), NOW)
    claims = issuer.read(token, NOW)
    assert {k: claims[k] for k in CLAIMS} == CLAIMS
    assert claims["iat"] == int(NOW.timestamp())
    assert claims["exp"] == int(NOW.timestamp()) + 3600
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "JWT"}


def test_every_token_has_the_one_header_the_mock_writes(issuer):
    for claims in (CLAIMS, {"sub": "0xabc", "typ": WALLET}):
        assert issuer.issue(claims, 60, NOW).startswith("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.")


def test_a_lifetime_may_be_seconds(issuer):
    claims = issuer.read(issuer.issue({"sub": "0xabc", "typ": WALLET}, 300, NOW), NOW)
    assert claims["exp"] - claims["iat"] == 300


def test_every_token_is_new_even_with_the_same_claims_in_the_same_second(issuer):
    tokens = {issuer.issue(CLAIMS, 60, NOW) for _ in range(20)}
    assert len(tokens) == 20


def test_the_key_is_the_instances_own_and_hs256_ready():
    first, second = TokenIssuer(), TokenIssuer()
    assert len(first._key) >= 32 and first._key != second._key
    token = first.issue(CLAIMS, 60, NOW)
    # Verifiable with the key by any JWT library: a real HS256 signature.
    assert jwt.decode(token, first._key, algorithms=["HS256"], options={"verify_exp": False})["sub"] == CLAIMS["sub"]
    with pytest.raises(InvalidToken) as refused:
        second.read(token, NOW)
    assert refused.value.description == SIGNATURE_INVALID
    assert refused.value.challenge == 'Bearer error="invalid_token", error_description="The signature is invalid"'


def test_a_short_key_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        TokenIssuer(b"k" * 31)
    TokenIssuer(b"k" * 32)  # enough


def test_a_known_key_signs_the_same_way():
    key = bytes(range(32))
    token = TokenIssuer(key).issue(CLAIMS, 60, NOW)
    assert TokenIssuer(key).read(token, NOW)["sid"] == CLAIMS["sid"]


@pytest.mark.parametrize("claims, match", [
    ({"sub": "x", "typ": "access"}, "typ"),
    ({"sub": "x"}, "typ"),
    ({"typ": SESSION}, "sub"),
    ({"sub": "", "typ": SESSION}, "sub"),
])
def test_issuing_needs_a_subject_and_a_known_type(issuer, claims, match):
    with pytest.raises(ValueError, match=match):
        issuer.issue(claims, 60, NOW)


def test_a_token_stays_valid_for_the_clock_skew_past_its_expiry(issuer):
    token = issuer.issue(CLAIMS, 60, NOW)
    expiry = NOW + timedelta(seconds=60)
    assert issuer.read(token, expiry)["sub"] == CLAIMS["sub"]
    assert issuer.read(token, expiry + CLOCK_SKEW)["sub"] == CLAIMS["sub"]  # exactly the skew: still valid
    with pytest.raises(ExpiredToken) as expired:
        issuer.read(token, expiry + CLOCK_SKEW + timedelta(seconds=1))
    assert expired.value.expires_at == expiry
    assert expired.value.challenge == (
        'Bearer error="invalid_token", error_description="The token expired at \'06/26/2025 08:49:07\'"')
    assert CLOCK_SKEW == timedelta(minutes=5)


def test_refusals_are_the_pipelines_401(issuer):
    assert issubclass(InvalidToken, Unauthenticated) and issubclass(ExpiredToken, Unauthenticated)


@pytest.mark.parametrize("token", [
    "", "abc", "a.b", "a.b.c", "a.b.c.d", "....", "eyJ.eyJ.sig",
    _segment({"alg": "HS256"}) + ".not base64!." + "sig",
    "é.é.é", "\ud800.x.y",
    # A header nested past Python's recursion limit, and one nested just enough to be no header.
    base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode() + ".e30.sig",
    _segment({"alg": json.loads("[" * 70 + '"HS256"' + "]" * 70)}) + ".e30.sig",
    # The mock's header before a payload that is no JSON, or nested past any limit.
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.bm90IGpzb24.sig",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + base64.urlsafe_b64encode(b"[" * 100_000).decode() + ".sig",
    # A readable foreign header over a payload that is not: malformed, not a bad signature.
    _segment({"alg": "HS256", "typ": "JWT", "kid": "k"}) + ".bm90IGpzb24.sig",
])
def test_what_is_no_jwt_is_refused_without_a_description(issuer, token):
    with pytest.raises(InvalidToken) as refused:
        issuer.read(token, NOW)
    assert refused.value.description is None
    assert refused.value.challenge == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("token", [None, 42, b"a.b.c", ["a", "b"]])
def test_what_is_not_text_is_refused(issuer, token):
    with pytest.raises(InvalidToken):
        issuer.read(token, NOW)


def test_a_changed_payload_breaks_the_signature(issuer):
    header, _, signature = issuer.issue(CLAIMS, 60, NOW).split(".")
    forged = {**CLAIMS, "role": "Host", "sub": "someone-else", "iat": 0, "exp": 2**40}
    with pytest.raises(InvalidToken) as refused:
        issuer.read(f"{header}.{_segment(forged)}.{signature}", NOW)
    assert refused.value.description == SIGNATURE_INVALID


def test_an_unsigned_token_is_refused_as_a_bad_signature(issuer):
    payload = {**CLAIMS, "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60}
    unsigned = f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(payload)}."
    with pytest.raises(InvalidToken) as refused:
        issuer.read(unsigned, NOW)
    assert refused.value.description == SIGNATURE_INVALID


@pytest.mark.filterwarnings("ignore:The HMAC key is 32 bytes long")  # HS512 is the forger's choice here
def test_another_algorithm_with_the_same_key_is_refused(issuer):
    payload = {**CLAIMS, "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60}
    token = jwt.encode(payload, issuer._key, algorithm="HS512")
    with pytest.raises(InvalidToken) as refused:
        issuer.read(token, NOW)
    assert refused.value.description == SIGNATURE_INVALID


def test_the_signature_is_checked_before_the_lifetime(issuer):
    foreign = TokenIssuer().issue(CLAIMS, 60, NOW - timedelta(days=1))
    with pytest.raises(InvalidToken):  # not ExpiredToken: JwtBearer validates the signature first
        issuer.read(foreign, NOW)


def test_a_token_of_the_other_type_is_refused_without_a_description(issuer):
    session = issuer.issue(CLAIMS, 60, NOW)
    wallet = issuer.issue({"sub": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "typ": WALLET}, 60, NOW)
    assert issuer.read(session, NOW, SESSION)["typ"] == SESSION
    assert issuer.read(wallet, NOW, WALLET)["typ"] == WALLET
    for token, typ in ((session, WALLET), (wallet, SESSION)):
        with pytest.raises(InvalidToken) as refused:
            issuer.read(token, NOW, typ)
        assert refused.value.challenge == 'Bearer error="invalid_token"'


def test_an_expired_token_of_the_other_type_is_told_expired(issuer):
    wallet = issuer.issue({"sub": "0xabc", "typ": WALLET}, 60, NOW)
    with pytest.raises(ExpiredToken):
        issuer.read(wallet, NOW + timedelta(hours=1), SESSION)


def test_the_claims_read_are_a_copy(issuer):
    token = issuer.issue(CLAIMS, 60, NOW)
    issuer.read(token, NOW)["sub"] = "changed"
    assert issuer.read(token, NOW)["sub"] == CLAIMS["sub"]  # the second read comes from the cache


def test_the_cache_is_bounded(issuer, monkeypatch):
    monkeypatch.setattr("mockchats.core.tokens._CACHE_SIZE", 3)
    tokens = [issuer.issue(CLAIMS, 60, NOW) for _ in range(10)]
    for token in tokens:
        assert issuer.read(token, NOW)["sub"] == CLAIMS["sub"]
    assert len(issuer._verified) <= 3


@pytest.mark.parametrize("instant, text", [
    (datetime(2025, 6, 26, 8, 48, 7, tzinfo=UTC), "06/26/2025 08:48:07"),
    (datetime(2025, 1, 2, 3, 4, 5, 999999, tzinfo=UTC), "01/02/2025 03:04:05"),
    (datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC), "12/31/2025 23:59:59"),
    # Shown in UTC, whatever zone the instant came in.
    (datetime(2025, 6, 26, 10, 48, 7, tzinfo=datetime.fromisoformat("2025-01-01T00:00+02:00").tzinfo),
     "06/26/2025 08:48:07"),
])
def test_instants_are_written_as_the_invariant_culture_writes_a_datetime(instant, text):
    assert invariant_datetime(instant) == text


def test_pyjwt_loads_only_when_a_token_is_first_signed_or_read():
    script = ("import sys, datetime\nimport mockchats.core.tokens as t\nassert 'jwt' not in sys.modules\n"
              "i = t.TokenIssuer()\nassert 'jwt' not in sys.modules\n"
              "i.issue({'sub': 'x', 'typ': 'wallet'}, 1, datetime.datetime.now(datetime.UTC))\n"
              "assert 'jwt' in sys.modules\n")
    subprocess.run([sys.executable, "-c", script], check=True)
