"""`python -m serving.modelserver --port=8500 --rest_api_port=8501 --model_config_file=...`"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys

import tensorflow as tf

from serving.modelserver.config import ConfigError
from serving.modelserver.errors import ServingError
from serving.modelserver.flags import parse_flags
from serving.modelserver.server import ModelServer

VERSION = "seqserve embedded model server 0.1.0 (TensorFlow Serving API compatible)"


def configure_tensorflow(flags) -> None:
    """Thread pools and GPU memory, before TensorFlow runs its first op."""
    if flags.tensorflow_intra_op_parallelism:
        tf.config.threading.set_intra_op_parallelism_threads(flags.tensorflow_intra_op_parallelism)
    if flags.tensorflow_inter_op_parallelism:
        tf.config.threading.set_inter_op_parallelism_threads(flags.tensorflow_inter_op_parallelism)
    fraction = flags.per_process_gpu_memory_fraction
    gpus = tf.config.list_physical_devices("GPU")
    if fraction > 0 and gpus:
        totals = gpu_memory_mib()
        for index, gpu in enumerate(gpus):
            if index < len(totals):
                limit = int(totals[index] * fraction)
                tf.config.set_logical_device_configuration(
                    gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=limit)]
                )
            else:
                tf.config.experimental.set_memory_growth(gpu, True)


def gpu_memory_mib() -> list[int]:
    """Each NVIDIA GPU's total memory in MiB, from nvidia-smi (empty when it is not there)."""
    if shutil.which("nvidia-smi") is None:
        return []
    query = ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    result = subprocess.run(query, capture_output=True, text=True, check=False)
    return [int(line) for line in result.stdout.split() if line.isdigit()]


def main(argv: list[str] | None = None) -> int:
    flags = parse_flags(argv)
    if flags.version:
        print(VERSION)
        return 0
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if flags.platform_config_file:
        print(
            "error: --platform_config_file is not supported by the embedded server", file=sys.stderr
        )
        return 2
    configure_tensorflow(flags)
    try:
        server = ModelServer(flags)
        signal.signal(signal.SIGTERM, lambda *_: server.request_stop())
        signal.signal(signal.SIGINT, lambda *_: server.request_stop())
        server.start()
    except (ConfigError, ServingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    server.wait()
    logging.getLogger(__name__).info("stopping: finishing in-flight requests")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
