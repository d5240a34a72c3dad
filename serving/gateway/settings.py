"""The gateway's settings: one object per process, read from the environment once (gunicorn's
config and each worker), validated by pydantic, passed down.

Variable (default): meaning
  GATEWAY_HOST (0.0.0.0), GATEWAY_PORT (8000): where gunicorn listens.
  GATEWAY_WORKERS (2), GATEWAY_WORKER_CLASS (gevent; or gthread), GATEWAY_WORKER_CONNECTIONS
    (4096, gevent: connections a worker holds, idle or half-open ones included),
    GATEWAY_THREADS (32, gthread only), GATEWAY_TIMEOUT_S (30),
    GATEWAY_GRACEFUL_TIMEOUT_S (20), GATEWAY_LOG_LEVEL (INFO): gunicorn and logging.
  TFS_TARGET (127.0.0.1:8500): the model server's gRPC address: host:port, several replicas
    as host:port,host:port, or a gRPC target URI such as dns:///tfserving-headless:8500
    (client/targets.py); calls are balanced round-robin over the replicas.
  TFS_REST_URL (http://127.0.0.1:8501): its REST API, for the /v1/models/... passthrough.
  TFS_TLS_CA, TFS_TLS_CERT, TFS_TLS_KEY (unset): PEM files for TLS to the model server's gRPC port.
  GATEWAY_MODELS (every model in contract.models): what /readyz and /v1/models cover.
  GATEWAY_DEADLINE_S (5): each request's deadline from its arrival, spent by reading the body,
    waiting for a slot and the model server call with its retries; a `grpc-timeout` header
    may ask for less (serving/gateway/deadline.py).
  GATEWAY_MAX_BODY_BYTES (4194304): larger bodies get 413.
  GATEWAY_BODY_TIMEOUT_S (10): longest wait for the next bytes of a request body (nginx's
    client_body_timeout); a client that stops sending gets 408, as does one whose body is not
    whole within the deadline.
  GATEWAY_MAX_BATCH (64): items (sequences, images, series) per request.
  GATEWAY_MAX_SEQUENCE_LENGTH (64, at most 64): longest sum sequence (the model's training range).
  GATEWAY_MAX_SERIES_LENGTH (10000, at least 20): longest forecast input series.
  GATEWAY_MAX_HORIZON (200, at most 200): longest forecast.
  GATEWAY_MAX_IMAGE_PIXELS (4000000): the most pixels an uploaded image is decoded into
    (width × height, from its header before decoding; client/images.py).
  GATEWAY_CORS_ORIGINS (empty: CORS off): comma-separated origins, or `*`.
  GATEWAY_MAX_IN_FLIGHT (64): requests one worker processes at once; more wait for a slot while
    the wait is expected to end within what is left of their deadline (429 otherwise). As many
    as a coalesced call's rows, so that a merged call can fill the model server's largest batch.
  GATEWAY_COALESCE (on): merge a worker's concurrent predictions of the same kind into one
    model-server call (serving/gateway/coalescing.py); GATEWAY_COALESCE_MAX_ROWS (64, the model
    server's max_batch_size in serving/config/batching.config): the most rows in one call.
  GATEWAY_API_KEYS (empty: no keys needed): SHA-256 digests of API keys, see serving.gateway.auth.
  GATEWAY_PUBLIC_ROUTES (/healthz,/readyz,/metrics,/openapi.json,/docs): with API keys
    configured, the operations routes that still answer without a key; the others need a key
    with the `ops` scope. /readyz's detail (each model and replica address) is for `ops` keys
    only; without one it is {"ready": ...}.
An empty variable means its default; a bad value stops the start with a message naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from client.images import MAX_IMAGE_PIXELS
from client.targets import channel_target
from contract.models import MAX_HORIZON, MAX_LENGTH, MODELS, WINDOW
from serving.environment import EnvSettings
from serving.gateway.auth import ApiKey, parse_keys

DEFAULT_MODELS = tuple(MODELS)
OPS_ROUTES = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path | None = None
    key: Path | None = None


class GatewaySettings(EnvSettings):
    host: str = Field("0.0.0.0", alias="GATEWAY_HOST")
    port: int = Field(8000, alias="GATEWAY_PORT", ge=1, le=65535)
    workers: int = Field(2, alias="GATEWAY_WORKERS", ge=1)
    worker_class: Literal["gevent", "gthread"] = Field("gevent", alias="GATEWAY_WORKER_CLASS")
    worker_connections: int = Field(4096, alias="GATEWAY_WORKER_CONNECTIONS", ge=1)
    threads: int = Field(32, alias="GATEWAY_THREADS", ge=1)
    timeout_s: int = Field(30, alias="GATEWAY_TIMEOUT_S", ge=1)
    graceful_timeout_s: int = Field(20, alias="GATEWAY_GRACEFUL_TIMEOUT_S", ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", alias="GATEWAY_LOG_LEVEL"
    )
    tfs_target: str = Field("127.0.0.1:8500", alias="TFS_TARGET", min_length=1)
    tfs_rest_url: str = Field("http://127.0.0.1:8501", alias="TFS_REST_URL")
    tls_ca: Path | None = Field(None, alias="TFS_TLS_CA")
    tls_cert: Path | None = Field(None, alias="TFS_TLS_CERT")
    tls_key: Path | None = Field(None, alias="TFS_TLS_KEY")
    models: tuple[str, ...] = Field(DEFAULT_MODELS, alias="GATEWAY_MODELS")
    deadline_s: float = Field(5.0, alias="GATEWAY_DEADLINE_S", ge=0.01)
    max_body_bytes: int = Field(4 * 1024 * 1024, alias="GATEWAY_MAX_BODY_BYTES", ge=1)
    body_timeout_s: float = Field(10.0, alias="GATEWAY_BODY_TIMEOUT_S", gt=0)
    max_batch: int = Field(64, alias="GATEWAY_MAX_BATCH", ge=1)
    max_sequence_length: int = Field(
        MAX_LENGTH, alias="GATEWAY_MAX_SEQUENCE_LENGTH", ge=1, le=MAX_LENGTH
    )
    max_series_length: int = Field(10_000, alias="GATEWAY_MAX_SERIES_LENGTH", ge=WINDOW)
    max_horizon: int = Field(MAX_HORIZON, alias="GATEWAY_MAX_HORIZON", ge=1, le=MAX_HORIZON)
    max_image_pixels: int = Field(MAX_IMAGE_PIXELS, alias="GATEWAY_MAX_IMAGE_PIXELS", ge=1)
    cors_origins: tuple[str, ...] = Field((), alias="GATEWAY_CORS_ORIGINS")
    max_in_flight: int = Field(64, alias="GATEWAY_MAX_IN_FLIGHT", ge=1)
    coalesce: bool = Field(True, alias="GATEWAY_COALESCE")
    coalesce_max_rows: int = Field(64, alias="GATEWAY_COALESCE_MAX_ROWS", ge=1)
    api_keys: tuple[ApiKey, ...] = Field((), alias="GATEWAY_API_KEYS")
    public_routes: tuple[str, ...] = Field(OPS_ROUTES, alias="GATEWAY_PUBLIC_ROUTES")

    @field_validator("public_routes")
    @classmethod
    def _ops_routes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if unknown := set(value) - set(OPS_ROUTES):
            raise ValueError(f"unknown route {sorted(unknown)[0]!r}; expected some of {OPS_ROUTES}")
        return value

    @field_validator("models", "cors_origins", "public_routes", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys(cls, value):
        return parse_keys(value) if isinstance(value, str) else value

    @field_validator("tfs_target")
    @classmethod
    def _target(cls, value: str) -> str:
        channel_target(value)  # a list whose names do not resolve is refused at start
        return value

    @field_validator("tfs_rest_url")
    @classmethod
    def _rest_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError("expected http://host:port")
        return value

    @model_validator(mode="after")
    def _tls_pair(self):
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("TFS_TLS_CERT and TFS_TLS_KEY go together")
        if self.tls_cert and not self.tls_ca:
            raise ValueError("TFS_TLS_CERT and TFS_TLS_KEY need TFS_TLS_CA")
        return self

    @property
    def tls(self) -> TlsFiles | None:
        return TlsFiles(self.tls_ca, self.tls_cert, self.tls_key) if self.tls_ca else None

    @property
    def rest_address(self) -> tuple[str, int]:
        """(host, port) of TFS_REST_URL."""
        parts = urlsplit(self.tfs_rest_url)
        return parts.hostname, parts.port or 80
