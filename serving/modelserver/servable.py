"""One loaded model version, as TF Serving holds it: a MetaGraphDef and a session.

TF Serving loads every SavedModel, TF1 or TF2, into a graph session (SavedModelBundle): the
restore op fills the variables, the init op runs, and requests feed and fetch tensors by the
names their SignatureDef gives. It does not check requests against the signature's shapes;
the graph's ops decide (so TF Serving's `half_plus_two`, declared [-1, 1], takes [3]). This
module does the same through TensorFlow's graph-session API, which also loads TF1 models with
reference variables that the eager `tf.saved_model.load` cannot run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import config_pb2, meta_graph_pb2, saved_model_pb2

from serving.modelserver.errors import NotFound, ServingError
from serving.modelserver.metrics import ServerMetrics

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


@dataclass(eq=False)
class SavedModelBundle:
    """A model version ready to run; `run` may be called from many threads at once."""

    name: str
    version: int
    path: Path
    meta_graph: meta_graph_pb2.MetaGraphDef
    session: tf.compat.v1.Session
    _callables: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def signatures(self):
        return self.meta_graph.signature_def

    def run(
        self, feeds: dict[str, np.ndarray], fetches: Sequence[str], deadline: float | None = None
    ) -> list[np.ndarray]:
        """Session::Run: feed tensors by name, return the fetched tensors in order. A run
        that has started is not interrupted; `deadline` matters to the batching queue only."""
        names = tuple(sorted(feeds))
        run = self._callable(names, tuple(fetches))
        try:
            return list(run(*(feeds[name] for name in names)))
        except tf.errors.OpError as error:
            raise ServingError(error.message, _GRPC_CODES.get(error.error_code)) from None

    def _callable(self, feeds: tuple[str, ...], fetches: tuple[str, ...]):
        """A session callable per feed/fetch set, made once. The public `make_callable`
        goes through `Session.run`, which refuses feeds whose shapes differ from the graph's;
        TF Serving feeds them, so this uses the callable API underneath it."""
        key = (feeds, fetches)
        found = self._callables.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._callables.get(key)
            if found is None:
                options = config_pb2.CallableOptions(feed=feeds, fetch=fetches)
                try:
                    found = self.session._make_callable_from_options(options)
                except tf.errors.OpError as error:
                    raise ServingError(error.message, _GRPC_CODES.get(error.error_code)) from None
                self._callables[key] = found
        return found


def find_saved_model(path: Path) -> Path:
    for name in SAVED_MODEL_FILES:
        if (path / name).is_file():
            return path / name
    raise NotFound(
        f"Could not find SavedModel .pb or .pbtxt at supplied export directory path: {path}. "
        "Check that the directory exists and that you have the right permissions for "
        "accessing it."
    )


def load_bundle(
    name: str,
    version: int,
    path: Path,
    tags: Sequence[str],
    session_config: config_pb2.ConfigProto,
    metrics: ServerMetrics,
) -> SavedModelBundle:
    """LoadSavedModel: the MetaGraphDef with exactly `tags`, restored into a new session."""
    started = time.perf_counter()
    try:
        meta_graph = _meta_graph(path, set(tags))
        graph = tf.Graph()
        session = tf.compat.v1.Session(graph=graph, config=session_config)
        with graph.as_default():
            tf.compat.v1.saved_model.loader.load(session, list(tags), str(path))
    except ServingError:
        metrics.load_attempt_count.increment(path, "fail")
        raise
    except tf.errors.OpError as error:
        metrics.load_attempt_count.increment(path, "fail")
        raise ServingError(error.message, _GRPC_CODES.get(error.error_code)) from None
    except (OSError, ValueError, RuntimeError) as error:
        metrics.load_attempt_count.increment(path, "fail")
        raise ServingError(f"{type(error).__name__}: {error}", grpc.StatusCode.INTERNAL) from None
    micros = int((time.perf_counter() - started) * 1e6)
    metrics.load_attempt_count.increment(path, "success")
    metrics.load_latency.increment(path, by=micros)
    metrics.load_latency_by_stage.add(micros, path, "restore_graph")
    return SavedModelBundle(name, version, path, meta_graph, session)


def session_config(flags, config: config_pb2.ConfigProto) -> config_pb2.ConfigProto:
    """The session ConfigProto TF Serving builds (server.cc): the config file's, with the
    parallelism flags and the GPU memory fraction applied on top."""
    merged = config_pb2.ConfigProto()
    merged.CopyFrom(config)
    intra, inter = flags.tensorflow_intra_op_parallelism, flags.tensorflow_inter_op_parallelism
    if intra > 0 or inter > 0:
        merged.intra_op_parallelism_threads = intra
        merged.inter_op_parallelism_threads = inter
    else:
        merged.intra_op_parallelism_threads = flags.tensorflow_session_parallelism
        merged.inter_op_parallelism_threads = flags.tensorflow_session_parallelism
    merged.gpu_options.per_process_gpu_memory_fraction = flags.per_process_gpu_memory_fraction
    return merged


def _meta_graph(path: Path, tags: set[str]) -> meta_graph_pb2.MetaGraphDef:
    file = find_saved_model(path)
    saved_model = saved_model_pb2.SavedModel()
    if file.suffix == ".pbtxt":
        text_format.Parse(file.read_text(), saved_model)
    else:
        saved_model.ParseFromString(file.read_bytes())
    for meta_graph in saved_model.meta_graphs:
        if set(meta_graph.meta_info_def.tags) == tags:
            return meta_graph
    raise NotFound(
        f"Could not find meta graph def matching supplied tags: {{ {' '.join(sorted(tags))} }}. "
        "To inspect available tag-sets in the SavedModel, please use the SavedModel CLI: "
        "`saved_model_cli`"
    )


_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}
