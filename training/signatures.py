"""The `tf.TensorSpec`s a model's signatures take, built from its contract entry."""

from __future__ import annotations

import tensorflow as tf

from contract.spec import ModelContract


def input_specs(model: ModelContract, signature: str = "serving_default") -> list[tf.TensorSpec]:
    """One spec per input of `signature`, in the contract's order, named by alias."""
    inputs = model.signature(signature).inputs
    return [tf.TensorSpec(t.shape, t.dtype, name=alias) for alias, t in inputs.items()]


def contract_mismatches(model: ModelContract, signatures: dict) -> list[str]:
    """How the signatures about to be exported differ from the contract (empty: they agree)."""
    if set(signatures) != set(model.signatures):
        return [f"signatures {sorted(signatures)} != contract {sorted(model.signatures)}"]
    found = []
    for name, function in signatures.items():
        concrete = (
            function.get_concrete_function()
            if hasattr(function, "get_concrete_function")
            else function
        )
        actual = {
            "inputs": {s.name: s for s in tf.nest.flatten(concrete.structured_input_signature)},
            "outputs": concrete.structured_outputs,
        }
        expected = model.signature(name)
        for side, tensors in (("inputs", expected.inputs), ("outputs", expected.outputs)):
            got = {
                alias: (spec.dtype.name, tuple(spec.shape.as_list()))
                for alias, spec in actual[side].items()
            }
            want = {alias: (t.dtype, t.shape) for alias, t in tensors.items()}
            if got != want:
                found.append(f"{name} {side}: exported {got}, contract {want}")
    return found
