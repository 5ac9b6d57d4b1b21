"""The garbage collector never stops `mockchats serve` for long (mockchats.serving.asgi.keep_collections_short).

Only what can be counted is asserted (generations collected, objects left over), never a pause's
length: a timed test on a shared machine would be a flaky test. ``make bench`` shows the pauses.
"""
from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import requests

import mockchats
from mockchats.serving.asgi import AsgiBridge

ROOT = Path(__file__).resolve().parents[2]
BODY = b'{"message":"Hello"}'


async def _exchange(bridge: AsgiBridge, method: str, path: str, query: bytes = b"", body: bytes = b"",
                    token: str = "alice-token") -> int:
    """One request through the ASGI app, as granian hands it over; the status answered."""
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query,
             "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080),
             "http_version": "1.1", "scheme": "http"}
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await bridge(scope, receive, send)
    return sent[0]["status"]


def test_a_partner_request_leaves_no_reference_cycle_behind():
    """Garbage that only the cyclic collector can free would make it run every few hundred
    requests; what a request leaves is freed by reference counting as it ends.

    Counted in a process of its own: a collection counts the whole process's garbage, and the
    threads other tests leave winding down (servers, hub clients) make some of their own."""
    done = subprocess.run([sys.executable, "-c", "import test_collections; test_collections.no_cycle_check()"],
                          cwd=Path(__file__).parent, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent),
                                                                           str(Path(__file__).parents[1])])})
    assert done.returncode == 0, done.stderr[-3000:]


def no_cycle_check() -> None:
    """The check itself: two rounds of partner requests, the second with the collector off."""
    mock = mockchats.build()
    bridge = AsgiBridge(mock.app, body_limit=mock.body_limit)
    chat_id = mock.store.list_messages(mock.store.user_for_token("host-token"))[1][0].chat_id
    calls = [("GET", "/v1/chats", b"Take=20", b"", "host-token", 200),
             ("GET", "/v1/chats", b"SortBy=:thumbs_up:&Take=20", b"", "host-token", 200),
             ("POST", "/v1/chats", b"", BODY, "alice-token", 200),
             ("POST", f"/v1/chats/{chat_id}/reactions", b"", b'{"reaction":":thumbs_up:"}', "bob-token", 200),
             ("GET", "/v1/chats/reactions", f"chatIds={chat_id}".encode(), b"", "bob-token", 200),
             ("POST", "/v1/chats", b"", b'{"message":', "alice-token", 400),
             ("GET", "/v1/chats", b"Take=abc", b"", "host-token", 400),
             ("DELETE", "/v1/chats/no-such-chat", b"", b"", "host-token", 404),
             ("DELETE", f"/v1/chats/{chat_id}", b"", b"", "alice-token", 403),
             ("GET", "/v1/chats", b"", b"", "", 401)]

    async def run():
        for method, path, query, body, token, status in calls:
            assert await _exchange(bridge, method, path, query, body, token) == status, (method, path)

    loop = asyncio.new_event_loop()  # one loop: its own start-up is no request's doing
    try:
        loop.run_until_complete(run())  # the first round fills the caches
        gc.collect()
        gc.disable()
        try:
            loop.run_until_complete(run())
            assert gc.collect() == 0
        finally:
            gc.enable()
    finally:
        loop.close()


POLICY_SCRIPT = textwrap.dedent("""
    import asyncio, gc, json, sys
    sys.path.insert(0, sys.argv[1])
    from test_collections import _exchange, BODY
    import mockchats
    from mockchats.serving.asgi import AsgiBridge, keep_collections_short

    mock = mockchats.build()
    bridge = AsgiBridge(mock.app, body_limit=mock.body_limit)
    keep_collections_short()
    at_start = gc.get_freeze_count()
    full = []
    gc.callbacks.append(lambda phase, info: full.append(1) if phase == "stop" and info["generation"] == 2 else None)

    async def load():
        for i in range(3000):
            assert await _exchange(bridge, "POST", "/v1/chats", body=BODY) == 200
            if i % 3 == 0:  # garbage cycles of the control plane and Flask's 404, among the creates
                assert await _exchange(bridge, "GET", "/_mock/requests", b"limit=2") == 200
                assert await _exchange(bridge, "GET", "/v1/no-such-route") == 404
            if i % 1000 == 999:
                assert await _exchange(bridge, "POST", "/_mock/scenarios/busy-room") == 200

    asyncio.run(load())
    figures = {"full_collections": len(full), "oldest_generation": len(gc.get_objects(2)),
               "frozen_since_start": gc.get_freeze_count() - at_start}
    gc.unfreeze()  # what the policy froze, all of it, back under the collector's eyes
    figures["cyclic_garbage_among_frozen"] = gc.collect()
    assert asyncio.run(_exchange(bridge, "POST", "/_mock/reset")) == 200
    gc.collect()
    figures["tracked_after_reset_minus_start"] = len(gc.get_objects()) - at_start
    print(json.dumps(figures))
""")


def test_serving_creates_never_runs_a_full_collection_and_freezes_no_garbage():
    """3,000 creates (with control-plane calls and unknown routes among them) through the ASGI
    bridge under the policy: no full collection, the oldest generation stays empty, what was
    frozen is live data (unfrozen, no cyclic garbage among it), and a reset frees it all."""
    done = subprocess.run([sys.executable, "-c", POLICY_SCRIPT, str(Path(__file__).parent)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["full_collections"] == 0, figures
    assert figures["oldest_generation"] == 0, figures
    assert figures["frozen_since_start"] > 3 * 1000, figures  # the last world's messages, at least
    assert figures["cyclic_garbage_among_frozen"] == 0, figures
    # The created messages went with the reset though they were frozen: a few hundred objects
    # remain (caches, the journal's entries), not the 3,000 messages' 9,000.
    assert figures["tracked_after_reset_minus_start"] < 3000, figures


def test_serve_logs_its_worker_collections_when_asked_and_never_a_full_one(tmp_path):
    """`mockchats serve` with MOCKCHATS_GC_LOG=1, over HTTP: its worker's young collections are
    logged with their pauses, and a stream of creates brings no full collection."""
    stderr = tmp_path / "serve.err"
    with open(stderr, "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "mockchats", "serve", "--port", "0"], cwd=ROOT,
                                   env=dict(os.environ, PYTHONUNBUFFERED="1", MOCKCHATS_GC_LOG="1"),
                                   stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
    try:
        base_url = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if match := re.search(r"base URL\s+(http://\S+/v1)", line):
                base_url = match.group(1)
            if line.startswith("Press Ctrl-C") or not line:
                break
        assert base_url, stderr.read_text()
        with requests.Session() as session:
            session.headers["Authorization"] = "Bearer alice-token"
            for _ in range(3000):
                assert session.post(f"{base_url}/chats", json={"message": "Hello"}).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=20)
    collections = [(pid, generation, pause) for pid, generation, pause
                   in re.findall(r"^gc: pid (\d+) generation (\d) paused ([\d.]+) ms", stderr.read_text(), re.M)
                   if int(pid) != process.pid]  # the worker's: the parent collects once more as it stops
    generations = {int(generation) for _, generation, _ in collections}
    assert {0, 1} <= generations, collections[-5:]  # young ones, and those between requests
    assert 2 not in generations, [c for c in collections if c[1] == "2"]
    assert all(float(pause) >= 0 for _, _, pause in collections)
