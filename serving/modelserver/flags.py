"""`tensorflow_model_server`'s command-line flags: same names, same meanings, same defaults.

Two deliberate differences: `--rest_api_port` defaults to 8501 (the real server's default, 0,
disables REST; its Docker image passes 8501), and `--response_tensor_content` is an extension
that puts responses in packed `tensor_content` bytes instead of typed value fields.
"""

from __future__ import annotations

import argparse
import os


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m serving.modelserver",
        description="Embedded TensorFlow-Serving-compatible model server.",
        allow_abbrev=False,
    )

    def flag(name: str, kind, default, help_text: str) -> None:
        if kind is bool:
            parser.add_argument(
                f"--{name}", type=_bool, nargs="?", const=True, default=default, help=help_text
            )
        else:
            parser.add_argument(f"--{name}", type=kind, default=default, help=help_text)

    flag("port", int, 8500, "gRPC port")
    flag("grpc_socket_path", str, "", "also listen on this UNIX socket")
    flag("rest_api_port", int, 8501, "HTTP/REST port; 0 disables REST")
    flag("rest_api_num_threads", int, 16 * (os.cpu_count() or 1), "REST worker threads")
    flag("rest_api_timeout_in_ms", int, 30000, "REST request timeout")
    flag("enable_batching", bool, False, "merge concurrent requests into batched calls")
    flag("batching_parameters_file", str, "", "BatchingParameters text proto")
    flag(
        "allow_version_labels_for_unavailable_models",
        bool,
        False,
        "allow labels to point at versions that are not loaded",
    )
    flag("model_config_file", str, "", "ModelServerConfig text proto (overrides --model_name)")
    flag(
        "model_config_file_poll_wait_seconds",
        int,
        0,
        "re-read the config file this often; 0: never",
    )
    flag("model_name", str, "default", "name of the single model (without --model_config_file)")
    flag("model_base_path", str, "", "base path of the single model")
    flag("max_num_load_retries", int, 5, "retries of a failed version load")
    flag("load_retry_interval_micros", int, 60_000_000, "wait between load retries")
    flag("file_system_poll_wait_seconds", int, 1, "poll base paths for versions this often")
    flag("flush_filesystem_caches", bool, True, "accepted for compatibility")
    flag("tensorflow_session_parallelism", int, 0, "accepted for compatibility")
    flag("tensorflow_intra_op_parallelism", int, 0, "TensorFlow intra-op threads; 0: auto")
    flag("tensorflow_inter_op_parallelism", int, 0, "TensorFlow inter-op threads; 0: auto")
    flag("ssl_config_file", str, "", "SSLConfig text proto: TLS for gRPC")
    flag("platform_config_file", str, "", "accepted for compatibility; must be empty")
    flag(
        "per_process_gpu_memory_fraction",
        float,
        0.0,
        "fraction of each GPU's memory to claim; 0: grow as needed",
    )
    flag("saved_model_tags", str, "serve", "comma-separated MetaGraphDef tags to load")
    flag("grpc_channel_arguments", str, "", "comma-separated key=value gRPC server options")
    flag("grpc_max_threads", int, 0, "gRPC worker threads; 0: 4 × CPUs")
    flag("enable_model_warmup", bool, True, "replay assets.extra/tf_serving_warmup_requests")
    flag("num_request_iterations_for_warmup", int, 1, "replays of each warmup record")
    flag("monitoring_config_file", str, "", "MonitoringConfig text proto (Prometheus)")
    flag(
        "response_tensor_content",
        bool,
        False,
        "extension: encode response tensors as tensor_content bytes",
    )
    flag("version", bool, False, "print the version and exit")
    return parser


def parse_flags(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse flags; an unknown flag exits with status 2 and names it."""
    return build_parser().parse_args(argv)
