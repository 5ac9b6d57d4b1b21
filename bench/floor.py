"""The floor: a bare Flask app on the server ``mockchats serve`` runs, answering fixed copies.

No spec, no binding, no state, no journal, no logging: what any Python mock on this stack pays
at least. ``python bench/floor.py PORT PAYLOADS.json`` where the JSON file holds the
bodies to answer (captured from a real mockchats): ``list``, ``create``, ``react``,
``reactions``. It is served as ``mockchats serve`` serves: granian, one worker, through
mockchats.serving.asgi.
"""
from __future__ import annotations

import json
import sys

from flask import Flask, Response

from mockchats.serving.server import GranianServer


class _Fixed:
    """What GranianServer needs of a mock: an app, faults that never delay, a body limit."""

    def __init__(self, app: Flask):
        self.app = app
        self.faults = self

    @staticmethod
    def delaying() -> bool:
        return False

    @staticmethod
    def body_limit(path: str) -> int:
        return 1024 * 1024


def create_floor_app(payloads: dict) -> Flask:
    app = Flask("floor")
    bodies = {name: json.dumps(value, separators=(",", ":")).encode() for name, value in payloads.items()}

    def answer(name: str) -> Response:
        return Response(bodies[name], 200, content_type="application/json; charset=utf-8")

    app.add_url_rule("/v1/chats", "list", lambda: answer("list"), methods=["GET"])
    app.add_url_rule("/v1/chats", "create", lambda: answer("create"), methods=["POST"])
    app.add_url_rule("/v1/chats/reactions", "reactions", lambda: answer("reactions"), methods=["GET"])
    app.add_url_rule("/v1/chats/<chat_id>/reactions", "react", lambda chat_id: answer("react"),
                     methods=["POST"])
    app.add_url_rule("/v1/chats/<chat_id>", "delete", lambda chat_id: Response(status=204),
                     methods=["DELETE"])
    return app


if __name__ == "__main__":
    port, payload_file = int(sys.argv[1]), sys.argv[2]
    with open(payload_file, encoding="utf-8") as f:
        floor = create_floor_app(json.load(f))
    GranianServer(_Fixed(floor), port=port).serve_forever()
