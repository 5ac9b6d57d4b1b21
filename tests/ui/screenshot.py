"""Take the README's picture of the dashboard (``make screenshot``): a mock on the busy-room
scenario, a few partner requests (one breaking the contract, opened), in the Chromium the tests use.

Usage: python tests/ui/screenshot.py OUT.png
"""
from __future__ import annotations

import sys
from pathlib import Path

import requests
from conftest import chromium_path
from playwright.sync_api import expect, sync_playwright

import mockchats


def main(out: str) -> int:
    browser_path = chromium_path()
    if browser_path is None:
        print("no Chromium found: apt-get install chromium (or set MOCKCHATS_CHROMIUM)", file=sys.stderr)
        return 1
    mock = mockchats.build()
    mock.load_scenario("busy-room")
    server = mockchats.Server(mock.app, port=0).start()
    try:
        root = server.root_url
        host = next(u for u in mock.store.users() if u.role == "Host")
        auth = {"Authorization": f"Bearer {host.token}"}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{root}/_mock/ui")
            expect(page.locator("#live")).to_have_text("live")
            requests.get(f"{root}/v1/chats", params={"Take": 5}, headers=auth, timeout=10)
            requests.get(f"{root}/v1/chats", params={"take": 5, "SortBy": "Pinned"}, headers=auth, timeout=10)
            requests.post(f"{root}/v1/chats", json={"Message": "Shipping the release now"}, headers=auth, timeout=10)
            requests.get(f"{root}/v1/chats/not-a-message/reactions", headers=auth, timeout=10)
            requests.get(f"{root}/v1/chats", params={"Take": 50}, headers=auth, timeout=10)
            rows = page.locator("#journal tbody tr.entry")
            expect(rows).to_have_count(5)
            rows.first.click()
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=out)
            browser.close()
    finally:
        server.stop()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png"))
