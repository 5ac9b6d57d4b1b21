"""The dashboard (/_mock/ui) in a real Chromium: it loads clean, shows partner requests live,
renders hostile text as text, and its controls act on the mock (or show why they were refused).

Each test drives the page as a person would (clicks, keys) and checks the effect where a partner
would see it: through `requests` on the API or the control plane.
"""
from __future__ import annotations

import re
import time

import requests
from playwright.sync_api import expect
from support import TOKENS, bearer

import mockchats


def test_the_page_loads_with_no_console_errors_and_forbids_inline_scripts(tab):
    page = tab.open()
    expect(page.locator("#status")).to_contain_text("auth open")
    expect(page.locator("#journal-empty")).to_be_visible()
    answer = requests.get(f"{tab.root_url}/_mock/ui", timeout=10)
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "default-src 'none'" in policy
    # Nothing inline to forbid: every script is a file of the package.
    assert re.findall(r"<script(?![^>]*\bsrc=)", answer.text) == []
    assert tab.errors == []


def test_an_inline_script_is_refused_by_the_policy(tab):
    """The policy is enforced, not only sent: a script injected as markup does not run."""
    page = tab.open()
    page.evaluate("""() => { const s = document.createElement('div');
        s.innerHTML = '<img src=x onerror="window.ran = 1">'; document.body.append(s); }""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.ran") is None
    # The browser said why: the policy blocked it (the one console error this test expects).
    assert [e for e in tab.errors if "Content Security Policy" in e and "blocked" in e]
    tab.errors.clear()


def test_a_request_shows_up_in_the_journal_within_a_second(tab):
    page = tab.open()
    root = tab.root_url
    token = TOKENS["host"]
    sent = requests.get(f"{root}/v1/chats", params={"Take": 3}, headers=bearer(token), timeout=10)
    assert sent.status_code == 200
    row = page.locator("#journal tbody tr.entry").first
    expect(row).to_contain_text("listChats", timeout=1000)
    expect(row).to_contain_text("/v1/chats")
    expect(row).to_contain_text("200")
    expect(row).to_contain_text("ok")
    expect(row).not_to_have_class(re.compile("violation"))


def test_a_request_that_breaks_the_contract_is_highlighted_and_says_so(tab):
    page = tab.open()
    root = tab.root_url
    token = TOKENS["host"]
    refused = requests.post(f"{root}/v1/chats", json={"Message": "x" * 281}, headers=bearer(token), timeout=10)
    assert refused.status_code == 400
    row = page.locator("#journal tbody tr.entry").first
    expect(row).to_contain_text("createChat", timeout=1000)
    expect(row).to_have_class(re.compile(r"\bviolation\b"))
    # Said in words, not by colour alone.
    expect(row).to_contain_text("1 violation")
    row.click()
    detail = page.locator("#journal tbody tr.detail-row").first
    violation = requests.get(f"{root}/_mock/requests", params={"limit": 1}, timeout=10).json()[0]["violations"][0]
    expect(detail).to_contain_text(violation)


def test_newest_first_and_a_row_expands_by_keyboard_to_the_request_and_the_response(tab):
    page = tab.open()
    root = tab.root_url
    token = TOKENS["host"]
    requests.get(f"{root}/v1/chats", params={"Take": 1}, headers=bearer(token), timeout=10)
    requests.post(f"{root}/v1/chats", json={"Message": "hello <b>there</b>"}, headers=bearer(token), timeout=10)
    rows = page.locator("#journal tbody tr.entry")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("createChat")
    expect(rows.nth(1)).to_contain_text("listChats")
    expand = rows.nth(0).locator("button.expand")
    expand.focus()
    page.keyboard.press("Enter")
    expect(expand).to_have_attribute("aria-expanded", "true")
    detail = page.locator("tr.detail-row")
    # The request's body, pretty-printed, as text; the answer's status and body.
    expect(detail.locator(".request")).to_contain_text('"Message": "hello <b>there</b>"')
    expect(detail.locator(".request")).to_contain_text(re.compile(r"Authorization: Bearer", re.I))
    expect(detail.locator(".response")).to_contain_text("200")
    expect(detail.locator(".response")).to_contain_text('"chatId"')
    assert detail.locator("b").count() == 0
    page.keyboard.press("Space")
    expect(detail).to_have_count(0)
    expect(expand).to_have_attribute("aria-expanded", "false")


def test_a_body_cut_at_64_kib_says_so(tab):
    page = tab.open()
    root = tab.root_url
    requests.post(f"{root}/v1/chats", json={"Message": "m", "pad": "p" * 70_000}, headers=bearer(TOKENS["host"]),
                  timeout=10)
    row = page.locator("#journal tbody tr.entry").first
    expect(row).to_contain_text("createChat")
    row.locator("button.expand").click()
    expect(page.locator("tr.detail-row .request")).to_contain_text("its first 64 KiB are shown")
    expect(page.locator("tr.detail-row .response")).not_to_contain_text("64 KiB")


def test_filters_and_pause(tab):
    page = tab.open()
    root = tab.root_url
    token = TOKENS["host"]
    requests.get(f"{root}/v1/chats", headers=bearer(token), timeout=10)
    requests.get(f"{root}/v1/chats/nope/reactions", headers=bearer(token), timeout=10)
    rows = page.locator("#journal tbody tr.entry")
    expect(rows).to_have_count(2)
    page.select_option("#filter-status", "4")
    expect(rows).to_have_count(1)
    expect(rows.first).not_to_contain_text("listChats")
    page.select_option("#filter-status", "")
    page.select_option("#filter-operation", "listChats")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("listChats")
    page.select_option("#filter-operation", "")
    page.get_by_role("button", name="Pause").click()
    requests.get(f"{root}/v1/chats", headers=bearer(token), timeout=10)
    expect(page.locator("#paused-count")).to_have_text("1 new while paused")
    expect(rows).to_have_count(2)
    page.get_by_role("button", name="Resume").click()
    expect(rows).to_have_count(3)


def test_the_edge_cases_markup_shows_as_text(tab):
    root = tab.root_url
    assert requests.post(f"{root}/_mock/scenarios/edge-cases", timeout=10).status_code == 200
    page = tab.open("Messages")
    sessions = requests.get(f"{root}/_mock/sessions", timeout=10).json()
    page.select_option("#messages-session", sessions[0]["sessionId"])
    page.get_by_role("button", name="List").click()
    # The scenario's one session holds 17 messages: all on the first page of 20.
    expect(page.locator("#messages .text", has_text="<script>alert(1)</script>")).to_have_count(1)
    assert page.locator("#messages script, #messages img, #messages b").count() == 0
    assert tab.errors == []


def test_loading_a_scenario_from_the_page_changes_what_the_api_answers(tab):
    root = tab.root_url
    before = requests.get(f"{root}/v1/chats", headers=bearer(TOKENS["host"]), timeout=10).json()["totalCount"]
    page = tab.open("Controls")
    page.select_option("#scenario-name", "busy-room")
    page.get_by_role("button", name="Load scenario").click()
    expect(page.locator("#scenario-form .done")).to_contain_text("Loaded busy-room")
    assert requests.get(f"{root}/_mock", timeout=10).json()["status"]["scenario"] == "busy-room"
    after = requests.get(f"{root}/v1/chats", headers=bearer(TOKENS["host"]), timeout=10).json()["totalCount"]
    assert after != before
    expect(page.locator("#status")).to_contain_text("busy-room")


def test_a_fault_armed_from_the_page_fails_the_next_request(tab):
    root = tab.root_url
    page = tab.open("Controls")
    page.select_option("#fault-operation", "listChats")
    page.fill("#fault-status", "503")
    page.fill("#fault-times", "1")
    page.get_by_role("button", name="Arm fault").click()
    expect(page.locator("#fault-form .done")).to_contain_text("Armed")
    expect(page.locator("#faults")).to_contain_text("listChats answers 503")
    token = TOKENS["host"]
    assert requests.get(f"{root}/v1/chats", headers=bearer(token), timeout=10).status_code == 503
    assert requests.get(f"{root}/v1/chats", headers=bearer(token), timeout=10).status_code == 200


def test_a_refused_control_shows_the_control_planes_error(tab):
    root = tab.root_url
    page = tab.open("Controls")
    page.fill("#fault-delay", "0")
    page.get_by_role("button", name="Arm fault").click()
    said = requests.post(f"{root}/_mock/faults", json={"delayMs": 0, "when": "before"}, timeout=10).json()
    error = page.locator("#fault-form .error")
    expect(error).to_contain_text(said["detail"])
    expect(error).to_contain_text("Refused")
    assert requests.get(f"{root}/_mock/faults", timeout=10).json() == []


def test_the_clock_freezes_advances_and_returns(tab):
    root = tab.root_url
    page = tab.open("Controls")
    page.fill("#clock-freeze", "2030-01-01T00:00:00Z")
    page.get_by_role("button", name="Freeze").click()
    expect(page.locator("#clock-now")).to_have_text("2030-01-01T00:00:00Z")
    page.fill("#clock-advance", "90")
    page.get_by_role("button", name="Advance").click()
    expect(page.locator("#clock-now")).to_have_text("2030-01-01T00:01:30Z")
    assert requests.get(f"{root}/_mock/clock", timeout=10).json() == {"now": "2030-01-01T00:01:30Z", "frozen": True}
    page.get_by_role("button", name="Back to real time").click()
    expect(page.locator("#clock-frozen")).to_have_text("(real time)")
    # Enter in a field does what its own button does.
    page.fill("#clock-freeze", "2030-01-01T00:00:00Z")
    page.press("#clock-freeze", "Enter")
    expect(page.locator("#clock-now")).to_have_text("2030-01-01T00:00:00Z")
    page.fill("#clock-advance", "30")
    page.press("#clock-advance", "Enter")
    expect(page.locator("#clock-now")).to_have_text("2030-01-01T00:00:30Z")
    page.fill("#clock-freeze", "not a time")
    page.get_by_role("button", name="Freeze").click()
    said = requests.post(f"{root}/_mock/clock", json={"freeze": "not a time"}, timeout=10).json()["detail"]
    expect(page.locator("#clock .error")).to_contain_text(f"Refused (400): {said}")
    assert requests.get(f"{root}/_mock/clock", timeout=10).json()["now"] == "2030-01-01T00:00:30Z"


def test_reset_with_a_seed(tab):
    root = tab.root_url
    page = tab.open("Controls")
    page.get_by_label("Reset seed").fill("7")
    page.get_by_role("button", name="Reset", exact=True).click()
    expect(page.locator("#reset-form .done")).to_contain_text("seed 7")
    assert requests.get(f"{root}/_mock", timeout=10).json()["status"]["seed"] == 7


def test_the_browser_does_not_stand_in_for_the_control_planes_word(tab):
    """Values the browser's own form checks would stop reach the control plane, whose refusal
    is what the page shows; values a step would refuse (0.33) are taken."""
    root = tab.root_url
    page = tab.open("Controls")
    page.select_option("#fault-operation", "listChats")
    page.get_by_label("Fault status").fill("100")
    page.get_by_role("button", name="Arm fault").click()
    said = requests.post(f"{root}/_mock/faults", json={"operationId": "listChats", "status": 100, "when": "before"},
                         timeout=10).json()
    expect(page.locator("#fault-form .error")).to_contain_text(said["detail"])
    page.get_by_label("Fault status").fill("503")
    page.get_by_label("Probability").fill("0.33")
    page.get_by_role("button", name="Arm fault").click()
    expect(page.locator("#fault-form .done")).to_contain_text("Armed")
    assert [f["probability"] for f in requests.get(f"{root}/_mock/faults", timeout=10).json()] == [0.33]


def test_a_refusal_that_quotes_markup_shows_it_as_text(tab):
    root = tab.root_url
    page = tab.open("Controls")
    page.get_by_label("Fault method").fill("GET")
    page.get_by_label("Fault path").fill('/v1/<img src=x onerror="window.ran=1">')
    page.get_by_role("button", name="Arm fault").click()
    error = page.locator("#fault-form .error")
    expect(error).to_contain_text("Refused (400)")
    assert error.locator("img").count() == 0
    assert page.evaluate("window.ran") is None
    assert requests.get(f"{root}/_mock/faults", timeout=10).json() == []


def test_a_request_sent_while_the_page_is_still_loading_is_shown(tab):
    """No gap between the page's first read of the journal and its stream."""
    root = tab.root_url
    tab.page.goto(f"{root}/_mock/ui")
    requests.get(f"{root}/v1/chats", params={"Take": 2}, headers=bearer(TOKENS["host"]), timeout=10)
    expect(tab.page.locator("#journal tbody tr.entry")).to_have_count(1)
    expect(tab.page.locator("#live")).to_have_text("live")
    requests.get(f"{root}/v1/chats", params={"Take": 3}, headers=bearer(TOKENS["host"]), timeout=10)
    expect(tab.page.locator("#journal tbody tr.entry")).to_have_count(2)


def test_a_reset_by_a_script_empties_the_view_and_the_next_request_shows(tab):
    page = tab.open()
    root = tab.root_url
    requests.get(f"{root}/v1/chats", headers=bearer(TOKENS["host"]), timeout=10)
    rows = page.locator("#journal tbody tr.entry")
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="Pause").click()
    requests.get(f"{root}/v1/chats", params={"Take": 1}, headers=bearer(TOKENS["host"]), timeout=10)
    expect(page.locator("#paused-count")).to_have_text("1 new while paused")
    assert requests.post(f"{root}/_mock/reset", timeout=10).status_code == 200
    expect(rows).to_have_count(0)
    expect(page.locator("#paused-count")).to_have_text("")
    page.get_by_role("button", name="Resume").click()
    requests.post(f"{root}/v1/chats", json={"Message": "after"}, headers=bearer(TOKENS["host"]), timeout=10)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("createChat")


