"""Request binding and validation, as ASP.NET Core's [ApiController] model binding does it.

One :class:`RequestBinder` per operation is built at start-up from the spec, with
its jsonschema validators compiled once. ``bind_query`` and ``bind_body`` turn a
request's query and body into the typed arguments of the operation, or raise
:class:`BindingFailed` with the ModelState errors the real service would answer
(keys and message templates as the framework writes them). Binding follows the framework's habits: query keys and
JSON property names match case-insensitively (at every level of nested objects), values parse as
.NET parses them, text length counts UTF-16 code units, and JSON deeper than 32 levels is refused.
"""
from __future__ import annotations

import functools
import itertools
import json
import re
import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import habits
from .habits import DotNetValidator
from .routing import query_items

if TYPE_CHECKING:  # types only: the binder is given an operation, it never reads a spec
    from ..core.spec import Operation

#: MvcOptions.MaxModelBindingRecursionDepth, the MVC JsonSerializerOptions.MaxDepth.
MAX_JSON_DEPTH = 32
#: The name of the [FromBody] action parameter: the key of its "field is required" error.
BODY_PARAMETER = "request"
#: Namespace the backend's DTO types are assumed to live in (shown in conversion errors).
DTO_NAMESPACE = "QuickSync.Api.Models"
#: The .NET type a body array is assumed to be (a guess: the contract shows only ``string[]``-like arrays).
COLLECTION_TYPE = "System.Collections.Generic.List`1[{}]"
#: A query parameter's vendor extension: ``parameter`` when it binds to an action parameter of its
#: own (``chain``), ``property`` (the default) when to a property of a [FromQuery] model (``Take``).
#: The framework words an unparseable value differently for the two.
BOUND_AS = "x-aspnet-bound-as"

#: Ten digits or more is past any index a query can reach (indices bind up to the first gap).
_INDEXED_KEY = re.compile(r"(.+)\[([0-9]{1,9})\]")
_CHARSET = re.compile(r"charset\s*=\s*([^;\s]+)", re.IGNORECASE)
_JSON_MEDIA = re.compile(r"^(application/json|text/json|application/[^/;\s]+\+json)$")
#: Which DataAnnotations attribute each JSON Schema keyword of a body stands for.
_ANNOTATION_OF = {"required": "required", "minLength": "required", "pattern": "required",
                  "maxLength": "maxLength", "enum": "allowed"}
#: What a request body schema may say at the object level; the rest is on its properties.
#: (Undeclared properties are dropped while binding, so additionalProperties never applies.)
_BODY_KEYWORDS = {"type", "required", "properties", "additionalProperties", "description", "title"}
_DOTNET_TYPES = {"string": "System.String", "integer": "System.Int32", "boolean": "System.Boolean"}
#: JSON types bound to .NET value types: a null is no value for them unless nullable (``int?``).
_VALUE_TYPES = ("integer", "boolean")
_CONTAINERS = ("object", "array")
#: What a schema inside a body object or array may say: its shape and documentation, no rules.
_SHAPE_KEYWORDS = {"type", "format", "nullable", "properties", "additionalProperties", "items",
                   "description", "title", "example", "deprecated"}
#: What json.loads leaves of an escaped lone surrogate ("\ud800"); a valid pair becomes one character.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: The whitespace JSON allows between tokens (Python's str.strip() removes more).
_JSON_BLANKS = " \t\r\n"


class BindingFailed(Exception):
    """The request cannot reach the operation: a 400 with ``errors``, or a 415."""

    def __init__(self, status: int, errors: OrderedDict[str, list[str]] | None = None):
        super().__init__(status, errors)
        self.status = status
        self.errors = errors or OrderedDict()


def _contract_text(value: object) -> str:
    """How the contract writes a bound query value (booleans as true/false)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _not_valid(value: str, name: str, bound_as: str) -> str:
    """ModelState's message for a value that does not parse: it names a property, never a parameter."""
    return habits.value_not_valid(value) if bound_as == "parameter" else habits.value_not_valid_for(value, name)


def pascal_case(name: str) -> str:
    """The C# property name behind a camelCase JSON name (``message`` -> ``Message``)."""
    return name[:1].upper() + name[1:]


