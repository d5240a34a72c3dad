"""The gateway's Flask app, assembled: state (`app_state`), request hooks, error handlers, and
the `api`, `ops` and `web` blueprints. Routes parse and validate, the backend calls the model
server, one task module per model maps JSON to tensors and back (`tasks`)."""

from __future__ import annotations

from flask import Flask

from serving.gateway import api, handlers, hooks, ops, web
from serving.gateway.app_state import Gateway
from serving.gateway.backend import Backend
from serving.gateway.json_provider import OrjsonProvider
from serving.gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings, backend: Backend | None = None) -> Flask:
    """The app; `backend` defaults to a real one for `settings` (tests pass a fake)."""
    app = Flask(__name__, static_folder=None)
    app.json = OrjsonProvider(app)
    Gateway(settings, backend or Backend(settings)).init_app(app)
    hooks.init_app(app)
    handlers.init_app(app)
    for blueprint in (api.blueprint, ops.blueprint, web.blueprint):
        app.register_blueprint(blueprint)
    return app
