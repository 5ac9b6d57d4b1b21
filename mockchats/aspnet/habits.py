"""The ASP.NET Core habits the real service shows its clients, as plain functions.

The real Chats API runs on ASP.NET Core (.NET 8, [ApiController], System.Text.Json,
JwtBearer). Clients meet its date format, its number and boolean parsing, its
problem-details bodies and its exact message templates; this module reproduces
them, each with the framework behaviour it copies.
"""
from __future__ import annotations

import functools
import json
import re
import secrets
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from http import HTTPStatus

import jsonschema
import orjson
from jsonschema import validators

PROBLEM_JSON = "application/problem+json; charset=utf-8"
JSON = "application/json; charset=utf-8"

# ProblemDetailsDefaults: the type URI and title ASP.NET Core gives each status.
_PROBLEM_DEFAULTS = {
    400: ("https://tools.ietf.org/html/rfc9110#section-15.5.1", "Bad Request"),
    401: ("https://tools.ietf.org/html/rfc9110#section-15.5.2", "Unauthorized"),
    403: ("https://tools.ietf.org/html/rfc9110#section-15.5.4", "Forbidden"),
    404: ("https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not Found"),
    405: ("https://tools.ietf.org/html/rfc9110#section-15.5.6", "Method Not Allowed"),
    409: ("https://tools.ietf.org/html/rfc9110#section-15.5.10", "Conflict"),
    415: ("https://tools.ietf.org/html/rfc9110#section-15.5.16", "Unsupported Media Type"),
    422: ("https://tools.ietf.org/html/rfc4918#section-11.2", "Unprocessable Entity"),
    500: ("https://tools.ietf.org/html/rfc9110#section-15.6.1",
          "An error occurred while processing your request."),
    502: ("https://tools.ietf.org/html/rfc9110#section-15.6.3", "Bad Gateway"),
    503: ("https://tools.ietf.org/html/rfc9110#section-15.6.4", "Service Unavailable"),
    504: ("https://tools.ietf.org/html/rfc9110#section-15.6.5", "Gateway Timeout"),
}
VALIDATION_TITLE = "One or more validation errors occurred."


