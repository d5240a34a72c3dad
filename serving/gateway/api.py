"""The `api` blueprint: one route per task (`POST /v1/<route>`), TF Serving's REST API proxied
under /v1/models/..., and the model list. Every route fixes the request's deadline, checks the
API key (when keys are configured), reads the whole body (bounded in size and, by the deadline,
in time), and only then waits for a slot in this worker: a client that trickles its body holds
a connection, never a slot."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import MethodNotAllowed

from serving.gateway import auth, passthrough, validation
from serving.gateway.app_state import gateway
from serving.gateway.deadline import HEADER, Deadline
from serving.gateway.errors import ApiError, NotFound
from serving.gateway.request_body import json_body, raw_body, raw_path, read_body, uploaded_form
from serving.gateway.tasks import Task, all_tasks
from serving.gateway.validation import pin_of

PIN_FIELDS = ("version", "label")
blueprint = Blueprint("api", __name__)


def guarded(scope: str | Callable[[], str]):
    """The request's deadline, the API key check for `scope` (a name, or a function of the
    request that gives one), the body read, then a slot in this worker for what is left."""

    def wrap(view):
        @functools.wraps(view)
        def run(*args, **kwargs):
            state = gateway()
            g.deadline = Deadline.on_arrival(
                g.arrived, state.settings.deadline_s, request.headers.get(HEADER)
            )
            if state.settings.api_keys:
                needed = scope() if callable(scope) else scope
                auth.authorize(state.settings.api_keys, request.headers, needed)
            read_body()
            with state.admission.slot(g.deadline.remaining()):
                return view(*args, **kwargs)

        return run

    return wrap


def run_task(task: Task) -> Response:
    """build → predict → render, with the model version that answered."""
    state = gateway()
    validation.only_fields(request.args, task.query_names, "query parameter")
    options = task.options(request.args)
    if task.upload_field and request.mimetype == "multipart/form-data":
        body = uploaded_form(task.upload_field)
    else:
        body = json_body()
    validation.only_fields(body, (*task.fields, *PIN_FIELDS))
    pin = pin_of(body)
    g.model = task.model
    call = task.build(body, options, state.settings)
    prediction = state.backend.predict(
        task.model, call.inputs, call.signature, pin, call.output_filter, g.deadline.remaining()
    )
    answer = task.render(call, prediction)
    answer["model"] = {"name": prediction.model, "version": prediction.version}
    if pin.label:
        answer["model"]["label"] = pin.label
    return jsonify(answer)


for _task in all_tasks():
    blueprint.add_url_rule(
        f"/v1/{_task.route}",
        endpoint=_task.route,
        view_func=guarded(_task.route)(functools.partial(run_task, _task)),
        methods=["POST"],
    )


@blueprint.route(
    "/v1/models/<path:target>", methods=["GET", "POST"], provide_automatic_options=False
)
@guarded(lambda: passthrough.scope(request.method))
def tf_serving_route(target: str):
    return proxied(target, passthrough.model_name(target))


@blueprint.route("/v2", defaults={"target": ""}, methods=["GET"], provide_automatic_options=False)
@blueprint.route("/v2/<path:target>", methods=["GET", "POST"], provide_automatic_options=False)
@guarded(lambda: passthrough.scope(request.method))
def open_inference_route(target: str):
    """The Open Inference Protocol's REST API (health, metadata, infer)."""
    return proxied(target, passthrough.v2_model_name(target))


def proxied(target: str, model: str | None) -> Response:
    """The model server's answer to this request, on the same path (passthrough.py)."""
    state = gateway()
    if request.method not in passthrough.methods(target):
        raise MethodNotAllowed(valid_methods=passthrough.allowed(target))
    g.model = model if model in state.settings.models else "other"
    body = raw_body() if request.method == "POST" else b""
    return passthrough.forward(
        state.backend,
        request.method,
        raw_path(),
        body,
        request.content_type,
        g.deadline,
        request.headers,
    )


@blueprint.route("/v2", defaults={"target": ""}, methods=["OPTIONS"])
@blueprint.route("/v2/<path:target>", methods=["OPTIONS"])
@blueprint.route("/v1/models/<path:target>", methods=["OPTIONS"])
def tf_serving_options(target: str):
    """What Flask's automatic OPTIONS answer would say if each TF Serving path had a rule of
    its own: the one method it serves."""
    return Response(status=200, headers={"Allow": ", ".join(passthrough.allowed(target))})


@blueprint.get("/v1/models")
@guarded("models")
def models_route():
    """Each model's versions through the balanced channel, and as each replica has them."""
    state = gateway()
    listed = []
    replicas = state.backend.replicas()
    for name in state.settings.models:
        try:
            found = state.backend.status(name, timeout=g.deadline.remaining())
            entry = {"name": name, "versions": versions_json(found)}
        except NotFound as error:
            entry = {"name": name, "versions": [], "error": error.message}
        entry["replicas"] = {}
        for address in replicas:
            try:
                found = state.backend.status(name, timeout=g.deadline.remaining(), replica=address)
                entry["replicas"][address] = {"versions": versions_json(found)}
            except ApiError as error:
                entry["replicas"][address] = {"versions": [], "error": error.message}
        listed.append(entry)
    return jsonify({"models": listed})


def versions_json(states) -> list[dict]:
    return [version_json(state) for state in states]


def version_json(state) -> dict:
    item = {"version": state.version, "state": state.state}
    if state.error:
        item["error"] = state.error
    return item
