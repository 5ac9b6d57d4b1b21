"""The one wording of faulty values (mockchats.core.wording): clipped, escaped, never a repr."""
from __future__ import annotations

import time
from datetime import UTC, date, datetime

import jsonschema
import pytest

from mockchats.aspnet.habits import DotNetValidator
from mockchats.core.wording import SHOWN_CHARS, clip, describe, place_of, quote


@pytest.mark.parametrize("value, shown", [
    ("Admin", "'Admin'"),
    ("x" * 41, f"'{'x' * 40}…'"),
    ("x" * 40, f"'{'x' * 40}'"),
    ("a\x00b\r\n", "'a\\u0000b\\u000d\\u000a'"),
    ("\ud800", "'\\ud800'"),
    ("\U000e0001", "'\\udb40\\udc01'"),
    ("\u2028", "'\\u2028'"),
    ("😀 é", "'😀 é'"),
    (None, "null"), (True, "true"), (False, "false"),
    (-7, "-7"), (10 ** 39, str(10 ** 39)), (10 ** 100, "a number of about 101 digits"),
    (1.5, "1.5"), (1e300, "1e+300"), (float("inf"), "an infinite number"), (float("nan"), "NaN"),
    ({"a": 1}, "an object"), ([1, 2], "an array"),
    (datetime(2025, 1, 1, tzinfo=UTC), "a YAML date and time (quote it)"),
    (date(2025, 1, 1), "a YAML date (quote it)"), (b"\x00", "YAML binary data"), ({1}, "a YAML set"),
])
def test_a_value_is_shown_clipped_and_escaped(value, shown):
    assert quote(value) == shown


def test_an_int_past_pythons_digit_limit_is_named_by_its_size():
    assert quote(10 ** 5000) == "a number of about 5,001 digits"


def test_a_huge_value_is_not_serialised_to_be_shown():
    huge = {"k": ["x" * 1000] * 200_000}
    started = time.perf_counter()
    assert quote(huge) == "an object" and quote([huge] * 1000) == "an array"
    assert time.perf_counter() - started < 0.01


def test_clip_counts_the_values_characters():
    assert clip("é" * SHOWN_CHARS) == "é" * SHOWN_CHARS
    assert clip("abc", 2) == "ab…"


@pytest.mark.parametrize("path, root, place", [
    ([], "$", "$"), (["users", 0, "name"], "$", "$.users[0].name"),
    ([], "", "(document)"), (["sessions", 0, "users", 1, "role"], "", "sessions[0].users[1].role"),
    (["headers", "x" * 100 + "\n"], "$", f"$.headers.{'x' * 40}…"), (["h", "a\nb"], "$", "$.h.a\\u000ab"),
])
def test_a_place_is_a_json_path_with_clipped_keys(path, root, place):
    assert place_of(path, root=root) == place


SCHEMA = {"type": "object", "additionalProperties": False, "required": ["id", "name"],
          "properties": {"id": {"type": "string", "pattern": "^[^/?#\\s]+$"},
                         "name": {"type": "string", "maxLength": 3},
                         "size": {"type": "integer", "minimum": 1}}}


def said(instance) -> list[str]:
    return sorted({describe(error) for error in DotNetValidator(SCHEMA).iter_errors(instance)})


@pytest.mark.parametrize("instance, message", [
    ({}, "'id' and 'name' are required."),
    ({"id": "a", "name": "abcd"}, "Must be at most 3 characters long; 'abcd' is 4."),
    ({"id": "a", "name": "a😀"}, None),  # 3 UTF-16 code units fit
    ({"id": "a", "name": "ab😀"}, "Must be at most 3 characters long (in UTF-16 code units, as .NET counts: "
                                  "an emoji is 2); 'ab😀' is 4."),
    ({"id": "a b", "name": "n"}, "Must be an id without /, ?, # or blanks, not 'a b'."),
    ({"id": "a", "name": "n", "size": 0}, "Must be at least 1, not 0."),
    ({"id": "a", "name": "n", "size": 2.5}, "Must be a whole number, not 2.5."),
    ({"id": "a", "name": "n", "size": "2"}, "Must be a whole number, not a string."),
    ({"id": "a", "name": "n", **{f"x{i}": i for i in range(5)}},
     "'x0', 'x1', 'x2' and 2 more are not properties here; known: id, name, size."),
    ({"id": "a", "name": "n", "y" * 100: 1}, f"'{'y' * 40}…' is not a property here; known: id, name, size."),
])
def test_a_violation_is_said_in_one_sentence(instance, message):
    assert said(instance) == ([message] if message else [])


def test_an_unknown_rule_still_says_something():
    error = next(jsonschema.Draft4Validator({"uniqueItems": True}).iter_errors([1, 1]))
    assert describe(error) == "Is not valid here (uniqueItems)."