def test_hub_traffic_shows_beside_the_requests_when_asked(tab):
    page = tab.open()
    root = tab.root_url
    requests.get(f"{root}/v1/chats", headers=bearer(TOKENS["host"]), timeout=10)
    negotiated = requests.post(f"{root}/v1/hubs/session/negotiate", params={"negotiateVersion": 1},
                               headers=bearer(TOKENS["host"]), timeout=10)
    assert negotiated.status_code == 200
    rows = page.locator("#journal tbody tr.entry")
    expect(rows).to_have_count(1)  # REST requests only, by default
    expect(rows.first).to_contain_text("listChats")
    page.select_option("#filter-kind", "hub")
    expect(rows).to_have_count(1)
    hub = rows.first
    expect(hub).to_contain_text("negotiate")
    expect(hub).to_contain_text("/v1/hubs/session")
    expect(hub).to_contain_text("200")
    expect(hub).to_contain_text("Host")  # the user's name, not only their id
    hub.locator("button.expand").click()
    expect(page.locator("tr.detail-row")).to_contain_text('"status": 200')
    page.select_option("#filter-kind", "all")
    expect(rows).to_have_count(2)


def test_filters_that_match_nothing_say_so(tab):
    page = tab.open()
    requests.get(f"{tab.root_url}/v1/chats", headers=bearer(TOKENS["host"]), timeout=10)
    expect(page.locator("#journal tbody tr.entry")).to_have_count(1)
    page.select_option("#filter-status", "dropped")
    expect(page.locator("#journal tbody tr.entry")).to_have_count(0)
    expect(page.locator("#journal-hidden")).to_be_visible()


