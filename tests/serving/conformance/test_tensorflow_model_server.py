"""Ported from TF Serving's `model_servers/tensorflow_model_server_test.py` (and its
`test_util/tensorflow_model_server_test_base.py`): the same requests, clients and expected
values, against the suite's models in TF Serving's shapes.

The gRPC calls pass the test file's 20 s timeout, as it does; one more test sends the same
Predict from a stub with no deadline at all, the way a plain generated client does.
"""

import json
import threading
import time

import grpc
import pytest

from protocol.messages import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
    types_pb2,
)
from tests.serving.conformance import models
from tests.serving.conformance.tfs import (
    RPC_TIMEOUT,
    call_rest,
    model_stub,
    predict_x,
    prediction_stub,
)

VERSION = 123


def verify_predict(server, expected_output, model_name="default", **options):
    """VerifyPredictRequest."""
    signature = options.get("signature_name", "serving_default")
    result = prediction_stub(server).Predict(predict_x(model_name, **options), RPC_TIMEOUT)
    assert "y" in result.outputs
    assert result.outputs["y"].dtype == types_pb2.DT_FLOAT
    assert len(result.outputs["y"].float_val) == 1
    assert result.outputs["y"].float_val[0] == expected_output
    verify_model_spec(result.model_spec, model_name, signature, VERSION)


def verify_model_spec(spec, name, signature_name, version):
    """_VerifyModelSpec."""
    assert (spec.name, spec.signature_name, spec.version.value) == (name, signature_name, version)


def examples_with_x(request_input, value=2.0):
    example = request_input.example_list.examples.add()
    example.features.feature["x"].float_list.value.extend([value])


def test_get_model_status(default_server):
    """testGetModelStatus: one version, 123, error code OK (0)."""
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "default"
    result = model_stub(default_server).GetModelStatus(request, RPC_TIMEOUT)
    assert len(result.model_version_status) == 1
    assert result.model_version_status[0].version == VERSION
    assert result.model_version_status[0].status.error_code == 0


def test_get_model_metadata(default_server):
    """testGetModelMetadata."""
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "default"
    request.metadata_field.append("signature_def")
    result = prediction_stub(default_server).GetModelMetadata(request, RPC_TIMEOUT)
    assert result.model_spec.name == "default"
    assert result.model_spec.version.value == VERSION
    assert len(result.metadata) == 1
    assert "signature_def" in result.metadata


@pytest.mark.parametrize("model", ["half_plus_two", "half_plus_two_tf2"])
def test_classify(config_server, model):
    """testClassify / testClassifyTf2: the TF2 model's classify signature has the predict
    method name; without --enable_signature_method_name_check its structure is enough."""
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "classify_x_to_y"
    examples_with_x(request.input)
    result = prediction_stub(config_server).Classify(request, RPC_TIMEOUT)
    assert len(result.result.classifications) == 1
    assert len(result.result.classifications[0].classes) == 1
    assert result.result.classifications[0].classes[0].score == 3.0
    verify_model_spec(result.model_spec, model, "classify_x_to_y", VERSION)


@pytest.mark.parametrize("model", ["half_plus_two", "half_plus_two_tf2"])
def test_regress(config_server, model):
    """testRegress / testRegressTf2."""
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "regress_x_to_y"
    examples_with_x(request.input)
    result = prediction_stub(config_server).Regress(request, RPC_TIMEOUT)
    assert len(result.result.regressions) == 1
    assert result.result.regressions[0].value == 3.0
    verify_model_spec(result.model_spec, model, "regress_x_to_y", VERSION)


@pytest.mark.parametrize("model", ["half_plus_two", "half_plus_two_tf2"])
def test_multi_inference(config_server, model):
    """testMultiInference / testMultiInferenceTf2."""
    request = inference_pb2.MultiInferenceRequest()
    request.tasks.add().model_spec.name = model
    request.tasks[0].model_spec.signature_name = "regress_x_to_y"
    request.tasks[0].method_name = "tensorflow/serving/regress"
    request.tasks.add().model_spec.name = model
    request.tasks[1].model_spec.signature_name = "classify_x_to_y"
    request.tasks[1].method_name = "tensorflow/serving/classify"
    examples_with_x(request.input)
    result = prediction_stub(config_server).MultiInference(request, RPC_TIMEOUT)
    assert len(result.results) == 2
    assert result.results[0].regression_result.regressions[0].value == 3.0
    assert result.results[1].classification_result.classifications[0].classes[0].score == 3.0
    for index in range(2):
        task = request.tasks[index].model_spec
        verify_model_spec(result.results[index].model_spec, model, task.signature_name, VERSION)


