"""Hypothesis against the control plane's JSON reader: whatever the text, a value that can be
given back or a 400 naming the place, never a 500 (and the journal's ``json`` never raises)."""
from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import assert_human

from mockchats import aspnet
from mockchats.core.journal import JsonRefused, body_json, read_json

#: JSON text, with what Python's reader takes and no JSON writer gives back mixed in.
ATOMS = st.one_of(
    st.sampled_from(["null", "true", "false", "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999",
                     '"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"', '"\\u0000"', '"now"', "-0", "1E400"]),
    st.integers().map(str),
    st.integers(min_value=4290, max_value=4400).map(lambda n: "9" * n),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=20).map(json.dumps),
)
KEYS = st.sampled_from(['"freeze"', '"advanceSeconds"', '"real"', '"seed"', '"x"', '"\\ud800"', '""'])
VALUES = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(KEYS, inner), max_size=3).map(
            lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}")),
    max_leaves=15)
DEEP = st.tuples(st.integers(min_value=0, max_value=3000), ATOMS).map(lambda d: "[" * d[0] + d[1] + "]" * d[0])
TEXTS = st.one_of(VALUES, DEEP, st.text(max_size=40))

#: Every test starts and ends in the start world (conftest's fresh).
pytestmark = pytest.mark.usefixtures("fresh")


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_what_is_read_can_be_given_back_and_nothing_else_escapes(text):
    data = text.encode("utf-8", "surrogatepass")
    try:
        value = read_json(data)
    except JsonRefused as refused:
        assert refused.place.startswith("$") and refused.message
        assert body_json(data) is None
        return
    assert json.loads(aspnet.dumps(value)) == value
    assert body_json(data) == value


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS)
def test_the_clock_answers_any_text_with_200_or_a_worded_400(server, mock, text):
    response = requests.post(server.root_url + "/_mock/clock", data=text.encode("utf-8", "surrogatepass"),
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code in (200, 400), (text[:200], response.text[:300])
    if response.status_code == 400:
        assert_human(response.json())
    mock.clock.real()