def test_sessions_show_users_tokens_and_hub_connections(tab):
    root = tab.root_url
    page = tab.open("Sessions")
    sessions = requests.get(f"{root}/_mock/sessions", timeout=10).json()
    card = page.locator("article.session").first
    expect(card).to_contain_text(sessions[0]["sessionId"])
    for user in sessions[0]["users"]:
        expect(card).to_contain_text(user["name"])
        expect(card.get_by_role("button", name=f"Copy {user['name']}'s token")).to_be_visible()
    expect(card).to_contain_text("Hub connections (0)")


def test_messages_pin_unpin_and_delete_as_the_host(tab):
    root = tab.root_url
    token = TOKENS["host"]
    created = requests.post(f"{root}/v1/chats", json={"Message": "pin me"}, headers=bearer(token), timeout=10).json()
    page = tab.open("Messages")
    page.uncheck("#messages-ascending")  # the API's default is oldest first; the new message is the newest
    page.get_by_role("button", name="List").click()
    item = page.locator("#messages li", has_text="pin me")
    expect(item).to_be_visible()
    item.get_by_role("button", name="Pin message").click()
    expect(item.locator(".badge.pin")).to_have_text("📌 pinned")
    listed = requests.get(f"{root}/v1/chats", params={"Ascending": "false"}, headers=bearer(token), timeout=10).json()
    assert next(m for m in listed["messages"] if m["chatId"] == created["chatId"])["pinned"] is not None
    expect(item.locator(".toggle-pin")).to_be_focused()  # focus stays where the person was
    item.get_by_role("button", name="Unpin message").click()
    expect(item.locator(".badge.pin")).to_have_count(0)
    item.get_by_role("button", name="Delete message").click()
    expect(page.locator("#messages li", has_text="pin me")).to_have_count(0)
    listed = requests.get(f"{root}/v1/chats", params={"Ascending": "false"}, headers=bearer(token), timeout=10).json()
    assert created["chatId"] not in [m["chatId"] for m in listed["messages"]]


