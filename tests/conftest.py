"""Shared fixtures: one real mockchats server on a loopback port, reset for every test."""
from __future__ import annotations

import pytest
import requests
from conformance import check, operation_for

import mockchats

TOKENS = {"host": "host-token", "alice": "alice-token", "bob": "bob-token"}


class Api:
    """A real HTTP client for the mock, checking every answer against the spec.

    ``api.get("/chats", as_="alice")`` sends alice's token; ``token=`` sends any
    token and ``token=None`` none at all. Responses to declared operations must
    conform to openapi/chats.yaml, or the test fails.
    """

    def __init__(self, root_url: str, base_path: str = "/v1"):
        self.root_url = root_url
        self.base_url = root_url + base_path
        self.base_path = base_path
        self.session = requests.Session()

    def request(self, method: str, path: str, *, as_: str | None = "host", token: str | None = "",
                headers: dict | None = None, **kwargs) -> requests.Response:
        headers = dict(headers or {})
        if token == "" and as_ is not None:
            token = TOKENS[as_]
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        response = self.session.request(method, self.base_url + path, headers=headers,
                                        timeout=10, **kwargs)
        operation = operation_for(method, self.base_path + path.split("?")[0])
        if operation is not None:
            check(operation, response)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- conveniences over the API itself ---------------------------------
    def messages(self, as_: str = "host", **params) -> list[dict]:
        response = self.get("/chats", as_=as_, params={"Take": 20, **params})
        assert response.status_code == 200, response.text
        return response.json()["messages"]

    def all_messages(self, as_: str = "host", **params) -> list[dict]:
        found, skip = [], 0
        while True:
            page = self.messages(as_, Skip=skip, **params)
            found += page
            if len(page) < 20:
                return found
            skip += 20

    def create(self, text: str = "hello", as_: str = "alice") -> dict:
        response = self.post("/chats", as_=as_, json={"message": text})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="session")
def mock():
    return mockchats.build()


@pytest.fixture(scope="session")
def server(mock):
    server = mockchats.Server(mock.app, port=0).start()
    yield server
    server.stop()


@pytest.fixture
def api(mock, server) -> Api:
    mock.store.reset()
    return Api(server.root_url)
