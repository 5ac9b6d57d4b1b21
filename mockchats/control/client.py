"""``Control``: a small Python client for a running mock's control plane (``/_mock``).

It talks through urllib3 directly, not through ``requests``: partners' tests mock their own
HTTP with ``responses`` or ``requests-mock``, which patch ``requests`` and would otherwise catch
(and refuse) the mock's own control calls. urllib3 is imported when the first client is made,
so importing this module (and the pytest plugin) stays cheap.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, cast, overload
from urllib.parse import quote, urlencode

if TYPE_CHECKING:  # types only: the plugin imports this module into every partner's test run
    import urllib3

    from ..types import (
        Clock,
        Fault,
        HubConnection,
        HubEvent,
        HubJournalEntry,
        JournalEntry,
        MessagePin,
        Pin,
        Scenario,
        Session,
        Status,
    )

#: What carries a call instead of urllib3 (``mockchats.intercept`` calls the mock's WSGI app
#: with it): ``(method, url, body, headers) -> (status, headers, body)``.
Transport = Callable[[str, str, "bytes | None", dict[str, str]], tuple[int, Mapping[str, str], bytes]]

#: How much of a non-JSON answer an error message quotes.
_CLIP = 200


class ControlError(RuntimeError):
    """The control plane refused a call; ``status`` and the problem ``body`` say why."""

    def __init__(self, status: int, body: Any):
        detail = (body.get("detail") or body.get("title") or "refused") if isinstance(body, dict) else body
        super().__init__(f"{status}: {detail}{_places(body, detail)}")
        self.status = status
        self.body = body


class Control:
    """One method per control call. ``base_url`` is the server's root URL, without ``/v1``.

    A connection that cannot be made or a server that does not answer in ``timeout`` seconds
    raises ``ConnectionError`` or ``TimeoutError`` (both ``OSError``), naming the mock's URL.
    ``transport`` carries the calls instead of a socket (``mockchats.intercept`` gives one that
    calls the mock's WSGI app in this process).
    """

    def __init__(self, base_url: str, admin_token: str | None = None, *, timeout: float = 30,
                 transport: Transport | None = None):
        # The API's base URL (…/v1) is what partners have at hand; the control plane is beside it.
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.timeout = timeout
        self._headers = {"Accept": "application/json"}
        if admin_token:
            self._headers["Authorization"] = f"Bearer {admin_token}"
        self._transport = transport
        if transport is not None:
            return  # no socket: the transport answers every call
        import urllib3  # on first use: the plugin imports this module into every test run

        # One pool: its kept-alive connection makes each call a single round trip.
        self._pool: urllib3.PoolManager = urllib3.PoolManager(
            num_pools=2, timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False)

    def __repr__(self) -> str:
        return f"<mockchats.Control at {self.base_url}/_mock>"

    def close(self) -> None:
        """Close the kept-alive connections (a later call opens new ones)."""
        if self._transport is None:
            self._pool.clear()

    def reset(self, *, seed: int | None = None, scenario: str | None = None,
              auth: str | None = None) -> Status:
        """Back to the start state, or to the given seed / scenario / auth mode."""
        options = {k: v for k, v in (("seed", seed), ("scenario", scenario), ("auth", auth)) if v is not None}
        return cast("Status", self._call("POST", "/reset", options or None))

    def state(self) -> dict[str, Any]:
        """The whole state as a fixture document."""
        return cast("dict[str, Any]", self._call("GET", "/state"))

    def replace_state(self, document: dict[str, Any]) -> Status:
        """Replace the whole state with a fixture document (validated, all or nothing)."""
        return cast("Status", self._call("PUT", "/state", document))

    def scenarios(self) -> list[Scenario]:
        """The shipped scenarios: ``[{"name", "description"}]``."""
        return cast("list[Scenario]", self._call("GET", "/scenarios"))

    def load_scenario(self, name: str, *, seed: int | None = None) -> Status:
        """Replace the state with a shipped scenario."""
        # Quoted: a name with "?" or "#" must reach the server as a name, not a query or fragment.
        return cast("Status", self._call("POST", f"/scenarios/{quote(name, safe='')}",
                                       None if seed is None else {"seed": seed}))

    def load_own_scenario(self, *, path: str | None = None, document: dict[str, Any] | None = None,
                          seed: int | None = None) -> Status:
        """A partner's scenario: a fixture file on the mock's machine, or the document itself."""
        options = {k: v for k, v in (("path", path), ("document", document), ("seed", seed)) if v is not None}
        return cast("Status", self._call("POST", "/scenarios", options))

    def sessions(self) -> list[Session]:
        """Every session with its users and tokens."""
        return cast("list[Session]", self._call("GET", "/sessions"))

    def create_session(self, users: list[dict[str, str]]) -> Session:
        """``users``: ``[{"name": "Zed", "role": "Host"}, ...]``; answers ids and tokens."""
        return cast("Session", self._call("POST", "/sessions", {"users": users}))

    def pin(self, session_id: str, chat_id: str) -> Pin:
        """Pin a message of the given session as its Host would; answers ``{chatId, pinId}``."""
        return cast("Pin", self._call("POST", f"/sessions/{quote(session_id, safe='')}/pins",
                                    {"chatId": chat_id}))

    def pin_message(self, chat_id: str) -> MessagePin:
        """Pin a message as its session's Host would, whichever session holds it;
        answers ``{sessionId, chatId, pinId}``."""
        return cast("MessagePin", self._call("POST", "/pins", {"chatId": chat_id}))

    def messages(self, session_id: str, **query: Any) -> dict[str, Any]:
        """A page of a session's messages as ``GET /v1/chats`` lists them for its members:
        ``{"totalCount", "messages": [MessageDto, ...]}``. ``query`` takes listChats' parameters,
        ``Skip``, ``Take`` (at most 20), ``SortBy``, ``Ascending``; a value the API refuses raises
        :class:`ControlError` naming it."""
        params = {name: str(value).lower() if isinstance(value, bool) else value for name, value in query.items()}
        return cast("dict[str, Any]", self._call("GET", f"/sessions/{quote(session_id, safe='')}/messages",
                                                 params=params))

    def delete_message(self, session_id: str, chat_id: str) -> None:
        """Delete a message of the session as its Host would (its reactions and pin with it; the
        chat hub sends MessageDeleted)."""
        self._call("DELETE", f"/sessions/{quote(session_id, safe='')}/messages/{quote(chat_id, safe='')}")

    def unpin(self, session_id: str, pin_id: str) -> None:
        """Remove a pin of the session as its Host would (the chat hub sends PinRemoved)."""
        self._call("DELETE", f"/sessions/{quote(session_id, safe='')}/pins/{quote(pin_id, safe='')}")

    def wallet_token(self, address: str) -> str:
        """A wallet token for ``address`` (0x and 40 hex digits) without a signature, as
        ``POST /v1/wallet-proof/verify`` would answer it: for tests of what comes after the login."""
        return cast(str, self._call("POST", "/wallet-tokens", {"address": address})["token"])

    def api_keys(self) -> list[str]:
        """The API keys strict auth accepts (``X-API-KEY`` of ``POST /v1/session``), sorted."""
        return cast("list[str]", self._call("GET", "/api-keys"))

    def hub_connections(self) -> list[HubConnection]:
        """Every open hub connection, in the order they connected."""
        return cast("list[HubConnection]", self._call("GET", "/hubs/connections"))

    def hub_events(self, hub: str | None = None) -> list[HubEvent]:
        """The events the hubs (or ``hub``: ``"session"``, ``"chat"``) sent since the last reset,
        oldest first, each with how many connections it reached."""
        return cast("list[HubEvent]", self._call("GET", "/hubs/events", params={"hub": hub} if hub else None))

    def send_hub_event(self, session_id: str, event_type: str, data: dict[str, Any] | None = None, *,
                       hub: str = "session") -> int:
        """Send any event (``FileAdded``, say) to a session's connections on ``hub``, in the
        envelope the mock's own events use; answers how many connections it was handed to."""
        event = {"hub": hub, "sessionId": session_id, "eventType": event_type, "data": data or {}}
        return cast(int, self._call("POST", "/hubs/events", event)["delivered"])

    def close_hub_connections(self, *, hub: str | None = None, session_id: str | None = None,
                              user_id: str | None = None, allow_reconnect: bool = False,
                              error: str | None = None, drop: bool = False) -> int:
        """End the matching hub connections (every one when no filter is given) with a Close
        (``error``, ``allow_reconnect``), or with ``drop`` the socket closed with no Close, as a lost
        network would; answers how many."""
        ask: dict[str, Any] = {k: v for k, v in (("hub", hub), ("sessionId", session_id), ("userId", user_id),
                                                 ("error", error)) if v is not None}
        ask.update(allowReconnect=allow_reconnect, drop=drop)
        return cast(int, self._call("POST", "/hubs/close", ask)["closed"])

    def faults(self) -> list[Fault]:
        """The active faults with how often each fired."""
        return cast("list[Fault]", self._call("GET", "/faults"))

    def add_fault(self, **fault: Any) -> Fault:
        """E.g. ``add_fault(operationId="createChat", status=503, times=1, when="after")``."""
        return cast("Fault", self._call("POST", "/faults", fault))

    def remove_fault(self, fault_id: str) -> None:
        """Remove one fault by id."""
        self._call("DELETE", f"/faults/{quote(fault_id, safe='')}")

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "/faults")

    def clock(self) -> Clock:
        """The mock's time and whether it is frozen."""
        return cast("Clock", self._call("GET", "/clock"))

    def freeze_clock(self, at: datetime | str = "now") -> Clock:
        """Stop time at ``at``: a datetime (a naive one is UTC), an ISO 8601 instant, or ``"now"``."""
        return cast("Clock", self._call("POST", "/clock", {"freeze": _instant(at)}))

    def advance_clock(self, by: timedelta | float) -> Clock:
        """Move time forward by a timedelta or a number of seconds."""
        seconds = by.total_seconds() if isinstance(by, timedelta) else by
        return cast("Clock", self._call("POST", "/clock", {"advanceSeconds": seconds}))

    def real_clock(self) -> Clock:
        """Back to real time."""
        return cast("Clock", self._call("POST", "/clock", {"real": True}))

    @overload
    def requests(self, *, operation_id: str | None = None, method: str | None = None,
                 path: str | None = None, status: int | str | None = None, user: str | None = None,
                 kind: Literal["http"] | None = None, limit: int | None = None) -> list[JournalEntry]: ...

    @overload
    def requests(self, *, user: str | None = None, kind: Literal["hub"],
                 hub: Literal["session", "chat"] | None = None, limit: int | None = None) -> list[HubJournalEntry]: ...

    @overload
    def requests(self, *, user: str | None = None, hub: Literal["session", "chat"],
                 limit: int | None = None) -> list[HubJournalEntry]: ...

    @overload
    def requests(self, *, operation_id: str | None = None, method: str | None = None,
                 path: str | None = None, status: int | str | None = None, user: str | None = None,
                 kind: Literal["all"], hub: Literal["session", "chat"] | None = None,
                 limit: int | None = None) -> list[JournalEntry | HubJournalEntry]: ...

    def requests(self, *, operation_id: str | None = None, method: str | None = None,
                 path: str | None = None, status: int | str | None = None, user: str | None = None,
                 kind: str | None = None, hub: str | None = None,
                 limit: int | None = None) -> list[Any]:
        """The request journal, oldest first. ``status``: ``404`` or a class, ``"4xx"``;
        ``user``: a user's id or name. An unknown ``operation_id`` raises :class:`ControlError`.
        REST requests only unless ``kind="hub"`` (the hubs' traffic) or ``"all"``; ``hub``
        (``"session"``, ``"chat"``) keeps that hub's entries, and implies ``kind="hub"``."""
        params = {k: v for k, v in (("operationId", operation_id), ("method", method), ("path", path),
                                    ("status", status), ("user", user), ("kind", kind), ("hub", hub),
                                    ("limit", limit))
                  if v is not None}
        return cast("list[Any]", self._call("GET", "/requests", params=params))

    def clear_requests(self) -> None:
        """Empty the request journal."""
        self._call("DELETE", "/requests")

    def openapi(self) -> dict[str, Any]:
        """The control plane's own OpenAPI document (GET /_mock/openapi.json)."""
        return cast("dict[str, Any]", self._call("GET", "/openapi.json"))

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        status, _, payload = self._send(method, f"/_mock{path}" + (f"?{urlencode(params)}" if params else ""),
                                        body, self._headers)
        if status >= 400:
            raise ControlError(status, payload or _no_detail(status, method, path))
        return payload

    def _send(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any, Any]:
        """``method path`` (from the server's root) on this client's connections: the status, the
        headers and the parsed body. The plugin's ``login`` calls the partner API through it too."""
        headers = dict(headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._transport is not None:
            status, answered, raw = self._transport(method, self.base_url + path, data, headers)
            return status, answered, _parsed(raw)
        import urllib3  # loaded by __init__ already: this only names it

        try:
            response = self._pool.request(method, self.base_url + path, body=data, headers=headers,
                                          redirect=False)
        except urllib3.exceptions.NewConnectionError as exc:  # before TimeoutError: it is one, too
            raise ConnectionError(f"cannot reach the mock at {self.base_url}: {_reason(exc)}") from None
        except urllib3.exceptions.TimeoutError:
            raise TimeoutError(f"the mock at {self.base_url} did not answer {method} {path.partition('?')[0]} "
                               f"within {self.timeout:g} s") from None
        except urllib3.exceptions.HTTPError as exc:
            raise ConnectionError(f"lost the mock at {self.base_url}: {_reason(exc)}") from None
        return response.status, response.headers, _parsed(response.data)


def _instant(at: datetime | str) -> str:
    """An ISO 8601 instant for the control plane; a naive datetime is taken as UTC."""
    if not isinstance(at, datetime):
        return at
    if at.utcoffset() is None:
        at = at.replace(tzinfo=UTC)
    # Sent with its own offset, not converted here: converting an instant near year 1 or 9999
    # can overflow, and the server says in words when it is out of range.
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _parsed(data: bytes) -> Any:
    """The answer's JSON; a body that is not JSON (not the mock answering?) as clipped text."""
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return _clipped(data.decode("utf-8", "replace"))


def _places(body: Any, detail: Any) -> str:
    """The first few places a problem's ``errors`` name (``$.seed: ...``), unless the detail
    says it all already."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict):
        return ""
    said = [f"{place}: {_clipped(str(message))}" for place, messages in errors.items()
            for message in (messages if isinstance(messages, list) else [messages]) if message != detail]
    if not said:
        return ""
    return " (" + "; ".join(said[:3]) + ("; ..." if len(said) > 3 else "") + ")"


def _reason(exc: BaseException) -> str:
    """The operating system's words for a failed connection ("Connection refused"), else the
    exception's own, clipped."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return _clipped(str(exc))


def _clipped(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CLIP else text[:_CLIP] + "…"


def _no_detail(status: int, method: str, path: str) -> str:
    """What an answer without a body says, for a person: 401 is the admin token."""
    if status == 401:
        return f"{method} /_mock{path} needs the mock's admin token (Control(url, admin_token=...))"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "refused"
    return f"{phrase}: {method} /_mock{path}"
