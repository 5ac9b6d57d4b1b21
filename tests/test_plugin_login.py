"""The handle's ``login``, run as a partner runs it: pytest in a subprocess with mockchats merely
installed, over a test file a partner would write. Each login goes over HTTP through the whole
Session API flow with a real key (nonce, signature, verify, create or join), and the tokens it
answers are used on the Chats API.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

#: What a partner writes: the ``mockchats`` fixture, ``requests`` and ``mockchats.Wallet``.
LOGIN_TESTS = '''
import pytest
import requests
import responses

from mockchats import ControlError, Wallet
from mockchats.pytest_plugin import LoginError


def bearer(credentials):
    return {"Authorization": f"Bearer {credentials['credentials']['token']}"}


def test_a_host_logs_in_then_chats(mockchats):
    host = mockchats.login("Hana", host=True)
    assert set(host) == {"sessionId", "expiresIn", "credentials", "rules"}
    assert (host["credentials"]["pseudonym"], host["credentials"]["role"]) == ("Hana", "Host")
    assert host["rules"]["passwordProtected"] is False and host["expiresIn"] == 3600
    sent = requests.post(f"{mockchats.url}/chats", json={"message": "hello from Hana"}, headers=bearer(host))
    assert sent.status_code == 200, sent.text
    listed = requests.get(f"{mockchats.url}/chats", headers=bearer(host)).json()
    assert [m["message"] for m in listed["messages"]] == ["hello from Hana"]
    assert [e["operationId"] for e in mockchats.requests()] == [
        "getNonce", "verifyWalletProof", "createSession", "createChat", "listChats"]
    assert mockchats.requests("createSession")[0]["json"] == {"identity": {"name": "Hana"}}
    assert host["sessionId"] in [s["sessionId"] for s in mockchats.control.sessions()]
    mockchats.assert_no_violations()


def test_a_client_joins_the_first_fixture_session(mockchats):
    wallet = Wallet()
    [room] = mockchats.control.sessions()
    joined = mockchats.login("Gus", wallet=wallet)
    assert joined["sessionId"] == room["sessionId"]
    assert joined["credentials"]["role"] == "Client"
    # A join takes no name: the user is called by the pseudonym the Session API makes.
    me = {"id": joined["credentials"]["id"], "role": "Client", "name": joined["credentials"]["pseudonym"],
          "address": wallet.address.lower()}
    assert joined["users"] == [*({"id": u["id"], "role": u["role"], "name": u["name"], "address": None}
                                 for u in room["users"]), me]
    listed = requests.get(f"{mockchats.url}/chats", headers=bearer(joined))
    assert listed.status_code == 200 and listed.json()["totalCount"] == 24
    again = mockchats.login(None, wallet=wallet)  # the same wallet is the same user, with a new token
    assert again["credentials"]["id"] == me["id"]
    assert again["credentials"]["token"] != joined["credentials"]["token"]
    mockchats.assert_no_violations()


def test_a_client_joins_a_password_protected_session_a_host_made(mockchats):
    host = mockchats.login("Hana", host=True, password="s3cret")
    assert host["rules"]["passwordProtected"] is True
    guest = mockchats.login("Gus", session_id=host["sessionId"], password="s3cret")
    assert guest["sessionId"] == host["sessionId"] and guest["credentials"]["role"] == "Client"
    assert [u["name"] for u in guest["users"]] == ["Hana", guest["credentials"]["pseudonym"]]
    sent = requests.post(f"{mockchats.url}/chats", json={"message": "hi Hana"}, headers=bearer(guest))
    assert sent.status_code == 200, sent.text
    seen = requests.get(f"{mockchats.url}/chats", headers=bearer(host)).json()["messages"]
    assert [(m["message"], m["user"]) for m in seen] == [
        ("hi Hana", {"id": guest["credentials"]["id"], "name": guest["credentials"]["pseudonym"]})]


def test_a_refusal_names_the_step_the_status_and_why(mockchats):
    host = mockchats.login("Hana", host=True, password="s3cret")
    with pytest.raises(LoginError) as wrong:
        mockchats.login("Gus", session_id=host["sessionId"], password="guess")
    assert (wrong.value.step, wrong.value.status) == ("joinSession", 401)
    assert isinstance(wrong.value, ControlError) and wrong.value.body["title"] == "Unauthorized"
    assert str(wrong.value) == (
        f"login refused at joinSession (POST /v1/session/join of session {host['sessionId']!r}): "
        "401: Unauthorized (the session is password-protected: the password is missing or wrong)")
    with pytest.raises(LoginError, match=r"joinSession .*'no-such-session'.*404: Not Found"):
        mockchats.login("Gus", session_id="no-such-session")
    mockchats.fail("verifyWalletProof", 503)
    with pytest.raises(LoginError, match=r"^login refused at verifyWalletProof .*: 503") as failed:
        mockchats.login("Gus")
    assert failed.value.step == "verifyWalletProof"
    mockchats.fail("getNonce", 429)
    with pytest.raises(LoginError, match=r"^login refused at getNonce \\(GET /v1/wallet-proof/nonce\\): 429"):
        mockchats.login("Gus", host=True)
    with pytest.raises(TypeError, match="session_id"):
        mockchats.login("Hana", host=True, session_id=host["sessionId"])


def test_a_refused_signature_says_the_service_s_words(mockchats):
    class Forger:
        address = Wallet().address

        def sign(self, message):
            return Wallet().sign(message)  # another key's signature

    with pytest.raises(LoginError) as refused:
        mockchats.login("Eve", wallet=Forger())
    assert (refused.value.step, refused.value.status) == ("verifyWalletProof", 400)
    assert str(refused.value).endswith("400: The signature was not made by the wallet address's key.")


@pytest.mark.mockchats(auth="strict")
def test_strict_auth_takes_the_first_known_key_or_refuses_another(mockchats):
    assert mockchats.control.api_keys() == ["demo-api-key"]
    host = mockchats.login("Hana", host=True)
    assert mockchats.requests("createSession")[0]["status"] == 200
    assert requests.get(f"{mockchats.url}/chats", headers=bearer(host)).status_code == 200
    with pytest.raises(LoginError, match=r"createSession .*401: Unauthorized \\(the X-API-KEY is missing") as refused:
        mockchats.login("Hana", host=True, api_key="not-a-key")
    assert refused.value.status == 401


@responses.activate
def test_login_reaches_the_mock_inside_responses(mockchats):
    responses.add(responses.GET, "https://api.quicksync.me/v1/session/current", json={"id": "mocked"})
    assert requests.get("https://api.quicksync.me/v1/session/current").json() == {"id": "mocked"}
    host = mockchats.login("Hana", host=True)  # the handle's own calls are not the partner's requests
    assert host["credentials"]["role"] == "Host"


def test_nothing_left_to_join(mockchats):
    gone = requests.delete(f"{mockchats.url}/session/current", headers=mockchats.headers("host"))
    assert gone.status_code == 200, gone.text
    assert mockchats.control.sessions() == []
    with pytest.raises(LookupError, match="no session to join"):
        mockchats.login("Gus")
'''


def test_login(pytester):
    pytester.makepyfile(test_login=LOGIN_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
