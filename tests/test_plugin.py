"""The pytest plugin, run as a partner runs it: pytest in a subprocess, with mockchats merely
installed (its ``pytest11`` entry point loads the plugin), over test files a partner would write.

Each subprocess run costs a second or two, so each one exercises several behaviours.
"""
from __future__ import annotations

import sys

pytest_plugins = ["pytester"]

#: What a partner writes: only the ``mockchats`` fixture and ``requests``.
PARTNER_TESTS = '''
import pytest
import requests

seen = {}


def test_host_lists_the_default_messages(mockchats):
    answer = requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("host"))
    assert answer.status_code == 200
    assert answer.json()["totalCount"] == 24
    seen["root_url"] = mockchats.root_url


def test_a_message_created_here(mockchats):
    answer = requests.post(f"{mockchats.url}/chats", json={"message": "only in this test"},
                           headers={"Authorization": f"Bearer {mockchats.tokens['alice']}"})
    assert answer.status_code == 200
    listed = requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("Bob")).json()
    assert listed["totalCount"] == 25


def test_is_gone_in_the_next_test(mockchats):
    listed = requests.get(f"{mockchats.url}/chats", params={"Take": 20},
                          headers=mockchats.headers("host")).json()
    assert listed["totalCount"] == 24
    assert "only in this test" not in [m["message"] for m in listed["messages"]]
    assert [e["operationId"] for e in mockchats.requests()] == ["listChats"]  # this test's only
    assert mockchats.root_url == seen["root_url"]  # the same server all along


def test_the_handle(mockchats):
    assert mockchats.url == mockchats.root_url + "/v1"
    assert mockchats.url_for("/chats") == mockchats.url + "/chats"
    assert mockchats.tokens == {"host": "host-token", "alice": "alice-token", "bob": "bob-token"}
    assert mockchats.headers("alice") == {"Authorization": "Bearer alice-token"}
    with pytest.raises(KeyError, match="known: host, alice, bob"):
        mockchats.tokens["carol"]
    assert mockchats.status == {"auth": "open", "seed": 0, "scenario": None, "sessions": 1,
                                "messages": 24}
    assert [s["name"] for s in mockchats.control.scenarios()][:2] == ["busy-room", "default"]


def test_fail_makes_the_next_call_fail(mockchats):
    fault = mockchats.fail("createChat")
    assert fault["status"] == 503 and fault["times"] == 1
    create = lambda: requests.post(f"{mockchats.url}/chats", json={"message": "hi"},
                                   headers=mockchats.headers("alice"))
    assert create().status_code == 503
    assert create().status_code == 200
    mockchats.inject_fault(operationId="listChats", status=429, headers={"Retry-After": "2"})
    answer = requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("host"))
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "2")


def test_faults_do_not_outlive_their_test(mockchats):
    assert mockchats.control.faults() == []
    answer = requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("host"))
    assert answer.status_code == 200


def test_requests_show_what_was_sent(mockchats):
    requests.get(f"{mockchats.url}/chats", params={"Take": 5}, headers=mockchats.headers("host"))
    requests.post(f"{mockchats.url}/chats", json={"message": "journaled"},
                  headers=mockchats.headers("alice"))
    sent = mockchats.requests()
    assert [(e["method"], e["path"], e["status"]) for e in sent] == [
        ("GET", "/v1/chats", 200), ("POST", "/v1/chats", 200)]
    assert sent[0]["query"] == {"Take": ["5"]}
    [created] = mockchats.requests("createChat")
    assert created["user"]["name"] == "Alice"
    assert "journaled" in created["body"]
    assert mockchats.requests(method="GET", limit=1) == [sent[0]]
    mockchats.assert_no_violations()


def test_assert_no_violations_lists_each_bad_request(mockchats):
    requests.get(f"{mockchats.url}/chats", params={"take": 0}, headers=mockchats.headers("host"))
    requests.get(f"{mockchats.url}/chats")
    requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("host"))
    with pytest.raises(AssertionError) as failure:
        mockchats.assert_no_violations()
    assert str(failure.value).splitlines() == [
        "2 request(s) broke the QuickSync Chats contract:",
        "  GET /v1/chats?take=0 -> 400: Take: The field Take must be between 1 and 20.",
        "  GET /v1/chats -> 401: no bearer token",
    ]


def test_a_client_that_breaks_the_contract(mockchats):
    requests.post(f"{mockchats.url}/chats", data="not json", headers=mockchats.headers("alice"))
    mockchats.assert_no_violations()


def test_the_clock(mockchats):
    mockchats.freeze_clock("2030-01-01T00:00:00Z")
    mockchats.advance_clock(90)
    created = requests.post(f"{mockchats.url}/chats", json={"message": "later"},
                            headers=mockchats.headers("alice")).json()
    assert created["createdAt"].startswith("2030-01-01T00:01:30")


def test_the_clock_is_real_again(mockchats):
    assert mockchats.control.clock()["frozen"] is False


@pytest.mark.mockchats(scenario="empty")
def test_the_empty_scenario(mockchats):
    listed = requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("host")).json()
    assert listed == {"totalCount": 0, "messages": []}


@pytest.mark.mockchats(scenario="busy-room", seed=7, auth="strict")
def test_a_busy_room_in_strict_auth(mockchats):
    assert mockchats.status == {"auth": "strict", "seed": 7, "scenario": "busy-room",
                                "sessions": 1, "messages": 5001}
    assert len(mockchats.tokens) == 43  # Host, Alice, Bob and 40 generated Clients
    assert all(name == name.lower() for name in mockchats.tokens)
    first = requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("host")).json()
    assert first["totalCount"] == 5001
    seen["busy-room/7"] = first
    stranger = requests.get(f"{mockchats.url}/chats", headers={"Authorization": "Bearer stranger-token"})
    assert stranger.status_code == 401


@pytest.mark.mockchats(scenario="busy-room", seed=7)
def test_the_same_seed_gives_the_same_room(mockchats):
    again = requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("host")).json()
    assert again == seen["busy-room/7"]
    stranger = requests.get(f"{mockchats.url}/chats", headers={"Authorization": "Bearer stranger-token"})
    assert stranger.status_code == 200  # open auth: the marker's strict held for its own test only


def test_load_scenario_in_a_test(mockchats):
    mockchats.load_scenario("busy-room", seed=3)
    assert mockchats.status["scenario"] == "busy-room" and mockchats.status["seed"] == 3
    assert len(mockchats.tokens) == 43
    mockchats.load_scenario("empty")
    assert mockchats.tokens == {"host": "host-token", "alice": "alice-token", "bob": "bob-token"}


@pytest.mark.mockchats(scenario="empty", seed=2)
class TestMarkedClass:
    @pytest.mark.mockchats(auth="strict", seed=4)
    def test_the_closest_marker_wins_key_by_key(self, mockchats):
        assert (mockchats.status["scenario"], mockchats.status["seed"], mockchats.status["auth"]) == (
            "empty", 4, "strict")


@pytest.mark.mockchats(scenario="no-such-room")
def test_an_unknown_scenario(mockchats):
    pass


@pytest.mark.mockchats("busy-room", sead=7)
def test_a_misspelt_marker(mockchats):
    pass
'''

