"""The control plane's JSON Schemas: one source for its OpenAPI document and its validation.

Request schemas validate ``/_mock`` bodies; all of them become the components of
``GET /_mock/openapi.json``. The fixture format's own JSON Schema is included, its
``definitions`` renamed into OpenAPI components.
"""
from __future__ import annotations

import json

from ..chats.auth import AUTH_MODES
from ..chats.models import ROLES
from ..core.faults import AFTER, BEFORE
from ..core.resources import FIXTURE_SCHEMA_PATH


def _fixture_schemas() -> dict:
    """The fixture JSON Schema as OpenAPI components (``#/definitions/x`` -> ``Fixture<X>``)."""
    raw = FIXTURE_SCHEMA_PATH.read_text(encoding="utf-8")
    for name in json.loads(raw)["definitions"]:
        raw = raw.replace(f'"#/definitions/{name}"',
                          f'"#/components/schemas/Fixture{name[:1].upper()}{name[1:]}"')
    document = json.loads(raw)
    definitions = document.pop("definitions")
    for key in ("$schema", "$id"):
        document.pop(key, None)
    schemas = {"FixtureDocument": document}
    schemas.update({f"Fixture{name[:1].upper()}{name[1:]}": schema for name, schema in definitions.items()})
    return schemas


_INSTANT = {"type": "string", "format": "date-time", "example": "2025-06-26T08:48:07.13Z"}
#: Every schema of the control plane; request schemas also validate the bodies.
SCHEMAS: dict[str, dict] = {
    "ResetRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "seed": {"type": "integer", "description": "Seed for generated data."},
            "scenario": {"type": "string", "description": "A shipped scenario to reset to."},
            "auth": {"type": "string", "enum": list(AUTH_MODES)},
        },
    },
    "Status": {
        "type": "object", "required": ["auth", "seed", "scenario", "sessions", "messages"],
        "properties": {
            "auth": {"type": "string", "enum": list(AUTH_MODES)},
            "seed": {"type": "integer"},
            "scenario": {"type": "string", "nullable": True},
            "sessions": {"type": "integer", "description": "How many sessions the state holds."},
            "messages": {"type": "integer", "description": "How many messages, in all sessions."},
        },
    },
    "Scenario": {
        "type": "object", "required": ["name", "description"],
        "properties": {"name": {"type": "string"}, "description": {"type": "string"}},
    },
    "ScenarioLoad": {
        "type": "object", "additionalProperties": False,
        "properties": {"seed": {"type": "integer"}},
    },
    "OwnScenario": {
        "type": "object", "additionalProperties": False,
        "description": "A partner's scenario: a fixture file on the mock's machine, or the document itself.",
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "document": {"$ref": "#/components/schemas/FixtureDocument"},
            "seed": {"type": "integer"},
        },
        "oneOf": [{"required": ["path"]}, {"required": ["document"]}],
    },
    "NewSession": {
        "type": "object", "additionalProperties": False, "required": ["users"],
        "properties": {
            "users": {
                "type": "array", "minItems": 1,
                "items": {
                    "type": "object", "additionalProperties": False, "required": ["name", "role"],
                    "properties": {"name": {"type": "string", "minLength": 1},
                                   "role": {"type": "string", "enum": list(ROLES)}},
                },
            },
        },
    },
    "SessionUser": {
        "type": "object", "required": ["id", "name", "role", "token"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                       "role": {"type": "string", "enum": list(ROLES)},
                       "token": {"type": "string", "nullable": True}},
    },
    "Session": {
        "type": "object", "required": ["sessionId", "users", "messages"],
        "properties": {
            "sessionId": {"type": "string"},
            "users": {"type": "array", "items": {"$ref": "#/components/schemas/SessionUser"}},
            "messages": {"type": "integer", "description": "How many messages the session holds."},
        },
    },
    "PinRequest": {
        "type": "object", "additionalProperties": False, "required": ["chatId"],
        "properties": {"chatId": {"type": "string", "minLength": 1}},
    },
    "Pin": {
        "type": "object", "required": ["chatId", "pinId"],
        "properties": {"chatId": {"type": "string"}, "pinId": {"type": "string"}},
    },
    "SessionPin": {
        "type": "object", "required": ["sessionId", "chatId", "pinId"],
        "properties": {"sessionId": {"type": "string", "description": "The session that holds the message."},
                       "chatId": {"type": "string"}, "pinId": {"type": "string"}},
    },
    "WalletTokenRequest": {
        "type": "object", "additionalProperties": False, "required": ["address"],
        "properties": {"address": {"type": "string", "pattern": "^0[xX][0-9a-fA-F]{40}$",
                                   "example": "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4",
                                   "description": "An Ethereum address: 0x and 40 hex digits, any letter case."}},
    },
    "WalletToken": {
        "type": "object", "required": ["token"],
        "properties": {"token": {"type": "string",
                                 "description": "A wallet token for the address, as POST /v1/wallet-proof/verify "
                                                "answers it (valid 5 minutes of the mock's clock)."}},
    },
    "HubConnection": {
        "type": "object", "required": ["connectionId", "hub", "sessionId", "userId", "transport", "connectedAt"],
        "properties": {
            "connectionId": {"type": "string"}, "hub": {"type": "string", "enum": ["session", "chat"]},
            "sessionId": {"type": "string"}, "userId": {"type": "string"},
            "transport": {"type": "string", "enum": ["WebSockets", "ServerSentEvents", "LongPolling"]},
            "connectedAt": {"type": "string", "format": "date-time"},
        },
    },
    "HubEventRequest": {
        "type": "object", "additionalProperties": False, "required": ["sessionId", "eventType"],
        "description": "Any event, sent to a session's connections on a hub as the mock sends its own: an "
                       "invocation of `eventType` with one argument, `{sessionId, eventType, data}`.",
        "properties": {
            "hub": {"type": "string", "enum": ["session", "chat"], "default": "session"},
            "sessionId": {"type": "string", "minLength": 1},
            "eventType": {"type": "string", "minLength": 1, "maxLength": 200, "example": "FileAdded"},
            "data": {"type": "object", "default": {}},
        },
    },
    "HubEventSent": {
        "type": "object", "required": ["delivered"],
        "properties": {"delivered": {"type": "integer", "minimum": 0,
                                     "description": "How many connections it was handed to."}},
    },
    "HubCloseRequest": {
        "type": "object", "additionalProperties": False,
        "description": "Which connections to end (all of them when nothing is given), and how: a Close "
                       "(with `error` and `allowReconnect` as given), or with `drop` the socket closed "
                       "with no Close, as a lost network would.",
        "properties": {
            "hub": {"type": "string", "enum": ["session", "chat"]},
            "sessionId": {"type": "string", "minLength": 1},
            "userId": {"type": "string", "minLength": 1},
            "allowReconnect": {"type": "boolean", "default": False},
            "error": {"type": "string", "minLength": 1, "maxLength": 1000},
            "drop": {"type": "boolean", "default": False},
        },
    },
    "HubEventRecord": {
        "type": "object", "required": ["hub", "sessionId", "eventType", "data", "delivered", "sentAt"],
        "description": "An event a hub sent to a session's connections: the envelope's fields, and how many "
                       "connections it reached.",
        "properties": {
            "hub": {"type": "string", "enum": ["session", "chat"]},
            "sessionId": {"type": "string"}, "eventType": {"type": "string"},
            "data": {"type": "object"},
            "delivered": {"type": "integer", "minimum": 0},
            "sentAt": {"type": "string", "format": "date-time", "description": "On the mock's clock."},
        },
    },
    "HubsClosed": {
        "type": "object", "required": ["closed"],
        "properties": {"closed": {"type": "integer", "minimum": 0}},
    },
    "Index": {
        "type": "object", "description": "Where each part of the control plane is (paths on this server).",
        "required": ["openapi", "status", "reset", "state", "scenarios", "sessions", "pins", "faults",
                     "clock", "requests", "walletTokens", "apiKeys", "hubs", "ui"],
        "properties": {
            "openapi": {"type": "string", "example": "/_mock/openapi.json",
                        "description": "This control plane's OpenAPI document."},
            "status": {"$ref": "#/components/schemas/Status"},
            **{name: {"type": "string", "example": f"/_mock/{name}"}
               for name in ("reset", "state", "scenarios", "sessions", "pins", "faults", "clock", "requests")},
            "walletTokens": {"type": "string", "example": "/_mock/wallet-tokens"},
            "hubs": {"type": "string", "example": "/_mock/hubs/connections"},
            "apiKeys": {"type": "string", "example": "/_mock/api-keys"},
            "ui": {"type": "string", "example": "/_mock/ui",
                   "description": "The dashboard: a page for a browser, served without the admin token."},
        },
    },
    "FaultRequest": {
        "type": "object", "additionalProperties": False,
        "description": "Match by operationId, or by method and/or path (`{param}` placeholders allowed); "
                       "then answer `status` (with `body` and `headers`), wait `delayMs`, or `drop` "
                       "the connection.",
        "properties": {
            "operationId": {"type": "string", "minLength": 1},
            "method": {"type": "string", "minLength": 1},
            "path": {"type": "string", "pattern": "^/"},
            "status": {"type": "integer", "minimum": 200, "maximum": 599,
                       "description": "A final status: a 1xx answer would leave the client waiting."},
            "body": {"description": "Sent as JSON, as given (default: a problem+json body)."},
            "headers": {"type": "object", "description": "Header names are tokens; values hold no control "
                                                         "characters; hop-by-hop headers and Content-Length "
                                                         "are refused.",
                        "additionalProperties": {"type": "string", "pattern": "^[^\\x00-\\x08\\x0a-\\x1f\\x7f]*$"}},
            "delayMs": {"type": "integer", "minimum": 0, "maximum": 60000},
            "drop": {"type": "boolean"},
            "when": {"type": "string", "enum": [BEFORE, AFTER], "default": BEFORE},
            "times": {"type": "integer", "minimum": 1},
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "anyOf": [{"required": ["operationId"]}, {"required": ["method"]}, {"required": ["path"]}],
    },
    "Fault": {
        "type": "object",
        "required": ["id", "operationId", "method", "path", "status", "body", "headers", "delayMs",
                     "drop", "when", "times", "probability", "fired"],
        "properties": {
            "id": {"type": "string"},
            "operationId": {"type": "string", "nullable": True},
            "method": {"type": "string", "nullable": True},
            "path": {"type": "string", "nullable": True},
            "status": {"type": "integer", "nullable": True},
            "body": {"nullable": True},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "delayMs": {"type": "integer"},
            "drop": {"type": "boolean"},
            "when": {"type": "string", "enum": [BEFORE, AFTER]},
            "times": {"type": "integer", "nullable": True},
            "probability": {"type": "number", "nullable": True},
            "fired": {"type": "integer", "description": "How often the fault has struck."},
        },
    },
    "ClockRequest": {
        "type": "object", "additionalProperties": False,
        "description": "Exactly one of: `freeze` at an instant (or `\"now\"`), `advanceSeconds`, "
                       "`real: true` to return to real time.",
        "properties": {
            "freeze": {"type": "string", "minLength": 1},
            "advanceSeconds": {"type": "number", "minimum": 0},
            "real": {"type": "boolean", "enum": [True]},
        },
        "oneOf": [{"required": ["freeze"]}, {"required": ["advanceSeconds"]}, {"required": ["real"]}],
    },
    "Clock": {
        "type": "object", "required": ["now", "frozen"],
        "properties": {"now": _INSTANT, "frozen": {"type": "boolean"}},
    },
    "JournalEntry": {
        "description": "A REST request (`kind` http), or with `kind=hub` asked for, one step of a hub "
                       "connection (`kind` hub).",
        "oneOf": [
            {
                "type": "object",
                "required": ["id", "time", "kind", "method", "path", "query", "headers", "body", "json", "user",
                             "operationId", "status", "durationMs", "violations", "warnings", "response",
                             "bodyTruncated"],
                "properties": {
                    "id": {"type": "integer"},
                    "time": _INSTANT,
                    "kind": {"type": "string", "enum": ["http"]},
                    "method": {"type": "string"},
                    "path": {"type": "string", "description": "As requested, e.g. /v1/chats."},
                    "query": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                              "description": "The admin token, wherever it appears, shows as [redacted] (so in "
                                             "the headers and the bodies)."},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"},
                                "description": "The request's headers as sent, e.g. {\"Content-Type\": "
                                               "\"application/json\"}; a repeated header's values joined with "
                                               "\", \"."},
                    "body": {"type": "string", "nullable": True,
                             "description": "The raw body as UTF-8 text (the first 64 KiB); null when empty."},
                    "bodyTruncated": {"type": "boolean",
                                      "description": "The body was longer than 64 KiB: `body` is its start."},
                    "json": {"nullable": True,
                             "description": "The body parsed as JSON; null when it is empty, not JSON (a body cut "
                                            "at 64 KiB is not), or JSON the mock does not carry: a number past "
                                            "a double's range or 4300 digits, NaN or Infinity, nesting deeper "
                                            "than 64, or a lone UTF-16 surrogate in a string."},
                    "user": {
                        "type": "object", "nullable": True, "required": ["id", "name", "role"],
                        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                       "role": {"type": "string"}},
                    },
                    "operationId": {"type": "string", "nullable": True},
                    "status": {"type": "integer", "nullable": True,
                               "description": "null when a fault dropped the connection."},
                    "durationMs": {"type": "number"},
                    "violations": {"type": "array", "items": {"type": "string"},
                                   "description": "What the real service would refuse."},
                    "warnings": {"type": "array", "items": {"type": "string"},
                                 "description": "Accepted, but spelled otherwise than the contract."},
                    "response": {
                        "type": "object", "required": ["status", "headers", "body", "bodyTruncated"],
                        "description": "The answer the client got.",
                        "properties": {
                            "status": {"type": "integer", "nullable": True,
                                       "description": "null when a fault dropped the connection."},
                            "headers": {"type": "object", "additionalProperties": {"type": "string"},
                                        "description": "As the mock's app gave them to the server, which adds "
                                                       "its Server and Date; {} when dropped."},
                            "body": {"type": "string", "nullable": True,
                                     "description": "As UTF-8 text (the first 64 KiB); null when empty or "
                                                    "dropped."},
                            "bodyTruncated": {"type": "boolean",
                                              "description": "The body was longer than 64 KiB: `body` is its start."},
                        },
                    },
                },
            },
            {
                "type": "object",
                "required": ["id", "time", "kind", "hub", "action", "connectionId", "sessionId", "userId", "transport",
                             "detail"],
                "properties": {
                    "id": {"type": "integer", "description": "From the same sequence as the requests'."},
                    "time": _INSTANT,
                    "kind": {"type": "string", "enum": ["hub"]},
                    "hub": {"type": "string", "enum": ["session", "chat"]},
                    "action": {"type": "string", "enum": ["negotiate", "connect", "disconnect", "sent", "received"]},
                    "connectionId": {"type": "string", "nullable": True},
                    "sessionId": {"type": "string", "nullable": True},
                    "userId": {"type": "string", "nullable": True},
                    "transport": {"type": "string", "nullable": True,
                                  "description": "WebSockets, ServerSentEvents or LongPolling; null before one "
                                                 "is picked."},
                    "detail": {"type": "object",
                               "description": "negotiate {status, version}, connect {}, disconnect {reason}, "
                                              "sent {target, arguments}, received {message}."},
                },
            },
        ],
    },
    "Problem": {
        "type": "object", "required": ["title", "status", "traceId"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "object",
                       "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "traceId": {"type": "string"},
        },
    },
    **_fixture_schemas(),
    # A session's messages as GET /v1/chats lists them (PagedMessagesDto and what it holds, in
    # openapi/chats.yaml), so a dashboard renders one shape.
    "MessagePage": {
        "type": "object", "additionalProperties": False, "required": ["totalCount", "messages"],
        "description": "As GET /v1/chats answers it (PagedMessagesDto).",
        "properties": {
            "totalCount": {"type": "integer", "description": "How many messages the whole session holds."},
            "messages": {"type": "array", "maxItems": 20, "items": {"$ref": "#/components/schemas/Message"}},
        },
    },
    "Message": {
        "type": "object", "additionalProperties": False,
        "required": ["chatId", "message", "createdAt", "user", "pinned", "reactions"],
        "description": "A message as GET /v1/chats lists it (MessageDto).",
        "properties": {
            "chatId": {"type": "string"},
            "message": {"type": "string"},
            "createdAt": _INSTANT,
            "user": {"type": "object", "additionalProperties": False, "required": ["id", "name"],
                     "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
            "pinned": {"type": "object", "nullable": True, "additionalProperties": False, "required": ["id"],
                       "properties": {"id": {"type": "string", "description": "The pin's id."}},
                       "description": "The message's pin, or null when it is not pinned."},
            "reactions": {
                "type": "array",
                "items": {
                    "type": "object", "additionalProperties": False, "required": ["name", "count", "users"],
                    "properties": {
                        "name": {"type": "string", "enum": [":thumbs_up:", ":thumbs_down:"]},
                        "count": {"type": "integer", "minimum": 1},
                        "users": {"type": "array", "items": {
                            "type": "object", "additionalProperties": False, "required": ["id"],
                            "properties": {"id": {"type": "string"}}}},
                    },
                },
            },
        },
    },
}