class RequestBinder:
    """Binds the query and JSON body of one operation."""

    def __init__(self, operation: Operation, components: Mapping[str, dict] | None = None):
        """``components``: the document's component schemas, resolved, by name; a nested DTO is
        named after the one it equals (``SessionRules``) in conversion errors, as the root is
        after ``operation.body_schema_name``. Without them a nested DTO is named by its ``title``."""
        self.operation = operation
        self._query = {p["name"].casefold(): p for p in operation.query_parameters()}
        self._query_validators = {p["name"]: DotNetValidator(p["schema"]) for p in self._query.values()}
        # Which ModelState message an unparseable value gets depends on what it binds to.
        self._query_bound_as = {p["name"]: p.get(BOUND_AS, "property") for p in self._query.values()}
        odd = {name: how for name, how in self._query_bound_as.items() if how not in ("property", "parameter")}
        if odd:
            raise ValueError(f"{operation.operation_id}: {BOUND_AS} must be property or parameter, not {odd}")
        # A scalar query value is valid or not on its own, and clients repeat the same few
        # values (Take=20, Ascending=false): remember each verdict instead of re-running it.
        self._query_failure = functools.lru_cache(maxsize=4096)(self._first_query_failure)
        # Whole query strings repeat even more (the same page, polled): bind each one once.
        self._bound_query_string = functools.lru_cache(maxsize=4096)(self._bind_query_string)
        self._body = operation.body_schema
        # DataAnnotations sit on properties: each property's rules are checked on its own
        # value (a validator per property, no walk through the object), [Required] by name.
        unchecked = set(self._body or {}) - _BODY_KEYWORDS
        if unchecked:
            raise ValueError(f"{operation.operation_id}: body schema keywords {sorted(unchecked)} are not bound")
        self._required = tuple((self._body or {}).get("required", ()))
        # Nested objects and arrays are bound (converted, names matched) but carry no
        # DataAnnotations here: a rule inside one would go unchecked, so it is refused.
        self._property_validators = {
            name: DotNetValidator(schema) for name, schema in (self._body or {}).get("properties", {}).items()
            if schema.get("type") not in _CONTAINERS
        }
        #: id(object schema) -> its properties by case-folded name: (contract name, schema).
        self._members: dict[int, dict[str, tuple[str, dict]]] = {}
        #: id(object schema) -> the DTO's .NET type name.
        self._dto_types: dict[int, str] = {}
        self._body_type = f"{DTO_NAMESPACE}.{operation.body_schema_name}"
        if self._body is not None:
            self._index(self._body, self._body_type, components or {}, nested=False)
        self._body_properties = self._members.get(id(self._body), {})

    def _index(self, schema: dict, dotnet_type: str | None, components: Mapping[str, dict], *, nested: bool):
        """Record the members and .NET type names of ``schema`` and of every object within it."""
        if nested:
            unchecked = set(schema) - _SHAPE_KEYWORDS
            if unchecked:
                raise ValueError(f"{self.operation.operation_id}: keywords {sorted(unchecked)} inside a "
                                 "nested body object or array are not bound")
        kind = schema.get("type")
        if kind == "array":
            self._index(schema.get("items", {}), None, components, nested=True)
        if kind != "object":
            return
        if dotnet_type is None:
            name = next((n for n, component in components.items() if component == schema), schema.get("title"))
            dotnet_type = f"{DTO_NAMESPACE}.{name}" if name else "System.Object"
        self._dto_types[id(schema)] = dotnet_type
        properties = schema.get("properties", {})
        self._members[id(schema)] = {name.casefold(): (name, sub) for name, sub in properties.items()}
        for sub in properties.values():
            if nested or sub.get("type") in _CONTAINERS:
                self._index(sub, None, components, nested=True)

    def _dotnet_type(self, schema: dict) -> str:
        """The .NET type System.Text.Json names when a JSON value cannot become ``schema``'s."""
        kind = schema.get("type")
        if kind == "object":
            return self._dto_types.get(id(schema), "System.Object")
        if kind == "array":
            return COLLECTION_TYPE.format(self._dotnet_type(schema.get("items", {})))
        dotnet = _DOTNET_TYPES.get(kind, "System.Object")
        if kind in _VALUE_TYPES and schema.get("nullable"):
            return f"System.Nullable`1[{dotnet}]"
        return dotnet

    # -- query ------------------------------------------------------------
    def bind_query_string(self, query_string: str, warnings: list[str]) -> dict:
        """:meth:`bind_query` for a WSGI ``QUERY_STRING``, parsed as Werkzeug parses it."""
        outcome, found = self._bound_query_string(query_string)
        warnings.extend(found)
        if isinstance(outcome, BindingFailed):
            raise BindingFailed(outcome.status, outcome.errors)
        return dict(outcome)  # a copy: the remembered one is shared by every request

    def _bind_query_string(self, query_string: str) -> tuple[dict | BindingFailed, tuple[str, ...]]:
        found: list[str] = []
        try:
            return self.bind_query(query_items(query_string), found), tuple(found)
        except BindingFailed as exc:
            return exc, tuple(found)

    def bind_query(self, items: list[tuple[str, str]], warnings: list[str] | None = None) -> dict:
        """Typed query values by parameter name; absent parameters take their defaults.

        What the framework accepts but the contract spells otherwise (``take`` for
        ``Take``, ``chatIds[0]``, ``Pinned`` as ``pinned``) is added to ``warnings``.
        """
        warnings = [] if warnings is None else warnings
        raw: dict[str, list[str]] = {}
        indexed: dict[str, dict[int, str]] = {}
        for key, value in items:
            folded = key.casefold()
            if folded in self._query:
                name = self._query[folded]["name"]
                if key != name:
                    warnings.append(f"query parameter {key!r} is spelled {name!r} in the contract")
                raw.setdefault(folded, []).append(value)
                continue
            # Collections also bind from indexed keys: chatIds[0]=a&chatIds[1]=b.
            match = _INDEXED_KEY.fullmatch(folded)
            if match and self._is_array(match.group(1)):
                name = self._query[match.group(1)]["name"]
                warnings.append(f"query parameter {key!r} is spelled {name!r} (repeated) in the contract")
                indexed.setdefault(match.group(1), {}).setdefault(int(match.group(2)), value)
        for folded, by_index in indexed.items():
            # CollectionModelBinder: the plain key wins when present; else indices from
            # [0] on, in index order, up to the first gap.
            if folded not in raw:
                raw[folded] = list(itertools.takewhile(lambda v: v is not None,
                                                       (by_index.get(i) for i in itertools.count())))

        errors: OrderedDict[str, list[str]] = OrderedDict()
        bound: dict = {}
        for folded, param in self._query.items():
            name, schema = param["name"], param["schema"]
            if folded not in raw:
                if "default" in schema:
                    bound[name] = schema["default"]
                elif schema.get("type") == "array":
                    bound[name] = []
                continue
            values = raw[folded]
            if schema.get("type") == "array":
                bound[name] = [v for v in values if v != ""]
                continue
            attempted = ",".join(values)  # what the framework quotes in its messages
            value, error = self._convert(values[0], attempted, name, schema, self._query_bound_as[name])
            if error:
                errors[name] = [error]
                continue
            bound[name] = value
            if len(values) > 1:
                warnings.append(f"query parameter {name!r} is repeated; only its first value is used")
            if _contract_text(value) != values[0]:
                warnings.append(f"{name}={values[0]!r} is spelled {_contract_text(value)!r} in the contract")

        for name, value in bound.items():
            if name in errors:
                continue
            failure = (self._first_query_failure(name, tuple(value)) if isinstance(value, list)
                       else self._query_failure(name, value))
            if failure is None:
                continue
            schema = self._query[name.casefold()]["schema"]
            if failure in ("minimum", "maximum"):
                errors[name] = [habits.range_error(name, schema.get("minimum"), schema.get("maximum"))]
            else:
                errors[name] = [_not_valid(_contract_text(value), name, self._query_bound_as[name])]
        if errors:
            raise BindingFailed(400, errors)
        return bound

    def _first_query_failure(self, name: str, value: object) -> str | None:
        """The JSON Schema keyword a bound query value fails first, or None."""
        instance = list(value) if isinstance(value, tuple) else value
        error = next(self._query_validators[name].iter_errors(instance), None)
        return None if error is None else error.validator

    def _is_array(self, folded: str) -> bool:
        """Whether the parameter with this case-folded name is a collection."""
        param = self._query.get(folded)
        return bool(param) and param["schema"].get("type") == "array"

    @staticmethod
    def _convert(first: str, attempted: str, name: str, schema: dict,
                 bound_as: str = "property") -> tuple[object, str | None]:
        """Parse one query value as the simple-type binder does; (value, error message)."""
        if first.strip() == "":
            return None, habits.value_invalid(attempted)
        kind = schema.get("type")
        if kind == "integer":
            value = habits.parse_int32(first)
        elif kind == "boolean":
            value = habits.parse_bool(first)
        elif "enum" in schema:
            folded = first.strip().casefold()
            value = next((v for v in schema["enum"] if v.casefold() == folded), None)
        else:
            value = first
        if value is None:
            return None, _not_valid(attempted, name, bound_as)
        return value, None

    # -- body -------------------------------------------------------------
    @staticmethod
    def check_media_type(content_type: str | None) -> str:
        """The body's text encoding; 415 unless the JSON input formatter would read it.

        Checked before the body is read. The formatter reads UTF-8 and UTF-16 only; any
        other declared charset is unsupported, as is any non-JSON media type.
        """
        media, _, parameters = (content_type or "").partition(";")
        if not _JSON_MEDIA.match(media.strip().lower()):
            raise BindingFailed(415)
        charset = _CHARSET.search(parameters)
        encoding = charset.group(1).strip('"').lower() if charset else "utf-8"
        if encoding not in ("utf-8", "utf-16"):
            raise BindingFailed(415)
        return encoding

    def bind_body(self, data: bytes, warnings: list[str] | None = None, encoding: str = "utf-8") -> dict:
        """The JSON body as a dict of canonical property names, validated.

        Property names spelled otherwise than in the contract (``Message``) bind, as
        in the framework, and are added to ``warnings``.
        """
        warnings = [] if warnings is None else warnings
        no_bytes = data == b""
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            self._fail_json("$", f"The input is not valid {encoding.upper()}.", text=None, pos=exc.start)
        # Only a body of no bytes at all (Content-Length: 0) or a JSON null is "missing";
        # blanks (JSON whitespace only) reach System.Text.Json, which finds no token in them.
        bare = text.strip(_JSON_BLANKS)
        if no_bytes or bare == "null":
            raise BindingFailed(400, OrderedDict([
                ("", [habits.EMPTY_BODY]),
                (BODY_PARAMETER, [habits.field_required(BODY_PARAMETER)]),
            ]))
        if bare == "":
            self._fail_json("$", "The input does not contain any JSON tokens. Expected the input to "
                                 "start with a valid JSON token, while isFinalBlock is true.",
                            text=text, pos=len(text))
        # Depth first, without recursion: json.loads would hit Python's own limit (a 500)
        # on input the framework refuses at 32 levels.
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
            breach = _depth_breach(text)
            if breach is not None:
                pos, kind = breach
                self._check_member_types(text, before=pos)
                self._fail_depth(self._path_at(text, pos), pos, kind, text)
        try:
            document = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant,
                                  parse_int=_parse_int)
        except json.JSONDecodeError as exc:
            message, pos = _stj_syntax_message(exc)
            self._check_member_types(text, before=pos)
            self._fail_json(self._path_at(text, pos), message, text=text, pos=pos)
        except _ConstantRejected as exc:
            pos = _constant_position(text, exc.constant)
            self._check_member_types(text, before=pos)
            if exc.constant.startswith("-"):  # the reader stops on the letter after the sign
                self._fail_json(self._path_at(text, pos), f"'{exc.constant[1]}' is invalid within a number, "
                                "immediately after a sign character ('+' or '-'). Expected a digit ('0'-'9').",
                                text=text, pos=pos + 1)
            self._fail_json(self._path_at(text, pos), f"'{exc.constant[0]}' is an invalid start of a value.",
                            text=text, pos=pos)

        if not isinstance(document, _Pairs):
            pos = len(text) - len(text.lstrip())
            self._fail_json("$", f"The JSON value could not be converted to {self._body_type}.",
                            text=text, pos=pos + 1 if text[pos] in "[" else _token_end(text, pos))
        try:
            present = self._bind_object(document, self._body or {}, "$", warnings)
        except _Mismatch:
            # Where System.Text.Json fails, and how: its first conversion error in the stream.
            self._check_member_types(text, before=len(text))
            # Not reached: the walk meets every mismatch the bind met; still a 400, never a 500.
            self._fail_json("$", f"The JSON value could not be converted to {self._body_type}.",
                            text=text, pos=len(text))
        errors = self._annotation_errors(present)
        if errors:
            raise BindingFailed(400, errors)
        return present

    def _bind_object(self, pairs: _Pairs, schema: dict, path: str, warnings: list[str]) -> dict:
        """An object's declared members by their contract names, converted; nulls left out.

        Names match case-insensitively and the last of duplicate spellings wins, as in
        System.Text.Json; undeclared members are ignored. A value STJ cannot convert
        raises :class:`_Mismatch`, which :meth:`_check_member_types` then places.
        """
        members = self._members.get(id(schema), {})
        values: dict = {}
        for key, value in pairs:
            if _LONE_SURROGATE.search(key):  # STJ unescapes every name of an object it binds
                raise _Mismatch
            declared = members.get(key.casefold())
            if declared is None:
                continue
            name, member = declared
            if value is not None and member.get("type") in _CONTAINERS:
                value = self._bind_container(value, member, path + _segment(key), warnings)
            else:
                value = _bind_scalar(value, member)
            if key != name:
                where = "" if path == "$" else f" in {path}"
                warnings.append(f"body property {key!r}{where} is spelled {name!r} in the contract")
            values[name] = value
        return {name: value for name, value in values.items() if value is not None}

    def _bind_container(self, value: object, schema: dict, path: str, warnings: list[str]) -> object:
        """A JSON object or array bound as the DTO or collection ``schema`` describes."""
        if schema["type"] == "object":
            if not isinstance(value, _Pairs):
                raise _Mismatch
            return self._bind_object(value, schema, path, warnings)
        if type(value) is not list:  # a _Pairs is an object
            raise _Mismatch
        items = schema.get("items", {})
        if items.get("type") not in _CONTAINERS:
            return [_bind_scalar(item, items) for item in value]
        # A collection keeps its nulls: they are elements, not absent members.
        return [None if item is None else self._bind_container(item, items, f"{path}[{index}]", warnings)
                for index, item in enumerate(value)]

    def _annotation_errors(self, values: dict) -> OrderedDict[str, list[str]]:
        """DataAnnotations on the DTO: every failing rule of a property, [Required] first."""
        failed: dict[str, set[str]] = {name: {"required"} for name in self._required if name not in values}
        for name, value in values.items():
            validator = self._property_validators.get(name)  # none on a nested object or array
            for error in validator.iter_errors(value) if validator else ():
                failed.setdefault(name, set()).add(_ANNOTATION_OF.get(error.validator, "invalid"))
        errors: OrderedDict[str, list[str]] = OrderedDict()
        for name in sorted(failed):
            rules, limits, field = failed[name], self._body["properties"][name], pascal_case(name)
            if "required" in rules and "enum" in limits:
                rules.add("allowed")  # [AllowedValues] refuses null and "" as well
            messages = {
                "required": habits.field_required(field),
                "maxLength": habits.max_length_error(field, limits.get("maxLength")),
                "allowed": habits.allowed_values_error(field),
                "invalid": f"The field {field} is invalid.",
            }
            errors[field] = [text for rule, text in messages.items() if rule in rules]
        return errors

    def _check_member_types(self, text: str, *, before: int) -> None:
        """Raise the conversion error System.Text.Json meets first, if it comes before ``before``.

        STJ reads the body as a stream: a declared property holding the wrong JSON type
        fails as soon as its value is read, before any later syntax error is seen. The
        walk follows the body's declared objects and arrays down, as STJ's converters do.
        """
        pos = _BLANKS.match(text).end()
        if text[pos:pos + 1] == "{" and self._body is not None:
            self._walk_object(text, pos, self._body, "$", before)

    def _walk_object(self, text: str, pos: int, schema: dict, path: str, before: int) -> int | None:
        """Walk the object at ``pos`` (its '{'); where it ends, or None where the walk stops.

        It stops where the text stops being valid JSON or reaches ``before``.
        """
        members = self._members.get(id(schema), {})
        pos = _BLANKS.match(text, pos + 1).end()
        if text[pos:pos + 1] == "}":
            return pos + 1
        while text[pos:pos + 1] == '"':
            try:
                key, key_end = _DECODER.raw_decode(text, pos)
            except ValueError:
                return None
            if key_end > before:
                return None
            if _LONE_SURROGATE.search(key):
                # Utf8JsonReader cannot unescape a lone surrogate into the UTF-8 name it
                # looks properties up by: a conversion error of the DTO, before any value.
                self._fail_conversion(path, schema, text, key_end)
            pos = _BLANKS.match(text, key_end).end()
            if text[pos:pos + 1] != ":":
                return None
            start = _BLANKS.match(text, pos + 1).end()
            if start >= before:
                return None
            declared = members.get(key.casefold())
            if declared is None:  # skipped, token by token
                try:
                    end = _DECODER.raw_decode(text, start)[1]
                except (ValueError, RecursionError):
                    return None
            else:
                end = self._walk_value(text, start, declared[1], path + _segment(key), before)
                if end is None:
                    return None
            pos = _BLANKS.match(text, end).end()
            if text[pos:pos + 1] == "}":
                return pos + 1
            if text[pos:pos + 1] != ",":
                return None
            pos = _BLANKS.match(text, pos + 1).end()
        return None

    def _walk_array(self, text: str, pos: int, schema: dict, path: str, before: int) -> int | None:
        """Walk the array at ``pos`` (its '['), as :meth:`_walk_object` walks an object."""
        items = schema.get("items", {})
        pos = _BLANKS.match(text, pos + 1).end()
        if text[pos:pos + 1] == "]":
            return pos + 1
        index = 0
        while pos < before:
            end = self._walk_value(text, pos, items, f"{path}[{index}]", before)
            if end is None:
                return None
            pos = _BLANKS.match(text, end).end()
            if text[pos:pos + 1] == "]":
                return pos + 1
            if text[pos:pos + 1] != ",":
                return None
            pos = _BLANKS.match(text, pos + 1).end()
            index += 1
        return None

    def _walk_value(self, text: str, start: int, schema: dict, path: str, before: int) -> int | None:
        """Walk a declared value: its end, None where the walk stops; raise where it cannot convert."""
        kind = schema.get("type")
        opening = text[start:start + 1]
        if opening == "{" and kind == "object":
            return self._walk_object(text, start, schema, path, before)
        if opening == "[" and kind == "array":
            return self._walk_array(text, start, schema, path, before)
        if opening in ("{", "["):  # the converter refuses the start token itself
            self._fail_conversion(path, schema, text, start + 1)
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            return None
        if not _fits_json_type(value, schema):
            self._fail_conversion(path, schema, text, end)
        return end

    def _fail_conversion(self, path: str, schema: dict, text: str, pos: int):
        self._fail_json(path, f"The JSON value could not be converted to {self._dotnet_type(schema)}.",
                        text=text, pos=pos)

    def _path_at(self, text: str, pos: int) -> str:
        """The JSON path System.Text.Json reports for a failure at ``pos``.

        STJ's path lists the frames its converters push: one per declared object or
        array being read, down from the body. In an object, ``.<name>`` while the value of
        its property ``<name>`` is being read: the name is taken once its ':' is read, and
        is cleared (ReadStackFrame.EndProperty) as soon as its value is complete, so a fault
        after a whole value -- a trailing comma, a missing ',' -- is reported at the object
        (obs .NET 8: "...trailing comma ... Path: $ | ..."). In an array, ``[<n>]``, n the
        elements already read. Values of unknown properties are skipped without a frame of
        their own, so a fault deep inside one is reported at that property (``$.extra``).
        """
        frames: list[_Frame] = []
        i = 0
        while i < pos and i < len(text):
            ch = text[i]
            top = frames[-1] if frames else None
            bound = top is not None and top.schema is not None  # a frame STJ pushed, not a skipped value
            if ch == '"':
                end = i + 1
                while end < len(text) and text[end] != '"':
                    end += 2 if text[end] == "\\" else 1
                if end >= pos:
                    break  # the fault is inside this string
                if bound and top.expecting_key:
                    try:
                        top.key = json.loads(text[i:end + 1])
                    except ValueError:
                        top.key = text[i + 1:end]
                    top.expecting_key = False
                elif bound:
                    top.complete()  # a string value
                i = end + 1
                continue
            if ch in "{[":
                kind = "object" if ch == "{" else "array"
                schema = self._body if top is None else self._member_schema(top) if bound else None
                frames.append(_Frame(schema if schema is not None and schema.get("type") == kind else None))
            elif ch in "}]":
                if frames:
                    frames.pop()
                if frames and frames[-1].schema is not None:
                    frames[-1].complete()  # an object or array value
            elif bound:
                if ch == ":" and top.is_object:
                    top.name, top.key = top.key, None
                elif ch == "," and top.is_object:
                    top.expecting_key = True
                elif not ch.isspace() and ch not in ",:":  # a number or literal value
                    end = i
                    while end < len(text) and not (text[end].isspace() or text[end] in ',:{}[]"'):
                        end += 1
                    if end >= pos:
                        break  # the fault is inside this token
                    top.complete()
                    i = end
                    continue
            i += 1
        path = "$"
        for frame in frames:
            if frame.schema is None:
                break
            if not frame.is_object:
                path += f"[{frame.count}]"
            elif frame.name is not None:
                path += _segment(frame.name)
        return path

    def _member_schema(self, frame: _Frame) -> dict | None:
        """The declared schema of the value a bound frame is reading, None for an unknown property."""
        if not frame.is_object:
            return frame.schema.get("items", {})
        declared = None if frame.name is None else self._members.get(id(frame.schema), {}).get(frame.name.casefold())
        return None if declared is None else declared[1]

    def _fail_json(self, path: str, message: str, *, text: str | None, pos: int):
        """A System.Text.Json failure: the body parameter is then missing too."""
        line, byte = _line_and_byte(text, pos) if text is not None else (0, pos)
        detail = f"{message} Path: {path} | LineNumber: {line} | BytePositionInLine: {byte}."
        raise BindingFailed(400, OrderedDict([
            (BODY_PARAMETER, [habits.field_required(BODY_PARAMETER)]),
            (path, [detail]),
        ]))

    def _fail_depth(self, path: str, pos: int, kind: str, text: str):
        self._fail_json(path, f"The maximum configured depth of {MAX_JSON_DEPTH} has been exceeded. "
                              f"Cannot read next JSON {kind}.", text=text, pos=pos)


