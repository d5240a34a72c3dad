"""One loaded version of a SavedModel: its signatures, input checks, runs and warmup."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from client.tensors import dtype_name, numpy_dtype, to_ndarray
from serving.modelserver.errors import FailedPrecondition, InvalidArgument
from training.layout import EXTRA_DIR, WARMUP_FILE
from training.warmup import read_warmup_records

DEFAULT_SIGNATURE = "serving_default"


@dataclass(frozen=True)
class Servable:
    """A model version ready to run; its TensorFlow functions may be called concurrently."""

    name: str
    version: int
    path: Path
    signature_defs: dict[str, meta_graph_pb2.SignatureDef]
    functions: dict

    @classmethod
    def load(cls, name: str, version: int, path: Path, tags: tuple[str, ...] = ("serve",)):
        """Load a TF2 or TF1 SavedModel from `path`."""
        meta_graph = _meta_graph(path, set(tags))
        loaded = tf.saved_model.load(str(path), tags=list(tags))
        signature_defs = dict(meta_graph.signature_def)
        functions = {
            key: loaded.signatures[key] for key in signature_defs if key in loaded.signatures
        }
        return cls(name, version, path, signature_defs, functions)

    def signature(self, signature_name: str) -> meta_graph_pb2.SignatureDef:
        key = signature_name or DEFAULT_SIGNATURE
        if key not in self.functions:
            raise FailedPrecondition(f'Serving signature key "{key}" not found.')
        return self.signature_defs[key]

    def run(
        self, signature_name: str, inputs: dict[str, np.ndarray], output_filter=()
    ) -> dict[str, np.ndarray]:
        """Check `inputs` against the signature, run it, return the (filtered) outputs."""
        key = signature_name or DEFAULT_SIGNATURE
        signature = self.signature(key)
        check_inputs(signature, inputs)
        unknown = sorted(set(output_filter) - set(signature.outputs))
        if unknown:
            raise InvalidArgument(
                f"output tensor alias not found in signature: {', '.join(unknown)}. "
                f"Outputs expected to be in the set {{{', '.join(sorted(signature.outputs))}}}."
            )
        arguments = {alias: tf.constant(value) for alias, value in inputs.items()}
        try:
            results = self.functions[key](**arguments)
        except tf.errors.InvalidArgumentError as error:
            raise InvalidArgument(error.message) from error
        except (ValueError, TypeError) as error:
            raise InvalidArgument(str(error)) from error
        wanted = output_filter or signature.outputs.keys()
        return {alias: _as_numpy(results[alias]) for alias in wanted}

    def warmup(self) -> int:
        """Replay the warmup records in assets.extra, as TF Serving does; returns the count."""
        records = self.path / EXTRA_DIR / WARMUP_FILE
        if not records.exists():
            return 0
        count = 0
        for log in read_warmup_records(records):
            if log.WhichOneof("log_type") != "predict_log":
                continue
            request = log.predict_log.request
            inputs = {key: to_ndarray(proto) for key, proto in request.inputs.items()}
            self.run(request.model_spec.signature_name, inputs, tuple(request.output_filter))
            count += 1
        return count


def check_inputs(signature: meta_graph_pb2.SignatureDef, inputs: dict[str, np.ndarray]) -> None:
    """Names, dtypes and shapes must match the signature; the message says what does not."""
    expected, given = set(signature.inputs), set(inputs)
    if expected != given:
        extra = ", ".join(sorted(given - expected)) or "none"
        missing = ", ".join(sorted(expected - given)) or "none"
        raise InvalidArgument(
            f"input size does not match signature: {len(given)}!={len(expected)} "
            f"len({{{', '.join(sorted(given))}}}) != len({{{', '.join(sorted(expected))}}}). "
            f"Sent extra: {{{extra}}}. Missing but required: {{{missing}}}."
        )
    for alias, value in inputs.items():
        info = signature.inputs[alias]
        wanted = numpy_dtype(info.dtype)
        if value.dtype != wanted and not (wanted.kind == "O" and value.dtype.kind in "OSU"):
            raise InvalidArgument(
                f"input '{alias}': expects {dtype_name(info.dtype)} but got {value.dtype.name}"
            )
        if info.tensor_shape.unknown_rank:
            continue
        dims = [d.size for d in info.tensor_shape.dim]
        if len(dims) != value.ndim or any(
            want not in (-1, got) for want, got in zip(dims, value.shape, strict=True)
        ):
            shown = [None if d == -1 else d for d in dims]
            raise InvalidArgument(
                f"input '{alias}': expects shape {shown} but got {list(value.shape)}"
            )


def _meta_graph(path: Path, tags: set[str]) -> meta_graph_pb2.MetaGraphDef:
    saved_model = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    for meta_graph in saved_model.meta_graphs:
        if set(meta_graph.meta_info_def.tags) == tags:
            return meta_graph
    raise FailedPrecondition(f"{path}: no MetaGraphDef with tags {sorted(tags)}")


def _as_numpy(tensor) -> np.ndarray:
    value = tensor.numpy()
    return value.astype(object) if value.dtype.kind == "S" else np.asarray(value)
