"""Regenerates `protocol/generated/` (`make protos`): TF Serving's messages without TensorFlow;
and `protocol/v2/`: the Open Inference Protocol's, from its own .proto.

The `tensorflow-serving-api` wheel depends on the whole `tensorflow` package (~1.9 GB) only for
its protobuf modules. This tool takes the FileDescriptorProtos that wheel was compiled from (its
`_pb2` modules carry them, with TensorFlow's framework protos they import), hands them to
grpcio-tools' protoc as a descriptor set, and moves the generated modules under
`protocol.generated`. The serialized descriptors are byte for byte the wheel's, so both can load
in one process and share message classes (tests/protocol/test_messages.py checks this).

Needs the `[dev]` extra (tensorflow-serving-api, grpcio-tools); the generated code needs only
protobuf and grpcio.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "generated"
V2 = Path(__file__).resolve().parent / "v2"
V2_PROTO = "grpc_predict_v2.proto"
"""The Open Inference Protocol's gRPC API (kserve/kserve docs/predict-api/v2), vendored in V2."""
SERVICES = (
    "tensorflow_serving/apis/prediction_service.proto",
    "tensorflow_serving/apis/model_service.proto",
)
"""The protos whose gRPC stubs are kept; every other `_pb2_grpc` module would be empty."""
ROOTS = ("tensorflow", "tensorflow_serving", "xla")
IMPORT = re.compile(rf"^from ({'|'.join(ROOTS)})([. ])", re.MULTILINE)


def descriptor_set() -> bytes:
    """The FileDescriptorSet of every proto TF Serving's API modules need, dependencies first."""
    from google.protobuf import descriptor_pb2
    from tensorflow_serving.apis import (
        model_service_pb2,
        prediction_log_pb2,
        prediction_service_pb2,
    )
    from tensorflow_serving.config import model_server_config_pb2

    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}

    def add(file) -> None:
        if file.name in files:
            return
        for dependency in file.dependencies:
            add(dependency)
        files[file.name] = descriptor_pb2.FileDescriptorProto.FromString(file.serialized_pb)

    for module in (prediction_service_pb2, model_service_pb2, prediction_log_pb2):
        add(module.DESCRIPTOR)
    add(model_server_config_pb2.DESCRIPTOR)
    return descriptor_pb2.FileDescriptorSet(file=list(files.values())).SerializeToString()


def generate(out: Path = OUT) -> list[Path]:
    """Write the modules under `out` (replacing it) and return their paths."""
    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc

    serialized = descriptor_set()
    names = [
        file.name
        for file in descriptor_pb2.FileDescriptorSet.FromString(serialized).file
        if not file.name.startswith("google/protobuf/")
    ]
    with tempfile.TemporaryDirectory() as scratch:
        descriptors = Path(scratch, "descriptors.pb")
        descriptors.write_bytes(serialized)
        generated = Path(scratch, "out")
        generated.mkdir()
        arguments = [f"--descriptor_set_in={descriptors}", f"--python_out={generated}"]
        if protoc.main(["protoc", *arguments, *names]) != 0:
            raise RuntimeError("protoc failed on the TF Serving descriptors")
        if protoc.main(["protoc", *arguments, f"--grpc_python_out={generated}", *SERVICES]) != 0:
            raise RuntimeError("protoc failed on the TF Serving services")
        services = {generated / name.replace(".proto", "_pb2_grpc.py") for name in SERVICES}
        for stub in set(generated.rglob("*_pb2_grpc.py")) - services:
            stub.unlink()
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(generated, out)
    written = sorted(out.rglob("*.py"))
    for module in written:
        module.write_text(IMPORT.sub(r"from protocol.generated.\1\2", module.read_text()))
    for folder in {out, *(module.parent for module in written)}:
        while folder != out.parent:
            (folder / "__init__.py").touch()
            folder = folder.parent
    return written


def generate_v2(folder: Path = V2) -> list[Path]:
    """The V2 messages and stubs next to their .proto in `folder`, imported as protocol.v2."""
    from grpc_tools import protoc

    arguments = [f"-I{folder}", f"--python_out={folder}", f"--grpc_python_out={folder}"]
    if protoc.main(["protoc", *arguments, V2_PROTO]) != 0:
        raise RuntimeError(f"protoc failed on {V2_PROTO}")
    stub = folder / V2_PROTO.replace(".proto", "_pb2_grpc.py")
    module = V2_PROTO.removesuffix(".proto") + "_pb2"
    stub.write_text(
        stub.read_text().replace(f"import {module} as", f"from protocol.v2 import {module} as")
    )
    (folder / "__init__.py").touch()
    return [folder / f"{module}.py", stub]


if __name__ == "__main__":
    print(f"{len(generate())} modules in {OUT}")
    print(f"{len(generate_v2())} modules in {V2}")
