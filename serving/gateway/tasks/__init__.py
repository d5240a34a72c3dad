"""One module per model: the mapping between the gateway's JSON and the model's tensors.

Each task turns a validated request into a `Call` (`build`) and the model's outputs into the
response body (`render`); the route runs build → predict → render (app.py `run_task`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from client.grpc_client import Prediction
from serving.gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Call:
    """One model-server call: inputs, signature, outputs wanted, and what `render` needs."""

    inputs: dict[str, np.ndarray]
    signature: str = ""
    output_filter: tuple[str, ...] = ()
    context: dict = field(default_factory=dict)


class Task(Protocol):
    model: str
    fields: tuple[str, ...]
    """The request body's own fields (besides version and label)."""

    def build(self, body: dict, options: dict, settings: GatewaySettings) -> Call: ...

    def render(self, call: Call, prediction: Prediction) -> dict: ...
