"""The `web` blueprint: the single-page UI (static/index.html, app.js, style.css)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("web", __name__, static_folder="static", static_url_path="/static")


@blueprint.get("/")
def page():
    return blueprint.send_static_file("index.html")
