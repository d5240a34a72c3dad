"""The embedded server's behaviours beyond TensorFlow Serving (each listed in docs/model-server.md,
"Differences from TensorFlow Serving"): a graceful drain on SIGTERM, a bound on the REST body
size, and a limit on tensors expanded from a few values. TF Serving's own
behaviour is tested in tests/serving/conformance."""

import json
import re
import shutil
import signal

import grpc
import numpy as np
import pytest
from werkzeug.test import Client

from protocol.messages import predict_pb2, prediction_service_pb2_grpc, tensor_pb2, types_pb2
from protocol.tensors import TensorConversionError, to_ndarray, to_tensor_proto
from serving.modelserver.metrics import ServerMetrics
from serving.modelserver.rest_api import RestApi
from serving.processes import http, start_model_server, write_models_config
from tests.support.waiting import wait_until


class NoModels:
    """A core with no models."""

    def __init__(self):
        self.metrics = ServerMetrics()

    def status(self, spec):
        return []


def test_a_body_over_the_limit_is_413():
    app = RestApi(NoModels(), max_body_bytes=100)
    response = Client(app).post("/v1/models/m:predict", data=b"{" + b" " * 200 + b"}")
    assert response.status_code == 413
    assert "Request body larger than 100 bytes" in json.loads(response.data)["error"]


def test_a_few_values_cannot_expand_into_a_huge_tensor():
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0])
    proto.tensor_shape.dim.add(size=10**9)
    with pytest.raises(TensorConversionError, match="more than the 67108864"):
        to_ndarray(proto)


def in_flight(server) -> int:
    """Inference requests the model server has accepted and not yet answered (its metric)."""
    _, text = http("GET", server.rest_url + "/monitoring/prometheus/metrics", timeout=10)
    found = re.findall(r"^seqserve_requests_in_flight\{[^}]*\} (\S+)$", text, re.M)
    return int(sum(float(value) for value in found))


def test_sigterm_drains_in_flight_requests_and_exits_cleanly(models_dir, tmp_path):
    """TF Serving ends on SIGTERM at once; this server finishes what it accepted. Eight
    requests wait in a batch queue that runs only when its 3 s timeout ends; SIGTERM comes
    once the server counts all eight in flight: every one is answered, then a new request is
    refused."""
    base = tmp_path / "digit_classifier"
    shutil.copytree(models_dir / "digit_classifier" / "1", base / "1")
    config = write_models_config(tmp_path / "models.config", {"digit_classifier": base})
    batching = tmp_path / "batching.config"
    batching.write_text(
        "max_batch_size { value: 64 } batch_timeout_micros { value: 3000000 }"
        " max_enqueued_batches { value: 100 } num_batch_threads { value: 1 }"
    )
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text(
        'prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }'
    )
    flags = [
        "--enable_batching=true",
        f"--batching_parameters_file={batching}",
        f"--monitoring_config_file={monitoring}",
    ]
    server = start_model_server(config, ["digit_classifier"], tmp_path, flags)
    channel = grpc.insecure_channel(server.grpc_address)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "digit_classifier"
    request.inputs["images"].CopyFrom(to_tensor_proto(np.zeros((1, 28, 28), np.float32)))
    calls = [stub.Predict.future(request, timeout=60) for _ in range(8)]
    wait_until(lambda: in_flight(server) == 8, what="eight requests in flight")
    server.process.send_signal(signal.SIGTERM)
    answers = [call.result(timeout=60) for call in calls]  # raises if one was not answered
    assert all(answer.outputs["classes"].int64_val for answer in answers)
    assert server.process.wait(60) == 0, server.log_tail()
    assert "stopping: finishing in-flight requests" in server.log_tail()
    with pytest.raises(grpc.RpcError) as refused:
        stub.Predict(request, timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    channel.close()
