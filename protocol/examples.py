"""tf.Example on the wire: the `Input` of a Classify, Regress or MultiInference request, built
from feature dicts by clients and read back as serialized Examples by the server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def fill_example_list(model_input, examples: Sequence[Mapping]) -> None:
    """`model_input.example_list` from dicts (feature name → value or values): floats, ints or
    bytes/str."""
    for features in examples:
        example = model_input.example_list.examples.add()
        for name, value in features.items():
            values = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
            feature = example.features.feature[name]
            if all(isinstance(v, (bytes, str)) for v in values):
                feature.bytes_list.value.extend(
                    v.encode() if isinstance(v, str) else v for v in values
                )
            elif all(isinstance(v, (int, np.integer)) for v in values):
                feature.int64_list.value.extend(int(v) for v in values)
            else:
                feature.float_list.value.extend(float(v) for v in values)


def serialized_examples(model_input) -> list[bytes]:
    """The serialized tf.Examples of an `Input`, as TF Serving feeds them to a signature.

    After InputToSerializedExampleTensor (`servables/tensorflow/util.cc`): an `example_list`
    gives its examples; an `example_list_with_context` gives each example's bytes appended to
    the context's, which protobuf parses as the two merged.
    """
    kind = model_input.WhichOneof("kind")
    if kind == "example_list":
        return [example.SerializeToString() for example in model_input.example_list.examples]
    if kind == "example_list_with_context":
        with_context = model_input.example_list_with_context
        context = with_context.context.SerializeToString()
        return [context + example.SerializeToString() for example in with_context.examples]
    return []
