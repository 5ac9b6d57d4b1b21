"""What the journal's full entries cost: a request's headers and its answer recorded, or not.

One mock's app is called in this process, as ``mockchats serve``'s ASGI bridge calls it (the
environ built from an ASGI scope by ``mockchats.serving.asgi``, with a browser-sized header set;
the answer's chunks joined, as the bridge joins them), for ``listChats`` (GET /v1/chats?Take=20)
and ``createChat`` (POST /v1/chats), call by call (``time.perf_counter`` around each), two ways:
with full entries (as shipped), and without (the entries recorded as before they had ``headers``
and ``response``: :func:`_stripped` takes both out of each exchange just before the journal
records it, so the journal neither turns them into tuples nor holds them). The app itself serves
both ways alike: it still looks up the request's headers (one dict read) and joins the answer (a
join the bridge makes otherwise); the wrapper's own call lands on the "without" side, so the
difference shown is if anything under what keeping them costs. No network: what is left is the
app's own time, so the difference is the recording's share of it, not hidden in loopback noise.
The two ways run in many short interleaved rounds, each from a reset world, so a machine slowing
down mid-run moves both alike; the ratio and the difference are medians of per-round figures of
p50s.

Also measured: reading a full journal (1,000 listChats entries, as GET /_mock/requests turns them
into JSON-ready dicts) each way, and what those entries hold in memory (``tracemalloc``).
"""
from __future__ import annotations

import gc
import io
import json
import statistics
import time
import tracemalloc

from inprocess import _stats

