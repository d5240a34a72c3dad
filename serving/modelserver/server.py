"""The embedded model server: wires manager, core, gRPC and REST, and stops gracefully.

Start-up follows TF Serving's `Server::BuildAndStart` (`model_servers/server.cc`): the flags
are checked, the configured models are loaded and awaited (a model that cannot load fails the
start), and only then do the gRPC and REST ports open. gRPC is served by grpc.aio on an event
loop of its own thread (see grpc_api.py); REST by waitress (see rest_server.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from serving.modelserver import config, grpc_api, inference
from serving.modelserver import flags as server_flags
from serving.modelserver.batching import BatchingSession, SharedBatchScheduler
from serving.modelserver.core import ModelServerCore, Servable
from serving.modelserver.grpc_api import ModelServicer, PredictionServicer
from serving.modelserver.manager import ManagerOptions, ModelManager
from serving.modelserver.metrics import ServerMetrics
from serving.modelserver.profiler import ProfilerRelay
from serving.modelserver.rest_api import RestApi
from serving.modelserver.rest_server import RestServer
from serving.modelserver.servable import load_bundle, session_config
from serving.modelserver.v2_grpc import InferenceServicer
from serving.modelserver.warmup import run_warmup

log = logging.getLogger(__name__)

HEALTH_SERVICES = ("", "ModelService", "PredictionService")
"""The names TF Serving marks SERVING when --enable_grpc_healthcheck_service is set."""


class ModelServer:
    def __init__(self, flags):
        server_flags.check(flags)
        self.flags = flags
        self.metrics = ServerMetrics()
        self.options = inference.Options(method_name_check=flags.enable_signature_method_name_check)
        self._model_configs = config.model_configs(flags)
        self._batching = config.batching_options(flags)
        self._scheduler = (
            SharedBatchScheduler(self._batching.num_batch_threads, self._batching.thread_pool_name)
            if self._batching
            else None
        )
        self._session_config = session_config(flags, config.session_config_proto(flags))
        self._tags = flags.saved_model_tags.split(",")
        self.manager = ModelManager(
            self._load,
            self._unload,
            ManagerOptions(
                max_num_load_retries=flags.max_num_load_retries,
                load_retry_interval_micros=flags.load_retry_interval_micros,
                file_system_poll_wait_seconds=flags.file_system_poll_wait_seconds,
                num_load_threads=flags.num_load_threads,
                allow_version_labels_for_unavailable_models=(
                    flags.allow_version_labels_for_unavailable_models
                ),
            ),
        )
        self.core = ModelServerCore(self.manager, self.metrics, self.options)
        self._stop = threading.Event()
        self._grpc = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._blocking: ThreadPoolExecutor | None = None
        self._health = None
        self._rest = None
        self.grpc_port = 0

    def start(self) -> None:
        """Load and await every configured model, then open the ports; raises a ServingError
        when the models or the configuration are unusable."""
        flags = self.flags
        self.manager.apply_config(self._model_configs)
        prometheus_path = config.prometheus_path(flags)
        self._start_grpc()
        if flags.rest_api_port:
            if flags.rest_api_port == flags.port:
                log.error(
                    "server_options.http_port cannot be same as grpc_port. Please use a "
                    "different port for HTTP/REST API. Skipped exporting HTTP/REST API."
                )
            else:
                self._start_rest(prometheus_path)
        self._thread(self.manager.run_polling, "fs-poll", self._stop)
        if flags.model_config_file and flags.model_config_file_poll_wait_seconds > 0:
            self._thread(self._poll_config_file, "config-poll")

    def wait(self) -> None:
        self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()
        self.manager.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, grace_seconds: float = 10.0) -> None:
        """Refuse new requests, let in-flight ones finish (up to the grace period), then exit."""
        self._stop.set()
        self.manager.stop()
        if self._health is not None:
            self._on_loop(self._health.enter_graceful_shutdown())
        if self._grpc is not None:
            self._on_loop(self._grpc.stop(grace_seconds))
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._blocking.shutdown(wait=False)
        if self._rest is not None:
            self._rest.stop(grace_seconds)
        if self._scheduler is not None:
            self._scheduler.stop()

    def reload_config(self, model_configs) -> None:
        """HandleReloadConfigRequest's effect: the same as a config file the server re-reads."""
        self.manager.apply_config(model_configs)

    def _start_grpc(self) -> None:
        flags = self.flags
        self._loop = asyncio.new_event_loop()
        self._thread(self._loop.run_forever, "grpc-loop")
        self._blocking = ThreadPoolExecutor(
            max_workers=max(1, flags.grpc_max_threads), thread_name_prefix="grpc"
        )
        self._on_loop(self._open_grpc())
        if flags.port:
            print(f"Running gRPC ModelServer at 0.0.0.0:{self.grpc_port} ...", flush=True)
        if flags.grpc_socket_path:
            print(f"Running gRPC ModelServer at UNIX socket {flags.grpc_socket_path} ...")

    async def _open_grpc(self) -> None:
        """Build and start the grpc.aio server; runs on its loop, where grpc.aio wants it."""
        flags = self.flags
        self._grpc = grpc.aio.server(options=config.grpc_options(flags))
        prediction = PredictionServicer(
            self.core, self._blocking, flags.enable_serialization_as_tensor_content
        )
        model = ModelServicer(self.core, self.reload_config, self._blocking)
        open_inference = InferenceServicer(self.core, self._blocking)
        self._grpc.add_generic_rpc_handlers(grpc_api.handlers(prediction, model, open_inference))
        if flags.enable_profiler:
            self._grpc.add_generic_rpc_handlers([ProfilerRelay()])
        if flags.enable_grpc_healthcheck_service:
            self._health = health_aio.HealthServicer()
            for service in HEALTH_SERVICES:
                await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
            health_pb2_grpc.add_HealthServicer_to_server(self._health, self._grpc)
        credentials = config.server_credentials(flags)
        if flags.port:
            address = f"0.0.0.0:{flags.port}"
            if credentials is None:
                self.grpc_port = self._grpc.add_insecure_port(address)
            else:
                self.grpc_port = self._grpc.add_secure_port(address, credentials)
        if flags.grpc_socket_path:
            socket = f"unix:{flags.grpc_socket_path}"
            if credentials is None:
                self._grpc.add_insecure_port(socket)
            else:
                self._grpc.add_secure_port(socket, credentials)
        await self._grpc.start()

    def _on_loop(self, coroutine):
        """Run `coroutine` on the gRPC event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _start_rest(self, prometheus_path: str | None) -> None:
        flags = self.flags
        app = RestApi(
            self.core,
            prometheus_path,
            timeout_seconds=flags.rest_api_timeout_in_ms / 1000,
            cors=flags.rest_api_enable_cors_support,
        )
        self._rest = RestServer(
            app,
            flags.rest_api_port,
            threads=flags.rest_api_num_threads,
            idle_timeout_s=flags.rest_api_timeout_in_ms / 1000,
        )
        self._rest.start()
        print(f"Exporting HTTP/REST API at:localhost:{flags.rest_api_port} ...", flush=True)

    def _load(self, name: str, version: int, path: Path) -> Servable:
        """The version's bundle, wrapped for batching as configured, warmed up."""
        bundle = load_bundle(name, version, path, self._tags, self._session_config, self.metrics)
        session = bundle
        options = self._batching
        if options is not None and self.flags.enable_per_model_batching_parameters:
            options = config.per_model_batching_options(path, options)
        if options is not None:
            session = BatchingSession(bundle.run, self._scheduler, options, self.metrics, name)
        servable = Servable(bundle, session)
        if self.flags.enable_model_warmup:
            try:
                run_warmup(
                    path,
                    bundle.signatures,
                    session.run,
                    self.flags.num_request_iterations_for_warmup,
                    self.options,
                    self.metrics,
                )
            except BaseException:
                self._unload(servable)
                raise
        return servable

    def _unload(self, servable: Servable) -> None:
        """Close a batching session's queues; the session itself goes when its last in-flight
        request lets go of it."""
        if isinstance(servable.session, BatchingSession):
            servable.session.close()

    def _poll_config_file(self) -> None:
        interval = self.flags.model_config_file_poll_wait_seconds
        while not self._stop.wait(interval):
            try:
                self.manager.apply_config(config.model_configs(self.flags))
            except Exception as error:
                log.error("PollFilesystemAndReloadConfig failed to ReloadConfig: %s", error)

    def _thread(self, target, name: str, *args) -> None:
        threading.Thread(target=target, args=args, name=name, daemon=True).start()
