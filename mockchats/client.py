"""``Control``: a small Python client for a running mock's control plane (``/_mock``)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests


class ControlError(RuntimeError):
    """The control plane refused a call; ``status`` and the problem ``body`` say why."""

    def __init__(self, status: int, body: Any):
        detail = body.get("detail") if isinstance(body, dict) else body
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.body = body


class Control:
    """One method per control call. ``base_url`` is the server's root URL, without ``/v1``."""

    def __init__(self, base_url: str, admin_token: str | None = None, *, timeout: float = 30):
        # The API's base URL (…/v1) is what partners have at hand; the control plane is beside it.
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.timeout = timeout
        self._http = requests.Session()
        if admin_token:
            self._http.headers["Authorization"] = f"Bearer {admin_token}"

    def reset(self, *, seed: int | None = None, scenario: str | None = None,
              auth: str | None = None) -> dict:
        """Back to the start state, or to the given seed / scenario / auth mode."""
        options = {k: v for k, v in (("seed", seed), ("scenario", scenario), ("auth", auth)) if v is not None}
        return self._call("POST", "/reset", options or None)

    def state(self) -> dict:
        """The whole state as a fixture document."""
        return self._call("GET", "/state")

    def replace_state(self, document: dict) -> dict:
        """Replace the whole state with a fixture document (validated, all or nothing)."""
        return self._call("PUT", "/state", document)

    def scenarios(self) -> list[dict]:
        """The shipped scenarios: ``[{"name", "description"}]``."""
        return self._call("GET", "/scenarios")

    def load_scenario(self, name: str, *, seed: int | None = None) -> dict:
        # Quoted: a name with "?" or "#" must reach the server as a name, not a query or fragment.
        """Replace the state with a shipped scenario."""
        return self._call("POST", f"/scenarios/{quote(name, safe='')}", None if seed is None else {"seed": seed})

    def load_own_scenario(self, *, path: str | None = None, document: dict | None = None,
                          seed: int | None = None) -> dict:
        """A partner's scenario: a fixture file on the mock's machine, or the document itself."""
        options = {k: v for k, v in (("path", path), ("document", document), ("seed", seed)) if v is not None}
        return self._call("POST", "/scenarios", options)

    def sessions(self) -> list[dict]:
        """Every session with its users and tokens."""
        return self._call("GET", "/sessions")

    def create_session(self, users: list[dict]) -> dict:
        """``users``: ``[{"name": "Zed", "role": "Host"}, ...]``; answers ids and tokens."""
        return self._call("POST", "/sessions", {"users": users})

    def pin(self, session_id: str, chat_id: str) -> dict:
        """Pin a message as its session's Host would; answers ``{chatId, pinId}``."""
        return self._call("POST", f"/sessions/{quote(session_id, safe='')}/pins", {"chatId": chat_id})

    def faults(self) -> list[dict]:
        """The active faults with how often each fired."""
        return self._call("GET", "/faults")

    def add_fault(self, **fault) -> dict:
        """E.g. ``add_fault(operationId="createChat", status=503, times=1, when="after")``."""
        return self._call("POST", "/faults", fault)

    def remove_fault(self, fault_id: str) -> None:
        """Remove one fault by id."""
        self._call("DELETE", f"/faults/{quote(fault_id, safe='')}")

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "/faults")

    def clock(self) -> dict:
        """The mock's time and whether it is frozen."""
        return self._call("GET", "/clock")

    def freeze_clock(self, at: str = "now") -> dict:
        """Stop time at an ISO 8601 instant (default: now)."""
        return self._call("POST", "/clock", {"freeze": at})

    def advance_clock(self, seconds: float) -> dict:
        """Move time forward by ``seconds``."""
        return self._call("POST", "/clock", {"advanceSeconds": seconds})

    def real_clock(self) -> dict:
        """Back to real time."""
        return self._call("POST", "/clock", {"real": True})

    def requests(self, *, operation_id: str | None = None, method: str | None = None,
                 path: str | None = None, limit: int | None = None) -> list[dict]:
        """The request journal, oldest first."""
        params = {k: v for k, v in (("operationId", operation_id), ("method", method),
                                    ("path", path), ("limit", limit)) if v is not None}
        return self._call("GET", "/requests", params=params)

    def clear_requests(self) -> None:
        """Empty the request journal."""
        self._call("DELETE", "/requests")

    def openapi(self) -> dict:
        """The control plane's own OpenAPI document (GET /_mock/openapi.json)."""
        return self._call("GET", "/openapi.json")

    def _call(self, method: str, path: str, body: Any = None, params: dict | None = None):
        response = self._http.request(method, f"{self.base_url}/_mock{path}", json=body, params=params,
                                      timeout=self.timeout)
        payload = response.json() if response.content else None
        if response.status_code >= 400:
            raise ControlError(response.status_code, payload or f"{method} {response.url}")
        return payload