def test_predict_saved_model(default_server):
    """testPredictSavedModel (_TestPredict): x has shape [1] though the signature declares
    [-1, 1]; TF Serving feeds it to the graph as it is. With and without an output filter."""
    verify_predict(default_server, 3.0)
    verify_predict(default_server, 3.0, specify_output=False)


def test_predict_with_batching_from_a_stub_without_deadline(config_server):
    """_TestPredict with batching_parameters_file, sent the way a plain generated stub sends
    it: no timeout argument, so no gRPC deadline."""
    stub = prediction_stub(config_server)
    request = predict_x("half_plus_two")
    assert stub.Predict(request).outputs["y"].float_val[0] == 3.0
    assert stub.Predict(predict_x("half_plus_two", specify_output=False)).model_spec.version.value
    assert stub.Predict(request, timeout=RPC_TIMEOUT).outputs["y"].float_val[0] == 3.0


def test_predict_tf2_model(config_server):
    """The TF2 model's serving_default (input [1], as TF Serving's TF2 test model declares)."""
    verify_predict(config_server, 3.0, model_name="half_plus_two_tf2")


def test_good_model_config(config_server):
    """testGoodModelConfig: half_plus_two and half_plus_three from one config file."""
    verify_predict(config_server, 3.0, model_name="half_plus_two")
    verify_predict(config_server, 3.0, model_name="half_plus_two", specify_output=False)
    verify_predict(config_server, 4.0, model_name="half_plus_three")
    verify_predict(config_server, 4.0, model_name="half_plus_three", specify_output=False)


def test_bad_model_config(own_server, testdata):
    """testBadModelConfig: the server names the text-format parse error and does not start."""
    server = own_server(f"--model_config_file={testdata / 'bad_model_config.txt'}", wait=False)
    assert server.process.wait(60) != 0
    assert "Error parsing text-format tensorflow.serving.ModelServerConfig" in server.log()


def _config(name, path):
    return (
        f'model_config_list: {{\n  config: {{\n    name: "{name}",\n'
        f'    base_path: "{path}",\n    model_platform: "tensorflow"\n  }}\n}}\n'
    )


def test_model_config_reload(own_server, testdata, tmp_path):
    """testModelConfigReload: with --model_config_file_poll_wait_seconds=1 a rewritten config
    is served within 10 s (the test sleeps 10 s; this one asks until then)."""
    config = tmp_path / "model_config.txt"
    config.write_text(_config("half_plus_two", testdata / models.TF1_MODEL))
    server = own_server(f"--model_config_file={config}", "--model_config_file_poll_wait_seconds=1")
    verify_predict(server, 3.0, model_name="half_plus_two", specify_output=False)
    config.write_text(_config("half_plus_three", testdata / models.HALF_PLUS_THREE))
    deadline = time.monotonic() + 10
    while True:
        try:
            verify_predict(server, 4.0, model_name="half_plus_three", specify_output=False)
            break
        except grpc.RpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_model_config_reload_with_zero_poll_period(own_server, testdata, tmp_path):
    """testModelConfigReloadWithZeroPollPeriod: poll period 0 → the config is read once."""
    config = tmp_path / "model_config.txt"
    config.write_text(_config("half_plus_two", testdata / models.TF1_MODEL))
    server = own_server(f"--model_config_file={config}", "--model_config_file_poll_wait_seconds=0")
    verify_predict(server, 3.0, model_name="half_plus_two", specify_output=False)
    config.write_text(_config("half_plus_three", testdata / models.HALF_PLUS_THREE))
    time.sleep(2)
    verify_predict(server, 3.0, model_name="half_plus_two", specify_output=False)


