"""One module per model route: the mapping between the gateway's JSON and the model's tensors.

Each module ends with `TASK = Task(...)`: which model it calls, its route and its body's schema,
`build` (a validated request → a `Call`) and `render` (the model's outputs → the response
body). The app gives every task found here a route (`POST /v1/<route>`, API-key scope
`<route>`) that runs build → predict → render, and the OpenAPI document describes it from the
same object: a new model needs a new module here and nothing else in the gateway.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from client.grpc_client import Prediction

if TYPE_CHECKING:  # settings import auth, which lists the tasks' routes
    from serving.gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Call:
    """One model-server call: inputs, signature, outputs wanted, and what `render` needs."""

    inputs: dict[str, np.ndarray]
    signature: str = ""
    output_filter: tuple[str, ...] = ()
    context: dict = field(default_factory=dict)


def no_options(query: Mapping[str, str]) -> dict:
    return {}


@dataclass(frozen=True)
class Task:
    model: str
    route: str
    """`POST /v1/<route>`; also the API-key scope that may call it."""
    summary: str
    fields: tuple[str, ...]
    """The request body's own fields (besides version and label)."""
    build: Callable[[dict, dict, GatewaySettings], Call]
    render: Callable[[Call, Prediction], dict]
    request_schema: Callable[[GatewaySettings], dict]
    """JSON Schema of the body's own fields (`required`, `properties`, `example`); the
    OpenAPI document adds the version/label pin and forbids other fields."""
    response_schema: dict
    """JSON Schema of the answer (`required`, `properties`); "model" is added."""
    options: Callable[[Mapping[str, str]], dict] = no_options
    """The query string → the options `build` gets; raises InvalidInput on a bad value."""
    parameters: tuple[dict, ...] = ()
    """OpenAPI descriptions of the query parameters `options` reads."""
    upload_field: str | None = None
    """When set, a multipart/form-data body with one file is read as {upload_field: [file]}."""

    @property
    def query_names(self) -> tuple[str, ...]:
        return tuple(parameter["name"] for parameter in self.parameters)

    @property
    def schema_name(self) -> str:
        return self.route.title()


@cache
def all_tasks() -> tuple[Task, ...]:
    """The `TASK` of every module in this package, by module name."""
    modules = sorted(info.name for info in pkgutil.iter_modules(__path__))
    return tuple(importlib.import_module(f"{__name__}.{name}").TASK for name in modules)
