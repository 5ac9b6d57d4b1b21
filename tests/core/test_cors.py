"""CORS: browser apps may call the API and read /openapi.json from any origin, with
credentials; the control plane (/_mock) never answers a cross-origin request.

Checked over real HTTP on both servings (``mockchats serve``, and mockchats.Server in this
process, as the pytest plugin serves), on successes and on every kind of error answer, and
on the pytest plugin's own server.
"""
from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
import requests
from support import SERVINGS, ServeProcess, reset, served_root

ORIGIN = "http://localhost:5173"
ALICE = {"Authorization": "Bearer alice-token"}
CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                "Access-Control-Expose-Headers", "Vary")


@pytest.fixture(scope="module", params=SERVINGS)
def root(request):
    """The root URL of the mock served each way, CORS on by default."""
    with served_root(request.param) as root:
        yield root


@pytest.fixture
def fresh_root(root):
    """``root`` after a reset: start state, no faults, an empty journal."""
    reset(root)
    return root


def preflight(url: str, method: str = "POST", headers: str | None = "authorization,content-type",
              origin: str = ORIGIN) -> requests.Response:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return requests.options(url, headers=sent, timeout=10)


def assert_cross_origin(response: requests.Response, origin: str = ORIGIN, label: str = "") -> None:
    """What every answer to a cross-origin request carries."""
    headers = response.headers
    assert headers.get("Access-Control-Allow-Origin") == origin, (label, dict(headers))
    assert headers.get("Access-Control-Allow-Credentials") == "true"
    assert "Origin" in [v.strip() for v in headers.get("Vary", "").split(",")]
    exposed = [v.strip().lower() for v in headers.get("Access-Control-Expose-Headers", "").split(",")]
    assert "www-authenticate" in exposed and "retry-after" in exposed


def assert_no_cors(response: requests.Response) -> None:
    assert [h for h in CORS_HEADERS if h in response.headers] == []


@pytest.mark.parametrize("path", ["/v1/chats", "/V1/Chats/", "/v1/chats/some-id/reactions",
                                  "/v1/chats/reactions", "/v1/nothing-here", "/openapi.json"])
def test_a_preflight_is_answered_204_with_what_was_asked(fresh_root, path):
    response = preflight(fresh_root + path, "DELETE", "Authorization, Content-Type, X-Trace")
    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response.headers
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Methods"] == "DELETE"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type, X-Trace"
    assert response.headers["Vary"] == "Origin"
    # A browser's own request: the partner's code never sent it, so the journal leaves it out.
    assert requests.get(fresh_root + "/_mock/requests", timeout=10).json() == []


def test_a_preflight_without_requested_headers_allows_none(fresh_root):
    response = preflight(fresh_root + "/v1/chats", "GET", headers=None, origin="https://app.example")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert response.headers["Access-Control-Allow-Methods"] == "GET"
    assert "Access-Control-Allow-Headers" not in response.headers


