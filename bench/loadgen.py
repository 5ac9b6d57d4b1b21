"""A small load generator for when wrk is not there: threads, each with one keep-alive
``http.client`` connection, for a fixed time. Prints one JSON object with the same figures the
bench reads from wrk (requests, rps, p50_ms, p99_ms, non2xx, errors).

Much slower than wrk (one Python process, the GIL): the smoke mode uses it so the bench runs on a
machine without wrk; its figures are not comparable to wrk's.

    python bench/loadgen.py http://127.0.0.1:8080/v1 --scenario get --path '/chats?Take=20'
"""
from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlsplit

CREATE = json.dumps({"message": "Hello from the bench"})


class Worker(threading.Thread):
    def __init__(self, host: str, port: int, base: str, scenario: str, path: str, deadline: float):
        super().__init__(daemon=True)
        self.host, self.port, self.base, self.scenario, self.path = host, port, base, scenario, path
        self.deadline = deadline
        self.latencies: list[float] = []
        self.non2xx = 0
        self.errors = 0
        self.conn = None

    def call(self, method: str, path: str, token: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            self.conn.request(method, self.base + path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.errors += 1
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return 0, b""
        self.latencies.append((time.perf_counter() - started) * 1000)
        if not 200 <= response.status < 300:
            self.non2xx += 1
        return response.status, data

    def run(self) -> None:
        while time.perf_counter() < self.deadline:
            if self.scenario == "get":
                self.call("GET", self.path, "host-token")
            elif self.scenario == "post":
                self.call("POST", self.path, "alice-token", CREATE)
            else:
                self.flow()

    def flow(self) -> None:
        status, data = self.call("POST", "/chats", "alice-token", json.dumps({"message": "A partner flow message"}))
        if status != 200:
            return
        chat_id = json.loads(data)["chatId"]
        self.call("POST", f"/chats/{chat_id}/reactions", "bob-token", json.dumps({"reaction": ":thumbs_up:"}))
        self.call("GET", "/chats?Take=20", "bob-token")
        self.call("GET", f"/chats/reactions?chatIds={chat_id}", "bob-token")
        self.call("DELETE", f"/chats/{chat_id}", "alice-token")


def percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="base URL, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--scenario", choices=["get", "post", "flow"], default="get")
    parser.add_argument("--path", default="/chats?Take=20", help="path under the base URL (get, post)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    url = urlsplit(args.url)
    base = url.path.rstrip("/")
    deadline = time.perf_counter() + args.duration
    started = time.perf_counter()
    workers = [Worker(url.hostname, url.port or 80, base, args.scenario, args.path, deadline)
               for _ in range(args.connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(x for w in workers for x in w.latencies)
    print(json.dumps({
        "requests": len(latencies), "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
        "non2xx": sum(w.non2xx for w in workers), "errors": sum(w.errors for w in workers),
    }))


if __name__ == "__main__":
    main()
