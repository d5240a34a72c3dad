"""The Open Inference Protocol (V2) on the model server, driven by clients others wrote
(tritonclient's HTTP client, JSON and binary tensors; tritonclient's gRPC client and KServe's
REST and gRPC clients, from a virtual environment of their own) and by the protocol's own gRPC
stubs; every answer compared with TF Serving's REST `:predict` on the same rows.

Expectations come from kserve/kserve docs/predict-api/v2/required_api.md ("required_api") and
triton-inference-server/server docs/protocol/extension_binary_data.md ("binary extension"),
named in each test."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import numpy as np
import pytest
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from contract.models import MODELS
from protocol.v2 import grpc_predict_v2_pb2 as pb
from protocol.v2 import grpc_predict_v2_pb2_grpc
from serving.processes import REPO, http
from tests.conftest import STACK_API_KEY

HERE = Path(__file__).parent
DATATYPES = {"float32": "FP32", "int64": "INT64", "int32": "INT32"}
RNG = np.random.default_rng(7)
ROWS = {
    "sum_regressor": {"sequences": RNG.integers(0, 2, (3, 12)).astype(np.float32)},
    "digit_classifier": {"images": RNG.random((2, 28, 28), dtype=np.float32)},
    "forecaster": {"window": RNG.random((2, 20), dtype=np.float32)},
}
FORECAST = {
    "window": RNG.random((2, 20), dtype=np.float32),
    "horizon": np.array([5, 5], np.int32),
}


def tf_serving_predict(rest_url: str, model: str, inputs: dict, signature: str = "") -> dict:
    body = {"inputs": {alias: value.tolist() for alias, value in inputs.items()}}
    if signature:
        body["signature_name"] = signature
    status, answer = http("POST", f"{rest_url}/v1/models/{model}:predict", json.dumps(body))
    assert status == 200, answer
    outputs = answer["outputs"]
    return outputs if isinstance(outputs, dict) else {"only": outputs}


def expected_metadata(model: str) -> dict:
    """What the model's contract says, in the protocol's terms (required_api: "Model
    Metadata Response JSON Object", $metadata_tensor; -1 for a variable-size dimension)."""
    signature = MODELS[model].signature()

    def tensors(found):
        return [
            {
                "name": alias,
                "datatype": DATATYPES[tensor.dtype],
                "shape": [-1 if size is None else size for size in tensor.shape],
            }
            for alias, tensor in sorted(found.items())
        ]

    return {"inputs": tensors(signature.inputs), "outputs": tensors(signature.outputs)}


@pytest.fixture(scope="module")
def triton(model_server):
    client = triton_http.InferenceServerClient(model_server.rest_url.removeprefix("http://"))
    yield client
    client.close()


def test_health_answers_by_status_and_says_it_in_the_body(model_server):
    """required_api, "Health": 200 is true. The body carries the same answer, as KServe's
    client reads it (kserve/python/kserve/kserve/inference_client.py: is_server_live reads
    "live", is_server_ready and is_model_ready read "ready")."""
    for path, body in (
        ("/v2/health/live", {"live": True}),
        ("/v2/health/ready", {"ready": True}),
        ("/v2/models/forecaster/ready", {"name": "forecaster", "ready": True}),
    ):
        with urllib.request.urlopen(model_server.rest_url + path) as response:
            assert (response.status, json.loads(response.read())) == (200, body), path


def test_server_metadata_names_the_binary_extension(triton):
    """required_api, "Server Metadata Response JSON Object"; binary extension: the server
    reports "binary_tensor_data" among its extensions."""
    found = triton.get_server_metadata()
    assert found["name"] == "seqserve" and found["version"]
    assert "binary_tensor_data" in found["extensions"]
    assert triton.is_server_live() and triton.is_server_ready()


@pytest.mark.parametrize("model", sorted(MODELS))
def test_model_metadata_is_the_contracts_signature(triton, model):
    found = triton.get_model_metadata(model)
    assert (found["name"], found["versions"], found["platform"]) == (
        model,
        ["1"],
        "tensorflow_savedmodel",
    )
    assert {part: found[part] for part in ("inputs", "outputs")} == expected_metadata(model)
    assert found["parameters"] == {"signature_name": "serving_default"}
    assert triton.is_model_ready(model) and triton.is_model_ready(model, "1")


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_infer_equals_tf_servings_predict(triton, model_server, model, binary):
    inputs = ROWS[model]
    request_inputs = []
    for alias, value in inputs.items():
        tensor = triton_http.InferInput(alias, list(value.shape), "FP32")
        tensor.set_data_from_numpy(value, binary_data=binary)
        request_inputs.append(tensor)
    outputs = expected_metadata(model)["outputs"]
    requested = [triton_http.InferRequestedOutput(o["name"], binary_data=binary) for o in outputs]
    answer = triton.infer(model, request_inputs, outputs=requested, request_id="r-1")
    reference = tf_serving_predict(model_server.rest_url, model, inputs)
    assert answer.get_response()["id"] == "r-1"  # required_api: "id" echoed
    assert answer.get_response()["model_version"] == "1"
    for output in outputs:
        expected = np.asarray(reference.get(output["name"], reference.get("only")))
        np.testing.assert_allclose(answer.as_numpy(output["name"]), expected, atol=1e-6)


def test_another_signature_by_parameter(triton, model_server):
    """This server's `signature_name` parameter (required_api, "Parameters": servers may
    define their own) picks the forecaster's `forecast` signature."""
    request_inputs = []
    for alias, value in FORECAST.items():
        datatype = "INT32" if value.dtype == np.int32 else "FP32"
        tensor = triton_http.InferInput(alias, list(value.shape), datatype)
        tensor.set_data_from_numpy(value)
        request_inputs.append(tensor)
    answer = triton.infer("forecaster", request_inputs, parameters={"signature_name": "forecast"})
    reference = tf_serving_predict(model_server.rest_url, "forecaster", FORECAST, "forecast")
    np.testing.assert_allclose(
        answer.as_numpy("forecast"), np.asarray(reference["only"]), atol=1e-6
    )


def test_an_unknown_model_or_version_is_refused_with_an_error(triton, model_server):
    """required_api, "Inference Response JSON Error Object": {"error": message}."""
    tensor = triton_http.InferInput("window", [1, 20], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 20), np.float32))
    with pytest.raises(InferenceServerException, match="nope"):
        triton.infer("nope", [tensor])
    status, body = http("GET", f"{model_server.rest_url}/v2/models/forecaster/versions/9")
    assert status == 404 and "Specific(forecaster, 9)" in body["error"]
    assert not triton.is_model_ready("forecaster", "9")


