"""tf.Example inputs for classify/regress: from the gRPC Input proto or TF Serving's REST JSON."""

from __future__ import annotations

import base64
import binascii

from client.protos import example_pb2, feature_pb2
from serving.modelserver.errors import InvalidArgument


def serialized_examples(model_input) -> list[bytes]:
    """Input (example_list or example_list_with_context) → serialized tf.Examples."""
    kind = model_input.WhichOneof("kind")
    if kind == "example_list":
        return [example.SerializeToString() for example in model_input.example_list.examples]
    if kind == "example_list_with_context":
        with_context = model_input.example_list_with_context
        merged = []
        for example in with_context.examples:
            combined = example_pb2.Example()
            combined.CopyFrom(with_context.context)
            combined.MergeFrom(example)
            merged.append(combined.SerializeToString())
        return merged
    raise InvalidArgument("Input is empty.")


def examples_from_json(body: dict) -> list[bytes]:
    """REST `{"examples": [{feature: value, ...}], "context": {...}}` → serialized tf.Examples."""
    examples = body.get("examples")
    if not isinstance(examples, list) or not examples:
        raise InvalidArgument("'examples' must be a non-empty list of objects")
    context = body.get("context", {})
    if not isinstance(context, dict):
        raise InvalidArgument("'context' must be an object")
    serialized = []
    for index, example in enumerate(examples):
        if not isinstance(example, dict):
            raise InvalidArgument(f"examples[{index}] must be an object")
        proto = example_pb2.Example()
        for name, value in {**context, **example}.items():
            proto.features.feature[name].CopyFrom(_feature(f"examples[{index}].{name}", value))
        serialized.append(proto.SerializeToString())
    return serialized


def _feature(where: str, value) -> feature_pb2.Feature:
    values = value if isinstance(value, list) else [value]
    if not values:
        return feature_pb2.Feature()
    if all(isinstance(v, (str, dict)) for v in values):
        return feature_pb2.Feature(
            bytes_list=feature_pb2.BytesList(value=[_bytes(where, v) for v in values])
        )
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return feature_pb2.Feature(int64_list=feature_pb2.Int64List(value=values))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return feature_pb2.Feature(float_list=feature_pb2.FloatList(value=values))
    raise InvalidArgument(f"{where}: a feature is a number, a string, or a list of one kind")


def _bytes(where: str, value) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if set(value) != {"b64"} or not isinstance(value["b64"], str):
        raise InvalidArgument(f'{where}: objects in features must be {{"b64": "..."}}')
    try:
        return base64.b64decode(value["b64"], validate=True)
    except binascii.Error as error:
        raise InvalidArgument(f"{where}: invalid base64: {error}") from error
