"""protocol.messages is TF Serving's API without the tensorflow package, and the same API.

The reference is the `tensorflow-serving-api` wheel itself (its `_pb2` modules, compiled from
tensorflow_serving/apis/*.proto): every generated module must carry its descriptor byte for
byte, and messages must cross between a process that has only `protocol` and one that has the
wheel, in both directions.
"""

import importlib
import json
import subprocess
import sys

import numpy as np
import pytest
from google.protobuf import json_format

from protocol import generated
from serving.processes import REPO

MODULES = sorted(
    path.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
    for path in (REPO / "protocol" / "generated").rglob("*_pb2.py")
)
WITHOUT_TENSORFLOW = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_serving", "keras"):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Absent())
"""
LIGHT_REQUEST = (
    WITHOUT_TENSORFLOW
    + """
import json, re
import numpy as np
from protocol.messages import predict_pb2
from protocol.tensors import to_tensor_proto
request = predict_pb2.PredictRequest(output_filter=["probabilities"])
request.model_spec.name = "digit_classifier"
request.model_spec.version.value = 3
to_tensor_proto(np.arange(6, dtype=np.float32).reshape(2, 3), into=request.inputs["images"])
print(json.dumps({
    "request": request.SerializeToString().hex(),
    "peak_rss_mb": int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1]) / 1024,
}))
"""
)
LIGHT_RESPONSE = (
    WITHOUT_TENSORFLOW
    + """
import json, sys
from protocol.messages import predict_pb2
from protocol.tensors import to_ndarray
response = predict_pb2.PredictResponse.FromString(bytes.fromhex(sys.stdin.read()))
print(json.dumps({
    "model": response.model_spec.name,
    "version": response.model_spec.version.value,
    "classes": to_ndarray(response.outputs["classes"]).tolist(),
}))
"""
)


def run_light(script: str, stdin: str = "") -> dict:
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, input=stdin, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wheel_descriptors() -> dict[str, bytes]:
    """Proto file name → serialized descriptor, from the wheel's modules (imported first)."""
    from tensorflow_serving.apis import (  # noqa: F401
        model_service_pb2,
        prediction_log_pb2,
        prediction_service_pb2,
    )
    from tensorflow_serving.config import model_server_config_pb2  # noqa: F401

    return {
        module.DESCRIPTOR.name: module.DESCRIPTOR.serialized_pb
        for name, module in list(sys.modules.items())
        if name.endswith("_pb2")
        and not name.startswith(generated.__name__)
        and hasattr(module, "DESCRIPTOR")
    }


def test_every_tf_serving_module_used_is_generated():
    used = {
        name.removeprefix("protocol.generated.")
        for name in MODULES
        if name.startswith("protocol.generated.tensorflow_serving.")
    }
    assert {
        "tensorflow_serving.apis.predict_pb2",
        "tensorflow_serving.apis.classification_pb2",
        "tensorflow_serving.apis.regression_pb2",
        "tensorflow_serving.apis.inference_pb2",
        "tensorflow_serving.apis.get_model_metadata_pb2",
        "tensorflow_serving.apis.get_model_status_pb2",
        "tensorflow_serving.apis.model_management_pb2",
        "tensorflow_serving.apis.prediction_log_pb2",
        "tensorflow_serving.config.model_server_config_pb2",
    } <= used


@pytest.mark.parametrize("name", MODULES)
def test_descriptor_is_the_wheels_byte_for_byte(name):
    theirs = wheel_descriptors()
    ours = importlib.import_module(name).DESCRIPTOR
    assert ours.serialized_pb == theirs[ours.name]


def test_both_load_in_one_process_as_one_class_per_message():
    from tensorflow_serving.apis import predict_pb2

    from protocol.messages import predict_pb2 as ours

    assert ours.PredictRequest is predict_pb2.PredictRequest


@pytest.mark.parametrize("service", ["prediction_service_pb2_grpc", "model_service_pb2_grpc"])
def test_service_stubs_name_the_wheels_methods(service):
    from protocol import messages

    ours = getattr(messages, service)
    theirs = importlib.import_module(f"tensorflow_serving.apis.{service}")
    stub = next(name for name in dir(theirs) if name.endswith("Stub"))
    assert stub in dir(ours)
    channel = _RecordingChannel()
    getattr(ours, stub)(channel), getattr(theirs, stub)(theirs_channel := _RecordingChannel())
    assert channel.methods == theirs_channel.methods


class _RecordingChannel:
    def __init__(self):
        self.methods = []

    def unary_unary(self, method, *args, **kwargs):
        self.methods.append(method)


def test_a_request_built_without_tensorflow_is_read_by_the_wheel():
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    light = run_light(LIGHT_REQUEST)
    request = predict_pb2.PredictRequest.FromString(bytes.fromhex(light["request"]))
    assert request.model_spec.name == "digit_classifier"
    assert request.model_spec.version.value == 3
    assert list(request.output_filter) == ["probabilities"]
    np.testing.assert_array_equal(
        tf.make_ndarray(request.inputs["images"]), np.arange(6, dtype=np.float32).reshape(2, 3)
    )
    assert light["peak_rss_mb"] < 150


def test_a_response_built_by_the_wheel_is_read_without_tensorflow():
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    response = predict_pb2.PredictResponse()
    json_format.ParseDict({"modelSpec": {"name": "m", "version": "7"}}, response)
    response.outputs["classes"].CopyFrom(tf.make_tensor_proto(np.array([7, 2], np.int64)))
    read = run_light(LIGHT_RESPONSE, response.SerializeToString().hex())
    assert read == {"model": "m", "version": 7, "classes": [7, 2]}