@pytest.mark.parametrize(
    "body, message",
    [
        ({"inputs": []}, "inputs: expected a non-empty list"),
        (
            {
                "inputs": [
                    {"name": "window", "shape": [1, 20], "datatype": "FP64", "data": [0] * 20}
                ]
            },
            "expected datatype FP32, got FP64",
        ),
        (
            {
                "inputs": [
                    {"name": "window", "shape": [1, 20], "datatype": "FP32", "data": [0] * 19}
                ]
            },
            "shape [1, 20] needs 20 elements, got 19",
        ),
        (
            {"inputs": [{"name": "window", "shape": [1, 20], "datatype": "FLOAT", "data": [0]}]},
            "unknown datatype 'FLOAT'",
        ),
        (
            {"inputs": [{"name": "window", "shape": [], "datatype": {}, "data": [None]}]},
            "unknown datatype {}",
        ),
    ],
)
def test_a_bad_request_is_400_naming_the_problem(model_server, body, message):
    status, answer = http(
        "POST", f"{model_server.rest_url}/v2/models/forecaster/infer", json.dumps(body)
    )
    assert status == 400 and message in answer["error"]


def test_binary_data_travels_after_the_json_header(model_server):
    """binary extension, "Examples": the JSON header's length in
    Inference-Header-Content-Length, each tensor's bytes after it in order, and the answer
    laid out the same way when binary_data_output is asked."""
    window = np.linspace(0, 1, 20, dtype=np.float32)[None]
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "window",
                    "shape": [1, 20],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": window.nbytes},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    request = urllib.request.Request(
        f"{model_server.rest_url}/v2/models/forecaster/infer",
        data=header + window.tobytes(),
        headers={
            "Content-Type": "application/octet-stream",
            "Inference-Header-Content-Length": str(len(header)),
        },
    )
    with urllib.request.urlopen(request) as response:
        length = int(response.headers["Inference-Header-Content-Length"])
        body = response.read()
    answer = json.loads(body[:length])
    (output,) = answer["outputs"]
    assert output["parameters"]["binary_data_size"] == len(body) - length == 20 * 4
    values = np.frombuffer(body[length:], "<f4").reshape(output["shape"])
    reference = tf_serving_predict(model_server.rest_url, "forecaster", {"window": window})
    np.testing.assert_allclose(values, np.asarray(reference["only"]), atol=1e-6)


