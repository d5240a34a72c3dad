"""Answers written by orjson read back as Flask's own JSON provider writes them."""

from __future__ import annotations

import json

import pytest
from flask import Flask, jsonify

from serving.gateway.json_provider import OrjsonProvider


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    return app


@pytest.mark.parametrize(
    "value",
    [
        {"predictions": [{"digit": 7, "probabilities": [0.10000000149011612, 1e-45]}]},
        {"error": {"code": "invalid_input", "message": "images[0]: é 中 \u2028"}},
        {"big": 123456789012345678901234567890},  # beyond orjson: Flask's provider writes it
        {"1": [None, True, False, -0.0, 2**63 - 1]},
    ],
)
def test_answer_reads_back_the_same_compact_with_a_newline(app, value):
    with app.app_context():
        response = jsonify(value)
    body = response.get_data()
    assert response.mimetype == "application/json"
    assert body.endswith(b"\n") and b"\n" not in body[:-1] and b", " not in body
    assert json.loads(body) == value


def test_options_go_to_flasks_own_dumps(app):
    with app.app_context():
        assert app.json.dumps({"a": 1}, indent=2) == '{\n  "a": 1\n}'
