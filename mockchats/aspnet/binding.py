"""Request binding and validation, as ASP.NET Core's [ApiController] model binding does it.

One :class:`RequestBinder` per operation is built at start-up from the spec, with
its jsonschema validators compiled once. ``bind_query`` and ``bind_body`` turn a
request's query and body into the typed arguments of the operation, or raise
:class:`BindingFailed` with the ModelState errors the real service would answer
(keys and message templates as the framework writes them). Binding follows the framework's habits: query keys and
JSON property names match case-insensitively, values parse as .NET parses them,
text length counts UTF-16 code units, and JSON deeper than 32 levels is refused.
"""
from __future__ import annotations

import functools
import itertools
import json
import re
import sys
from collections import OrderedDict
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


def pascal_case(name: str) -> str:
    """The C# property name behind a camelCase JSON name (``message`` -> ``Message``)."""
    return name[:1].upper() + name[1:]


class RequestBinder:
    """Binds the query and JSON body of one operation."""

    def __init__(self, operation: Operation):
        self.operation = operation
        self._query = {p["name"].casefold(): p for p in operation.query_parameters()}
        self._query_validators = {p["name"]: DotNetValidator(p["schema"]) for p in self._query.values()}
        # A scalar query value is valid or not on its own, and clients repeat the same few
        # values (Take=20, Ascending=false): remember each verdict instead of re-running it.
        self._query_failure = functools.lru_cache(maxsize=4096)(self._first_query_failure)
        # Whole query strings repeat even more (the same page, polled): bind each one once.
        self._bound_query_string = functools.lru_cache(maxsize=4096)(self._bind_query_string)
        self._body = operation.body_schema
        self._body_properties = {
            name.casefold(): (name, schema)
            for name, schema in (self._body or {}).get("properties", {}).items()
        }
        # DataAnnotations sit on properties: each property's rules are checked on its own
        # value (a validator per property, no walk through the object), [Required] by name.
        unchecked = set(self._body or {}) - _BODY_KEYWORDS
        if unchecked:
            raise ValueError(f"{operation.operation_id}: body schema keywords {sorted(unchecked)} are not bound")
        self._required = tuple((self._body or {}).get("required", ()))
        self._property_validators = {
            name: DotNetValidator(schema) for name, schema in (self._body or {}).get("properties", {}).items()
        }
        self._body_type = f"{DTO_NAMESPACE}.{operation.body_schema_name}"

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
            value, error = self._convert(values[0], attempted, name, schema)
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
                errors[name] = [habits.value_not_valid_for(_contract_text(value), name)]
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
    def _convert(first: str, attempted: str, name: str, schema: dict) -> tuple[object, str | None]:
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
            return None, habits.value_not_valid_for(attempted, name)
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
                self._check_member_types(text, before=breach[1])
                self._fail_depth(*breach, text)
        try:
            document = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_reject_constant,
                                  parse_int=_parse_int)
        except json.JSONDecodeError as exc:
            message, pos = _stj_syntax_message(exc)
            self._check_member_types(text, before=pos)
            self._fail_json(_path_at(text, pos), message, text=text, pos=pos)
        except _ConstantRejected as exc:
            pos = _constant_position(text, exc.constant)
            self._check_member_types(text, before=pos)
            if exc.constant.startswith("-"):  # the reader stops on the letter after the sign
                self._fail_json(_path_at(text, pos), f"'{exc.constant[1]}' is invalid within a number, "
                                "immediately after a sign character ('+' or '-'). Expected a digit ('0'-'9').",
                                text=text, pos=pos + 1)
            self._fail_json(_path_at(text, pos), f"'{exc.constant[0]}' is an invalid start of a value.",
                            text=text, pos=pos)

        if not isinstance(document, _Pairs):
            pos = len(text) - len(text.lstrip())
            self._fail_json("$", f"The JSON value could not be converted to {self._body_type}.",
                            text=text, pos=pos + 1 if text[pos] in "[" else _token_end(text, pos))
        values: dict = {}
        for key, value in document:
            if _LONE_SURROGATE.search(key):  # STJ unescapes every name of the root object
                self._check_member_types(text, before=len(text))
            declared = self._body_properties.get(key.casefold())
            if declared is None:
                continue
            name, schema = declared
            if not _fits_json_type(value, schema):
                self._check_member_types(text, before=len(text))
            if key != name:
                warnings.append(f"body property {key!r} is spelled {name!r} in the contract")
            values[name] = value  # the last of duplicate spellings wins, as in System.Text.Json
        present = {k: v for k, v in values.items() if v is not None}
        errors = self._annotation_errors(present)
        if errors:
            raise BindingFailed(400, errors)
        return present

    def _annotation_errors(self, values: dict) -> OrderedDict[str, list[str]]:
        """DataAnnotations on the DTO: every failing rule of a property, [Required] first."""
        failed: dict[str, set[str]] = {name: {"required"} for name in self._required if name not in values}
        for name, value in values.items():
            for error in self._property_validators[name].iter_errors(value):
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
        fails as soon as its value is read, before any later syntax error is seen.
        """
        for key, key_end, start, end, value in _root_members(text):
            if key_end > before:
                return
            if _LONE_SURROGATE.search(key):
                # Utf8JsonReader cannot unescape a lone surrogate into the UTF-8 name it
                # looks properties up by: a conversion error of the DTO, before any value.
                self._fail_json("$", f"The JSON value could not be converted to {self._body_type}.",
                                text=text, pos=key_end)
            if start >= before:
                return
            declared = self._body_properties.get(key.casefold())
            if declared is None:
                continue
            schema = declared[1]
            container = text[start] in "[{"
            if value is _UNREADABLE and not container:
                return
            if value is _UNREADABLE or not _fits_json_type(value, schema):
                dotnet = _DOTNET_TYPES.get(schema.get("type"), "System.Object")
                self._fail_json(_member_path(key), f"The JSON value could not be converted to {dotnet}.",
                                text=text, pos=start + 1 if container else end)

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


def _fits_json_type(value: object, schema: dict) -> bool:
    """Whether System.Text.Json can read ``value`` into the property's .NET type."""
    if value is None:
        return True  # a null string is left to [Required]
    if isinstance(value, _HugeNumber):
        return False  # no .NET property type of this API holds it (a string never reads a number)
    kind = schema.get("type")
    if kind == "string":
        # STJ cannot unescape a lone surrogate into a .NET string and reports it as a
        # conversion error; accepted, it was stored and broke every later UTF-8 response.
        return isinstance(value, str) and not _LONE_SURROGATE.search(value)
    if kind == "integer":  # Web defaults read quoted numbers too
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and habits.parse_int32(value) is not None)
    if kind == "boolean":
        return isinstance(value, bool)
    return True