WAYS = ("full entries", "without headers and answers")
#: Reads of the full journal, each way: the median is given.
READS = 5
#: The two calls: (name, method, path, JSON body).
CALLS = (("listChats", "GET", "/v1/chats?Take=20", None), ("createChat", "POST", "/v1/chats", {"message": "hi"}))
#: What a browser-ish client sends (requests sends five; a page sends a dozen).
HEADERS = [(b"host", b"127.0.0.1:8080"), (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"),
           (b"accept", b"application/json"), (b"accept-encoding", b"gzip, deflate, br"),
           (b"accept-language", b"en-GB,en;q=0.9"), (b"connection", b"keep-alive"),
           (b"authorization", b"Bearer alice-token"), (b"x-request-id", b"5b0a9f8e-2c1d-4a47-9a51-1f3c0d2e6b7a")]


def _scope(method: str, path: str, body: bytes) -> dict:
    """A scope as granian makes one: a new list of new (name, value) tuples each time."""
    target, _, query = path.partition("?")
    headers = [(bytes(name), bytes(value)) for name, value in HEADERS]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {"type": "http", "method": method, "path": target, "raw_path": target.encode(),
            "query_string": query.encode(), "headers": headers, "scheme": "http", "http_version": "1.1",
            "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 50000)}


def _caller(app):
    """One call of the app as the bridge makes it: environ from a new scope, chunks joined, then
    the young garbage collected at rest as ``mockchats serve`` does (:func:`measure` sets that up)."""
    from mockchats.serving.asgi import _environ, collect_at_rest

    def start_response(status, headers, exc_info=None):
        return None

    def call(method: str, path: str, body: bytes) -> bytes:
        environ, _, _ = _environ(_scope(method, path, body))
        environ["wsgi.input"] = io.BytesIO(body)
        chunks = app(environ, start_response)
        try:
            return b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            collect_at_rest()
    return call


def _stripped(journal):
    """``journal.record`` for the "without" way: each exchange recorded without the request's
    headers and the answer (its headers and body), as entries were before they had them."""
    record = type(journal).record

    def stripped(exchange) -> None:
        exchange.headers = ()
        exchange.response_headers = None
        exchange.response_body = None
        record(journal, exchange)
    return stripped


def _recording(journal, way: str) -> None:
    """The mock's journal set to record ``way``'s entries (full ones: the class's own record)."""
    if way == WAYS[0]:
        journal.__dict__.pop("record", None)
    else:
        journal.record = _stripped(journal)


def _time_calls(mock, calls: int, warmup: int) -> dict[str, list[float]]:
    call = _caller(mock.app)
    out: dict[str, list[float]] = {}
    for name, method, path, payload in CALLS:
        body = json.dumps(payload).encode() if payload is not None else b""
        for _ in range(warmup):
            call(method, path, body)
        samples = []
        for _ in range(calls):
            t0 = time.perf_counter()
            call(method, path, body)
            samples.append((time.perf_counter() - t0) * 1e6)
        out[name] = samples
    return out


def _journal_read(mock, entries: int) -> tuple[float, float]:
    """(ms to read ``entries`` listChats entries as GET /_mock/requests does, KiB they hold)."""
    call = _caller(mock.app)
    mock.reset()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(entries):
        call("GET", "/v1/chats?Take=20", b"")
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / 1024
    reads = []
    for _ in range(READS):
        t0 = time.perf_counter()
        mock.journal.entries()
        reads.append((time.perf_counter() - t0) * 1000)
    return statistics.median(reads), held


def measure(rounds: int, calls: int, warmup: int, entries: int = 1000) -> dict:
    import mockchats
    from mockchats.serving import asgi

    mock = mockchats.build(journal_size=entries)
    per_round: list[dict[str, dict[str, list[float]]]] = []
    # The collector as `mockchats serve` runs it (young collections, at rest between requests);
    # given back as it was afterwards, for whatever this process measures next.
    thresholds, rest_after = gc.get_threshold(), asgi._rest_after
    asgi.keep_collections_short()
    try:
        for r in range(rounds):
            order = list(WAYS) if r % 2 == 0 else list(reversed(WAYS))
            timed = {}
            for way in order:
                _recording(mock.journal, way)
                mock.reset()
                timed[way] = _time_calls(mock, calls, warmup)
            per_round.append(timed)
        reads = {}
        for way in WAYS:
            _recording(mock.journal, way)
            reads[way] = _journal_read(mock, entries)
    finally:
        _recording(mock.journal, WAYS[0])
        gc.set_threshold(*thresholds)
        asgi._rest_after = rest_after
        gc.unfreeze()
    return summarize(per_round, calls, warmup, reads, entries)


def summarize(per_round: list[dict], calls: int, warmup: int, reads: dict, entries: int) -> dict:
    table = {way: {name: _stats([x for rnd in per_round for x in rnd[way][name]]) for name, *_ in CALLS}
             for way in WAYS}
    ratios, extra = {}, {}
    for name, *_ in CALLS:
        p50 = [{way: statistics.median(rnd[way][name]) for way in WAYS} for rnd in per_round]
        ratios[name] = statistics.median(r[WAYS[0]] / r[WAYS[1]] for r in p50)
        extra[name] = statistics.median(r[WAYS[0]] - r[WAYS[1]] for r in p50)
    return {"rounds": len(per_round), "calls_per_round": calls, "warmup_calls": warmup, "table": table,
            "full_over_without": ratios, "extra_us": extra, "journal_entries": entries,
            "read_ms": {way: reads[way][0] for way in WAYS}, "held_kib": {way: reads[way][1] for way in WAYS}}


def render(result: dict) -> list[str]:
    lines = ["", f"journal entries with and without the request's headers and the answer (the app in process, "
                 f"{result['rounds']} interleaved rounds of {result['calls_per_round']:,} calls; µs per call):"]
    head = f"| {'call':<11} | {'entries':<27} | {'p50 µs':>8} | {'mean µs':>8} |"
    lines += [head, "|" + "|".join("-" * len(c) for c in head.split("|")[1:-1]) + "|"]
    for name, *_ in CALLS:
        for way in WAYS:
            s = result["table"][way][name]
            lines.append(f"| {name:<11} | {way:<27} | {s['p50_us']:>8.1f} | {s['mean_us']:>8.1f} |")
    for name in result["full_over_without"]:
        lines.append(f"  {name:<11} full / without x{result['full_over_without'][name]:.3f} "
                     f"({result['extra_us'][name]:+.1f} µs a call; medians of per-round p50s)")
    n = result["journal_entries"]
    full, without = WAYS
    lines.append(f"  a full journal ({n:,} listChats entries): read in {result['read_ms'][full]:.0f} ms "
                 f"(without: {result['read_ms'][without]:.0f} ms), holding {result['held_kib'][full] / 1024:.1f} MiB "
                 f"(without: {result['held_kib'][without] / 1024:.1f} MiB)")
    return lines


if __name__ == "__main__":
    print("\n".join(render(measure(rounds=20, calls=500, warmup=50))))
