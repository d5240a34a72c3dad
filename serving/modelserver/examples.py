"""The serialized tf.Examples of a gRPC `Input`, as TF Serving feeds them to a signature.

After InputToSerializedExampleTensor (`servables/tensorflow/util.cc`): an `example_list` gives
its examples; an `example_list_with_context` gives each example's bytes appended to the
context's, which protobuf parses as the two merged.
"""

from __future__ import annotations


def serialized_examples(model_input) -> list[bytes]:
    kind = model_input.WhichOneof("kind")
    if kind == "example_list":
        return [example.SerializeToString() for example in model_input.example_list.examples]
    if kind == "example_list_with_context":
        with_context = model_input.example_list_with_context
        context = with_context.context.SerializeToString()
        return [context + example.SerializeToString() for example in with_context.examples]
    return []