@pytest.fixture(scope="module")
def inference_stub(model_server):
    channel = grpc.insecure_channel(model_server.grpc_address)
    yield grpc_predict_v2_pb2_grpc.GRPCInferenceServiceStub(channel)
    channel.close()


def test_grpc_health_and_metadata(inference_stub):
    """required_api, "GRPC": ServerLive, ServerReady, ModelReady, ServerMetadata,
    ModelMetadata."""
    assert inference_stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
    assert inference_stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready
    assert inference_stub.ModelReady(pb.ModelReadyRequest(name="forecaster"), timeout=10).ready
    found = inference_stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=10)
    assert found.name == "seqserve" and "binary_tensor_data" in found.extensions
    found = inference_stub.ModelMetadata(pb.ModelMetadataRequest(name="digit_classifier"))
    assert [(t.name, t.datatype, list(t.shape)) for t in found.inputs] == [
        ("images", "FP32", [-1, 28, 28])
    ]


@pytest.mark.parametrize("raw", [True, False], ids=["raw_contents", "typed_contents"])
def test_grpc_infer_equals_tf_servings_predict(inference_stub, model_server, raw):
    images = ROWS["digit_classifier"]["images"]
    request = pb.ModelInferRequest(model_name="digit_classifier", id="g-1")
    tensor = request.inputs.add(name="images", datatype="FP32", shape=list(images.shape))
    if raw:
        request.raw_input_contents.append(images.tobytes())
    else:
        tensor.contents.fp32_contents.extend(images.reshape(-1).tolist())
    request.outputs.add(name="probabilities")
    answer = inference_stub.ModelInfer(request, timeout=30)
    assert (answer.model_name, answer.model_version, answer.id) == ("digit_classifier", "1", "g-1")
    (output,) = answer.outputs
    values = np.frombuffer(answer.raw_output_contents[0], "<f4").reshape(output.shape)
    reference = tf_serving_predict(model_server.rest_url, "digit_classifier", {"images": images})
    np.testing.assert_allclose(values, np.asarray(reference["probabilities"]), atol=1e-6)


def test_grpc_unknown_model_is_not_found(inference_stub):
    request = pb.ModelInferRequest(model_name="nope")
    request.inputs.add(name="x", datatype="FP32", shape=[1]).contents.fp32_contents.append(0.0)
    with pytest.raises(grpc.RpcError) as raised:
        inference_stub.ModelInfer(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_through_the_gateway_the_same_answers(gateway, triton, binary):
    """The gateway proxies /v2 as it proxies TF Serving's REST API: bytes in, bytes out,
    Inference-Header-Content-Length both ways (binary extension)."""
    proxied = triton_http.InferenceServerClient(gateway.rest_url.removeprefix("http://"))
    images = ROWS["digit_classifier"]["images"]
    answers = []
    for client in (triton, proxied):
        tensor = triton_http.InferInput("images", list(images.shape), "FP32")
        tensor.set_data_from_numpy(images, binary_data=binary)
        output = triton_http.InferRequestedOutput("probabilities", binary_data=binary)
        answers.append(client.infer("digit_classifier", [tensor], outputs=[output]))
    assert proxied.is_server_live() and proxied.is_model_ready("digit_classifier")
    assert proxied.get_model_metadata("digit_classifier")["name"] == "digit_classifier"
    proxied.close()
    np.testing.assert_array_equal(
        answers[0].as_numpy("probabilities"), answers[1].as_numpy("probabilities")
    )


V2_CLIENTS = ("tritonclient[grpc]>=2.60", "kserve==0.21.0")
"""Clients others wrote that pin protobuf below 7 (this project's protocol/ needs 7): they get a
virtual environment of their own, made once under .peers/ like the benchmark's peers."""


@pytest.fixture(scope="module")
def v2_clients_python() -> Path:
    venv = REPO / ".peers" / "v2clients"
    python = venv / "bin" / "python"
    marker = venv / "installed.txt"
    if not marker.exists() or marker.read_text() != "\n".join(V2_CLIENTS):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *V2_CLIENTS],
            check=True,
            capture_output=True,
            timeout=600,
        )
        marker.write_text("\n".join(V2_CLIENTS))
    return python