def test_a_narrow_window_has_no_sideways_scroll(tab):
    tab.page.set_viewport_size({"width": 390, "height": 800})
    page = tab.open()
    requests.get(f"{tab.root_url}/v1/chats", headers=bearer(TOKENS["host"]), timeout=10)
    expect(page.locator("#journal tbody tr.entry")).to_have_count(1)
    for view in ("Journal", "Sessions", "Messages", "Controls"):
        page.get_by_role("button", name=view, exact=True).click()
        page.wait_for_timeout(200)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), view


def test_the_index_and_the_page_need_no_token_but_data_calls_do(chromium):
    token = "s3cret-admin-token"
    mock = mockchats.build(admin_token=token)
    server = mockchats.Server(mock.app, port=0).start()
    try:
        root = server.root_url
        assert requests.get(f"{root}/_mock/ui", timeout=10).status_code == 200
        assert requests.get(f"{root}/_mock/ui/dashboard.js", timeout=10).status_code == 200
        assert requests.get(f"{root}/_mock", timeout=10).status_code == 401
        context = chromium.new_context()
        page = context.new_page()
        errors = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.goto(f"{root}/_mock/ui")
        expect(page.locator("#token-form")).to_be_visible()
        assert errors == []  # asked before any call, not after a refused one
        page.fill("#token-input", token)
        page.get_by_role("button", name="Use token").click()
        expect(page.locator("#live")).to_have_text("live")
        expect(page.locator("#status")).to_contain_text("auth open")
        host = next(u["token"] for u in requests.get(f"{root}/_mock/sessions", headers=bearer(token),
                                                     timeout=10).json()[0]["users"] if u["role"] == "Host")
        requests.post(f"{root}/v1/chats", json={"Message": "hi"}, headers=bearer(host), timeout=10)
        row = page.locator("#journal tbody tr.entry").first
        expect(row).to_contain_text("createChat")
        # The token is kept for the tab, never put in the page's address (nor in the journal).
        assert token not in page.url
        assert errors == []
        context.close()
    finally:
        server.stop()


def test_the_dashboards_own_calls_are_not_journaled(tab):
    page = tab.open("Controls")
    page.get_by_role("button", name="Sessions", exact=True).click()
    page.get_by_role("button", name="Messages", exact=True).click()
    expect(page.locator("#messages li").first).to_be_visible()
    time.sleep(0.3)
    assert requests.get(f"{tab.root_url}/_mock/requests", params={"kind": "all"}, timeout=10).json() == []
