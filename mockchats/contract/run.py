"""The contract run: drive any server through a realistic flow and the documented error cases,
checking every answer with :mod:`.checks` (``mockchats contract``, and the suite against the mock).

The Chats API's flow runs with the given tokens; the Session API's (wallet proof, then a session
created, joined, read, kicked from, left and deleted) runs when an API key is given, with two
throwaway wallets (:class:`~mockchats.sessions.wallet.Wallet`).
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

import requests

from ..sessions.wallet import Wallet
from .checks import Contract, default_contract

PASS, FAIL, SKIP = "pass", "FAIL", "skip"
T = TypeVar("T")


@dataclass
class Case:
    """One request of a contract run, what it should get, and what it got."""

    operation_id: str
    name: str
    request: str  # e.g. "GET /chats?Take=0", relative to the base URL
    expected: int
    got: int | None = None
    verdict: str = SKIP
    violations: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    duration_ms: float = 0.0


@dataclass
class RunResult:
    """Every case of a run, in order, and what it could not clean up."""

    base_url: str
    cases: list[Case]
    leftovers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The documents the cases were checked against, as the table's title names them.
    documents: list[str] = field(default_factory=lambda: ["openapi/chats.yaml"])

    @property
    def failed(self) -> list[Case]:
        return [case for case in self.cases if case.verdict == FAIL]

    def count(self, verdict: str) -> int:
        return sum(case.verdict == verdict for case in self.cases)

    def by_operation(self) -> dict[str, list[Case]]:
        grouped: dict[str, list[Case]] = {}
        for case in self.cases:
            grouped.setdefault(case.operation_id, []).append(case)
        return grouped


class Unreachable(Exception):
    """The server did not take the run's first connection: nothing was checked."""


def base_url_problem(base_url: str, name: str = "base URL") -> str | None:
    """Why ``base_url`` cannot be a server's base URL, or None when it can (``name`` is what
    the message calls it: the proxy's upstream is checked by the same rule).

    Checked before a run sends anything: a mistyped URL is the caller's error, not
    thirty failed cases.
    """
    try:
        split = urlsplit(base_url)
    except ValueError:  # "Invalid IPv6 URL"
        return f"the {name} is not a URL (an IPv6 host needs both its brackets)"
    try:
        port = split.port  # raises on a port that is not a number in 0..65535
    except ValueError:
        port = 0
    if port == 0 and split.netloc.rpartition("]")[2].count(":"):
        return f"the {name}'s port is not a number from 1 to 65535"
    if split.scheme.lower() not in ("http", "https"):
        scheme = split.scheme if base_url[len(split.scheme):len(split.scheme) + 3] == "://" else ""
        shown = f"starts with {scheme}://" if scheme else "has no scheme"
        return f"the {name} must start with http:// or https:// (it {shown})"
    if not split.hostname:
        return f"the {name} has no host (http://HOST[:PORT]/v1)"
    if split.username is not None or split.password is not None:
        # requests would send them as Basic auth in place of the bearer token, and a report
        # would print the password.
        return f"the {name} must not carry a user name or password"
    if split.query or split.fragment:
        return f"the {name} must not carry a query or a fragment"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in base_url):
        return f"the {name} holds a blank or a control character"
    return None


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent as a bearer token, or None when it can."""
    if not token:
        return "a bearer token cannot be empty"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in token):
        return "a bearer token cannot hold a blank or a control character"
    return None


def api_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be sent as the X-API-KEY header, or None when it can."""
    if not key:
        return "an API key cannot be empty"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        return "an API key cannot hold a blank or a control character"
    return None


