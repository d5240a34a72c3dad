"""Run a SavedModel signature the way TensorFlow Serving does: the MetaGraphDef loaded into a
graph session (its restore and init ops run), fed and fetched by the SignatureDef's tensor names.

Also a script, for a virtual environment that holds nothing but another TensorFlow (the one a
TF Serving release is built on): `python graph_session.py JOBS.json INPUTS.npz ANSWERS.npz`
runs each job — {"version": path, "signature": name} with inputs `INPUTS["<job>:<alias>"]` —
and writes `ANSWERS["<job>:<alias>"]` and the TensorFlow version as `ANSWERS["tensorflow"]`.
It imports TensorFlow and NumPy only.
"""

from __future__ import annotations

import json
import sys
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


def main(argv: list[str]) -> int:
    jobs_path, inputs_path, answers_path = argv
    jobs = json.loads(Path(jobs_path).read_text())
    inputs = np.load(inputs_path)
    answers = {"tensorflow": np.array(tf.__version__)}
    for index, job in enumerate(jobs):
        prefix = f"{index}:"
        feeds = {key[len(prefix) :]: inputs[key] for key in inputs.files if key.startswith(prefix)}
        outputs = run_in_graph_session(Path(job["version"]), job["signature"], **feeds)
        answers.update({prefix + alias: value for alias, value in outputs.items()})
    np.savez(answers_path, **answers)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
