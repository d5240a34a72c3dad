"""`tensorflow_model_server`'s 48 command-line flags, parsed as TensorFlow parses them.

Names, types and defaults are those of TF Serving's `model_servers/main.cc` and `server.h`;
the grammar is TensorFlow's (`tensorflow/core/util/command_line_flags.cc`): a flag is
`--name=value` (booleans also `--name`, and only `true`/`false`), an argument that names no
flag is kept aside and reported as "unknown argument" while the server goes on, and a value
that does not parse fails the whole command line. argparse cannot express that grammar (it
takes `--name value`, rejects unknown flags and accepts abbreviations), hence this table.

A flag whose feature this server does not have is accepted; `ignored_flags` names those that
were given, with the reason, for one startup warning each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import SimpleNamespace

from serving.modelserver.errors import InvalidArgument

CPUS = os.cpu_count() or 1


@dataclass(frozen=True)
class Flag:
    name: str
    kind: type
    default: object
    help: str
    no_effect: str = ""
    """Why the flag changes nothing here; empty when it is implemented."""


TFLITE = "TF Lite models are not served by the embedded server"
FLAGS = (
    Flag("port", int, 8500, "gRPC port; 0 disables TCP gRPC (see --grpc_socket_path)"),
    Flag("grpc_socket_path", str, "", "also serve gRPC on this UNIX socket"),
    Flag("rest_api_port", int, 0, "HTTP/REST port; 0 disables REST"),
    Flag("rest_api_num_threads", int, 4 * CPUS, "REST requests handled at once"),
    Flag("rest_api_timeout_in_ms", int, 30000, "REST request timeout"),
    Flag("rest_api_enable_cors_support", bool, False, "add CORS headers to REST responses"),
    Flag("enable_batching", bool, False, "batch concurrent requests to a model"),
    Flag(
        "allow_version_labels_for_unavailable_models",
        bool,
        False,
        "allow new labels to point at versions that are not loaded yet",
    ),
    Flag("batching_parameters_file", str, "", "BatchingParameters text proto"),
    Flag(
        "enable_per_model_batching_parameters",
        bool,
        False,
        "batch each model with <version>/batching_params.pbtxt (no file: no batching)",
    ),
    Flag("model_config_file", str, "", "ModelServerConfig text proto"),
    Flag(
        "model_config_file_poll_wait_seconds",
        int,
        0,
        "re-read --model_config_file this often; 0: read once",
    ),
    Flag("model_name", str, "default", "name of the one model (without --model_config_file)"),
    Flag("model_base_path", str, "", "base path of the one model (without --model_config_file)"),
    Flag("num_load_threads", int, 0, "threads that load versions after startup; 0: one by one"),
    Flag(
        "num_unload_threads",
        int,
        0,
        "threads that unload versions",
        "an unload only drops references here, which takes no time",
    ),
    Flag("max_num_load_retries", int, 5, "retries of a failed load"),
    Flag("load_retry_interval_micros", int, 60_000_000, "wait between load retries"),
    Flag(
        "file_system_poll_wait_seconds",
        int,
        1,
        "look for new versions this often; 0: once; negative: never",
    ),
    Flag(
        "flush_filesystem_caches",
        bool,
        True,
        "flush file system caches after loads",
        "the embedded server keeps no file system caches",
    ),
    Flag("tensorflow_session_parallelism", int, 0, "TensorFlow threads; 0: automatic"),
    Flag("tensorflow_session_config_file", str, "", "TensorFlow ConfigProto text proto"),
    Flag("tensorflow_intra_op_parallelism", int, 0, "threads within an op; 0: automatic"),
    Flag("tensorflow_inter_op_parallelism", int, 0, "ops run at once; 0: automatic"),
    Flag("use_alts_credentials", bool, False, "secure gRPC with Google ALTS"),
    Flag("ssl_config_file", str, "", "SSLConfig text proto: TLS for gRPC"),
    Flag(
        "platform_config_file",
        str,
        "",
        "PlatformConfigMap text proto",
        "the embedded server sets up its TensorFlow platform from the flags alone",
    ),
    Flag("per_process_gpu_memory_fraction", float, 0.0, "share of GPU memory to claim; 0: grow"),
    Flag("saved_model_tags", str, "serve", "comma-separated MetaGraphDef tags"),
    Flag("grpc_channel_arguments", str, "", "comma-separated key=value gRPC server arguments"),
    Flag("grpc_max_threads", int, 4 * CPUS, "gRPC worker threads"),
    Flag("enable_model_warmup", bool, True, "replay assets.extra/tf_serving_warmup_requests"),
    Flag("num_request_iterations_for_warmup", int, 0, "replays of each warmup record; 0: 1"),
    Flag("version", bool, False, "print the version and exit"),
    Flag("monitoring_config_file", str, "", "MonitoringConfig text proto (Prometheus)"),
    Flag(
        "remove_unused_fields_from_bundle_metagraph",
        bool,
        True,
        "drop unused MetaGraphDef fields",
        "it saves C++ proto memory that this server does not hold",
    ),
    Flag("prefer_tflite_model", bool, False, "serve model.tflite when present", TFLITE),
    Flag("num_tflite_pools", int, CPUS, "TF Lite interpreter pools", TFLITE),
    Flag("num_tflite_interpreters_per_pool", int, 1, "TF Lite interpreters a pool", TFLITE),
    Flag(
        "enable_signature_method_name_check",
        bool,
        False,
        "require classify/regress signature method names",
    ),
    Flag("xla_cpu_compilation_enabled", bool, False, "allow XLA JIT compilation on CPU"),
    Flag("xla_gpu_compilation_enabled", bool, False, "allow XLA JIT compilation on CPU and GPU"),
    Flag("enable_profiler", bool, True, "serve TensorFlow's profiler on the gRPC port"),
    Flag(
        "thread_pool_factory_config_file",
        str,
        "",
        "ThreadPoolConfig text proto",
        "TensorFlow's per-request thread pool factories are not available from Python",
    ),
    Flag(
        "mixed_precision",
        str,
        "",
        "mixed precision mode, e.g. bfloat16",
        "the bfloat16 graph rewrite is applied by TF Serving's C++ loader only",
    ),
    Flag("skip_initialize_tpu", bool, False, "skip TPU initialisation", "there is no TPU here"),
    Flag("enable_grpc_healthcheck_service", bool, False, "serve grpc.health.v1.Health"),
    Flag(
        "enable_serialization_as_tensor_content",
        bool,
        False,
        "answer Predict with packed tensor_content bytes",
    ),
)
BY_NAME = {flag.name: flag for flag in FLAGS}


class FlagError(ValueError):
    """A flag's value does not parse; the message is TensorFlow's."""


@dataclass(frozen=True)
class ParsedFlags:
    values: SimpleNamespace
    given: frozenset[str]
    unknown: tuple[str, ...]
    wants_help: bool

    def ignored_flags(self) -> list[tuple[str, str]]:
        """(flag, why it has no effect) for each given flag this server does not implement."""
        return [(f.name, f.no_effect) for f in FLAGS if f.no_effect and f.name in self.given]


def parse(argv: list[str]) -> ParsedFlags:
    values = SimpleNamespace(**{flag.name: flag.default for flag in FLAGS})
    given, unknown, errors = set(), [], []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--":
            unknown.extend([argument, *arguments])
            break
        flag, value, ok = _match(argument)
        if flag is None:
            unknown.append(argument)
        elif not ok:
            errors.append(f"Couldn't interpret value {value} for flag {flag.name}.")
        else:
            setattr(values, flag.name, value)
            given.add(flag.name)
    if errors:
        raise FlagError("\n".join(errors))
    wants_help = bool(unknown) and unknown[0] == "--help"
    return ParsedFlags(values, frozenset(given), tuple(unknown), wants_help)


def _match(argument: str) -> tuple[Flag | None, object, bool]:
    """(flag, parsed value, value ok) for `--name=value` or a bare boolean `--name`."""
    if not argument.startswith("--"):
        return None, None, True
    name, equals, text = argument[2:].partition("=")
    flag = BY_NAME.get(name)
    if flag is None:
        return None, None, True
    if flag.kind is bool:
        if not equals:
            return flag, True, True
        if text in ("true", "false"):
            return flag, text == "true", True
        return flag, f"={text}", False
    if not equals:
        return None, None, True
    if flag.kind is str:
        return flag, text, True
    try:
        return flag, flag.kind(text.strip() if flag.kind is float else text), True
    except ValueError:
        return flag, text, False


def usage(program: str = "python -m serving.modelserver") -> str:
    lines = [f"usage: {program}", "Flags:"]
    for flag in FLAGS:
        shown = f'"{flag.default}"' if flag.kind is str else _text(flag.default)
        kind = {int: "int", bool: "bool", float: "float", str: "string"}[flag.kind]
        note = f" (no effect here: {flag.no_effect})" if flag.no_effect else ""
        lines.append(f"\t{'--' + flag.name + '=' + shown:<33}\t{kind}\t{flag.help}{note}")
    return "\n".join(lines) + "\n"


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def check(flags) -> None:
    """Server::BuildAndStart's checks of the flags alone (server.cc)."""
    if flags.port == 0 and not flags.grpc_socket_path:
        raise InvalidArgument(
            "At least one of server_options.grpc_port or server_options.grpc_socket_path must "
            "be set."
        )
    if flags.use_alts_credentials and flags.ssl_config_file:
        raise InvalidArgument(
            "Either use_alts_credentials must be false or ssl_config_file must be empty."
        )
    if not flags.model_base_path and not flags.model_config_file:
        raise InvalidArgument(
            "Both server_options.model_base_path and server_options.model_config_file are empty!"
        )
    if not flags.enable_batching and flags.batching_parameters_file:
        raise InvalidArgument(
            "server_options.batching_parameters_file is set without setting "
            "server_options.enable_batching to true."
        )
    parallelism = (
        flags.tensorflow_intra_op_parallelism,
        flags.tensorflow_inter_op_parallelism,
        flags.tensorflow_session_parallelism,
    )
    if all(value > 0 for value in parallelism):
        raise InvalidArgument(
            "Either configure server_options.tensorflow_session_parallelism or "
            "(server_options.tensorflow_intra_op_parallelism, "
            "server_options.tensorflow_inter_op_parallelism) separately. You cannot configure all."
        )
