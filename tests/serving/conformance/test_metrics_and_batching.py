"""TF Serving's Prometheus metrics and its batching session.

Metric names, labels and units come from TF Serving's `servables/tensorflow/util.cc`
(request_count, request_latency, runtime_latency), `batching/batching_session.cc` and
`batching/batching_util.h`, TensorFlow's `cc/saved_model/loader.cc` (load metrics), exposed as
`util/prometheus_exporter.cc` writes them. Batching behaviour comes from `batching_session.cc`
and TensorFlow's `shared_batch_scheduler.h`.
"""

import re
import shutil

import grpc
import numpy as np
import pytest

from protocol.tensors import to_ndarray, to_tensor_proto
from tests.serving.conformance import models
from tests.serving.conformance.tfs import (
    RPC_TIMEOUT,
    call_rest,
    predict_x,
    prediction_stub,
)


def metrics_page(server) -> str:
    status, body = call_rest(f"{server.rest_url}/monitoring/prometheus/metrics")
    assert status == 200
    return body.decode()


def value(page: str, sample: str, missing: float | None = None) -> float:
    """A sample's value; `missing` when the page lacks it (a cell not created yet)."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", page, re.MULTILINE)
    if match is None and missing is not None:
        return missing
    assert match, f"{sample} not in the metrics page"
    return float(match.group(1))


def test_request_metrics_have_tf_servings_names_labels_and_units(default_server):
    prediction_stub(default_server).Predict(predict_x(), RPC_TIMEOUT)
    call_rest(f"{default_server.rest_url}/v1/models/default:predict", {"instances": [1.0]})
    page = metrics_page(default_server)
    assert "# TYPE :tensorflow:serving:request_count counter" in page
    assert value(page, ':tensorflow:serving:request_count{model_name="default",status="OK"}') >= 2
    assert "# TYPE :tensorflow:serving:request_latency histogram" in page
    latency = ":tensorflow:serving:request_latency"
    grpc_labels = 'model_name="default",API="Predict",entrypoint="GRPC"'
    assert value(page, f'{latency}_bucket{{{grpc_labels},le="10"}}') >= 0
    assert value(page, f'{latency}_count{{model_name="default",API="predict",entrypoint="REST"}}')
    assert ":tensorflow:serving:runtime_latency_bucket{" in page and 'runtime="TF1"' in page
    assert 'le="+Inf"' in page
    assert ":tensorflow:serving:request_count_total" not in page and "# HELP" not in page


def test_errors_are_counted_by_status(default_server):
    request = predict_x("default", signature_name="nope")
    with pytest.raises(grpc.RpcError):
        prediction_stub(default_server).Predict(request, RPC_TIMEOUT)
    sample = ':tensorflow:serving:request_count{model_name="default",status="FAILED_PRECONDITION"}'
    assert value(metrics_page(default_server), sample) >= 1


def test_load_metrics_name_the_version_path(default_server, testdata):
    page = metrics_page(default_server)
    path = testdata / models.TF1_MODEL / "00000123"
    assert (
        value(
            page,
            f':tensorflow:cc:saved_model:load_attempt_count{{model_path="{path}",status="success"}}',
        )
        == 1
    )
    assert value(page, f':tensorflow:cc:saved_model:load_latency{{model_path="{path}"}}') > 0


def batch_of(rows: int):
    request = predict_x("default", specify_output=False)
    request.inputs["x"].CopyFrom(to_tensor_proto(np.arange(rows, dtype=np.float32)))
    return request


def test_batches_pad_to_allowed_sizes_split_large_requests_and_refuse_oversized(
    own_server, testdata, tmp_path
):
    """allowed_batch_sizes pads a batch to the next allowed size (the padding rows' outputs are
    dropped); with enable_large_batch_splitting a request is cut into batches of at most
    max_execution_batch_size; a request over max_batch_size is INVALID_ARGUMENT."""
    params = tmp_path / "batching.config"
    params.write_text(
        "max_batch_size { value: 8 } batch_timeout_micros { value: 0 } "
        "num_batch_threads { value: 1 } allowed_batch_sizes: 2 allowed_batch_sizes: 4 "
        "allowed_batch_sizes: 8 enable_large_batch_splitting { value: true } "
        "max_execution_batch_size { value: 4 }"
    )
    monitoring = testdata / "monitoring_config.txt"
    server = own_server(
        "--model_name=default",
        f"--model_base_path={testdata / models.TF1_MODEL}",
        "--enable_batching",
        f"--batching_parameters_file={params}",
        f"--monitoring_config_file={monitoring}",
    )
    stub = prediction_stub(server)
    runs_before = value(
        metrics_page(server), ":tensorflow:serving:batching_session:wrapped_run_count{}", 0
    )

    three = stub.Predict(batch_of(3), RPC_TIMEOUT)
    np.testing.assert_allclose(to_ndarray(three.outputs["y"]), 0.5 * np.arange(3) + 2)
    page = metrics_page(server)
    assert (
        value(
            page, ':tensorflow:serving:batching_session:padding_size_sum{execution_batch_size="4"}'
        )
        >= 1
    )

    seven = stub.Predict(batch_of(7), RPC_TIMEOUT)
    np.testing.assert_allclose(to_ndarray(seven.outputs["y"]), 0.5 * np.arange(7) + 2)
    runs = value(metrics_page(server), ":tensorflow:serving:batching_session:wrapped_run_count{}")
    assert runs - runs_before >= 3

    with pytest.raises(grpc.RpcError) as raised:
        stub.Predict(batch_of(9), RPC_TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == "Task size 9 is larger than maximum input batch size 8"
    page = metrics_page(server)
    assert (
        ':tensorflow:serving:batching_session:queuing_latency_count{thread_pool_name="batch_threads"}'
        in page
    )
    assert ":tensorflow:serving:batching_session:processed_batch_size_bucket{le=" in page


def test_per_model_batching_parameters(own_server, testdata, tmp_path):
    """--enable_per_model_batching_parameters: a version with batching_params.pbtxt is batched
    with those parameters; without the file it is not batched at all."""
    batched = tmp_path / "batched"
    shutil.copytree(testdata / models.TF1_MODEL, batched)
    (batched / "00000123" / "batching_params.pbtxt").write_text("max_batch_size { value: 2 }")
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list {"
        f' config {{ name: "batched" base_path: "{batched}" model_platform: "tensorflow" }}'
        f' config {{ name: "plain" base_path: "{testdata / models.TF1_MODEL}"'
        ' model_platform: "tensorflow" } }'
    )
    server = own_server(
        f"--model_config_file={config}",
        "--enable_batching",
        "--enable_per_model_batching_parameters",
    )
    stub = prediction_stub(server)
    request = batch_of(3)
    request.model_spec.name = "plain"
    assert stub.Predict(request, RPC_TIMEOUT)
    request.model_spec.name = "batched"
    with pytest.raises(grpc.RpcError) as raised:
        stub.Predict(request, RPC_TIMEOUT)
    assert raised.value.details() == "Task size 3 is larger than maximum input batch size 2"