# -- JSON helpers ---------------------------------------------------------------
class _Pairs(list):
    """A JSON object kept as its (key, value) pairs, so spelling and order survive."""


class _ConstantRejected(ValueError):
    def __init__(self, constant: str):
        super().__init__(constant)
        self.constant = constant


def _reject_constant(constant: str):
    # Python reads NaN/Infinity; System.Text.Json does not.
    raise _ConstantRejected(constant)


class _HugeNumber(str):
    """A JSON integer with more digits than Python converts (sys.get_int_max_str_digits()).

    System.Text.Json reads a number token of any length, and skips it in an unknown
    property; into any property of this API (strings, Int32) it cannot be converted.
    The token is kept as text: turning it into an int is what Python refuses to do.
    """


def _parse_int(text: str):
    """json's ``parse_int``: an int, or a :class:`_HugeNumber` past Python's digit limit.

    The limit (CVE-2020-10735; 0 is none) is read on each call: the mock may serve inside
    a partner's test process, which can set its own.
    """
    limit = sys.get_int_max_str_digits()
    if limit and len(text) > limit:  # a sign at most on top: never too few digits
        return _HugeNumber(text)
    return int(text)


def _constant_position(text: str, constant: str) -> int:
    """Where ``constant`` (NaN, Infinity, -Infinity) first stands as a value, not inside a string."""
    for match in _STRING_OR_CONSTANT.finditer(text):
        if match.group(1) == constant:
            return match.start(1)
    return max(text.find(constant), 0)