#: Counts server starts in the partner's run (from outside the partner's own test file).
COUNTING_CONFTEST = '''
import mockchats.serving.server as server_module

starts = []


class CountingServer(server_module.Server):
    def start(self):
        starts.append(self.root_url)
        return super().start()


server_module.Server = CountingServer  # the plugin imports it when its server fixture runs


def pytest_sessionfinish(session):
    print(f"\\nmockchats servers started: {len(starts)}")
'''


def test_a_partner_test_file(pytester):
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(test_partner=PARTNER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=15, failed=1, errors=2)
    result.stdout.fnmatch_lines([
        "*test_a_client_that_breaks_the_contract*",
        "E*AssertionError: 1 request(s) broke the QuickSync Chats contract:",
        "E*POST /v1/chats -> 415: no Content-Type: the body is not read as JSON",
    ])
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_an_unknown_scenario*",
        "*mockchats: reset with scenario='no-such-room' refused: 404: unknown scenario 'no-such-room'*",
        "*ERROR at setup of test_a_misspelt_marker*",
        "@pytest.mark.mockchats takes only the keyword options scenario, seed, auth, fixtures, chat_hub; "
        "got 'busy-room', sead",
    ])
    result.stdout.fnmatch_lines(["mockchats servers started: 1"])


#: A partner's own world: fixture users Zed (Host) and Yan.
OWN_FIXTURES = '''
sessions:
- id: 5e551011-0000-4000-8000-000000000001
  users:
  - {id: 5e551011-0000-4000-8000-0000000000a1, name: Zed, role: Host, token: zed-token}
  - {id: 5e551011-0000-4000-8000-0000000000a2, name: Yan, role: Client, token: yan-token}
  messages: []
'''

#: Checks what the options made of the mock: the partner's world and seed.
OPTIONS_TESTS = '''
import requests


def test_{n}(mockchats):
    assert mockchats.tokens == {{"zed": "zed-token", "yan": "yan-token"}}
    assert mockchats.status["seed"] == {seed}
    answer = requests.post(f"{{mockchats.url}}/chats", json={{"message": "mine"}},
                           headers=mockchats.headers("Yan"))
    assert answer.status_code == 200
    assert [e["user"]["name"] for e in mockchats.requests()] == ["Yan"]
'''


