"""The TensorFlow Serving API messages and gRPC stubs, without the TensorFlow runtime.

`tensorflow_serving.apis.*_pb2` import `tensorflow.core.*_pb2`, and importing anything under
`tensorflow` normally runs `tensorflow/__init__.py`, which loads the whole runtime (~2 s and
~670 MB). Light processes (gateway, clients, Locust) import this module instead: it registers
a finder that presents `tensorflow` and its sub-packages as bare namespaces over their real
folders, so the generated `_pb2` modules load and `__init__.py` never runs.

A process that needs the real runtime (the embedded model server, training) imports
`tensorflow` before this module; the finder is then not installed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path


class _BareTensorFlowPackages(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `tensorflow[.x.y]` packages as empty namespaces; modules load as usual."""

    def __init__(self, root: Path):
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow" and not fullname.startswith("tensorflow."):
            return None
        folder = self.root.parent.joinpath(*fullname.split("."))
        if not folder.is_dir():
            return None
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        spec.submodule_search_locations = [str(folder)]
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        if module.__name__ == "tensorflow":
            module.__getattr__ = _no_runtime


def _no_runtime(name: str):
    raise AttributeError(
        f"tensorflow.{name}: this process loaded only TensorFlow's protobuf modules "
        "(client.protos); import tensorflow before client.protos to use the runtime"
    )


def _install() -> None:
    if "tensorflow" in sys.modules or any(
        isinstance(finder, _BareTensorFlowPackages) for finder in sys.meta_path
    ):
        return
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the tensorflow package (for its protobuf modules) is not installed")
    sys.meta_path.insert(0, _BareTensorFlowPackages(Path(spec.submodule_search_locations[0])))


_install()

from tensorflow.core.example import example_pb2, feature_pb2  # noqa: E402
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2  # noqa: E402
from tensorflow_serving.apis import (  # noqa: E402
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    input_pb2,
    model_management_pb2,
    model_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_log_pb2,
    prediction_service_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
    status_pb2,
)
from tensorflow_serving.config import model_server_config_pb2  # noqa: E402

__all__ = [
    "classification_pb2",
    "example_pb2",
    "feature_pb2",
    "get_model_metadata_pb2",
    "get_model_status_pb2",
    "inference_pb2",
    "input_pb2",
    "model_management_pb2",
    "model_pb2",
    "model_server_config_pb2",
    "model_service_pb2",
    "model_service_pb2_grpc",
    "predict_pb2",
    "prediction_log_pb2",
    "prediction_service_pb2",
    "prediction_service_pb2_grpc",
    "regression_pb2",
    "status_pb2",
    "tensor_pb2",
    "tensor_shape_pb2",
    "types_pb2",
]
