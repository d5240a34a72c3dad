"""TF Serving's Predict, Classify, Regress and MultiInference over one loaded version.

Transport-agnostic: inputs are NumPy arrays and serialized tf.Examples, results plain data.
The checks, their order and their messages follow TF Serving's `servables/tensorflow/`
`predict_util.cc`, `classifier.cc`, `regressor.cc`, `multi_inference.cc` and `util.cc`, and
TensorFlow's `cc/saved_model/util.cc` (GetInputValues): clients match on these texts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from google.protobuf import text_format

from protocol.tensors import TensorConversionError, dtype_enum, dtype_name, to_ndarray
from serving.modelserver.errors import (
    FailedPrecondition,
    Internal,
    InvalidArgument,
    Unimplemented,
)

DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"

Run = Callable[[dict[str, np.ndarray], Sequence[str]], list[np.ndarray]]
"""Session::Run: feeds by tensor name, fetches by tensor name → fetched values in order."""
Classifications = list[list[tuple[bytes, float]]]


@dataclass(frozen=True)
class Options:
    method_name_check: bool = False
    """--enable_signature_method_name_check."""


@dataclass(frozen=True)
class TaskResult:
    """One MultiInference task's answer: `classifications` or `regressions` is set."""

    signature_name: str
    classifications: Classifications | None = None
    regressions: list[float] | None = None


def signature_key(name: str) -> str:
    return name or DEFAULT_SIGNATURE


