"""`python -m serving.modelserver --port=8500 --rest_api_port=8501 --model_config_file=...`

Behaves as `tensorflow_model_server`'s main (`model_servers/main.cc`), and checks its command
line before it loads TensorFlow, so a mistake is reported at once: `--version` prints and
exits 0; a flag value that does not parse prints the usage and exits 255; unknown arguments
are reported and ignored; XLA JIT compilation is disabled unless
--xla_cpu_compilation_enabled or --xla_gpu_compilation_enabled; a server that cannot start
prints "Failed to start server. Error: ..." and exits 255. The custom ops TF Serving links
(TF Text, TF Decision Forests) are registered when their packages are installed
(custom_ops.py). SIGTERM and SIGINT drain in-flight requests and exit 0.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import logging
import signal
import sys
from pathlib import Path

from serving import logs
from serving.modelserver import custom_ops
from serving.modelserver import flags as server_flags
from serving.modelserver.errors import ServingError

VERSION = "seqserve-embedded 0.1.0 (TensorFlow Serving API 2.21)"
FAILED = 255
"""`return -1` from TF Serving's main."""
DISABLE_XLA_SYMBOL = "_ZN10tensorflow21DisableXlaCompilationEv"
"""tensorflow::DisableXlaCompilation(), which TF Serving's main calls; not wrapped for Python."""

log = logging.getLogger("serving.modelserver")


def disable_xla_compilation() -> None:
    """Make XLA JIT compilation fail with "XLA compilation disabled", as TF Serving does
    without its XLA flags, by calling the same TensorFlow function."""
    package = importlib.util.find_spec("tensorflow").submodule_search_locations[0]
    library = Path(package) / "libtensorflow_cc.so.2"
    try:
        getattr(ctypes.CDLL(str(library)), DISABLE_XLA_SYMBOL)()
    except (OSError, AttributeError) as error:
        log.warning("XLA compilation stays enabled: cannot call %s (%s)", DISABLE_XLA_SYMBOL, error)


def main(argv: list[str] | None = None) -> int:
    logs.configure()
    try:
        parsed = server_flags.parse(sys.argv[1:] if argv is None else argv)
    except server_flags.FlagError as error:
        print(error, file=sys.stderr)
        print(server_flags.usage())
        return FAILED
    if parsed.wants_help:
        print(server_flags.usage())
        return FAILED
    flags = parsed.values
    if flags.version:
        library = importlib.metadata.version("tensorflow")
        print(f"TensorFlow ModelServer: {VERSION}\nTensorFlow Library: {library}")
        return 0
    for argument in parsed.unknown:
        print(f"unknown argument: {argument}", flush=True)
    for name, why in parsed.ignored_flags():
        log.warning("--%s has no effect here: %s", name, why)
    try:
        server_flags.check(flags)
    except ServingError as error:
        print(f"Failed to start server. Error: {error.status_string()}", flush=True)
        return FAILED
    from serving.modelserver.server import ModelServer  # loads the TensorFlow runtime

    if not (flags.xla_cpu_compilation_enabled or flags.xla_gpu_compilation_enabled):
        disable_xla_compilation()
    custom_ops.register()
    try:
        server = ModelServer(flags)
        signal.signal(signal.SIGTERM, lambda *_: server.request_stop())
        signal.signal(signal.SIGINT, lambda *_: server.request_stop())
        server.start()
    except ServingError as error:
        if "server" in locals() and server.stopping:
            return 0
        print(f"Failed to start server. Error: {error.status_string()}", flush=True)
        return FAILED
    server.wait()
    log.info("stopping: finishing in-flight requests")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