_STRING_OR_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


class _Mismatch(Exception):
    """A member value System.Text.Json cannot convert; where and how is found by walking the text."""


class _Frame:
    """A container open at some point of the text, as :meth:`RequestBinder._path_at` tracks it."""

    __slots__ = ("schema", "is_object", "key", "name", "count", "expecting_key")

    def __init__(self, schema: dict | None):
        self.schema = schema  # None: not bound by STJ (a skipped value, or a refused one)
        self.is_object = schema is not None and schema.get("type") == "object"
        self.key = self.name = None
        self.count = 0  # an array's elements read so far
        self.expecting_key = self.is_object

    def complete(self) -> None:
        """A value of this container is read: an object's property ends, an array has one more."""
        if self.is_object:
            self.name = None
        else:
            self.count += 1


def _bind_scalar(value: object, schema: dict) -> object:
    """A JSON scalar as the property's .NET type holds it; :class:`_Mismatch` when STJ cannot read it."""
    if not _fits_json_type(value, schema):
        raise _Mismatch
    if isinstance(value, str) and schema.get("type") == "integer":
        return habits.parse_json_int32(value)  # the Web defaults read quoted numbers
    return value


def _fits_json_type(value: object, schema: dict) -> bool:
    """Whether System.Text.Json can read ``value`` into the property's .NET type."""
    kind = schema.get("type")
    if value is None:
        # A null string or DTO is left to [Required]; an int or a bool takes one only as int?, bool?.
        return kind not in _VALUE_TYPES or bool(schema.get("nullable"))
    if isinstance(value, _HugeNumber):
        return False  # no .NET property type of this API holds it (a string never reads a number)
    if kind == "string":
        # STJ cannot unescape a lone surrogate into a .NET string and reports it as a
        # conversion error; accepted, it was stored and broke every later UTF-8 response.
        return isinstance(value, str) and not _LONE_SURROGATE.search(value)
    if kind == "integer":  # Web defaults read quoted numbers too
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return -2**31 <= value < 2**31
        return isinstance(value, str) and habits.parse_json_int32(value) is not None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, _Pairs)
    if kind == "array":
        return type(value) is list
    return True


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _segment(key: str) -> str:
    """A property's step in a JSON path: ``.name``, or ``['odd name']``."""
    if _PLAIN_NAME.fullmatch(key):
        return f".{key}"
    return "['" + key.replace("'", "\\'") + "']"


