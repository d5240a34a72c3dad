"""Fuzzing the model server's REST and gRPC APIs: generated JSON and bytes, truncated protobuf
messages, wrong dtypes. No 5xx over REST, no crash, and it keeps serving."""

from __future__ import annotations

import json

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.messages import predict_pb2, types_pb2
from protocol.tensors import to_tensor_proto
from serving.processes import http

FUZZ = settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PREDICT = "/tensorflow.serving.PredictionService/Predict"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.sampled_from(
                [
                    "instances",
                    "inputs",
                    "signature_name",
                    "sequences",
                    "b64",
                    "window",
                    "horizon",
                    "x",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=30,
)


def valid_request() -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "sum_regressor"
    request.inputs["sequences"].CopyFrom(to_tensor_proto(np.ones((2, 64), np.float32)))
    return request


def test_rest_never_answers_5xx_to_generated_bodies(model_server):
    paths = st.sampled_from(
        [
            "/v1/models/sum_regressor:predict",
            "/v1/models/forecaster:predict",
            "/v1/models/tf1_example:classify",
            "/v1/models/tf1_example:regress",
            "/v1/models/sum_regressor/versions/1:predict",
            "/v1/models/nope:predict",
        ]
    )

    @FUZZ
    @given(path=paths, body=json_values)
    def run(path, body):
        status, answer = http(
            "POST", model_server.rest_url + path, json.dumps(body, allow_nan=True)
        )
        assert status < 500, (status, answer)
        if status >= 400:
            assert isinstance(answer, dict) and isinstance(answer.get("error"), str)

    run()


@pytest.fixture(scope="module")
def raw_predict(model_server):
    channel = grpc.insecure_channel(model_server.grpc_address)
    yield channel.unary_unary(PREDICT, request_serializer=None, response_deserializer=None)
    channel.close()


def test_grpc_survives_garbage_and_truncated_messages(raw_predict):
    whole = valid_request().SerializeToString()

    @FUZZ
    @given(
        data=st.one_of(
            st.binary(max_size=200), st.integers(1, len(whole) - 1).map(lambda n: whole[:n])
        )
    )
    def run(data):
        try:
            raw_predict(data, timeout=10)
        except grpc.RpcError as error:
            assert error.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.NOT_FOUND,
                grpc.StatusCode.INTERNAL,
                grpc.StatusCode.FAILED_PRECONDITION,
            )

    run()
    answer = predict_pb2.PredictResponse.FromString(raw_predict(whole, timeout=10))
    assert answer.outputs["sum"].tensor_shape.dim[0].size == 2


@pytest.mark.parametrize(
    "dtype",
    [
        types_pb2.DT_STRING,
        types_pb2.DT_INT64,
        types_pb2.DT_BOOL,
        types_pb2.DT_DOUBLE,
        types_pb2.DT_HALF,
    ],
)
def test_wrong_dtypes_are_invalid_argument(raw_predict, dtype):
    request = valid_request()
    request.inputs["sequences"].dtype = dtype
    with pytest.raises(grpc.RpcError) as raised:
        raw_predict(request.SerializeToString(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