def test_good_grpc_channel_args(default_server):
    """testGoodGrpcChannelArgs: the default server was started with
    grpc.max_connection_age_ms=2000,grpc.lb_policy_name=grpclb."""
    verify_predict(default_server, 3.0, specify_output=False)


def test_classify_rest(default_server):
    """testClassifyREST: a classification without classes has empty labels."""
    url = f"{default_server.rest_url}/v1/models/default:classify"
    status, body = call_rest(url, {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]})
    assert status == 200
    assert json.loads(body) == {"results": [[["", 3.0]]]}


def test_regress_rest(default_server):
    """testRegressREST."""
    url = f"{default_server.rest_url}/v1/models/default:regress"
    status, body = call_rest(url, {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]})
    assert status == 200
    assert json.loads(body) == {"results": [3.0]}


def test_predict_rest(default_server):
    """testPredictREST: instances [2, 3, 4] for a signature that declares [-1, 1]."""
    url = f"{default_server.rest_url}/v1/models/default:predict"
    status, body = call_rest(url, {"instances": [2.0, 3.0, 4.0]})
    assert status == 200
    assert json.loads(body) == {"predictions": [3.0, 3.5, 4.0]}


def test_predict_columnar_rest(default_server):
    """testPredictColumnarREST."""
    url = f"{default_server.rest_url}/v1/models/default:predict"
    status, body = call_rest(url, {"inputs": [2.0, 3.0, 4.0]})
    assert status == 200
    assert json.loads(body) == {"outputs": [3.0, 3.5, 4.0]}