def test_the_ini_keys(pytester):
    pytester.mkdir("worlds")
    pytester.path.joinpath("worlds", "zed.yaml").write_text(OWN_FIXTURES)
    pytester.makeini("[pytest]\nmockchats_fixtures = worlds/zed.yaml\nmockchats_seed = 5\n")
    pytester.makepyfile(test_options=OPTIONS_TESTS.format(n="ini", seed=5))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_command_line_options_under_xdist(pytester):
    # The ini file names the default world; the command line overrides it, in every worker.
    pytester.makeini("[pytest]\nmockchats_fixtures = no-such-file.yaml\nmockchats_seed = 5\n")
    pytester.path.joinpath("zed.yaml").write_text(OWN_FIXTURES)
    pytester.makepyfile(**{f"test_options_{n}": OPTIONS_TESTS.format(n=n, seed=11)
                           for n in range(6)})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2",
                                           "--mockchats-fixtures", "zed.yaml", "--mockchats-seed", "11")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_a_bad_fixtures_file_is_a_readable_error(pytester):
    pytester.path.joinpath("broken.yaml").write_text("sessions: nope\n")
    pytester.makepyfile(test_options=OPTIONS_TESTS.format(n="broken", seed=0))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mockchats-fixtures", "broken.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mockchats: *broken.yaml: sessions: *"])


#: The partner kit: the handle's conveniences, and the plugin's control calls while the partner
#: mocks `requests` with responses or requests-mock (both patch requests' transport).
KIT_TESTS = '''
from datetime import datetime, timedelta, timezone

import pytest
import requests
import requests_mock as requests_mock_lib
import responses

from mockchats import ControlError

pytestmark = pytest.mark.mockchats(fixtures="worlds/zed.yaml")  # beside this file, not the cwd


def test_a_world_beside_the_test_file(mockchats):
    assert mockchats.tokens == {"zed": "zed-token", "yan": "yan-token"}
    assert mockchats.status["scenario"].endswith("worlds/zed.yaml")
    assert mockchats.control.requests() == []  # reset first: a clean journal


@pytest.mark.mockchats(seed=9, auth="strict")
def test_the_module_world_with_a_seed_and_strict_auth(mockchats):
    assert (mockchats.status["seed"], mockchats.status["auth"]) == (9, "strict")
    assert mockchats.tokens["Zed"] == "zed-token"
    stranger = requests.get(f"{mockchats.url}/chats", headers={"Authorization": "Bearer x-token"})
    assert stranger.status_code == 401


@pytest.mark.mockchats(scenario="empty")
def test_a_closer_scenario_replaces_the_module_world(mockchats):
    assert mockchats.status["scenario"] == "empty"
    assert "host" in mockchats.tokens and "zed" not in mockchats.tokens


@pytest.mark.mockchats(fixtures="worlds/missing.yaml")
def test_a_missing_world(mockchats):
    pass


@pytest.mark.mockchats(scenario="empty", fixtures="worlds/zed.yaml")
def test_two_worlds_at_once(mockchats):
    pass


def test_tokens_in_any_case(mockchats):
    assert mockchats.tokens["Zed"] == mockchats.tokens["ZED"] == mockchats.tokens["zed"] == "zed-token"
    assert "Yan" in mockchats.tokens and mockchats.tokens.get("YAN") == "yan-token"
    assert mockchats.tokens.get("Nobody") is None
    assert mockchats.headers("ZED") == {"Authorization": "Bearer zed-token"}
    with pytest.raises(KeyError, match="known: zed, yan"):
        mockchats.tokens["Xavier"]


def test_the_clock_takes_datetimes_and_timedeltas(mockchats):
    assert mockchats.freeze_clock(datetime(2030, 1, 1, 12, 0)) == {"now": "2030-01-01T12:00:00Z",
                                                                   "frozen": True}  # naive: UTC
    paris = timezone(timedelta(hours=2))
    assert mockchats.freeze_clock(datetime(2030, 6, 1, 14, 30, tzinfo=paris))["now"] == "2030-06-01T12:30:00Z"
    assert mockchats.advance_clock(timedelta(minutes=90))["now"] == "2030-06-01T14:00:00Z"
    assert mockchats.control.advance_clock(timedelta(seconds=1.5))["now"] == "2030-06-01T14:00:01.5Z"
    assert mockchats.advance_clock(30)["now"] == "2030-06-01T14:00:31.5Z"
    created = requests.post(f"{mockchats.url}/chats", json={"message": "later"},
                            headers=mockchats.headers("Yan")).json()
    assert created["createdAt"].startswith("2030-06-01T14:00:31.5")
    with pytest.raises(ControlError, match="400"):
        mockchats.advance_clock(timedelta(seconds=-1))


@responses.activate
def test_inside_responses(mockchats):
    responses.add(responses.GET, "https://api.quicksync.me/v1/chats", json={"totalCount": 99, "messages": []})
    mine = requests.get("https://api.quicksync.me/v1/chats").json()
    assert mine["totalCount"] == 99  # the partner's own call: mocked
    assert mockchats.reset()["messages"] == 24  # the start world: the shipped fixtures
    assert mockchats.tokens["Alice"] == "alice-token"
    mockchats.fail("createChat", 503)
    assert [f["operationId"] for f in mockchats.control.faults()] == ["createChat"]
    assert mockchats.requests() == []
    mockchats.assert_no_violations()


def test_inside_requests_mock(requests_mock, mockchats):
    # The requests_mock fixture is active before the mockchats fixture resets the mock.
    requests_mock.get("https://api.quicksync.me/v1/chats", json={"totalCount": 98, "messages": []})
    assert requests.get("https://api.quicksync.me/v1/chats").json()["totalCount"] == 98
    assert mockchats.status["messages"] == 0
    assert mockchats.freeze_clock("2031-01-01T00:00:00Z")["frozen"] is True
    with requests_mock_lib.Mocker() as mocker:
        mocker.get("https://example.test/", text="mocked")
        assert requests.get("https://example.test/").text == "mocked"
        assert mockchats.load_scenario("empty")["scenario"] == "empty"
        assert mockchats.control.clock()["now"] == "2031-01-01T00:00:00Z"

'''


