"""The gateway's settings: one object built at start-up from the environment, passed down.

Variable (default): meaning
  GATEWAY_HOST (0.0.0.0), GATEWAY_PORT (8000): where gunicorn listens.
  GATEWAY_WORKERS (2), GATEWAY_THREADS (8): gunicorn worker processes and threads per worker.
  TFS_HOST (127.0.0.1), TFS_GRPC_PORT (8500), TFS_REST_PORT (8501): the model server.
  TFS_TLS_CA, TFS_TLS_CERT, TFS_TLS_KEY (unset): PEM files for TLS to the model server's gRPC port.
  GATEWAY_MODELS (sum_regressor,digit_classifier,forecaster): what /readyz and /v1/models cover.
  GATEWAY_DEADLINE_S (5): deadline for each backend call, retries included.
  GATEWAY_MAX_BODY_BYTES (4194304): larger bodies get 413.
  GATEWAY_MAX_BATCH (64): items (sequences, images, series) per request.
  GATEWAY_MAX_SEQUENCE_LENGTH (64): longest sum sequence (the model is trained up to 64).
  GATEWAY_MAX_SERIES_LENGTH (10000): longest forecast input series.
  GATEWAY_MAX_HORIZON (200): longest forecast.
  GATEWAY_MAX_IMAGE_PIXELS (16000000): largest decoded image (width × height).
  GATEWAY_CORS_ORIGINS (empty: CORS off): comma-separated origins, or `*`.
  GATEWAY_MAX_IN_FLIGHT (16): requests one worker processes at once; more wait for a slot while
    the wait is expected to end within GATEWAY_DEADLINE_S (429 otherwise).
  GATEWAY_API_KEYS (empty: no keys needed): SHA-256 digests of API keys, see serving.gateway.auth.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from client.images import MAX_IMAGE_PIXELS
from contract.models import MAX_HORIZON, MAX_LENGTH, MODELS
from serving.gateway.auth import ApiKey, parse_keys

DEFAULT_MODELS = tuple(MODELS)


class SettingsError(ValueError):
    """An environment variable holds something unusable; the message names it."""


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True)
class GatewaySettings:
    tfs_host: str = "127.0.0.1"
    tfs_grpc_port: int = 8500
    tfs_rest_port: int = 8501
    tls: TlsFiles | None = None
    models: tuple[str, ...] = DEFAULT_MODELS
    deadline_s: float = 5.0
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch: int = 64
    max_sequence_length: int = MAX_LENGTH
    max_series_length: int = 10_000
    max_horizon: int = MAX_HORIZON
    max_image_pixels: int = MAX_IMAGE_PIXELS
    cors_origins: tuple[str, ...] = ()
    max_in_flight: int = 16
    api_keys: tuple[ApiKey, ...] = ()

    @property
    def grpc_address(self) -> str:
        return f"{self.tfs_host}:{self.tfs_grpc_port}"

    @classmethod
    def from_env(cls, env=os.environ) -> GatewaySettings:
        def number(name: str, default, kind=int, low=1):
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise SettingsError(f"{name}={raw!r}: expected a {kind.__name__}") from None
            if value < low:
                raise SettingsError(f"{name}={raw!r}: expected at least {low}")
            return value

        def names(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
            raw = env.get(name)
            if raw is None:
                return default
            return tuple(part.strip() for part in raw.split(",") if part.strip())

        try:
            api_keys = parse_keys(env.get("GATEWAY_API_KEYS", ""))
        except ValueError as error:
            raise SettingsError(str(error)) from None
        ca = env.get("TFS_TLS_CA")
        tls = None
        if ca:
            cert, key = env.get("TFS_TLS_CERT"), env.get("TFS_TLS_KEY")
            if bool(cert) != bool(key):
                raise SettingsError("TFS_TLS_CERT and TFS_TLS_KEY go together")
            tls = TlsFiles(Path(ca), Path(cert) if cert else None, Path(key) if key else None)
        return cls(
            tfs_host=env.get("TFS_HOST", cls.tfs_host),
            tfs_grpc_port=number("TFS_GRPC_PORT", cls.tfs_grpc_port),
            tfs_rest_port=number("TFS_REST_PORT", cls.tfs_rest_port),
            tls=tls,
            models=names("GATEWAY_MODELS", DEFAULT_MODELS),
            deadline_s=number("GATEWAY_DEADLINE_S", cls.deadline_s, float, low=0.01),
            max_body_bytes=number("GATEWAY_MAX_BODY_BYTES", cls.max_body_bytes),
            max_batch=number("GATEWAY_MAX_BATCH", cls.max_batch),
            max_sequence_length=min(
                number("GATEWAY_MAX_SEQUENCE_LENGTH", cls.max_sequence_length), MAX_LENGTH
            ),
            max_series_length=number("GATEWAY_MAX_SERIES_LENGTH", cls.max_series_length, low=20),
            max_horizon=min(number("GATEWAY_MAX_HORIZON", cls.max_horizon), MAX_HORIZON),
            max_image_pixels=number("GATEWAY_MAX_IMAGE_PIXELS", cls.max_image_pixels),
            cors_origins=names("GATEWAY_CORS_ORIGINS", ()),
            max_in_flight=number("GATEWAY_MAX_IN_FLIGHT", cls.max_in_flight),
            api_keys=api_keys,
        )
