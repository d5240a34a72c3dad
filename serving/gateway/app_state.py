"""The gateway's per-app state, attached Flask-extension style (`init_app`), read by the
blueprints through `gateway()`."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app

from serving.gateway import docs
from serving.gateway.admission import Admission
from serving.gateway.backend import Backend
from serving.gateway.settings import GatewaySettings
from serving.gateway.tasks import all_tasks


@dataclass
class Gateway:
    settings: GatewaySettings
    backend: Backend
    admission: Admission = field(init=False)
    openapi: dict = field(init=False)
    docs_page: str = field(init=False)

    def __post_init__(self):
        self.admission = Admission(self.settings.max_in_flight)
        self.openapi = docs.openapi(self.settings, all_tasks())
        self.docs_page = docs.html(self.openapi)

    def init_app(self, app: Flask) -> None:
        app.config["MAX_CONTENT_LENGTH"] = self.settings.max_body_bytes
        app.extensions["gateway"] = self


def gateway() -> Gateway:
    """The state of the app handling the current request."""
    return current_app.extensions["gateway"]
