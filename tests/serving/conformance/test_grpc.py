"""TF Serving's gRPC API: PredictionService and ModelService, success and failure codes."""

import grpc
import numpy as np
import pytest

from client.protos import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    predict_pb2,
    regression_pb2,
)
from client.tensors import to_ndarray, to_tensor_proto


def predict_request(name="sum_regressor", **inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    for alias, value in (inputs or {"sequences": np.array([[1, 0, 1]], np.float32)}).items():
        request.inputs[alias].CopyFrom(to_tensor_proto(value))
    return request


def expect_code(call, request, code, fragment=""):
    with pytest.raises(grpc.RpcError) as raised:
        call(request, timeout=30)
    assert raised.value.code() == code, raised.value.details()
    assert fragment in raised.value.details()


def test_predict_answers_typed_values_and_the_version(prediction):
    response = prediction.Predict(predict_request(), timeout=30)
    assert response.model_spec.name == "sum_regressor"
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"
    assert (
        len(response.outputs["sum"].float_val) == 1 and not response.outputs["sum"].tensor_content
    )


def test_tensor_content_inputs_are_accepted(prediction):
    request = predict_request()
    request.inputs["sequences"].CopyFrom(
        to_tensor_proto(np.array([[1, 0, 1]], np.float32), use_tensor_content=True)
    )
    packed = prediction.Predict(request, timeout=30)
    typed = prediction.Predict(predict_request(), timeout=30)
    assert to_ndarray(packed.outputs["sum"]) == pytest.approx(to_ndarray(typed.outputs["sum"]))


def test_output_filter_and_version_label_free_selection(prediction):
    request = predict_request("digit_classifier", images=np.zeros((3, 28, 28), np.float32))
    request.model_spec.version.value = 1
    request.output_filter.append("classes")
    response = prediction.Predict(request, timeout=30)
    assert list(response.outputs) == ["classes"]
    assert to_ndarray(response.outputs["classes"]).shape == (3,)


def test_forecast_signature_runs_the_horizon_server_side(prediction):
    request = predict_request(
        "forecaster",
        window=np.linspace(0, 1, 20, dtype=np.float32)[None],
        horizon=np.array([12], np.int32),
    )
    request.model_spec.signature_name = "forecast"
    assert to_ndarray(prediction.Predict(request, timeout=30).outputs["forecast"]).shape == (1, 12)


@pytest.mark.parametrize(
    ("mutate", "code", "fragment"),
    [
        (lambda r: setattr(r.model_spec, "name", "nope"), grpc.StatusCode.NOT_FOUND, "nope"),
        (lambda r: r.model_spec.version.__setattr__("value", 42), grpc.StatusCode.NOT_FOUND, "42"),
        (
            lambda r: r.inputs["extra"].CopyFrom(to_tensor_proto(np.ones(1, np.float32))),
            grpc.StatusCode.INVALID_ARGUMENT,
            "extra",
        ),
        (
            lambda r: r.inputs["sequences"].CopyFrom(to_tensor_proto(np.ones((1, 3), np.int64))),
            grpc.StatusCode.INVALID_ARGUMENT,
            "DT_FLOAT",
        ),
        (
            lambda r: r.inputs["sequences"].CopyFrom(to_tensor_proto(np.ones(3, np.float32))),
            grpc.StatusCode.INVALID_ARGUMENT,
            "shape",
        ),
        (lambda r: r.output_filter.append("nope"), grpc.StatusCode.INVALID_ARGUMENT, "nope"),
        (
            lambda r: setattr(r.model_spec, "signature_name", "nope"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "nope",
        ),
        (
            lambda r: setattr(r.model_spec, "version_label", "nope"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "nope",
        ),
    ],
    ids=[
        "unknown-model",
        "unknown-version",
        "extra-input",
        "wrong-dtype",
        "wrong-shape",
        "unknown-output",
        "unknown-signature",
        "unknown-label",
    ],
)
def test_predict_failures_have_tf_serving_codes(prediction, mutate, code, fragment):
    request = predict_request()
    mutate(request)
    expect_code(prediction.Predict, request, code, fragment)


def test_malformed_tensor_is_invalid_argument(prediction):
    request = predict_request()
    request.inputs["sequences"].tensor_content = b"\x00" * 7
    expect_code(prediction.Predict, request, grpc.StatusCode.INVALID_ARGUMENT, "tensor_content")


def test_metadata_holds_the_signature_defs(prediction):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "digit_classifier"
    response = prediction.GetModelMetadata(request, timeout=30)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    assert {"serving_default", "per_row"} <= set(signatures.signature_def)
    assert response.model_spec.version.value == 1


def test_status_lists_available_versions(models):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "forecaster"
    (status,) = models.GetModelStatus(request, timeout=30).model_version_status
    assert (status.version, status.state) == (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)
    request.model_spec.name = "nope"
    expect_code(models.GetModelStatus, request, grpc.StatusCode.NOT_FOUND)


def examples_input(target, *values):
    for value in values:
        example = target.example_list.examples.add()
        example.features.feature["x"].float_list.value.append(value)


def test_classify_regress_and_multi_inference_on_a_tf1_model(prediction):
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name, classify.model_spec.signature_name = "tf1_example", "classify"
    examples_input(classify.input, 0.0, -1.0)
    result = prediction.Classify(classify, timeout=30).result
    assert [c.label for c in result.classifications[0].classes] == ["pos", "neg"]
    assert result.classifications[1].classes[0].score == pytest.approx(0.2689414)

    regress = regression_pb2.RegressionRequest()
    regress.model_spec.name, regress.model_spec.signature_name = "tf1_example", "regress"
    examples_input(regress.input, 2.0)
    assert prediction.Regress(regress, timeout=30).result.regressions[0].value == pytest.approx(5.0)

    multi = inference_pb2.MultiInferenceRequest()
    for signature, method in (("classify", "classify"), ("regress", "regress")):
        task = multi.tasks.add(method_name=f"tensorflow/serving/{method}")
        task.model_spec.name, task.model_spec.signature_name = "tf1_example", signature
    examples_input(multi.input, 1.0)
    results = prediction.MultiInference(multi, timeout=30).results
    assert results[1].regression_result.regressions[0].value == pytest.approx(3.0)
    assert len(results[0].classification_result.classifications[0].classes) == 2


def test_regress_on_a_classify_signature_is_failed_precondition(prediction):
    regress = regression_pb2.RegressionRequest()
    regress.model_spec.name, regress.model_spec.signature_name = "tf1_example", "classify"
    examples_input(regress.input, 2.0)
    expect_code(prediction.Regress, regress, grpc.StatusCode.FAILED_PRECONDITION, "regress")