def test_get_status_rest(default_server):
    """testGetStatusREST."""
    status, body = call_rest(f"{default_server.rest_url}/v1/models/default")
    assert status == 200
    assert json.loads(body) == {
        "model_version_status": [
            {
                "version": "123",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


def test_get_model_metadata_rest(default_server):
    """testGetModelMetadataREST, against the structure of half_plus_two_model_metadata.json:
    model_spec with an empty signature_name and the version as a string; every SignatureDef
    with dtype names, dims as {"size": "-1", "name": ""}, unknown_rank, empty defaults."""
    status, body = call_rest(f"{default_server.rest_url}/v1/models/default/metadata")
    assert status == 200
    metadata = json.loads(body)
    assert metadata["model_spec"] == {"name": "default", "signature_name": "", "version": "123"}
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {
        "regress_x2_to_y3",
        "serving_default",
        "classify_x_to_y",
        "regress_x_to_y2",
        "regress_x_to_y",
    }
    batch_of_one = {
        "dim": [{"size": "-1", "name": ""}, {"size": "1", "name": ""}],
        "unknown_rank": False,
    }
    assert signatures["serving_default"] == {
        "inputs": {"x": {"dtype": "DT_FLOAT", "tensor_shape": batch_of_one, "name": "x:0"}},
        "outputs": {"y": {"dtype": "DT_FLOAT", "tensor_shape": batch_of_one, "name": "y:0"}},
        "method_name": "tensorflow/serving/predict",
        "defaults": {},
    }
    assert signatures["classify_x_to_y"]["inputs"]["inputs"] == {
        "dtype": "DT_STRING",
        "tensor_shape": {"dim": [], "unknown_rank": True},
        "name": "tf_example:0",
    }
    assert signatures["classify_x_to_y"]["method_name"] == "tensorflow/serving/classify"
    assert signatures["regress_x2_to_y3"]["outputs"]["outputs"]["name"] == "y3:0"


def test_prometheus_endpoint(default_server):
    """testPrometheusEndpoint: the metrics page has metric type information."""
    status, body = call_rest(f"{default_server.rest_url}/monitoring/prometheus/metrics")
    assert status == 200
    assert "# TYPE" in body.decode()


def test_predict_uds(default_server):
    """testPredictUDS: the same Predict over --grpc_socket_path."""
    if default_server.socket_path is None:
        pytest.skip("the external server's socket path is not known")
    channel = grpc.insecure_channel(f"unix:{default_server.socket_path}")
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    result = stub.Predict(predict_x(specify_output=False), RPC_TIMEOUT)
    assert result.outputs["y"].float_val[0] == 3.0


def test_tf_saved_model_save(own_server, tmp_path):
    """test_tf_saved_model_save: a tf.Module saved in 00000123 with TensorSpec(None): y = 6x."""
    import tensorflow as tf

    base = tmp_path / "tf_saved_model_save"
    root = tf.train.Checkpoint()
    root.v1 = tf.Variable(3.0)
    root.v2 = tf.Variable(2.0)
    root.f = tf.function(lambda x: {"y": root.v1 * root.v2 * x})
    to_save = root.f.get_concrete_function(tf.TensorSpec(None, tf.float32))
    tf.saved_model.save(root, str(base / "00000123"), to_save)
    server = own_server("--model_name=default", f"--model_base_path={base}")
    verify_predict(server, 12.0, specify_output=False)


def test_tf_saved_model_save_multiple_signatures(own_server, tmp_path):
    """test_tf_saved_model_save_multiple_signatures."""
    import tensorflow as tf

    base = tmp_path / "tf_saved_model_save"
    root = tf.train.Checkpoint()
    spec = [tf.TensorSpec(None, tf.float32)]
    root.f = tf.function(lambda x: {"y": 1.0}, input_signature=spec)
    root.g = tf.function(lambda x: {"y": 2.0}, input_signature=spec)
    tf.saved_model.save(
        root,
        str(base / "00000123"),
        signatures={"serving_default": root.f, "custom_signature_key": root.g},
    )
    server = own_server("--model_name=default", f"--model_base_path={base}")
    verify_predict(server, 2.0, signature_name="custom_signature_key")
    verify_predict(server, 1.0)


def test_profiler_service_with_valid_trace_request(default_server, tmp_path):
    """test_profiler_service_with_valid_trace_request: TensorFlow's profiler client traces the
    server through its gRPC port while REST predictions run. (TF Serving's test only calls
    trace; this one also checks that the trace TensorFlow wrote into the logdir exists.)"""
    from tensorflow.python.profiler import profiler_client

    stop = threading.Event()

    def predict_meanwhile():
        while not stop.is_set():
            call_rest(default_server.rest_url + "/v1/models/default:predict", {"instances": [2.0]})

    sender = threading.Thread(target=predict_meanwhile)
    sender.start()
    logdir = tmp_path / "logs"
    logdir.mkdir()
    try:
        profiler_client.trace(default_server.grpc_address, str(logdir), 1000, "", 10)
    finally:
        stop.set()
        sender.join()
    assert list(logdir.rglob("*.xplane.pb")), sorted(logdir.rglob("*"))


def test_sequential_keras_saved_model_save_under_keras_3(own_server, tmp_path):
    """test_sequential_keras_saved_model_save, with Keras 3: the same model (Input named x, a
    Lambda named y) saved by tf.saved_model.save. Keras 3 names serving_default's input
    `inputs` and its output `output_0` whatever the layers are called (Keras 2 used x and y),
    so TF Serving's request for x fails on any server; the model serves under its own names."""
    import keras
    import tensorflow as tf

    model = keras.Sequential(
        [
            keras.layers.Input(dtype="float32", shape=(1,), name="x"),
            keras.layers.Lambda(lambda x: x, name="y"),
        ]
    )
    base = tmp_path / "keras_sequential_saved_model_save"
    tf.saved_model.save(model, str(base / "00000123"))
    server = own_server("--model_name=default", f"--model_base_path={base}")
    with pytest.raises(grpc.RpcError) as keras_2_names:
        prediction_stub(server).Predict(
            predict_x(batch_input=True, specify_output=False), RPC_TIMEOUT
        )
    assert keras_2_names.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    request = predict_x(batch_input=True, specify_output=False)
    request.inputs["inputs"].CopyFrom(request.inputs.pop("x"))
    result = prediction_stub(server).Predict(request, RPC_TIMEOUT)
    assert list(result.outputs) == ["output_0"]
    assert result.outputs["output_0"].float_val == [2.0]
    verify_model_spec(result.model_spec, "default", "serving_default", VERSION)