def connection_problem(exc: requests.RequestException) -> str:
    """What went wrong with a connection, in a few words (not the library's exception text)."""
    if isinstance(exc, requests.ConnectTimeout):
        return "no connection within the timeout"
    if isinstance(exc, requests.Timeout):
        return "no answer within the timeout"
    pending, seen = [exc], set()
    while pending:  # the OSError at the bottom of urllib3's wrapping says it best
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror[:1].lower() + current.strerror[1:]
        pending += [e for e in (*getattr(current, "args", ()), getattr(current, "reason", None),
                                current.__cause__, current.__context__) if isinstance(e, BaseException)]
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed"
    return f"the connection failed ({exc.__class__.__name__})"


class ContractRun:
    """Drives every operation of a server through a realistic flow and the documented errors.

    ``token`` is the caller who creates, reacts and deletes (a Client, ideally);
    ``host_token``, when given, is the session's Host, needed to unpin and to see a
    Client refused (403) on someone else's message. Everything the run creates it
    deletes again; the one change the API cannot undo is the unpin (there is no call
    that pins), so it is made only with a host token.

    ``api_key``, when given, drives the Session API too: two throwaway wallets prove
    themselves, one creates a session (with the key) and the other joins it; the session is
    read, the Client kicked, rejoined and disconnected, and the session deleted. Without a
    key those operations are not run (a note says so).
    """

    def __init__(self, base_url: str, token: str, host_token: str | None = None, *,
                 api_key: str | None = None, contract: Contract | None = None, timeout: float = 10):
        problem = base_url_problem(base_url) or next(
            (f"{name}: {why}" for name, value in (("the token", token), ("the Host's token", host_token))
             if value is not None and (why := token_problem(value))), None)
        if problem is None and api_key is not None and (why := api_key_problem(api_key)):
            problem = f"the API key: {why}"
        if problem:
            raise ValueError(problem)
        if host_token is not None and host_token == token:
            # Silently skipping the Host's cases would pass a run that checked less.
            raise ValueError("the Host's token is the same as the Client's: give the Host's own token, "
                             "or none to skip the Host's cases")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.host_token = host_token or None
        self.api_key = api_key
        self.contract = contract or default_contract()
        self.timeout = timeout
        self.http = requests.Session()
        self.cases: list[Case] = []
        self._created: dict[str, str] = {}  # chatId -> the token that created it
        self._sessions: dict[str, str] = {}  # sessionId -> its Host's session token
        self._unknown = str(uuid.uuid4())  # an id no server holds
        #: Why the Session API's flow cannot go on (a step it needs failed); its later cases are skipped.
        self._stopped: str | None = None

    def run(self) -> RunResult:
        notes: list[str] = []
        try:
            pinned = self._list_chats()
            chat_id = self._create_chat(as_=self.token, name="create a message")
            self._create_chat_errors()
            reaction_id = self._add_reaction(chat_id)
            self._list_reactions(chat_id)
            self._delete_reaction(chat_id, reaction_id)
            self._delete_chat(chat_id)
            unpinned = self._delete_pin(pinned)
            if unpinned:
                notes.append(f"message {pinned['chatId']} was unpinned; the API has no call to pin it again")
            if self.api_key is None:
                notes.append("the Session API's operations were not run: they need an API key (--api-key)")
            else:
                self._session_flow()
        finally:
            leftovers = self._clean_up()
            self.http.close()
        return RunResult(self.base_url, self.cases, leftovers, notes, self._documents())

    def _documents(self) -> list[str]:
        """The documents holding the run's operations, named as the repository names them."""
        run = {case.operation_id for case in self.cases}
        return [f"{spec.path.parent.name}/{spec.path.name}" for spec in self.contract.specs
                if run & {op.operation_id for op in spec.operations}]

    # -- the operations, in flow order --------------------------------------
    def _list_chats(self) -> dict | None:
        """Listing cases; the first pinned message found, for deletePin."""
        self.call("listChats", "list messages", 200, "GET", "/chats", params={"Take": "20"})
        page = self.call("listChats", "pinned first", 200, "GET", "/chats",
                         params={"Take": "20", "SortBy": "Pinned", "Ascending": "false"})
        self.call("listChats", "no token", 401, "GET", "/chats", token=None)
        self.call("listChats", "Take=0", 400, "GET", "/chats", params={"Take": "0"})
        self.call("listChats", "Take=21", 400, "GET", "/chats", params={"Take": "21"})
        messages = _json_field(page, "messages")
        listed = messages if isinstance(messages, list) else []
        return next((m for m in listed if isinstance(m, dict) and isinstance(m.get("pinned"), dict)
                     and m["pinned"].get("id") and m.get("chatId")), None)

    def _create_chat(self, *, as_: str, name: str) -> str | None:
        text = f"mockchats contract check {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
        response = self.call("createChat", name, 200, "POST", "/chats", token=as_, json={"message": text})
        return _json_field(response, "chatId")

    def _create_chat_errors(self) -> None:
        self.call("createChat", "no token", 401, "POST", "/chats", token=None, json={"message": "no token"})
        self.call("createChat", "missing message", 400, "POST", "/chats", json={})
        self.call("createChat", "message over 280 characters", 400, "POST", "/chats", json={"message": "x" * 281})
        self.call("createChat", "text/plain body", 415, "POST", "/chats", data=b'{"message": "plain"}',
                  headers={"Content-Type": "text/plain"})

    def _add_reaction(self, chat_id: str | None) -> str | None:
        unknown = f"/chats/{self._unknown}/reactions"
        self.call("addReaction", "unknown chatId", 404, "POST", unknown, json={"reaction": ":thumbs_up:"})
        self.call("addReaction", "no token", 401, "POST", unknown, token=None, json={"reaction": ":thumbs_up:"})
        if chat_id is None:
            self.skip("addReaction", {"react": 200, "unknown reaction": 400, "text/plain body": 415},
                      "no message was created")
            return None
        path = f"/chats/{chat_id}/reactions"
        response = self.call("addReaction", "react", 200, "POST", path, json={"reaction": ":thumbs_up:"})
        self.call("addReaction", "unknown reaction", 400, "POST", path, json={"reaction": ":smile:"})
        self.call("addReaction", "text/plain body", 415, "POST", path, data=b'{"reaction": ":thumbs_up:"}',
                  headers={"Content-Type": "text/plain"})
        return _json_field(response, "reactionId")

    def _list_reactions(self, chat_id: str | None) -> None:
        ids = {"chatIds": [chat_id or self._unknown, self._unknown]}
        self.call("listReactions", "reactions of the new message", 200, "GET", "/chats/reactions", params=ids)
        self.call("listReactions", "no token", 401, "GET", "/chats/reactions", token=None, params=ids)

    def _delete_reaction(self, chat_id: str | None, reaction_id: str | None) -> None:
        unknown = f"/chats/{self._unknown}/reactions/{reaction_id or self._unknown}"
        self.call("deleteReaction", "unknown chatId", 404, "DELETE", unknown)
        self.call("deleteReaction", "no token", 401, "DELETE", unknown, token=None)
        if chat_id is None or reaction_id is None:
            self.skip("deleteReaction", {"delete the reaction": 200}, "no reaction was added")
            return
        self.call("deleteReaction", "delete the reaction", 200, "DELETE", f"/chats/{chat_id}/reactions/{reaction_id}")

    def _delete_chat(self, chat_id: str | None) -> None:
        self.call("deleteChat", "unknown chatId", 404, "DELETE", f"/chats/{self._unknown}")
        self.call("deleteChat", "no token", 401, "DELETE", f"/chats/{chat_id or self._unknown}", token=None)
        self._forbidden_delete()
        if chat_id is None:
            self.skip("deleteChat", {"delete the message": 204}, "no message was created")
            return
        self.call("deleteChat", "delete the message", 204, "DELETE", f"/chats/{chat_id}")

    def _forbidden_delete(self) -> None:
        """A Client deleting the Host's message: 403 (needs two users)."""
        names = {"a Client deletes the Host's message": 403, "the Host deletes its message": 204}
        if self.host_token is None:
            self.skip("deleteChat", names, "needs a second user: --host-token")
            return
        host_chat = self._create_chat(as_=self.host_token, name="create a message as the Host")
        if host_chat is None:
            self.skip("deleteChat", names, "the Host's message was not created")
            return
        self.call("deleteChat", "a Client deletes the Host's message", 403, "DELETE", f"/chats/{host_chat}")
        self.call("deleteChat", "the Host deletes its message", 204, "DELETE", f"/chats/{host_chat}",
                  token=self.host_token)

    def _delete_pin(self, pinned: dict | None) -> bool:
        """deletePin cases; True when a message was unpinned."""
        target = (f"/chats/{pinned['chatId']}/pins/{pinned['pinned']['id']}" if pinned
                  else f"/chats/{self._unknown}/pins/{self._unknown}")
        self.call("deletePin", "no token", 401, "DELETE", target, token=None)
        if self.host_token is None:
            self.skip("deletePin", {"unknown chatId": 404, "a Client unpins": 403, "unpin as the Host": 200},
                      "needs the Host's token: --host-token")
            return False
        self.call("deletePin", "unknown chatId", 404, "DELETE",
                  f"/chats/{self._unknown}/pins/{pinned['pinned']['id'] if pinned else self._unknown}",
                  token=self.host_token)
        if pinned is None:
            self.skip("deletePin", {"a Client unpins": 403, "unpin as the Host": 200},
                      "no pinned message in the listing")
            return False
        self.call("deletePin", "a Client unpins", 403, "DELETE", target)
        response = self.call("deletePin", "unpin as the Host", 200, "DELETE", target, token=self.host_token)
        return response is not None and response.status_code == 200

    # -- the Session API, in flow order ----------------------------------------
    def _session_flow(self) -> None:
        """Wallet proofs, then one session through its whole life, with the errors on the way.

        Each step takes what an earlier one answered (a nonce, a token, an id); once one is
        missing, the later cases are skipped, naming the step that failed.
        """
        host, client = Wallet(), Wallet()
        host_wallet = self._wallet_proof(host)
        session_id, host_id, host_token = self._create_session(host_wallet)
        client_wallet = self._prove(client, "the Client's wallet")
        client_id, client_token = self._join_session(client_wallet, session_id)
        self._current_session(host_wallet, host_token, client_token)
        self._kick_user(host_id, host_token, client_id, client_token)
        client_token = self._rejoin(client_wallet, session_id, client_token)
        self._leave_and_delete(host_token, client_token)

    def _wallet_proof(self, host: Wallet) -> str | None:
        """The proof's refusals, then the Host's wallet proved; its wallet token."""
        verify = "/wallet-proof/verify"
        # A nonce first: a server without the Session API fails here once, and the rest is skipped.
        message = self._nonce("a nonce for another wallet's signature")
        self.flow_call("verifyWalletProof", "another wallet's signature", 400, "POST", verify, json={
            "walletAddress": host.address, "message": message, "signature": Wallet().sign(message or "")})
        stray = "mockchats contract: this text is no nonce message"
        not_a_nonce = {"walletAddress": host.address, "message": stray, "signature": host.sign(stray)}
        self.flow_call("verifyWalletProof", "chain=Bitcoin", 400, "POST", verify, params={"chain": "Bitcoin"},
                       json=not_a_nonce)
        self.flow_call("verifyWalletProof", "a message that is no nonce", 400, "POST", verify, json=not_a_nonce)
        self.flow_call("verifyWalletProof", "text/plain body", 415, "POST", verify,
                       data=json.dumps(not_a_nonce).encode(), headers={"Content-Type": "text/plain"})
        message = self._nonce("a nonce for the Host's wallet")
        proof = {"walletAddress": host.address, "message": message, "signature": host.sign(message or "")}
        token = self._wallet_token(self.flow_call("verifyWalletProof", "verify the Host's wallet", 200,
                                                  "POST", verify, json=proof), "the Host's wallet")
        self.flow_call("verifyWalletProof", "the same nonce again", 400, "POST", verify, json=proof)
        return token

    def _prove(self, wallet: Wallet, whose: str) -> str | None:
        """A nonce signed by ``wallet`` and verified; its wallet token."""
        message = self._nonce(f"a nonce for {whose}")
        proof = {"walletAddress": wallet.address, "message": message, "signature": wallet.sign(message or "")}
        return self._wallet_token(self.flow_call("verifyWalletProof", f"verify {whose}", 200, "POST",
                                                 "/wallet-proof/verify", json=proof), whose)

    def _nonce(self, name: str) -> str | None:
        message = _json_field(self.flow_call("getNonce", name, 200, "GET", "/wallet-proof/nonce"), "message")
        return self._needed(message if isinstance(message, str) else None, "no nonce was issued")

    def _wallet_token(self, response: requests.Response | None, whose: str) -> str | None:
        token = _json_field(response, "token")
        return self._needed(token if isinstance(token, str) else None, f"{whose} was not verified")

    def _create_session(self, wallet: str | None) -> tuple[str | None, str | None, str | None]:
        """createSession's refusals, then the session; (sessionId, the Host's id, the Host's token)."""
        key = {"X-API-KEY": self.api_key or ""}
        body = {"identity": {"name": "mockchats contract"}, "rules": {"userCapacity": 3}}
        self.flow_call("createSession", "no wallet token", 401, "POST", "/session", headers=key, json=body)
        self.flow_call("createSession", "no API key", 401, "POST", "/session", token=wallet, json=body)
        self.flow_call("createSession", "capacity 0", 422, "POST", "/session", token=wallet, headers=key,
                       json={**body, "rules": {"userCapacity": 0}})
        self.flow_call("createSession", "text/plain body", 415, "POST", "/session", token=wallet,
                       headers={**key, "Content-Type": "text/plain"}, data=json.dumps(body).encode())
        created = self.flow_call("createSession", "create a session", 200, "POST", "/session", token=wallet,
                                 headers=key, json=body)
        return (self._needed(_json_field(created, "sessionId"), "no session was created"),
                *self._credentials(created, "the Host"))

    def _join_session(self, wallet: str | None, session_id: str | None) -> tuple[str | None, str | None]:
        """joinSession's refusals, then the Client joined; (the Client's id, its token)."""
        self.flow_call("joinSession", "no wallet token", 401, "POST", "/session/join",
                       json={"sessionId": session_id})
        self.flow_call("joinSession", "unknown session", 404, "POST", "/session/join", token=wallet,
                       json={"sessionId": self._unknown})
        joined = self.flow_call("joinSession", "join as a Client", 200, "POST", "/session/join", token=wallet,
                                json={"sessionId": session_id})
        return self._credentials(joined, "the Client")

    def _credentials(self, response: requests.Response | None, whose: str) -> tuple[str | None, str | None]:
        """(the user's id, its session token) from createSession's or joinSession's answer."""
        credentials = _json_field(response, "credentials")
        found = credentials if isinstance(credentials, dict) else {}
        user_id, token = found.get("id"), found.get("token")
        if not (isinstance(user_id, str) and isinstance(token, str)):
            self._needed(None, f"{whose} got no credentials")
            return None, None
        return user_id, token

    def _current_session(self, wallet: str | None, host_token: str | None, client_token: str | None) -> None:
        current = "/session/current"
        self.flow_call("getCurrentSession", "no token", 401, "GET", current)
        self.flow_call("getCurrentSession", "a wallet token in place of a session token", 401, "GET", current,
                       token=wallet)
        self.flow_call("getCurrentSession", "as the Host", 200, "GET", current, token=host_token)
        self.flow_call("getCurrentSession", "as the Client", 200, "GET", current, token=client_token)

    def _kick_user(self, host_id: str | None, host_token: str | None, client_id: str | None,
                   client_token: str | None) -> None:
        kick = "/session/current/kick"
        self.flow_call("kickUser", "no token", 401, "POST", kick, json={"userId": client_id})
        self.flow_call("kickUser", "a Client kicks the Host", 403, "POST", kick, token=client_token,
                       json={"userId": host_id})
        self.flow_call("kickUser", "unknown user", 404, "POST", kick, token=host_token,
                       json={"userId": self._unknown})
        self.flow_call("kickUser", "the Host kicks itself", 422, "POST", kick, token=host_token,
                       json={"userId": host_id})
        self.flow_call("kickUser", "kick the Client", 200, "POST", kick, token=host_token,
                       json={"userId": client_id})
        self.flow_call("getCurrentSession", "as the kicked Client", 404, "GET", "/session/current",
                       token=client_token)

    def _rejoin(self, wallet: str | None, session_id: str | None, client_token: str | None) -> str | None:
        joined = self.flow_call("joinSession", "join again after a kick", 200, "POST", "/session/join",
                                token=wallet, json={"sessionId": session_id})
        return self._credentials(joined, "the rejoined Client")[1]

    def _leave_and_delete(self, host_token: str | None, client_token: str | None) -> None:
        current = "/session/current"
        self.flow_call("deleteCurrentSession", "no token", 401, "DELETE", current)
        self.flow_call("deleteCurrentSession", "a Client deletes the session", 403, "DELETE", current,
                       token=client_token)
        self.flow_call("disconnectSession", "no token", 401, "POST", "/session/disconnect")
        self.flow_call("disconnectSession", "the Client leaves", 200, "POST", "/session/disconnect",
                       token=client_token)
        self.flow_call("getCurrentSession", "after leaving", 404, "GET", current, token=client_token)
        self.flow_call("deleteCurrentSession", "delete the session", 200, "DELETE", current, token=host_token)
        self.flow_call("getCurrentSession", "after the delete", 404, "GET", current, token=host_token)

    def _needed(self, value: T | None, why: str) -> T | None:
        """``value``, which the rest of the Session API's flow needs; when it is None, the flow
        stops there (the first reason is kept: it names the step that failed)."""
        if value is None and self._stopped is None:
            self._stopped = why
        return value

    def flow_call(self, operation_id: str, name: str, expected: int, method: str, path: str, *,
                  token: str | None = None, **request) -> requests.Response | None:
        """:meth:`call` for the Session API's flow: tokens are always named (none by default),
        and once the flow has stopped the case is recorded as skipped, not sent."""
        if self._stopped is not None:
            self.skip(operation_id, {name: expected}, self._stopped)
            return None
        return self.call(operation_id, name, expected, method, path, token=token, **request)

    # -- requests and cases -------------------------------------------------
    def call(self, operation_id: str, name: str, expected: int, method: str, path: str, *,
             token: str | None | bool = True, params: dict | None = None, headers: dict | None = None,
             **body) -> requests.Response | None:
        """Send one request as a case of ``operation_id``, check the answer, record the case."""
        token = self.token if token is True else token
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        query = "&".join(f"{k}={v}" for k, values in (params or {}).items()
                         for v in (values if isinstance(values, list) else [values]))
        case = Case(operation_id, name, f"{method} {path}" + (f"?{query}" if query else ""), expected)
        self.cases.append(case)
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.base_url + path, params=params, headers=sent,
                                         timeout=self.timeout, allow_redirects=False, **body)
        except requests.RequestException as exc:
            if isinstance(exc, requests.ConnectionError) and all(c.got is None for c in self.cases):
                # Not one answer yet: the server is not there, and every case would say so.
                raise Unreachable(f"cannot reach {self.base_url}: {connection_problem(exc)}") from None
            case.duration_ms = (time.perf_counter() - started) * 1000
            case.verdict, case.violations = FAIL, [f"no response: {connection_problem(exc)}"]
            return None
        case.duration_ms = (time.perf_counter() - started) * 1000
        case.got = response.status_code
        operation = self.contract.operation(operation_id)
        if response.status_code != expected:
            case.violations.append(f"expected {expected}, got {response.status_code}")
        case.violations += self.contract.check_response(operation, response.status_code, response.headers,
                                                        response.content)
        case.verdict = FAIL if case.violations else PASS
        self._remember_created(operation_id, path, response, token)
        return response

    def skip(self, operation_id: str, expected_by_name: dict[str, int], reason: str) -> None:
        """Record cases that cannot be run against this server, with the reason."""
        for name, expected in expected_by_name.items():
            self.cases.append(Case(operation_id, name, "-", expected, skip_reason=reason))

    def _remember_created(self, operation_id: str, path: str, response: requests.Response, token: str) -> None:
        """Track what exists because of the run (even if it should have been refused)."""
        if operation_id == "createChat" and 200 <= response.status_code < 300:
            chat_id = _json_field(response, "chatId")
            if isinstance(chat_id, str):
                self._created[chat_id] = token or self.token
        elif operation_id == "deleteChat" and response.status_code in (200, 204):
            self._created.pop(path.rsplit("/", 1)[-1], None)
        elif operation_id == "createSession" and 200 <= response.status_code < 300:
            session_id = _json_field(response, "sessionId")
            credentials = _json_field(response, "credentials")
            host_token = credentials.get("token") if isinstance(credentials, dict) else None
            if isinstance(session_id, str) and isinstance(host_token, str):
                self._sessions[session_id] = host_token
        elif operation_id == "deleteCurrentSession" and 200 <= response.status_code < 300:
            for session_id, host_token in list(self._sessions.items()):
                if host_token == token:
                    del self._sessions[session_id]

    def _clean_up(self) -> list[str]:
        """Delete every message the run created and did not delete; what stays, described."""
        leftovers = []
        for chat_id, creator in list(self._created.items()):
            statuses = []
            for token in dict.fromkeys([creator, self.host_token, self.token]):
                if not token:
                    continue
                try:
                    status = self.http.delete(f"{self.base_url}/chats/{chat_id}", timeout=self.timeout,
                                              headers={"Authorization": f"Bearer {token}"}).status_code
                except requests.RequestException as exc:
                    status = f"no response ({connection_problem(exc)})"
                statuses.append(str(status))
                if status in (200, 204, 404):
                    self._created.pop(chat_id)
                    break
            else:
                leftovers.append(f"message {chat_id} could not be deleted ({', '.join(statuses)})")
        for session_id, host_token in list(self._sessions.items()):
            try:
                status = self.http.delete(f"{self.base_url}/session/current", timeout=self.timeout,
                                          headers={"Authorization": f"Bearer {host_token}"}).status_code
            except requests.RequestException as exc:
                status = f"no response ({connection_problem(exc)})"
            if status in (200, 204, 404):  # 404: it is gone already (expired, or deleted by another)
                del self._sessions[session_id]
            else:
                leftovers.append(f"session {session_id} could not be deleted ({status})")
        return leftovers


def _json_field(response: requests.Response | None, name: str):
    """A top-level field of a JSON object response, or None."""
    if response is None or not 200 <= response.status_code < 300:
        return None
    try:
        document = response.json()
    except ValueError:
        return None
    return document.get(name) if isinstance(document, dict) else None


def run(base_url: str, token: str, host_token: str | None = None, **options) -> RunResult:
    """Drive the server at ``base_url`` (ending in /v1) through every operation; see :class:`ContractRun`
    (``api_key=KEY`` runs the Session API's operations too)."""
    return ContractRun(base_url, token, host_token, **options).run()