@dataclass(frozen=True)
class PredictPlan:
    """What one RunPredict feeds and fetches (tensor names), and the aliases of the fetches."""

    feeds: dict[str, np.ndarray]
    fetches: list[str]
    aliases: list[str]

    def outputs(self, values: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """The fetched values by output alias."""
        return dict(zip(self.aliases, values, strict=True))


def predict_plan(
    signatures: Mapping,
    signature_name: str,
    inputs: dict[str, np.ndarray],
    output_filter: Sequence[str] = (),
    options: Options = Options(),
) -> PredictPlan:
    """RunPredict's checks and feeds: the filtered (else every) output of the signature."""
    key = signature_key(signature_name)
    if key not in signatures:
        raise FailedPrecondition(f'Serving signature key "{key}" not found.')
    signature = signatures[key]
    if options.method_name_check and signature.method_name not in (
        PREDICT_METHOD,
        CLASSIFY_METHOD,
        REGRESS_METHOD,
    ):
        raise Internal(
            "Expected prediction signature method_name to be one of "
            f"{{{PREDICT_METHOD}, {CLASSIFY_METHOD}, {REGRESS_METHOD}}}. "
            f"Was: {signature.method_name}"
        )
    feeds = _input_feeds(signature, inputs)
    aliases = _output_aliases(signature, output_filter)
    return PredictPlan(feeds, [signature.outputs[alias].name for alias in aliases], aliases)


def predict(
    signatures: Mapping,
    run: Run,
    signature_name: str,
    inputs: dict[str, np.ndarray],
    output_filter: Sequence[str] = (),
    options: Options = Options(),
) -> dict[str, np.ndarray]:
    """RunPredict: the filtered (else every) output of the signature, by alias."""
    plan = predict_plan(signatures, signature_name, inputs, output_filter, options)
    return plan.outputs(run(plan.feeds, plan.fetches))


def classify(
    signatures: Mapping,
    run: Run,
    signature_name: str,
    examples: list[bytes],
    options: Options = Options(),
) -> Classifications:
    """RunClassify on serialized tf.Examples: per example, (label, score) per class."""
    signature = _checked_signature(signatures, signature_name, CLASSIFY_METHOD, options)
    input_name, classes, scores = _classification_tensors(signature, options)
    wanted = [name for name in (classes, scores) if name]
    outputs = dict(zip(wanted, run({input_name: _examples_tensor(examples)}, wanted), strict=True))
    return _classifications(outputs.get(classes), outputs.get(scores), len(examples))


def regress(
    signatures: Mapping,
    run: Run,
    signature_name: str,
    examples: list[bytes],
    options: Options = Options(),
) -> list[float]:
    """RunRegress on serialized tf.Examples: one value per example."""
    signature = _checked_signature(signatures, signature_name, REGRESS_METHOD, options)
    input_name, output_name = _regression_tensors(signature, options)
    (output,) = run({input_name: _examples_tensor(examples)}, [output_name])
    return _regressions(output, len(examples))


def multi_inference(
    signatures: Mapping,
    run: Run,
    tasks: Sequence[tuple[str, str, str]],
    examples: list[bytes],
    options: Options = Options(),
) -> list[TaskResult]:
    """TensorFlowMultiInferenceRunner::Infer: `tasks` are (model name, signature name, method
    name), all of one model; one run feeds the examples once and fetches every task's outputs."""
    model_name, seen, inputs, outputs, plans = "", set(), set(), [], []
    for task_model, signature_name, method in tasks:
        if not task_model:
            raise InvalidArgument("Found ModelSpec with an empty model name.")
        if model_name and task_model != model_name:
            raise InvalidArgument(
                "All ModelSpecs in a MultiInferenceRequest must access the same model name."
            )
        model_name = task_model
        key = signature_key(signature_name)
        if key in seen:
            raise InvalidArgument(f"Duplicate evaluation of signature: {key}")
        seen.add(key)
        if key not in signatures:
            raise InvalidArgument(f"Requested signature not found in model graph: {key}")
        if method == CLASSIFY_METHOD:
            input_name, classes, scores = _classification_tensors(signatures[key], options)
            plans.append((key, method, (classes, scores)))
            outputs.extend(name for name in (classes, scores) if name)
        elif method == REGRESS_METHOD:
            input_name, output_name = _regression_tensors(signatures[key], options)
            plans.append((key, method, (output_name,)))
            outputs.append(output_name)
        else:
            raise Unimplemented(f"Unsupported signature method_name: {method}")
        inputs.add(input_name)
    fetches = sorted(set(outputs))
    tensor = _examples_tensor(examples)
    values = dict(zip(fetches, run(dict.fromkeys(inputs, tensor), fetches), strict=True))
    results = []
    for key, method, names in plans:
        if method == CLASSIFY_METHOD:
            classes, scores = (values.get(name) if name else None for name in names)
            results.append(
                TaskResult(key, classifications=_classifications(classes, scores, len(examples)))
            )
        else:
            results.append(
                TaskResult(key, regressions=_regressions(values[names[0]], len(examples)))
            )
    return results


def _input_feeds(signature, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """VerifyRequestInputsSize, then GetInputValues: aliases → feed names, defaults filled."""
    defaults = getattr(signature, "defaults", {})
    expected = set(signature.inputs)
    if len(inputs) > len(expected) or (len(inputs) < len(expected) and not defaults):
        given = set(inputs)
        raise InvalidArgument(
            f"input size does not match signature: {len(inputs)}!={len(expected)} "
            f"len({{{_joined(given)}}}) != len({{{_joined(expected)}}}). "
            f"Sent extra: {{{_joined(given - expected)}}}. "
            f"Missing but required: {{{_joined(expected - given)}}}."
        )
    feeds, used = {}, set()
    for alias in sorted(signature.inputs):
        info = signature.inputs[alias]
        if alias in inputs:
            feeds[info.name] = inputs[alias]
            used.add(alias)
        elif alias in defaults:
            try:
                feeds[info.name] = to_ndarray(defaults[alias])
            except TensorConversionError:
                raise InvalidArgument(f"tensor parsing error: {alias}") from None
        else:
            raise InvalidArgument(
                f"Signature input alias: {alias}(feed name: {info.name}) not found in request "
                f"and no default value provided. Inputs expected to be in the request "
                f"{{{_joined(inputs)}}}, or default input alias set: {_joined(defaults)}"
            )
    if inputs and len(used) != len(inputs):
        raise InvalidArgument(
            f"Inputs contains invalid name. Used request inputs: {_joined(used)}, "
            f"request input: {_joined(inputs)}"
        )
    return feeds


def _output_aliases(signature, output_filter: Sequence[str]) -> list[str]:
    aliases: list[str] = []
    for alias in output_filter:
        if alias not in signature.outputs:
            raise InvalidArgument(
                f"output tensor alias not found in signature: {alias} Outputs expected to be in "
                f"the set {{{_joined(signature.outputs)}}}."
            )
        if alias in aliases:
            raise InvalidArgument(f"duplicate output tensor alias: {alias}")
        aliases.append(alias)
    return aliases or sorted(signature.outputs)


def _checked_signature(signatures: Mapping, signature_name: str, method: str, options: Options):
    """GetClassificationSignatureDef / GetRegressionSignatureDef."""
    key = signature_key(signature_name)
    if key not in signatures:
        raise InvalidArgument(f"No signature was found with the name: {key}")
    signature = signatures[key]
    if options.method_name_check and signature.method_name != method:
        raise _wrong_method(method, signature)
    return signature


def _wrong_method(method: str, signature) -> InvalidArgument:
    kind = "classification" if method == CLASSIFY_METHOD else "regression"
    return InvalidArgument(
        f"Expected {kind} signature method_name to be {method}. Was: {signature.method_name}"
    )


def _classification_tensors(signature, options: Options) -> tuple[str, str, str]:
    """PreProcessClassification: (input tensor, classes tensor or "", scores tensor or "")."""
    if options.method_name_check and signature.method_name != CLASSIFY_METHOD:
        raise _wrong_method(CLASSIFY_METHOD, signature)
    if len(signature.inputs) != 1:
        raise InvalidArgument("Expected one input Tensor.")
    if len(signature.outputs) not in (1, 2):
        raise InvalidArgument(f"Expected one or two output Tensors, found {len(signature.outputs)}")
    if "inputs" not in signature.inputs:
        raise InvalidArgument(
            f"No classification inputs found in SignatureDef: {_debug_string(signature)}"
        )
    classes = signature.outputs["classes"].name if "classes" in signature.outputs else ""
    scores = signature.outputs["scores"].name if "scores" in signature.outputs else ""
    if not classes and not scores:
        raise InvalidArgument(
            'Expected classification signature outputs to contain at least one of "classes" '
            f'or "scores". Signature was: {_debug_string(signature)}'
        )
    return signature.inputs["inputs"].name, classes, scores


def _regression_tensors(signature, options: Options) -> tuple[str, str]:
    """PreProcessRegression: (input tensor, output tensor)."""
    if options.method_name_check and signature.method_name != REGRESS_METHOD:
        raise _wrong_method(REGRESS_METHOD, signature)
    if len(signature.inputs) != 1:
        raise InvalidArgument("Expected one input Tensor.")
    if len(signature.outputs) != 1:
        raise InvalidArgument("Expected one output Tensor.")
    if "inputs" not in signature.inputs:
        raise InvalidArgument(
            f"No regression inputs found in SignatureDef: {_debug_string(signature)}"
        )
    if "outputs" not in signature.outputs:
        raise InvalidArgument(
            f"No regression outputs found in SignatureDef: {_debug_string(signature)}"
        )
    return signature.inputs["inputs"].name, signature.outputs["outputs"].name


def _examples_tensor(examples: list[bytes]) -> np.ndarray:
    if not examples:
        raise InvalidArgument("Input is empty.")
    return np.array(examples, dtype=object)


def _classifications(classes, scores, count: int) -> Classifications:
    """PostProcessClassificationResult."""
    for tensor, name, dtype in ((classes, "classes", "DT_STRING"), (scores, "scores", "DT_FLOAT")):
        if tensor is None:
            continue
        if tensor.ndim != 2:
            raise InvalidArgument(
                f"Expected Tensor shape: [batch_size num_classes] but got {_shape(tensor)}"
            )
        if _dtype_name(tensor) != dtype:
            raise InvalidArgument(f"Expected {name} Tensor of {dtype}. Got: {_dtype_name(tensor)}")
        if tensor.shape[0] != count:
            raise InvalidArgument(
                f"Expected {name} output batch size of {count}. Got: {tensor.shape[0]}"
            )
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise InvalidArgument(
            "Tensors class and score should match in dim_size(1). "
            f"Got {classes.shape[1]} vs. {scores.shape[1]}"
        )
    width = (classes if classes is not None else scores).shape[1]
    return [
        [
            (
                classes[row, column] if classes is not None else b"",
                float(scores[row, column]) if scores is not None else 0.0,
            )
            for column in range(width)
        ]
        for row in range(count)
    ]


def _regressions(output: np.ndarray, count: int) -> list[float]:
    """PostProcessRegressionResult."""
    if not (output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1)):
        raise InvalidArgument(
            "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but "
            f"got {_shape(output)}"
        )
    if output.shape[0] != count:
        raise InvalidArgument(
            f"Input batch size did not match output batch size: {count} vs. {output.shape[0]}"
        )
    if _dtype_name(output) != "DT_FLOAT":
        raise InvalidArgument(f"Expected output Tensor of DT_FLOAT.  Got: {_dtype_name(output)}")
    return [float(value) for value in output.reshape(-1)]


def _dtype_name(array: np.ndarray) -> str:
    try:
        return dtype_name(dtype_enum(array.dtype))
    except TensorConversionError:
        return "DT_INVALID"


def _shape(array: np.ndarray) -> str:
    return "[" + ",".join(str(size) for size in array.shape) + "]"


def _joined(names) -> str:
    return ",".join(sorted(names))


def _debug_string(message) -> str:
    return text_format.MessageToString(message)
