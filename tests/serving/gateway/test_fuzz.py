"""Property-based fuzzing of every gateway route, in process against the real model server:
300 generated requests a route, never a 5xx, every error in the documented JSON shape."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.gateway.app import create_app
from serving.gateway.settings import GatewaySettings

EXAMPLES = 300
"""Per route, derandomized: the same bodies every run (300, to keep `make test` within its
time budget)."""
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 0.5, -1, 1e308, -1e308, 2**63, 1e-320]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=40,
)
number_rows = st.lists(st.one_of(numbers, st.sampled_from([0, 1])), min_size=0, max_size=70)
pins = st.fixed_dictionaries(
    {}, optional={"version": json_values | st.integers(-2, 3), "label": json_values}
)


def bodies(field_strategies: dict) -> st.SearchStrategy:
    near = st.fixed_dictionaries({}, optional=field_strategies).flatmap(
        lambda body: pins.map(lambda pin: {**body, **pin})
    )
    return st.one_of(near, json_values)


ROUTES = {
    "/v1/sum": bodies({"sequences": st.lists(number_rows, max_size=5) | json_values}),
    "/v1/digits": bodies(
        {
            "images": st.lists(
                st.one_of(
                    st.lists(st.floats(0, 1), min_size=784, max_size=784),
                    st.lists(st.lists(numbers, min_size=28, max_size=28), min_size=27, max_size=29),
                    st.fixed_dictionaries({"b64": st.text(max_size=40)}),
                    json_values,
                ),
                max_size=3,
            )
            | json_values
        }
    ),
    "/v1/forecast": bodies(
        {
            "series": st.lists(st.lists(numbers, min_size=18, max_size=25), max_size=3)
            | json_values,
            "horizon": st.integers(-5, 250) | json_values,
        }
    ),
    "/v1/models/forecaster:predict": bodies(
        {
            "instances": json_values,
            "inputs": json_values,
            "signature_name": st.sampled_from(["serving_default", "forecast", "nope"])
            | json_values,
        }
    ),
}
QUERIES = st.sampled_from(
    [
        "",
        "?version=1",
        "?version=x",
        "?label=stable",
        "?explain=rows",
        "?explain=%00",
        "?version=99999999999999999999",
    ]
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        "multipart/form-data; boundary=x",
    ]
)


@pytest.fixture(scope="module")
def client(model_server):
    settings_ = GatewaySettings(
        tfs_target=model_server.grpc_address, tfs_rest_url=model_server.rest_url, deadline_s=30
    )
    return create_app(settings_).test_client()


def check(response, path: str) -> None:
    """No 5xx; errors in the gateway's shape, or TF Serving's on its REST API's paths."""
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    if response.status_code >= 400:
        body = response.json
        assert set(body) == {"error"}
        if path.startswith("/v1/models/"):
            assert isinstance(body["error"], str) and body["error"]
        else:
            assert set(body["error"]) == {"code", "message"}
            assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def encode(body) -> bytes:
    return json.dumps(body, allow_nan=True, default=str).encode()


@pytest.mark.parametrize("path", list(ROUTES))
def test_generated_json_never_breaks_a_route(client, path):
    @FUZZ
    @given(body=ROUTES[path], query=QUERIES)
    def run(body, query):
        response = client.post(path + query, data=encode(body), content_type="application/json")
        check(response, path)

    run()


def test_generated_bytes_content_types_and_methods(client):
    @FUZZ
    @given(
        raw=st.binary(max_size=300),
        content_type=CONTENT_TYPES,
        method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
        path=st.sampled_from(
            [
                *ROUTES,
                "/v1/models",
                "/readyz",
                "/nope",
                "/v1/models/x/versions/0:predict",
                "/v1/models/%ff:predict",
            ]
        ),
    )
    def run(raw, content_type, method, path):
        check(client.open(path, method=method, data=raw, content_type=content_type), path)

    run()


def test_numbers_at_the_edges_are_400(client):
    for value in ("1e400", "-1e400", "NaN", "Infinity", "1" + "0" * 5000, "3.5e38"):
        raw = '{"series": [[' + ",".join(["0"] * 19 + [value]) + ']], "horizon": 3}'
        response = client.post("/v1/forecast", data=raw, content_type="application/json")
        check(response, "/v1/forecast")
        assert response.status_code == 400, value
