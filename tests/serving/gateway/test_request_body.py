"""The request body's JSON: orjson where its reading is exactly `json`'s, `json` (with the
duplicate-key check and its messages) everywhere else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving.gateway import request_body
from serving.gateway.request_body import DuplicateKey, parsed

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), JSON_VALUES, max_size=6))
def test_any_object_reads_as_json_reads_it(body):
    text = json.dumps(body).encode()
    assert parsed(text) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": 1, "a": 2}',  # one `{`: the fast path must see the repeat too
        b'{"a": [1], "b": {"a": 1, "a": 2}}',
        b'{"x:": 1, "x:": 2}',
    ],
)
def test_a_repeated_key_is_refused_wherever_it_is(text):
    with pytest.raises(DuplicateKey):
        parsed(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        (b'{"horizon": 123456789012345678901234567890}', 123456789012345678901234567890),
        (b'{"horizon": -12345678901234567890}', -12345678901234567890),
        (b'{"horizon": 1234567890123456789}', 1234567890123456789),
        (b'{"horizon": NaN}', None),
        (b'{"horizon": 1e400}', float("inf")),
        (b'{"horizon": "a:b"}', "a:b"),
    ],
)
def test_what_orjson_would_read_differently_or_refuse_reads_as_json_does(text, expected):
    value = parsed(text)["horizon"]
    if expected is None:
        assert value != value  # NaN, for validation to name
    else:
        assert value == expected and type(value) is type(expected)


def test_a_long_fraction_is_not_taken_for_a_long_integer():
    assert not request_body._long_integer(
        b'{"a": [0.0039215688593685627, 1.5e12345678901234567890]}'
    )
    assert request_body._long_integer(b'{"a": [0.5, 12345678901234567890]}')
    assert request_body._long_integer(b'{"a": [-12345678901234567890]}')


def test_a_plain_body_is_read_without_json(monkeypatch):
    """The common body (one object, numbers) takes orjson's way, not the slow one."""

    def refuse(*args, **kwargs):
        raise AssertionError("json.loads was used")

    monkeypatch.setattr(request_body.json, "loads", refuse)
    rows = [[0.0039215688593685627] * 28 for _ in range(28)]
    text = json.dumps({"images": [rows], "version": 1}).encode()
    assert parsed(text) == {"images": [rows], "version": 1}
