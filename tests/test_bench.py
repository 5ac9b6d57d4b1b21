"""The bench cannot rot: its smoke mode (``make bench QUICK=1``) runs and produces figures.

Only that figures are there is asserted, never their values: a timed test on a shared machine
would be a flaky test. The smoke mode installs nothing; without wrk it loads with the bench's own
Python generator, and peers that are not installed are skipped.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
