"""How long a reset takes: in-process ``Mock.reset()`` and ``POST /_mock/reset`` over HTTP.

Run it with ``make bench-reset`` (or ``.venv/bin/python bench/reset.py``). It prints
p50 / p99 / max in milliseconds for the default fixtures and for a session of
100,000 generated messages, next to the cost of a trivial request on the same
server (``GET /openapi.json``) as the reference in the same run: shared machines are
noisy, so the ratio means more than the raw figure.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

import mockchats


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered), "p99": ordered[int(len(ordered) * 0.99) - 1],
            "max": ordered[-1], "n": len(ordered)}


def time_calls(call, rounds: int) -> dict:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def measure(messages: int, rounds: int) -> dict:
    mock = mockchats.build(messages=messages)
    server = mockchats.Server(mock.app, port=0).start()
    http = requests.Session()
    try:
        reference = time_calls(lambda: http.get(server.root_url + "/openapi.json"), rounds)
        return {
            "messages": messages + 24,
            "in_process_ms": time_calls(mock.reset, rounds),
            "http_ms": time_calls(lambda: http.post(server.root_url + "/_mock/reset"), rounds),
            "reference_http_ms": reference,
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="resets per case")
    parser.add_argument("--quick", action="store_true", help="a few rounds, default fixtures only")
    args = parser.parse_args()
    cases = [(0, 20)] if args.quick else [(0, args.rounds), (100_000, max(10, args.rounds // 30))]
    results = [measure(messages, rounds) for messages, rounds in cases]
    print(f"{'messages':>9} {'in-process p50/p99 ms':>24} {'HTTP p50/p99 ms':>20} {'reference HTTP p50':>20}")
    for r in results:
        print(f"{r['messages']:>9} {r['in_process_ms']['p50']:>11.3f} / {r['in_process_ms']['p99']:<10.3f}"
              f" {r['http_ms']['p50']:>9.3f} / {r['http_ms']['p99']:<8.3f} {r['reference_http_ms']['p50']:>18.3f}")
    out = Path(__file__).parent / "results" / "reset.json"
    out.write_text(json.dumps({
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "results": results,
    }, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
