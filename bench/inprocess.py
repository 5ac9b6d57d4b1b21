"""The client-side cost of one call in-process, over loopback HTTP, and with a static stub.

One ``requests.Session`` times ``listChats`` (GET /v1/chats?Take=20) and ``createChat`` (POST
/v1/chats) call by call (``time.perf_counter`` around each) three ways: inside
``mockchats.intercept()``; against ``mockchats.Server`` on loopback (what the pytest plugin
serves); and against a ``responses`` stub answering fixed bodies of the same shape and size (the
floor of patching requests, with no state and no checks). The three run in interleaved rounds, and
the ratios are the medians of the per-round ratios of p50s, so a machine slowing down mid-run
moves all three alike.
"""
from __future__ import annotations

import json
import statistics
import time

HOST = "https://api.quicksync.me"
AUTH = {"Authorization": "Bearer alice-token"}
#: The two calls: (name, method, path, JSON body).
CALLS = (("listChats", "GET", "/v1/chats?Take=20", None), ("createChat", "POST", "/v1/chats", {"message": "hi"}))
WAYS = ("in-process", "loopback HTTP", "static stub")
#: The issue's goals: in-process at least this much faster than loopback, and within this of the stub.
LOOPBACK_OVER_INPROCESS = 1.5
INPROCESS_OVER_STATIC = 2.0


def _time_calls(session, base: str, calls: int, warmup: int) -> dict[str, list[float]]:
    """Per-call client-side µs of each call, after ``warmup`` untimed ones."""
    out: dict[str, list[float]] = {}
    for name, method, path, body in CALLS:
        url = base + path
        for _ in range(warmup):
            session.request(method, url, json=body).raise_for_status()
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            answer = session.request(method, url, json=body)
            samples.append((time.perf_counter() - t0) * 1e6)
            answer.raise_for_status()
        out[name] = samples
    return out


def _static_stub(bodies: dict[str, bytes]):
    """A ``responses`` mock answering the captured bodies as they are, whatever the request."""
    import responses

    stub = responses.RequestsMock(assert_all_requests_are_fired=False)
    for name, method, path, _ in CALLS:
        stub.add(method, HOST + path.split("?")[0], body=bodies[name], status=200,
                 content_type="application/json; charset=utf-8")
    return stub


def measure(rounds: int, calls: int, warmup: int) -> dict:
    import requests

    import mockchats

    session = requests.Session()
    session.headers.update(AUTH)
    server = mockchats.Server(mockchats.build(), port=0).start()
    try:
        loopback_base = server.base_url.removesuffix("/v1")
        with mockchats.intercept():  # the bodies the stub sends: the mock's own answers
            bodies = {name: session.request(method, HOST + path, json=body).content
                      for name, method, path, body in CALLS}

        def in_process():
            with mockchats.intercept():
                return _time_calls(session, HOST, calls, warmup)

        def static():
            with _static_stub(bodies):
                return _time_calls(session, HOST, calls, warmup)

        ways = {"in-process": in_process,
                "loopback HTTP": lambda: _time_calls(session, loopback_base, calls, warmup),
                "static stub": static}
        per_round: list[dict[str, dict[str, list[float]]]] = []
        for r in range(rounds):
            order = list(WAYS) if r % 2 == 0 else list(reversed(WAYS))  # neither end always goes first
            per_round.append({way: ways[way]() for way in order})
    finally:
        server.stop()
    return summarize(per_round, calls, warmup, {k: len(v) for k, v in bodies.items()})


def _stats(samples: list[float]) -> dict:
    return {"p50_us": statistics.median(samples), "mean_us": statistics.fmean(samples), "n": len(samples)}


def summarize(per_round: list[dict], calls: int, warmup: int, body_bytes: dict[str, int]) -> dict:
    table = {way: {name: _stats([s for rnd in per_round for s in rnd[way][name]]) for name, *_ in CALLS}
             for way in WAYS}
    ratios: dict[str, dict[str, float]] = {}
    for name, *_ in CALLS:
        p50 = [{way: statistics.median(rnd[way][name]) for way in WAYS} for rnd in per_round]
        ratios[name] = {
            "loopback / in-process": statistics.median(r["loopback HTTP"] / r["in-process"] for r in p50),
            "in-process / static": statistics.median(r["in-process"] / r["static stub"] for r in p50)}
    return {"rounds": len(per_round), "calls_per_round": calls, "warmup_calls": warmup, "body_bytes": body_bytes,
            "client": "requests.Session", "table": table, "ratios": ratios}


def goals(result: dict) -> list[dict]:
    """The two goals, each judged on the slower of the two calls' medians of per-round ratios."""
    r = result["ratios"]
    faster = {name: r[name]["loopback / in-process"] for name in r}
    near = {name: r[name]["in-process / static"] for name in r}
    return [
        {"goal": f"in-process call at least {LOOPBACK_OVER_INPROCESS:g}x faster than loopback HTTP (client side, p50)",
         "measured": ", ".join(f"{k} x{v:.2f}" for k, v in faster.items())
         + f" (medians of {result['rounds']} per-round ratios)",
         "met": min(faster.values()) >= LOOPBACK_OVER_INPROCESS},
        {"goal": f"in-process call within {INPROCESS_OVER_STATIC:g}x of a static responses stub (client side, p50)",
         "measured": ", ".join(f"{k} x{v:.2f}" for k, v in near.items())
         + f" (medians of {result['rounds']} per-round ratios)",
         "met": max(near.values()) <= INPROCESS_OVER_STATIC},
    ]


def render(result: dict) -> list[str]:
    lines = ["", f"one call, client side ({result['client']}; {result['rounds']} interleaved rounds of "
                 f"{result['calls_per_round']:,} calls after {result['warmup_calls']} warm-up; µs):"]
    head = f"| {'call':<11} | {'way':<14} | {'p50 µs':>8} | {'mean µs':>8} |"
    lines += [head, "|" + "|".join("-" * len(c) for c in head.split("|")[1:-1]) + "|"]
    for name, *_ in CALLS:
        for way in WAYS:
            s = result["table"][way][name]
            lines.append(f"| {name:<11} | {way:<14} | {s['p50_us']:>8.0f} | {s['mean_us']:>8.0f} |")
    for name, r in result["ratios"].items():
        lines.append(f"  {name:<11} loopback / in-process x{r['loopback / in-process']:.2f}, "
                     f"in-process / static x{r['in-process / static']:.2f} (medians of per-round p50 ratios)")
    return lines


if __name__ == "__main__":
    figures = measure(rounds=3, calls=300, warmup=30)
    print("\n".join(render(figures)))
    print(json.dumps(goals(figures), indent=2))