@pytest.mark.parametrize("family", ["triton", "kserve"])
def test_grpc_and_kserve_clients_get_tf_servings_answers(v2_clients_python, model_server, family):
    """tritonclient's gRPC client, and KServe's REST and gRPC clients, on all three models."""
    rows = {model: {a: v.tolist() for a, v in inputs.items()} for model, inputs in ROWS.items()}
    script = HERE / "v2_peers" / "clients.py"
    run = subprocess.run(
        [
            str(v2_clients_python),
            str(script),
            family,
            model_server.grpc_address,
            model_server.rest_url,
        ],
        input=json.dumps(rows),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout)
    references = {
        model: tf_serving_predict(model_server.rest_url, model, inputs)
        for model, inputs in ROWS.items()
    }
    if family == "triton":
        assert found["live"] and found["ready"]
        assert found["unknown model"] == "StatusCode.NOT_FOUND"
        answers = {"grpc": {m: v["outputs"] for m, v in found["models"].items()}}
        assert all(v["ready"] for v in found["models"].values())
    else:
        assert found["rest ready"] and found["grpc ready"]
        answers = {"rest": found["rest"], "grpc": found["grpc"]}
    for side, by_model in answers.items():
        assert set(by_model) == set(MODELS), side
        for model, outputs in by_model.items():
            reference = references[model]
            for name, values in outputs.items():
                expected = np.asarray(reference.get(name, reference.get("only")))
                np.testing.assert_allclose(values, expected, atol=1e-6, err_msg=f"{side} {model}")


def test_under_make_run_every_client_gets_tf_servings_answers(stack, v2_clients_python):
    """The same protocol from `make run`'s own processes: tritonclient HTTP on the model
    server's REST port and through the gateway (with the API key the gateway asks for),
    tritonclient gRPC and KServe's clients on its ports."""
    rest_url, grpc_address = stack.rest_url(0), f"127.0.0.1:{stack.grpc_port}"
    images = ROWS["digit_classifier"]["images"]
    reference = tf_serving_predict(rest_url, "digit_classifier", {"images": images})
    key = {"Authorization": f"Bearer {STACK_API_KEY}"}
    for url, headers in ((rest_url, None), (stack.url, key)):
        client = triton_http.InferenceServerClient(url.removeprefix("http://"))
        tensor = triton_http.InferInput("images", list(images.shape), "FP32")
        tensor.set_data_from_numpy(images, binary_data=True)
        answer = client.infer("digit_classifier", [tensor], headers=headers)
        assert client.is_server_ready(headers=headers), url
        client.close()
        np.testing.assert_allclose(
            answer.as_numpy("probabilities"), reference["probabilities"], atol=1e-6, err_msg=url
        )
    rows = json.dumps({"digit_classifier": {"images": images.tolist()}})
    script = HERE / "v2_peers" / "clients.py"
    for family in ("triton", "kserve"):
        run = subprocess.run(
            [str(v2_clients_python), str(script), family, grpc_address, rest_url],
            input=rows,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        found = json.loads(run.stdout)
        outputs = (
            found["models"]["digit_classifier"]["outputs"]
            if family == "triton"
            else found["grpc"]["digit_classifier"]
        )
        np.testing.assert_allclose(
            outputs["probabilities"], reference["probabilities"], atol=1e-6, err_msg=family
        )