def test_the_partner_kit(pytester):
    folder = pytester.mkdir("tests")
    folder = folder / "partner"
    folder.mkdir()
    (folder / "worlds").mkdir()
    (folder / "worlds" / "zed.yaml").write_text(OWN_FIXTURES)
    (folder / "test_kit.py").write_text(KIT_TESTS)
    # Run from the project's top: the marker's path is relative to the test file, not the cwd.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "tests")
    result.assert_outcomes(passed=7, errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_a_missing_world*",
        "*mockchats: reset with fixtures='*/tests/partner/worlds/missing.yaml' refused: 400: *missing.yaml*",
        "*ERROR at setup of test_two_worlds_at_once*",
        "*@pytest.mark.mockchats takes scenario= or fixtures=, not both*",
    ])


#: Calls the control plane answers since it gained POST /_mock/pins and journal refusals.
PIN_AND_JOURNAL_TESTS = '''
import pytest
import requests

from mockchats import ControlError


def test_pin_finds_the_session(mockchats):
    host = mockchats.headers("Host")
    listed = requests.get(f"{mockchats.url}/chats", headers=host).json()
    chat_id = next(m["chatId"] for m in listed["messages"] if m["pinned"] is None)
    [session] = mockchats.control.sessions()
    pin = mockchats.pin(chat_id)
    assert set(pin) == {"sessionId", "chatId", "pinId"}
    assert (pin["sessionId"], pin["chatId"]) == (session["sessionId"], chat_id)
    listed = requests.get(f"{mockchats.url}/chats", headers=host).json()
    assert [m["pinned"] for m in listed["messages"] if m["chatId"] == chat_id] == [{"id": pin["pinId"]}]
    with pytest.raises(ControlError) as unknown:
        mockchats.pin("no-such-message")
    assert unknown.value.status == 404


def test_an_unknown_operation_is_an_error(mockchats):
    requests.get(f"{mockchats.url}/chats", headers=mockchats.headers("host"))
    with pytest.raises(ControlError) as refused:
        mockchats.requests("createchat")
    assert refused.value.status == 400
    assert "createChat" in str(refused.value)  # the known ones are listed
    assert [e["status"] for e in mockchats.requests(status="2xx", user="Host")] == [200]
    assert mockchats.requests(status=404) == []
'''


def test_pins_and_journal_refusals(pytester):
    pytester.makepyfile(test_pins=PIN_AND_JOURNAL_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_importing_the_plugin_stays_light(pytester):
    # pytest loads the plugin into every run where mockchats is installed: the server side and
    # the HTTP transport load only when a test asks for the mock.
    heavy = ("flask", "werkzeug", "faker", "jsonschema", "yaml", "requests", "urllib3", "granian",
             "mockchats.app", "mockchats.serving.server")
    result = pytester.run(sys.executable, "-c", "import sys, pytest, mockchats.pytest_plugin; "
                          f"print(sorted(set({heavy!r}) & set(sys.modules)))")
    assert result.ret == 0
    assert result.outlines[-1] == "[]"
    # ... and every public name still loads on first use, submodules too.
    result = pytester.run(sys.executable, "-c", "import mockchats; "
                          "print(mockchats.Server.__name__, mockchats.build.__name__, "
                          "mockchats.worlds.list_scenarios()[0]['name'], mockchats.create_app.__name__)")
    assert result.ret == 0
    assert result.outlines[-1] == "Server build busy-room create_app"