def _member_path(key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"$.{key}"
    return "$['" + key.replace("'", "\\'") + "']"


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


_UNREADABLE = object()
_DECODER = json.JSONDecoder(object_pairs_hook=_Pairs, parse_int=_parse_int)
_BLANKS = re.compile(r"[ \t\r\n]*")


def _root_members(text: str):
    """(key, key end, value start, value end, value) of the root object's members, in order.

    Stops where the text stops being valid JSON; a value that cannot be read is
    yielded as ``_UNREADABLE`` (and ends the walk).
    """
    pos = _BLANKS.match(text).end()
    if text[pos:pos + 1] != "{":
        return
    pos = _BLANKS.match(text, pos + 1).end()
    while text[pos:pos + 1] == '"':
        try:
            key, key_end = _DECODER.raw_decode(text, pos)
        except ValueError:
            return
        pos = _BLANKS.match(text, key_end).end()
        if text[pos:pos + 1] != ":":
            return
        start = _BLANKS.match(text, pos + 1).end()
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            yield key, key_end, start, len(text), _UNREADABLE
            return
        yield key, key_end, start, end, value
        pos = _BLANKS.match(text, end).end()
        if text[pos:pos + 1] != ",":
            return
        pos = _BLANKS.match(text, pos + 1).end()


def _path_at(text: str, pos: int) -> str:
    """The JSON path System.Text.Json reports for a failure at ``pos``.

    STJ's path lists only the frames its converters push, and the bodies bound here
    are flat objects: the path is ``$``, or ``$.<name>`` while the value of the root
    object's property ``<name>`` is being read. The name is taken once its ':' is
    read, and is cleared (ReadStackFrame.EndProperty) as soon as its value is
    complete, so a fault after a whole value -- a trailing comma, a missing ','
    -- is reported at ``$`` (obs .NET 8: "...trailing comma ... Path: $ | ...").
    Values of unknown properties are skipped without a frame of their own, so a
    fault deep inside one is reported at that property (``$.extra``).
    """
    depth = 0
    root_is_object = False
    expecting_key = False
    key = name = None
    i = 0
    while i < pos and i < len(text):
        ch = text[i]
        if ch == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if end >= pos:
                break  # the fault is inside this string
            if depth == 1 and root_is_object:
                if expecting_key:
                    try:
                        key = json.loads(text[i:end + 1])
                    except ValueError:
                        key = text[i + 1:end]
                    expecting_key = False
                else:
                    name = None  # a string value of the root object is complete
            i = end + 1
            continue
        if ch in "{[":
            if depth == 0:
                root_is_object = ch == "{"
                expecting_key = root_is_object
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 1:
                name = None  # an object or array value of the root object is complete
        elif depth == 1 and root_is_object:
            if ch == ":":
                name, key = key, None
            elif ch == ",":
                expecting_key = True
            elif not ch.isspace():  # a number or literal value of the root object
                end = i
                while end < len(text) and not (text[end].isspace() or text[end] in ',:{}[]"'):
                    end += 1
                if end >= pos:
                    break  # the fault is inside this token
                name = None
                i = end
                continue
        i += 1
    return "$" if name is None else "$" + _member_path(name)[1:]


def _depth_breach(text: str) -> tuple[str, int, str] | None:
    """Path, offset and container kind of the first bracket past the depth limit, if any."""
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
                return _path_at(text, i), i, "object" if ch == "{" else "array"
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
