"""The OpenAPI document is the request contract: on generated bodies, near the limits and past
them, the gateway answers 200 exactly when the body validates against the route's documented
schema (jsonschema as the referee; OpenAPI 3.0's Schema Object reads as JSON Schema draft 7 for
every keyword used), and 400 otherwise. So the documentation cannot drift from the validation
unnoticed. Not covered: `{"b64": ...}` images, whose content the schema cannot describe."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from serving.gateway.app import create_app
from serving.gateway.settings import GatewaySettings
from tests.serving.gateway.fakes import FakeBackend

LIMITS = GatewaySettings(max_batch=3, max_sequence_length=6, max_series_length=24, max_horizon=5)
CONTRACT = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
ODD = st.sampled_from([None, True, False, "1", "x", [], {}])


def numbers(*special: float):
    return st.one_of(st.sampled_from(special), ODD)


def up_to(items, most: int):
    return st.lists(items, min_size=0, max_size=most + 1)


pins = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from([1, 2.0, 0, -1, 2**63 - 1, 2**63, 2.5, "2", "x", True, None]),
        "label": st.sampled_from(["stable", "canary-2", "", "bad label", "x" * 65, 3, None]),
        "extra": st.just(1),
    },
)


@st.composite
def one_flaw(draw, values: list, bad):
    """`values`, or a copy with one item replaced by a draw from `bad`."""
    if values and draw(st.booleans()):
        values = list(values)
        values[draw(st.integers(0, len(values) - 1))] = draw(bad)
    return values


sequences = up_to(st.sampled_from([0, 1, 1.0, 0.0]), 6).flatmap(
    lambda bits: one_flaw(bits, numbers(2, -1, 0.5))
)
sum_bodies = st.fixed_dictionaries({"sequences": up_to(sequences, 3)})


series = st.integers(19, 25).flatmap(
    lambda n: one_flaw([0.5] * n, st.one_of(st.sampled_from([-2, 1e6, 1e6 + 1, -1e6 - 1]), ODD))
)
forecast_bodies = st.fixed_dictionaries(
    {
        "series": up_to(series, 3),
        "horizon": st.sampled_from([1, 5, 0, 6, 3.0, 2.5, "3", None, True]),
    }
)


@st.composite
def images(draw):
    """A valid 28×28 or 784 image, sometimes with one thing wrong."""
    flat = draw(st.booleans())
    image = [0.5] * 784 if flat else [[0.5] * 28 for _ in range(28)]
    flaw = draw(st.sampled_from(["none", "pixel", "short", "long", "object"]))
    bad = draw(st.sampled_from([1.5, -0.1, "x", None, True, 1, 0]))
    if flaw == "pixel":
        if flat:
            image[draw(st.integers(0, 783))] = bad
        else:
            image[draw(st.integers(0, 27))][draw(st.integers(0, 27))] = bad
    elif flaw == "short":
        image.pop() if flat else image[draw(st.integers(0, 27))].pop()
    elif flaw == "long":
        image.append(0.5) if flat else image.append([0.5] * 28)
    elif flaw == "object":
        return draw(st.sampled_from([{"b64": 3}, {"b64": "AA==", "x": 1}, {}]))
    return image


digit_bodies = st.fixed_dictionaries({"images": up_to(images(), 3)})


@st.composite
def maybe_missing(draw, bodies):
    """A body, now and then without one of its fields."""
    body = draw(bodies)
    if draw(st.integers(0, 4)) == 0:
        body.pop(draw(st.sampled_from(sorted(body))))
    return body


def referee(route_schema: str) -> Draft7Validator:
    spec = create_app(LIMITS, FakeBackend()).test_client().get("/openapi.json").json
    return Draft7Validator(
        {
            "$ref": f"#/components/schemas/{route_schema}",
            "components": as_json_schema(spec["components"]),
        }
    )


def as_json_schema(node):
    """OpenAPI 3.0's `nullable: true` written the JSON Schema way (a "null" type)."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: as_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        converted["type"] = [node["type"], "null"]
    return converted


@pytest.mark.parametrize(
    ("route", "schema", "bodies"),
    [
        ("/v1/sum", "SumRequest", maybe_missing(sum_bodies)),
        ("/v1/forecast", "ForecastRequest", maybe_missing(forecast_bodies)),
        ("/v1/digits", "DigitsRequest", maybe_missing(digit_bodies)),
    ],
)
def test_the_gateway_accepts_exactly_what_its_openapi_document_allows(route, schema, bodies):
    client = create_app(LIMITS, FakeBackend()).test_client()
    validator = referee(schema)

    @CONTRACT
    @given(body=bodies, pin=pins)
    def check(body, pin):
        body = {**body, **pin}
        response = client.post(route, json=body)
        documented = validator.is_valid(body)
        assert response.status_code == (200 if documented else 400), (
            body,
            response.json,
            [error.message for error in validator.iter_errors(body)][:3],
        )

    check()