def trace_id() -> str:
    """A W3C trace id as `Activity.Id` writes it: ``00-<32 hex>-<16 hex>-00``."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


_KNOWN_STATUSES = {s.value for s in HTTPStatus}


def problem(status: int, *, detail: str | None = None, errors: dict[str, list[str]] | None = None) -> dict:
    """A ProblemDetails body as ClientErrorResultFilter writes it (field order kept).

    Statuses without a ProblemDetailsDefaults entry get the reason phrase as title
    and no type, as the framework does; a status with no phrase (599) an empty one.
    A ``detail`` follows the status, as ProblemDetails orders its members; ``errors`` (the
    mock's own refusals name what is wrong, as a validation problem does) come before the
    ``traceId``, which the framework always writes last.
    """
    phrase = HTTPStatus(status).phrase if status in _KNOWN_STATUSES else ""
    type_uri, title = _PROBLEM_DEFAULTS.get(status, (None, phrase))
    body: dict = {}
    if type_uri:
        body["type"] = type_uri
    body["title"] = title
    body["status"] = status
    if detail is not None:
        body["detail"] = detail
    if errors:
        body["errors"] = dict(errors)
    body["traceId"] = trace_id()
    return body


def validation_problem(errors: OrderedDict[str, list[str]] | dict[str, list[str]]) -> dict:
    """A ValidationProblemDetails body: type, title, status, errors, traceId, in that order."""
    return {
        "type": _PROBLEM_DEFAULTS[400][0],
        "title": VALIDATION_TITLE,
        "status": 400,
        "errors": dict(errors),
        "traceId": trace_id(),
    }


#: A character outside the BMP, as its 4-byte UTF-8 sequence.
_ASTRAL_UTF8 = re.compile(rb"[\xf0-\xf4][\x80-\xbf]{3}")


def _escape_astral(match: re.Match) -> bytes:
    code = ord(match.group().decode("utf-8")) - 0x10000
    return b"\\u%04X\\u%04X" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def dumps(body: object) -> bytes:
    """Serialize as SystemTextJsonOutputFormatter does: compact, UTF-8.

    Its relaxed encoder writes BMP text literally ("é", "中") but still escapes every
    character outside the BMP as an upper-case surrogate pair: an emoji goes out as
    ``\\uD83D\\uDE00`` (dotnet/runtime#42847). orjson does the encoding (it is the
    costliest step of a listing with the standard library).
    """
    try:
        data = orjson.dumps(body)
    except orjson.JSONEncodeError:  # huge integers, lone surrogates: escape all, still valid JSON
        data = json.dumps(body, separators=(",", ":")).encode("ascii")
    if b"\xf0" in data or b"\xf1" in data or b"\xf2" in data or b"\xf3" in data or b"\xf4" in data:
        return _ASTRAL_UTF8.sub(_escape_astral, data)
    return data  # five byte scans cost a tenth of the regex on text with no astral character


@functools.lru_cache(maxsize=65536)  # every listing writes the same instants again
def format_datetime(value: datetime) -> str:
    """Write a UTC instant as System.Text.Json writes a UTC `DateTime`.

    Round-trip ("O") format with the fraction's trailing zeros cut, and no fraction
    at all on a whole second: ``2025-06-26T08:48:07.13Z``.
    """
    value = value.astimezone(UTC)
    text = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"


class InstantOutOfRange(ValueError):
    """An instant that is well formed but outside years 1 to 9999 in UTC, as DateTime's range."""


def parse_datetime(text: str) -> datetime:
    """Read an ISO 8601 instant (``Z`` or an offset) as an aware UTC datetime."""
    # .NET keeps 7 fractional digits (100 ns ticks); Python keeps 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00").replace("z", "+00:00"))
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise InstantOutOfRange(f"{text!r} is out of range: before year 1 or after year 9999 in UTC") from None


def utf16_length(text: str) -> int:
    """The length .NET reports for a string: UTF-16 code units, not code points."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


#: The blanks Int32.Parse and Boolean.Parse allow around a value (not Unicode's wider set).
DOTNET_BLANKS = " \t\n\v\f\r"
_INT32 = re.compile(r"[+-]?[0-9]+")
_HEX = re.compile(r"(?:#|0[xX]|&[hH])([0-9A-Fa-f]{1,8})")


def parse_int32(text: str) -> int | None:
    """Int32Converter as the query binder uses it: optional sign, digits, surrounding blanks.

    Like BaseNumberConverter it also reads hex written ``0x1F``, ``&h1F`` or ``#1F``
    (as a 32-bit two's-complement value).
    """
    stripped = text.strip(DOTNET_BLANKS)
    hex_digits = _HEX.fullmatch(stripped)
    if hex_digits:
        value = int(hex_digits.group(1), 16)
        return value - 2**32 if value >= 2**31 else value
    if not _INT32.fullmatch(stripped):
        return None
    sign, digits = ("-" if stripped[0] == "-" else ""), stripped.lstrip("+-").lstrip("0") or "0"
    if len(digits) > 10:  # past Int32; and int() refuses over 4,300 digits (leading zeros count)
        return None
    value = int(sign + digits)
    return value if -2**31 <= value < 2**31 else None


_JSON_INT32 = re.compile(r"[+-]?[0-9]+")


def parse_json_int32(text: str) -> int | None:
    """A JSON string read into an Int32 as System.Text.Json reads it under the Web defaults
    (JsonNumberHandling.AllowReadingFromString): Utf8Parser over the whole string, so a sign
    and digits only -- no blanks, no hex, no fraction -- within Int32's range."""
    if not _JSON_INT32.fullmatch(text):
        return None
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) > 10:  # past Int32; and int() refuses over 4,300 digits (leading zeros count)
        return None
    value = int(digits)
    value = -value if text[0] == "-" else value
    return value if -2**31 <= value < 2**31 else None


def parse_bool(text: str) -> bool | None:
    """`bool.Parse`: "true"/"false" in any case, surrounding blanks allowed; nothing else."""
    folded = text.strip(DOTNET_BLANKS).casefold()
    if folded == "true":
        return True
    if folded == "false":
        return False
    return None


# Message templates of ModelState and DataAnnotations (.NET 8 resources).
def value_not_valid_for(value: str, name: str) -> str:
    return f"The value '{value}' is not valid for {name}."


def value_not_valid(value: str) -> str:
    """The same for an action parameter, which has no property name (NonPropertyAttemptedValueIsInvalid)."""
    return f"The value '{value}' is not valid."


def value_invalid(value: str) -> str:
    return f"The value '{value}' is invalid."


def field_required(name: str) -> str:
    return f"The {name} field is required."


def range_error(name: str, low: int, high: int) -> str:
    return f"The field {name} must be between {low} and {high}."


def max_length_error(name: str, limit: int) -> str:
    return f"The field {name} must be a string or array type with a maximum length of '{limit}'."


def allowed_values_error(name: str) -> str:
    return f"The {name} field does not equal any of the values specified in AllowedValuesAttribute."


EMPTY_BODY = "A non-empty request body is required."


def _utf16_max_length(validator: object, limit: int, instance: object,
                      schema: dict) -> Iterator[jsonschema.ValidationError]:
    """jsonschema's maxLength, counting UTF-16 code units as .NET's [MaxLength] does."""
    if isinstance(instance, str) and utf16_length(instance) > limit:
        yield jsonschema.ValidationError(f"{instance!r} is longer than {limit} UTF-16 code units")


#: Draft 4 is the JSON Schema dialect OpenAPI 3.0 schemas are based on.
DotNetValidator = validators.extend(jsonschema.Draft4Validator, {"maxLength": _utf16_max_length})