def _line_and_byte(text: str, pos: int) -> tuple[int, int]:
    """0-based line number and UTF-8 byte offset within that line, as Utf8JsonReader reports."""
    pos = max(0, min(pos, len(text)))
    line = text.count("\n", 0, pos)
    start = text.rfind("\n", 0, pos) + 1
    return line, len(text[start:pos].encode("utf-8"))


def _token_end(text: str, pos: int) -> int:
    """Where the scalar JSON token starting at ``pos`` ends."""
    try:
        return _DECODER.raw_decode(text, pos)[1]
    except (ValueError, RecursionError):
        return pos


_DECODER = json.JSONDecoder(object_pairs_hook=_Pairs, parse_int=_parse_int)
_BLANKS = re.compile(r"[ \t\r\n]*")


def _depth_breach(text: str) -> tuple[int, str] | None:
    """Offset and container kind of the first bracket past the depth limit, if any."""
    depth = 0
    in_string = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return i, "object" if ch == "{" else "array"
        elif ch in "}]":
            depth -= 1
        i += 1
    return None


def _stj_syntax_message(exc: json.JSONDecodeError) -> tuple[str, int]:
    """Reword a Python JSON syntax error as Utf8JsonReader words it."""
    text, pos, msg = exc.doc, exc.pos, exc.msg
    if pos >= len(text.rstrip()):
        return ("Expected depth to be zero at the end of the JSON payload. "
                "There is an open JSON object or array that should be closed."), len(text)
    char = text[pos]
    if msg.startswith("Expecting value"):
        return f"'{char}' is an invalid start of a value.", pos
    if msg.startswith("Extra data"):
        return f"'{char}' is invalid after a single JSON value. Expected end of data.", pos
    if msg.startswith("Expecting property name"):
        if char == "}":
            return ("The JSON object contains a trailing comma at the end which is not "
                    "supported in this mode. Change the reader options."), pos
        return f"'{char}' is an invalid start of a property name. Expected a '\"'.", pos
    if msg.startswith("Expecting ',' delimiter"):
        return f"'{char}' is invalid after a value. Expected either ',', '}}', or ']'.", pos
    if msg.startswith("Expecting ':' delimiter"):
        return f"'{char}' is invalid after a property name. Expected a ':'.", pos
    if msg.startswith("Invalid control character"):
        return f"'{char}' is invalid within a JSON string. The string should be correctly escaped.", pos
    if msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\u"):
        return (f"'{text[pos + 1:pos + 2]}' is not a valid escapable character within a JSON string. "
                "The string should be correctly escaped."), pos
    if msg.startswith("Unterminated string"):
        return "Expected end of string, but instead reached end of data.", len(text)
    return f"'{char}' is an invalid start of a value.", pos


def binding_violations(failure: BindingFailed, content_type: str | None) -> list[str]:
    """The journal's wording of a refused binding: one line per ModelState error, or the 415."""
    if failure.status == 400:
        return [f"{key or '(body)'}: {message}" for key, messages in failure.errors.items()
                for message in messages]
    if not content_type:
        return ["no Content-Type: the body is not read as JSON"]
    return [f"Content-Type '{content_type}' is not JSON"]
