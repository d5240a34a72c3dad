"""The hand-off between a model's training code and the exporter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from contract.spec import ModelContract

WarmupRequest = tuple[str, dict[str, np.ndarray]]
"""A signature name and the named input arrays of one request to replay at load time."""


@dataclass
class TrainedModel:
    """A trained model ready to export: what to serve, how to warm it up, what to report."""

    contract: ModelContract
    """What the export must match (the exporter checks the signatures against it)."""
    module: tf.Module
    signatures: dict[str, Any]
    warmup_requests: list[WarmupRequest]
    report: dict[str, Any]
    plots: dict[str, Callable[[Path], None]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.contract.name
