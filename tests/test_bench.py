"""The bench cannot rot: its smoke mode (``make bench QUICK=1``) runs and produces figures.

Only that figures are there is asserted, never their values: a timed test on a shared machine
would be a flaky test. The smoke mode installs nothing; without wrk it loads with the bench's own
Python generator, and peers that are not installed are skipped.
"""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_measures_mockchats_and_the_floor(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench.py"), "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(out.read_text())
    for server in ("mockchats", "floor"):
        for scenario in ("get", "post", "flow"):
            measured = figures["runs"][server][scenario]
            assert measured["rps"]["median"] > 0, (server, scenario, measured)
            assert isinstance(measured["p99_ms"]["median"], (int, float))
    assert figures["ratios"]["get vs floor"]["rps"]["median"] > 0
    big = next(v for k, v in figures["runs"].items() if "sorted" in v)["sorted"]
    assert big["rps"]["median"] > 0
    assert isinstance(big["server_p50_ms"]["median"], (int, float))
    assert figures["startup_s"]["median"] > 0
    assert figures["reset_http_ms"]["default"]["p50"] > 0
    assert figures["big"]["rss_after_load_mib"] > 0
    assert figures["plugin"]["control_reset_ms"]["p50"] > 0
    assert [g for g in figures["goals"] if g["met"] is not None]  # some goals were judged
    assert "goals:" in done.stdout  # and the table was printed
    # The worker's garbage collections under the creates are counted, and the goal is judged.
    post = figures["runs"]["mockchats"]["post"]
    assert post["gc_collections"]["median"] > 0 and post["gc_longest_ms"]["median"] > 0, post
    assert any(g["goal"].startswith("POST p99 under sustained creation") for g in figures["goals"])
    # The session hub part ran with a small fleet: every client got every event, stayed open
    # through the load, and REST was measured with and without them.
    hubs = figures["hubs"]
    assert hubs["clients"] == 50
    assert hubs["missing"] == 0 and hubs["closed_early"] == [0] and hubs["still_open_at_end"] == [50], hubs
    assert hubs["server_saw_during_load"] == [50]
    assert hubs["latency_ms"]["UserAdded"]["n"] == 50 * hubs["events_per_round"]
    assert hubs["latency_ms"]["all"]["p99"] > 0
    for state in ("50 hub clients", "no hub clients"):
        for scenario in ("get", "post"):
            assert hubs["runs"][state][scenario]["rps"]["median"] > 0, (state, scenario)
    assert hubs["ratios"]["get vs no hub clients"]["rps"]["median"] > 0
    assert "session hub, 50 WebSocket clients" in done.stdout
    # One call in-process, over loopback and with a static stub was timed, and both goals judged.
    inproc = figures["inprocess"]
    assert inproc["rounds"] == 3
    for way in ("in-process", "loopback HTTP", "static stub"):
        for call in ("listChats", "createChat"):
            assert inproc["table"][way][call]["p50_us"] > 0, (way, call)
    assert inproc["ratios"]["listChats"]["loopback / in-process"] > 0
    assert [g for g in figures["goals"] if g["goal"].startswith("in-process call") and g["met"] is not None]
    assert "one call, client side" in done.stdout


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_under_test", ROOT / "bench" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_against_runs_the_app_as_it_was_at_a_git_ref(tmp_path):
    """``--against REF``: the tree at REF, taken with git archive, serves from its own code with
    this venv's packages, and the run takes at least 5 rounds."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    bench = _bench_module()
    assert bench.round_count(bench.argparse.Namespace(rounds=None, quick=True, against="HEAD")) == 5
    assert bench.round_count(bench.argparse.Namespace(rounds=7, quick=False, against="HEAD")) == 7
    assert bench.round_count(bench.argparse.Namespace(rounds=None, quick=True, against=None)) == 1
    with pytest.raises(bench.AgainstError, match="not a commit"):
        bench.checkout_ref("no-such-ref-anywhere", tmp_path / "nothing")

    tree = tmp_path / "tree"
    commit = bench.checkout_ref("HEAD", tree)
    assert re.fullmatch(r"[0-9a-f]{40}", commit)
    assert Path(bench.ref_module_file(tree)).resolve() == (tree / "mockchats" / "__init__.py").resolve()
    served = bench.start_ref("mockchats@HEAD", tree, tmp_path)
    try:
        status, body = bench.fetch("GET", served.base + bench.LIST, headers=bench.HOST_AUTH)
        assert status == 200 and json.loads(body)["totalCount"] == 24
    finally:
        served.stop()
