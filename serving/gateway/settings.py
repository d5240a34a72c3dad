"""The gateway's settings: one object per process, read from the environment once (gunicorn's
config and each worker), validated by pydantic, passed down. Each field's alias is its variable
and its description what the documentation's settings table says. An empty variable means its
default; a bad value stops the start with a message naming it."""

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
    host: str = Field("0.0.0.0", alias="GATEWAY_HOST", description="Where gunicorn listens.")
    port: int = Field(
        8000, alias="GATEWAY_PORT", description="Where gunicorn listens.", ge=1, le=65535
    )
    workers: int = Field(2, alias="GATEWAY_WORKERS", description="gunicorn worker processes.", ge=1)
    worker_class: Literal["gevent", "gthread"] = Field(
        "gevent",
        alias="GATEWAY_WORKER_CLASS",
        description=(
            "gunicorn worker class: gevent (measured cheapest per request; it holds slow clients "
            "without a thread each) or gthread."
        ),
    )
    worker_connections: int = Field(
        4096,
        alias="GATEWAY_WORKER_CONNECTIONS",
        description=(
            "gevent: the connections a worker holds at once, idle and half-open ones included "
            "(about 13 KB each); past twice this, new ones wait in the listen queue."
        ),
        ge=1,
    )
    threads: int = Field(
        32, alias="GATEWAY_THREADS", description="gthread workers only: threads per worker.", ge=1
    )
    timeout_s: int = Field(
        30, alias="GATEWAY_TIMEOUT_S", description="gunicorn's worker timeout.", ge=1
    )
    graceful_timeout_s: int = Field(
        20,
        alias="GATEWAY_GRACEFUL_TIMEOUT_S",
        description="How long a stopping worker may finish the requests it holds.",
        ge=1,
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", alias="GATEWAY_LOG_LEVEL", description="Log level of gunicorn and the app."
    )
    tfs_target: str = Field(
        "127.0.0.1:8500",
        alias="TFS_TARGET",
        description=(
            "The model server's gRPC address: host:port, several replicas as host:port,host:port,"
            " or a gRPC target URI such as dns:///tfserving-headless:8500; calls are balanced "
            "round-robin over the replicas."
        ),
        min_length=1,
    )
    tfs_rest_url: str = Field(
        "http://127.0.0.1:8501",
        alias="TFS_REST_URL",
        description="The model server's REST API, for the /v1/models/... and /v2 passthrough.",
    )
    tls_ca: Path | None = Field(
        None,
        alias="TFS_TLS_CA",
        description="PEM file: the CA that signs the model server's gRPC certificate (TLS on).",
    )
    tls_cert: Path | None = Field(
        None,
        alias="TFS_TLS_CERT",
        description="PEM file: this client's certificate, for mutual TLS (with TFS_TLS_KEY).",
    )
    tls_key: Path | None = Field(
        None,
        alias="TFS_TLS_KEY",
        description="PEM file: this client's key, for mutual TLS (with TFS_TLS_CERT).",
    )
    models: tuple[str, ...] = Field(
        DEFAULT_MODELS,
        alias="GATEWAY_MODELS",
        description="Comma-separated models /readyz and /v1/models cover.",
    )
    deadline_s: float = Field(
        5.0,
        alias="GATEWAY_DEADLINE_S",
        description=(
            "Each request's deadline from its arrival, spent reading the body, waiting for a slot"
            " and in the model server call with its retries; a `grpc-timeout` header may ask for "
            "less."
        ),
        ge=0.01,
    )
    max_body_bytes: int = Field(
        4 * 1024 * 1024, alias="GATEWAY_MAX_BODY_BYTES", description="Larger bodies get 413.", ge=1
    )
    body_timeout_s: float = Field(
        10.0,
        alias="GATEWAY_BODY_TIMEOUT_S",
        description=(
            "Longest wait for the next bytes of a request body (nginx's client_body_timeout); a "
            "client that stops sending gets 408."
        ),
        gt=0,
    )
    max_batch: int = Field(
        64,
        alias="GATEWAY_MAX_BATCH",
        description="Items (sequences, images, series) per request.",
        ge=1,
    )
    max_sequence_length: int = Field(
        MAX_LENGTH,
        alias="GATEWAY_MAX_SEQUENCE_LENGTH",
        description="Longest sum sequence (at most the model's training range).",
        ge=1,
        le=MAX_LENGTH,
    )
    max_series_length: int = Field(
        10_000,
        alias="GATEWAY_MAX_SERIES_LENGTH",
        description="Longest forecast input series (at least the window).",
        ge=WINDOW,
    )
    max_horizon: int = Field(
        MAX_HORIZON,
        alias="GATEWAY_MAX_HORIZON",
        description="Longest forecast.",
        ge=1,
        le=MAX_HORIZON,
    )
    max_image_pixels: int = Field(
        MAX_IMAGE_PIXELS,
        alias="GATEWAY_MAX_IMAGE_PIXELS",
        description=(
            "The most pixels an uploaded image is decoded into (width × height, read from its "
            "header before decoding; a JPEG is decoded at a reduced DCT scale)."
        ),
        ge=1,
    )
    cors_origins: tuple[str, ...] = Field(
        (),
        alias="GATEWAY_CORS_ORIGINS",
        description="Comma-separated origins allowed by CORS, or `*`; empty: CORS off.",
    )
    max_in_flight: int = Field(
        64,
        alias="GATEWAY_MAX_IN_FLIGHT",
        description=(
            "Requests one worker processes at once; more wait for a slot while the wait is "
            "expected to end within their deadline (429 otherwise). As many as a coalesced call's"
            " rows, so a merged call can fill the model server's largest batch."
        ),
        ge=1,
    )
    coalesce: bool = Field(
        True,
        alias="GATEWAY_COALESCE",
        description=(
            "Merge a worker's concurrent predictions of the same kind into one model-server call."
        ),
    )
    coalesce_max_rows: int = Field(
        64,
        alias="GATEWAY_COALESCE_MAX_ROWS",
        description="The most rows in one merged call (the model server's max_batch_size).",
        ge=1,
    )
    api_keys: tuple[ApiKey, ...] = Field(
        (),
        alias="GATEWAY_API_KEYS",
        description=(
            "Comma-separated API key digests with their scopes (`python -m "
            "serving.gateway.auth`); empty: no key needed."
        ),
    )
    public_routes: tuple[str, ...] = Field(
        OPS_ROUTES,
        alias="GATEWAY_PUBLIC_ROUTES",
        description=(
            "With API keys configured, the operations routes that answer without a key; the "
            "others need a key with the `ops` scope."
        ),
    )

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
