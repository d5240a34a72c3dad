"""The embedded model server: wires manager, core, gRPC and REST, and stops gracefully."""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
from werkzeug.serving import make_server

from client.protos import model_service_pb2_grpc, prediction_service_pb2_grpc
from serving.modelserver import config
from serving.modelserver.core import ModelServerCore
from serving.modelserver.grpc_api import ModelServicer, PredictionServicer
from serving.modelserver.manager import ModelManager
from serving.modelserver.metrics import ServerMetrics
from serving.modelserver.rest_api import RestApi
from serving.modelserver.servable import Servable

log = logging.getLogger(__name__)


class ModelServer:
    def __init__(self, flags):
        self.flags = flags
        self.metrics = ServerMetrics()
        self.manager = ModelManager(
            self._load, self.metrics.observe_load, flags.allow_version_labels_for_unavailable_models
        )
        self.core = ModelServerCore(self.manager, self.metrics, config.batching_options(flags))
        self._configs = config.model_configs(flags)
        self._stop = threading.Event()
        self._grpc = None
        self._rest = None
        self.grpc_port = 0

    def start(self) -> None:
        """Load every configured model, then open the gRPC and REST ports."""
        self.manager.apply_config(self._configs)
        flags = self.flags
        workers = flags.grpc_max_threads or 4 * (os.cpu_count() or 1)
        self._grpc = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers), options=config.grpc_options(flags)
        )
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionServicer(self.core, flags.response_tensor_content), self._grpc
        )
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelServicer(self.core, self.manager.apply_config), self._grpc
        )
        credentials = config.server_credentials(flags)
        address = f"0.0.0.0:{flags.port}"
        if credentials is None:
            self.grpc_port = self._grpc.add_insecure_port(address)
        else:
            self.grpc_port = self._grpc.add_secure_port(address, credentials)
        if flags.grpc_socket_path:
            self._grpc.add_insecure_port(f"unix:{flags.grpc_socket_path}")
        self._grpc.start()
        print(f"Running gRPC ModelServer at 0.0.0.0:{self.grpc_port} ...", flush=True)
        if flags.rest_api_port:
            app = RestApi(
                self.core,
                self.metrics,
                config.prometheus_path(flags),
                timeout_seconds=flags.rest_api_timeout_in_ms / 1000,
                max_concurrent=flags.rest_api_num_threads,
            )
            self._rest = make_server("0.0.0.0", flags.rest_api_port, app, threaded=True)
            self._rest.daemon_threads = False
            self._rest.block_on_close = True
            threading.Thread(target=self._rest.serve_forever, name="rest", daemon=True).start()
            print(f"Exporting HTTP/REST API at:localhost:{flags.rest_api_port} ...", flush=True)
        threading.Thread(
            target=self.manager.run_polling,
            args=(flags.file_system_poll_wait_seconds, self._stop),
            name="fs-poll",
            daemon=True,
        ).start()
        if flags.model_config_file and flags.model_config_file_poll_wait_seconds > 0:
            threading.Thread(target=self._poll_config_file, name="config-poll", daemon=True).start()

    def wait(self) -> None:
        self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, grace_seconds: float = 10.0) -> None:
        """Refuse new requests, let in-flight ones finish (up to the grace period), then exit."""
        self._stop.set()
        if self._grpc is not None:
            self._grpc.stop(grace_seconds).wait()
        if self._rest is not None:
            self._rest.shutdown()
            self._rest.server_close()
        self.core.close()

    def _load(self, name: str, version: int, path: Path) -> Servable:
        flags = self.flags
        tags = tuple(t.strip() for t in flags.saved_model_tags.split(",") if t.strip())
        attempts = 1 + max(0, flags.max_num_load_retries)
        for attempt in range(1, attempts + 1):
            try:
                servable = Servable.load(name, version, path, tags)
                if flags.enable_model_warmup:
                    for _ in range(max(1, flags.num_request_iterations_for_warmup)):
                        servable.warmup()
                return servable
            except Exception:
                if attempt == attempts or self._stop.is_set():
                    raise
                log.warning(
                    "%s version %d: load attempt %d failed; retrying", name, version, attempt
                )
                time.sleep(flags.load_retry_interval_micros / 1e6)
        raise AssertionError("unreachable")

    def _poll_config_file(self) -> None:
        interval = self.flags.model_config_file_poll_wait_seconds
        while not self._stop.wait(interval):
            try:
                self.manager.apply_config(config.model_configs(self.flags))
            except Exception:
                log.exception(
                    "reloading %s failed; keeping the previous config", self.flags.model_config_file
                )
