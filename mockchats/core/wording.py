"""How the mock puts a faulty value into words: one wording for every message.

The control plane (``$.users[0].role: Must be one of 'Host', 'Client', not 'Admin'.``) and
fixture files (``fixtures.yaml: sessions[0].users[1].role: Must be one ...``) describe a
JSON Schema violation with :func:`describe`, name its place with :func:`place_of` and show a
value with :func:`quote`. jsonschema's own messages quote the whole offending value (which
may be the whole document) as a Python repr; these never do: a value is clipped to
:data:`SHOWN_CHARS` characters, and an object or array is named by its kind. Nothing here
reads, writes or imports anything heavy, so any module may use it.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: wording reads an error, it never validates
    import jsonschema

#: The most of a value a message shows: enough to know it again, never a document.
SHOWN_CHARS = 40
#: Integers from this size on are named by their number of digits: turning one of thousands of
#: digits into text is slow, and past Python's limit (4300 digits) it raises.
_BIG = 10 ** SHOWN_CHARS
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters (``…`` marks the cut); a character that does not
    print (a control character, a lone surrogate, a line separator) escaped as JSON writes it."""
    shown = "".join(ch if ch.isprintable() else _escape(ch) for ch in text[:limit])
    return shown + "…" if len(text) > limit else shown


def _escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # as the UTF-16 pair JSON would write
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def kind(value: object) -> str:
    """What a value is, in the words of JSON (or YAML, for what JSON lacks); never a Python
    type's name."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, datetime):  # before date: a datetime is a date
        return "a YAML date and time (quote it)"
    if isinstance(value, date):
        return "a YAML date (quote it)"
    if isinstance(value, bytes):
        return "YAML binary data"
    if isinstance(value, (set, frozenset)):
        return "a YAML set"
    return "a value of another kind"


def quote(value: object) -> str:
    """A value as a message shows it: text in single quotes and clipped, a number or a literal
    as JSON writes it, anything else (an object, an array) only by its kind.

    Nothing is turned into text whole first: a value may be a request's whole body.
    """
    if isinstance(value, str):
        return f"'{clip(value)}'"
    if isinstance(value, int) and not isinstance(value, bool):
        if -_BIG < value < _BIG:
            return str(value)
        return f"a number of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return repr(value) if math.isfinite(value) else "an infinite number"  # repr is JSON's form
    return kind(value)


def place_of(path: Iterable[str | int], *, root: str = "$") -> str:
    """Where a value is, from its keys and indexes: ``$.users[0].name`` under the root ``$``
    (the control plane's form), ``users[0].name`` under no root (a fixture file's form), whose
    top is ``(document)``. Keys are clipped: a client's key may be of any length."""
    place = root
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            place += f"[{part}]"
        else:
            key = clip(part) if isinstance(part, str) else quote(part)
            place += f".{key}" if place else key
    return place or "(document)"


def listed(items: list[str], last: str = "and") -> str:
    """``a, b and c``."""
    return f"{', '.join(items[:-1])} {last} {items[-1]}" if len(items) > 1 else "".join(items)


#: Schema types in words.
_TYPES = {"string": "a string", "integer": "a whole number", "number": "a number",
          "boolean": "true or false", "object": "an object", "array": "an array", "null": "null"}
#: What the control plane's and the fixture format's patterns mean, in words.
_PATTERNS = {
    "^/": "must start with /",
    "^[^/?#\\s]+$": "must be an id without /, ?, # or blanks",
    "^[A-Za-z0-9\\-._~+/]+=*$": "must be a bearer token: letters, digits and -._~+/, then any =",
    "\\S": "must not be blank",
    "^[^\\x00-\\x08\\x0a-\\x1f\\x7f]*$": "must not hold control characters",
    "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,7})?(Z|[+-]\\d{2}:\\d{2})$":
        "must be an ISO 8601 instant with a time zone (e.g. 2025-06-26T08:48:07.13Z)",
}
#: The most extra properties a message names; the rest are counted.
_SHOWN_EXTRAS = 3


