"""The OpenAPI document: the single source of routes, parameters and schemas.

Loaded once at start-up (the shipped one once per process: :func:`default_spec`). Each
operation becomes an :class:`Operation` with its local ``$ref``s resolved, so the binder and the
router read plain dictionaries; :class:`Routes` is the spec's one route table.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ..aspnet.routing import RouteTable
from .resources import SESSIONS_SPEC_PATH, SPEC_PATH

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, as the app needs it."""

    operation_id: str
    method: str  # upper case, e.g. "GET"
    path: str  # relative to the base path, e.g. "/chats/{chatId}"
    parameters: tuple[dict, ...]
    body_schema: dict | None  # resolved schema of the JSON request body
    body_schema_name: str | None  # its component name, e.g. "CreateChatRequest"
    success_status: int
    responses: dict = field(repr=False)  # status (str) -> resolved response object
    #: The security schemes a call must satisfy together (the operation's first requirement,
    #: else the document's); empty for an operation open to anyone (``security: []``).
    security: tuple[str, ...] = ()

    def query_parameters(self) -> list[dict]:
        """The operation's query parameters, resolved."""
        return [p for p in self.parameters if p["in"] == "query"]


class Routes:
    """The spec's route table, built once per spec: each path template (base path included) with
    its operations by method, matched as ASP.NET Core matches paths (:mod:`..aspnet.routing`).

    The pipeline routes requests by it, the contract judges paths by it, and the control plane
    checks a fault's path against it.
    """

    def __init__(self, base_path: str, operations: list[Operation]):
        #: path template -> method -> operation, in the spec's order.
        self.by_template: dict[str, dict[str, Operation]] = {}
        for op in operations:
            self.by_template.setdefault(base_path + op.path, {})[op.method] = op
        #: The spec's order of methods: the order Allow lists them in, as ASP.NET lists actions.
        self.method_order = list(dict.fromkeys(op.method for op in operations))
        self._table = RouteTable([(template, template) for template in self.by_template])

    def match(self, segments: list[str]) -> list[tuple[str, list[str]]]:
        """Every (template, canonical segments) matching a path's segments, literal routes first."""
        return list(self._table.matches(segments))

    def select(self, method: str, matches: list[tuple[str, list[str]]]) -> tuple[Operation, list[str]] | None:
        """The operation ``method`` (upper case) reaches among ``matches``, with its route's
        canonical segments; None when no matched route takes the method (a 405, or a 404)."""
        for template, canonical in matches:
            op = self.by_template[template].get(method)
            if op is not None:
                return op, canonical
        return None

    def allowed(self, matches: list[tuple[str, list[str]]]) -> list[str]:
        """The methods of every matched route, in the spec's order: a 405's Allow, as ASP.NET lists them."""
        taken = {method for template, _ in matches for method in self.by_template[template]}
        return [method for method in self.method_order if method in taken]


class Spec:
    """The parsed OpenAPI document and its operations."""

    def __init__(self, path: Path | str = SPEC_PATH):
        self.path = Path(path)
        with self.path.open(encoding="utf-8") as handle:
            self.document: dict = yaml.safe_load(handle)
        public = self.document["servers"][0]["url"]
        #: The path prefix every operation lives under, e.g. "/v1".
        self.base_path = urlsplit(public).path.rstrip("/")
        self.operations: list[Operation] = list(self._operations())
        self.routes = Routes(self.base_path, self.operations)

    @functools.cached_property
    def schemas(self) -> dict[str, dict]:
        """The document's component schemas, resolved, by name: a nested DTO's name is lost once
        resolved, and binding errors print it as ASP.NET prints the class."""
        return {name: self.resolve(schema) for name, schema in self.document.get("components", {})
                .get("schemas", {}).items()}

    def resolve(self, node: object) -> object:
        """Return ``node`` with every local ``$ref`` replaced by what it points at."""
        if isinstance(node, dict):
            if "$ref" in node:
                return self.resolve(self._lookup(node["$ref"]))
            return {key: self.resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        return node

    @staticmethod
    def example(schema: dict) -> object:
        """A minimal value that conforms to a resolved ``schema`` (for ``Prefer: code=``)."""
        if "example" in schema:
            return schema["example"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            properties = schema.get("properties", {})
            return {name: Spec.example(properties[name]) for name in schema.get("required", [])}
        if kind == "array":
            return [Spec.example(schema["items"])] * schema.get("minItems", 0)
        if kind == "integer":
            return max(0, schema.get("minimum", 0))
        if kind == "boolean":
            return False
        if kind == "string":
            return "2025-06-26T08:48:07.13Z" if schema.get("format") == "date-time" else "string"
        return None

    def served(self, base_url: str) -> dict:
        """The document as the mock serves it: its own base URL first in ``servers``."""
        document = copy.deepcopy(self.document)
        document["servers"] = [
            {"url": base_url, "description": "this mockchats server"},
            *self.document["servers"],
        ]
        return document

    def _lookup(self, ref: str):
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, not {ref!r}")
        node = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _operations(self):
        default_security = self.document.get("security", [])
        for path, item in self.document["paths"].items():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                raw = item[method]
                body_schema = body_name = None
                body = raw.get("requestBody", {})
                body = self._lookup(body["$ref"]) if "$ref" in body else body
                if "application/json" in body.get("content", {}):
                    schema = body["content"]["application/json"]["schema"]
                    body_name = schema.get("$ref", "").rsplit("/", 1)[-1] or None
                    body_schema = self.resolve(schema)
                successes = sorted(int(s) for s in raw["responses"] if s.startswith("2"))
                if len(successes) != 1:
                    raise ValueError(f"{raw['operationId']}: expected one 2xx response")
                yield Operation(
                    operation_id=raw["operationId"],
                    method=method.upper(),
                    path=path,
                    parameters=tuple(self.resolve(shared + raw.get("parameters", []))),
                    body_schema=body_schema,
                    body_schema_name=body_name,
                    success_status=successes[0],
                    responses=self.resolve(raw["responses"]),
                    security=tuple(next(iter(raw.get("security", default_security)), {})),
                )


@functools.lru_cache(maxsize=1)
def default_spec() -> Spec:
    """The shipped ``openapi/chats.yaml``, parsed once per process: the app and the contract share it."""
    return Spec()


@functools.lru_cache(maxsize=1)
def sessions_spec() -> Spec:
    """The shipped ``openapi/sessions.yaml`` (the Session API), parsed once per process."""
    return Spec(SESSIONS_SPEC_PATH)


def default_specs() -> tuple[Spec, ...]:
    """Every document the mock serves, in routing order: the Chats API, then the Session API."""
    return default_spec(), sessions_spec()