def test_an_options_that_is_no_preflight_is_still_405(fresh_root):
    # Origin but no Access-Control-Request-Method: an OPTIONS request like any other.
    response = requests.options(fresh_root + "/v1/chats", headers={"Origin": ORIGIN}, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert_cross_origin(response)
    # No Origin: the plain 405 of entry 48, without a trace of CORS.
    plain = requests.options(fresh_root + "/v1/chats", headers={"Access-Control-Request-Method": "POST"},
                             timeout=10)
    assert plain.status_code == 405
    assert_no_cors(plain)


def _cross(method: str, url: str, **kwargs) -> requests.Response:
    headers = {"Origin": ORIGIN, **kwargs.pop("headers", {})}
    return requests.request(method, url, headers=headers, timeout=10, **kwargs)


def test_every_answer_to_a_cross_origin_request_says_so(fresh_root):
    v1 = fresh_root + "/v1"
    answers = {
        "200 list": _cross("GET", v1 + "/chats", headers=ALICE),
        "200 create": _cross("POST", v1 + "/chats", headers=ALICE, json={"message": "from a page"}),
        "400": _cross("GET", v1 + "/chats?Take=abc", headers=ALICE),
        "401": _cross("GET", v1 + "/chats"),
        "401 invalid": _cross("GET", v1 + "/chats", headers={"Authorization": "Bearer ?!"}),
        "404 problem": _cross("DELETE", v1 + "/chats/no-such-message", headers=ALICE),
        "404 path": _cross("GET", v1 + "/nothing-here", headers=ALICE),
        "405": _cross("PUT", v1 + "/chats", headers=ALICE),
        "413": _cross("POST", v1 + "/chats", data=b"x" * (1024 * 1024 + 1),
                      headers={**ALICE, "Content-Type": "application/json"}),
        "415": _cross("POST", v1 + "/chats", data=b"hi", headers={**ALICE, "Content-Type": "text/plain"}),
        "openapi": _cross("GET", fresh_root + "/openapi.json"),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {"200 list": 200, "200 create": 200, "400": 400, "401": 401, "401 invalid": 401,
                        "404 problem": 404, "404 path": 404, "405": 405, "413": 413, "415": 415,
                        "openapi": 200}
    for name, response in answers.items():
        assert_cross_origin(response, label=name)
    # The page's script can read the challenge because it is exposed.
    assert answers["401"].headers["WWW-Authenticate"] == "Bearer"


def test_injected_faults_answer_cross_origin_too(fresh_root):
    fault = {"operationId": "listChats", "status": 429, "headers": {"Retry-After": "2"}, "times": 1}
    assert requests.post(fresh_root + "/_mock/faults", json=fault, timeout=10).status_code == 201
    after = {"operationId": "createChat", "status": 503, "when": "after", "times": 1}
    assert requests.post(fresh_root + "/_mock/faults", json=after, timeout=10).status_code == 201
    refused = _cross("GET", fresh_root + "/v1/chats", headers=ALICE)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "2")
    assert_cross_origin(refused)
    hidden = _cross("POST", fresh_root + "/v1/chats", headers=ALICE, json={"message": "stored, unheard"})
    assert hidden.status_code == 503
    assert_cross_origin(hidden)


def test_a_request_without_origin_gets_no_cors_headers(fresh_root):
    for response in (requests.get(fresh_root + "/v1/chats", headers=ALICE, timeout=10),
                     requests.get(fresh_root + "/v1/chats", timeout=10),
                     requests.get(fresh_root + "/openapi.json", timeout=10)):
        assert_no_cors(response)


@pytest.mark.parametrize("method, path", [("GET", "/_mock/clock"), ("POST", "/_mock/reset"),
                                          ("GET", "/_mock/openapi.json"), ("GET", "/_mock/requests"),
                                          ("GET", "/_mock/nothing")])
def test_the_control_plane_never_answers_a_page(fresh_root, method, path):
    answer = _cross(method, fresh_root + path)
    assert answer.status_code < 500
    assert_no_cors(answer)
    check = preflight(fresh_root + path, method)
    assert check.status_code == (404 if path == "/_mock/nothing" else 405)  # OPTIONS is served nowhere
    assert_no_cors(check)


def _raw(root: str, method: str, target: str, headers: dict) -> http.client.HTTPResponse:
    """A request whose target goes out byte for byte (requests would tidy the dots away)."""
    parts = urlsplit(root)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request(method, target, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_the_control_plane_is_not_reached_through_the_api_path(fresh_root):
    """/v1/../_mock/reset is /_mock/reset once the dots are resolved: still no CORS."""
    for method, extra in (("POST", {}), ("OPTIONS", {"Access-Control-Request-Method": "POST"})):
        response = _raw(fresh_root, method, "/v1/../_mock/reset", {"Origin": ORIGIN, **extra})
        assert response.getheader("Access-Control-Allow-Origin") is None
        assert response.status != 204


def test_cors_off():
    with ServeProcess("--cors", "off") as served:
        response = preflight(served.base_url + "/chats")
        assert response.status_code == 405
        assert_no_cors(response)
        answer = _cross("GET", served.base_url + "/chats", headers=ALICE)
        assert answer.status_code == 200
        assert_no_cors(answer)


def test_cors_on_the_in_process_server(api):
    """mockchats.build() and mockchats.Server, as the pytest plugin serves: on by default."""
    response = preflight(api.base_url + "/chats")
    assert response.status_code == 204
    assert_cross_origin(_cross("GET", api.base_url + "/chats", headers=ALICE))


pytest_plugins = ["pytester"]

PLUGIN_TEST = '''
import requests


def test_a_page_may_call_the_plugins_server(mockchats):
    origin = {"Origin": "http://localhost:3000"}
    preflight = requests.options(f"{mockchats.url}/chats",
                                 headers={**origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    answer = requests.get(f"{mockchats.url}/chats", headers={**origin, **mockchats.headers("alice")})
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    control = requests.get(f"{mockchats.root_url}/_mock/clock", headers=origin)
    assert "Access-Control-Allow-Origin" not in control.headers
'''


def test_cors_on_the_pytest_plugins_server(pytester):
    pytester.makepyfile(test_page=PLUGIN_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
