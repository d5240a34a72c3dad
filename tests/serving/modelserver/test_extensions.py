"""The embedded server's behaviours beyond TensorFlow Serving (each listed in the README's
"Differences from TensorFlow Serving"): a graceful drain on SIGTERM, a bound on concurrent REST
requests and on body size, and a limit on tensors expanded from a few values. TF Serving's own
behaviour is tested in tests/serving/conformance."""

import json
import shutil
import threading
import time

import grpc
import numpy as np
import pytest
from werkzeug.test import Client

from loadtest.processes import start_model_server, write_models_config
from protocol.messages import predict_pb2, prediction_service_pb2_grpc, tensor_pb2, types_pb2
from protocol.tensors import TensorConversionError, to_ndarray, to_tensor_proto
from serving.modelserver.metrics import ServerMetrics
from serving.modelserver.rest_api import RestApi


class SlowCore:
    """Answers GetModelStatus slowly, as a busy model would."""

    def __init__(self, delay):
        self.delay = delay
        self.metrics = ServerMetrics()

    def status(self, spec):
        time.sleep(self.delay)
        return []


def test_a_request_waiting_past_the_timeout_for_a_rest_slot_gets_504():
    """--rest_api_num_threads bounds the REST requests running at once; one that cannot start
    within --rest_api_timeout_in_ms is answered 504 in TF Serving's error shape."""
    app = RestApi(SlowCore(0.6), timeout_seconds=0.2, max_concurrent=1)
    busy = threading.Thread(target=lambda: Client(app).get("/v1/models/m"))
    busy.start()
    time.sleep(0.05)
    response = Client(app).get("/v1/models/m")
    busy.join()
    assert response.status_code == 504
    assert json.loads(response.data) == {
        "error": "Deadline exceeded waiting for a free REST worker"
    }


def test_a_body_over_the_limit_is_413():
    app = RestApi(SlowCore(0), max_body_bytes=100)
    response = Client(app).post("/v1/models/m:predict", data=b"{" + b" " * 200 + b"}")
    assert response.status_code == 413
    assert "Request body larger than 100 bytes" in json.loads(response.data)["error"]


def test_a_few_values_cannot_expand_into_a_huge_tensor():
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0])
    proto.tensor_shape.dim.add(size=10**9)
    with pytest.raises(TensorConversionError, match="more than the 67108864"):
        to_ndarray(proto)


def test_sigterm_drains_in_flight_requests_and_exits_cleanly(models_dir, tmp_path):
    """TF Serving ends on SIGTERM at once; this server finishes what it accepted."""
    base = tmp_path / "digit_classifier"
    shutil.copytree(models_dir / "digit_classifier" / "1", base / "1")
    config = write_models_config(tmp_path / "models.config", {"digit_classifier": base})
    server = start_model_server(config, ["digit_classifier"], tmp_path)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(
        grpc.insecure_channel(server.grpc_address)
    )
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "digit_classifier"
    request.inputs["images"].CopyFrom(to_tensor_proto(np.zeros((16, 28, 28), np.float32)))
    outcomes, stop = [], threading.Event()

    def client():
        while not stop.is_set():
            try:
                stub.Predict(request, timeout=10)
                outcomes.append("OK")
            except grpc.RpcError as error:
                outcomes.append(error.code().name)
                time.sleep(0.01)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    answered_before = outcomes.count("OK")
    exit_code = server.stop(timeout=30)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(15)
    assert exit_code == 0, server.log_tail()
    assert answered_before > 0
    # Refusals only: UNAVAILABLE once the port is closed, CANCELLED for calls that had arrived
    # but not started when stopping began (gRPC never ran them); never an error mid-response.
    assert set(outcomes) <= {"OK", "UNAVAILABLE", "CANCELLED"}, sorted(set(outcomes))
    assert "stopping: finishing in-flight requests" in server.log_tail()
