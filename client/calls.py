"""TF Serving's calls as messages, whatever the transport: each request built from Python
values (checked), each response read back into them. The synchronous and the asyncio clients
send these; nothing here does I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from client import checks
from client.errors import InvalidInput
from protocol.examples import fill_example_list
from protocol.messages import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    predict_pb2,
    regression_pb2,
)
from protocol.tensors import to_ndarray, to_tensor_proto


@dataclass(frozen=True)
class Prediction:
    """A Predict answer: each output as a NumPy array, and the model, version and signature
    that gave it."""

    outputs: dict[str, np.ndarray]
    model: str
    version: int
    signature: str


@dataclass(frozen=True)
class VersionState:
    version: int
    state: str
    error: str = ""


def predict_request(
    model: str,
    inputs: Mapping[str, ArrayLike],
    signature: str,
    version: int | None,
    label: str | None,
    output_filter: Sequence[str],
    tensor_content: bool,
) -> predict_pb2.PredictRequest:
    """An input that is not a NumPy array (a list, say) goes as float32 when it holds floats
    (the models' dtype; NumPy would make it float64), else as NumPy reads it."""
    checks.pin(version, label)
    request = predict_pb2.PredictRequest(output_filter=list(output_filter))
    _fill_spec(request.model_spec, model, signature, version, label)
    for alias, value in inputs.items():
        to_tensor_proto(_array(value, alias), tensor_content, into=request.inputs[alias])
    return request


def prediction(response: predict_pb2.PredictResponse) -> Prediction:
    return Prediction(
        outputs={alias: to_ndarray(proto) for alias, proto in response.outputs.items()},
        model=response.model_spec.name,
        version=response.model_spec.version.value,
        signature=response.model_spec.signature_name,
    )


def classify_request(
    model: str,
    examples: Sequence[dict],
    signature: str,
    version: int | None,
    label: str | None,
) -> classification_pb2.ClassificationRequest:
    request = classification_pb2.ClassificationRequest()
    _on_examples(request, model, examples, signature, version, label)
    return request


def classes(response: classification_pb2.ClassificationResponse) -> list[list[tuple[str, float]]]:
    return [[(c.label, c.score) for c in item.classes] for item in response.result.classifications]


def regress_request(
    model: str,
    examples: Sequence[dict],
    signature: str,
    version: int | None,
    label: str | None,
) -> regression_pb2.RegressionRequest:
    request = regression_pb2.RegressionRequest()
    _on_examples(request, model, examples, signature, version, label)
    return request


def values(response: regression_pb2.RegressionResponse) -> np.ndarray:
    return np.array([r.value for r in response.result.regressions], np.float32)


def metadata_request(
    model: str, version: int | None
) -> get_model_metadata_pb2.GetModelMetadataRequest:
    checks.pin(version, None)
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    _fill_spec(request.model_spec, model, "", version, None)
    return request


def signatures(
    response: get_model_metadata_pb2.GetModelMetadataResponse,
) -> get_model_metadata_pb2.SignatureDefMap:
    """The model's SignatureDefMap (signature name → SignatureDef)."""
    found = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(found)
    return found


def status_request(model: str, version: int | None) -> get_model_status_pb2.GetModelStatusRequest:
    checks.pin(version, None)
    request = get_model_status_pb2.GetModelStatusRequest()
    _fill_spec(request.model_spec, model, "", version, None)
    return request


def versions(response: get_model_status_pb2.GetModelStatusResponse) -> list[VersionState]:
    names = get_model_status_pb2.ModelVersionStatus.State
    return [
        VersionState(s.version, names.Name(s.state), s.status.error_message)
        for s in response.model_version_status
    ]


def _on_examples(request, model, examples, signature, version, label) -> None:
    checks.pin(version, label)
    _fill_spec(request.model_spec, model, signature, version, label)
    fill_example_list(request.input, examples)


def _array(value: ArrayLike, alias: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    try:
        array = np.asarray(value)
    except ValueError as error:
        raise InvalidInput(f"{alias}: not an array ({error})") from None
    return array.astype(np.float32) if array.dtype == np.float64 else array


def _fill_spec(spec, model: str, signature: str, version: int | None, label: str | None) -> None:
    spec.name = model
    if signature:
        spec.signature_name = signature
    if version is not None:
        spec.version.value = version
    if label:
        spec.version_label = label