def _utf16_units(text: str) -> int:
    return len(text) + len(_ASTRAL.findall(text))


def describe(error: jsonschema.ValidationError) -> str:
    """A JSON Schema violation (a jsonschema ``ValidationError``) as a sentence: what the value
    must be, and at most a clipped value; never a Python repr. The place is the caller's to name."""
    rule, want, value = error.validator, error.validator_value, error.instance
    if rule == "type":
        kinds = [want] if isinstance(want, str) else list(want)
        # 2.5 where a whole number is wanted is "a number" too: then the value says more.
        found = quote(value) if isinstance(value, float) and "integer" in kinds else kind(value)
        return f"Must be {' or '.join(_TYPES.get(k, k) for k in kinds)}, not {found}."
    if rule == "enum":
        if len(want) == 1:
            return f"Can only be {quote(want[0])}, not {quote(value)}."
        return f"Must be one of {', '.join(quote(v) for v in want)}, not {quote(value)}."
    if rule == "required":
        # jsonschema reports each missing property apart, all with the same list: every one
        # names them all, and the caller keeps one of equal messages.
        missing = [name for name in want if isinstance(value, dict) and name not in value] or want[:1]
        return f"{listed([quote(name) for name in missing])} {'is' if len(missing) == 1 else 'are'} required."
    if rule == "additionalProperties":
        properties = error.schema.get("properties", {})
        known = sorted(properties)
        extras = [key for key in value if key not in properties] if isinstance(value, dict) else []
        shown = [quote(key) for key in islice(extras, _SHOWN_EXTRAS)]
        if len(extras) > _SHOWN_EXTRAS:
            shown.append(f"{len(extras) - _SHOWN_EXTRAS:,} more")
        what = (f"{listed(shown)} {'is not a property' if len(extras) == 1 else 'are not properties'} here"
                if extras else "Holds a property not allowed here")
        return f"{what}; known: {', '.join(known) or 'none'}."
    if rule == "minLength":
        return "Must not be empty." if want == 1 else f"Must be at least {want} characters long."
    if rule == "maxLength":
        # The mock's validators count as .NET does (aspnet.DotNetValidator): in UTF-16 code units.
        if not isinstance(value, str):
            return f"Must be at most {want} characters long."
        units = _utf16_units(value)
        counted = " (in UTF-16 code units, as .NET counts: an emoji is 2)" if units != len(value) else ""
        return f"Must be at most {want} characters long{counted}; {quote(value)} is {units:,}."
    if rule in ("minimum", "maximum"):
        exclusive = error.schema.get("exclusiveMinimum" if rule == "minimum" else "exclusiveMaximum")
        side = ("over" if exclusive else "at least") if rule == "minimum" else ("under" if exclusive else "at most")
        return f"Must be {side} {want}, not {quote(value)}."
    if rule == "minItems":
        return f"Must hold at least {want} item{'s' if want != 1 else ''}."
    if rule == "maxItems":
        return f"Must hold at most {want} item{'s' if want != 1 else ''}."
    if rule == "pattern":
        meaning = _PATTERNS.get(want) or f"must match the pattern {clip(want, 80)}"
        return meaning[:1].upper() + meaning[1:] + f", not {quote(value)}."
    if rule == "format":
        return f"Must be a {want}, not {quote(value)}."
    if rule in ("oneOf", "anyOf"):
        names = [name for schema in want for name in schema.get("required", [])]
        if names and isinstance(value, dict):
            given = [name for name in names if name in value]
            if rule == "oneOf" and len(given) > 1:
                together = "both" if len(given) == 2 else "all"
                return f"Takes only one of {listed(names, 'or')}; {' and '.join(given)} were {together} given."
            return f"Needs {'exactly' if rule == 'oneOf' else 'at least'} one of {listed(names, 'or')}."
        return f"Matches none of the allowed forms ({kind(value)} given)."
    return f"Is not valid here ({rule})."
