"""tensorflow_model_server's command line, as `model_servers/main.cc`, `server.cc` and
TensorFlow's `util/command_line_flags.cc` define it: `--name=value` flags, unknown arguments
reported and ignored, a bad value or an impossible combination refusing to start."""

import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.serving.conformance import models
from tests.serving.conformance.tfs import RPC_TIMEOUT, predict_x, prediction_stub, server_command


def test_a_command_line_from_tf_servings_docs_starts(config_server):
    """The config server runs with --rest_api_num_threads, --enable_model_warmup=true,
    --xla_cpu_compilation_enabled=true, --enable_grpc_healthcheck_service, and an argument no
    flag takes: main.cc prints "unknown argument: ..." and goes on."""
    assert prediction_stub(config_server).Predict(predict_x("half_plus_two"), RPC_TIMEOUT)
    assert "unknown argument: --some_future_flag=1" in config_server.log()


@pytest.mark.parametrize("service", ["", "ModelService", "PredictionService"])
def test_grpc_health_check_answers_serving(config_server, service):
    """--enable_grpc_healthcheck_service: the standard grpc.health.v1 service, with the
    services server.cc marks SERVING."""
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(config_server.grpc_address))
    response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_grpc_health_check_of_an_unknown_service_is_not_found(config_server):
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(config_server.grpc_address))
    with pytest.raises(grpc.RpcError) as raised:
        stub.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=RPC_TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_version_prints_and_exits():
    """--version: "TensorFlow ModelServer: ..." and "TensorFlow Library: ...", exit 0."""
    done = subprocess.run(
        [*server_command(), "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert "TensorFlow ModelServer: " in done.stdout and "TensorFlow Library: " in done.stdout


@pytest.mark.parametrize(
    "flags",
    [["--port=abc"], ["--enable_batching=yes"], ["--rest_api_timeout_in_ms=1.5"]],
)
def test_a_value_that_does_not_parse_refuses_to_start(flags):
    """Flags::Parse fails, main prints the usage and returns -1 (exit status 255)."""
    done = subprocess.run(
        [*server_command(), "--model_base_path=/nowhere", *flags],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 255
    assert "usage:" in done.stdout and "--port=" in done.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "Both server_options.model_base_path and server_options.model_config_file are empty"),
        (
            ["--model_base_path=/x", "--batching_parameters_file=/b"],
            "batching_parameters_file is set without setting server_options.enable_batching",
        ),
        (
            ["--model_base_path=/x", "--port=0"],
            "At least one of server_options.grpc_port or server_options.grpc_socket_path",
        ),
        (
            [
                "--model_base_path=/x",
                "--tensorflow_session_parallelism=1",
                "--tensorflow_intra_op_parallelism=1",
                "--tensorflow_inter_op_parallelism=1",
            ],
            "You cannot configure all.",
        ),
    ],
)
def test_impossible_flag_combinations_refuse_to_start(flags, message):
    """Server::BuildAndStart's checks: "Failed to start server. Error: ..." and exit 255."""
    done = subprocess.run([*server_command(), *flags], capture_output=True, text=True, timeout=120)
    assert done.returncode == 255
    assert "Failed to start server. Error: INVALID_ARGUMENT: " in done.stdout
    assert message in done.stdout


def export_xla_model(base):
    import tensorflow as tf

    class Compiled(tf.Module):
        @tf.function(
            input_signature=[tf.TensorSpec([None, 1], tf.float32, name="x")], jit_compile=True
        )
        def double(self, x):
            return {"y": 2.0 * x}

    module = Compiled()
    tf.saved_model.save(
        module, str(base / "00000123"), signatures={"serving_default": module.double}
    )


def test_xla_compilation_is_off_unless_enabled(own_server, tmp_path):
    """main.cc calls DisableXlaCompilation() unless --xla_cpu_compilation_enabled: a model
    compiled with XLA then fails its first request; with the flag it is served."""
    base = tmp_path / "xla"
    export_xla_model(base)
    plain = own_server("--model_name=default", f"--model_base_path={base}")
    request = predict_x(specify_output=False, batch_input=True)
    with pytest.raises(grpc.RpcError) as raised:
        prediction_stub(plain).Predict(request, RPC_TIMEOUT)
    assert "XLA compilation disabled" in raised.value.details()
    enabled = own_server(
        "--model_name=default", f"--model_base_path={base}", "--xla_cpu_compilation_enabled=true"
    )
    result = prediction_stub(enabled).Predict(request, RPC_TIMEOUT)
    assert result.outputs["y"].float_val[0] == 4.0


def test_signature_method_name_check(own_server, testdata):
    """--enable_signature_method_name_check: classify on the TF2 model's predict-method
    signature is refused; without the flag it works (classifier.cc)."""
    from protocol.messages import classification_pb2

    server = own_server(
        "--model_name=default",
        f"--model_base_path={testdata / models.TF2_MODEL}",
        "--enable_signature_method_name_check",
    )
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "default"
    request.model_spec.signature_name = "classify_x_to_y"
    request.input.example_list.examples.add().features.feature["x"].float_list.value.append(2)
    with pytest.raises(grpc.RpcError) as raised:
        prediction_stub(server).Classify(request, RPC_TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == (
        "Expected classification signature method_name to be tensorflow/serving/classify. "
        "Was: tensorflow/serving/predict"
    )
