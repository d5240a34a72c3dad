"""Run a SavedModel signature the way TensorFlow Serving does: the MetaGraphDef loaded into a
graph session (its restore and init ops run), fed and fetched by the SignatureDef's tensor names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf


def run_in_graph_session(version: Path, signature_name: str, **inputs) -> dict[str, np.ndarray]:
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(version))
        signature = meta_graph.signature_def[signature_name]
        feeds = {signature.inputs[alias].name: value for alias, value in inputs.items()}
        fetches = {alias: info.name for alias, info in signature.outputs.items()}
        return session.run(fetches, feeds)
