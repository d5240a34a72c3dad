"""The plain-graph twin of an XLA-compiled export: the same SavedModel with the functions' XLA
marks removed, so the benchmark compares old and new exports on one set of weights.

`tf.function(jit_compile=True)` differs from a plain `tf.function` in the SavedModel only by
the `_XlaMustCompile` attribute on the function definitions (and the calls to them); without it
TensorFlow runs the same graph op by op, as the exports before XLA did.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tensorflow.core.protobuf import saved_model_pb2

XLA_ATTRIBUTE = "_XlaMustCompile"


def strip_xla(version: Path, target: Path) -> Path:
    """Copy `version` to `target` without XLA marks; returns `target`."""
    shutil.copytree(version, target)
    saved = saved_model_pb2.SavedModel.FromString((version / "saved_model.pb").read_bytes())
    for meta_graph in saved.meta_graphs:
        library = meta_graph.graph_def.library
        for function in library.function:
            function.attr.pop(XLA_ATTRIBUTE, None)
            for node in function.node_def:
                node.attr.pop(XLA_ATTRIBUTE, None)
        for node in meta_graph.graph_def.node:
            node.attr.pop(XLA_ATTRIBUTE, None)
    (target / "saved_model.pb").write_bytes(saved.SerializeToString())
    return target
