"""The OpenAPI 3 description of every route (served at /openapi.json) and the page that shows
it (served at /docs: Swagger UI, from the swagger-ui-bundle package)."""

from __future__ import annotations

import html as html_text

from serving.gateway.errors import HTTP_ERRORS, described
from serving.gateway.settings import GatewaySettings
from serving.gateway.tasks import Task

JSON = "application/json"
MULTIPART = "multipart/form-data"


def _error_responses(*statuses: int) -> dict:
    return {
        str(status): {
            "description": described(HTTP_ERRORS[status]),
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


PREDICT_ERRORS = (400, 401, 403, 404, 405, 408, 413, 415, 429, 502, 503, 504)


def _pinned(description: str, request_schema: str, response_schema: str, **extra) -> dict:
    operation = {
        "summary": description,
        "parameters": list(extra.pop("parameters", [])),
        "requestBody": {
            "required": True,
            "content": {
                JSON: {"schema": {"$ref": f"#/components/schemas/{request_schema}"}},
                **extra.pop("upload", {}),
            },
        },
        "responses": {
            "200": {
                "description": "Predictions, and the model version that answered",
                "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{response_schema}"}}},
            },
            **_error_responses(*PREDICT_ERRORS),
        },
    }
    return operation | extra


def openapi(settings: GatewaySettings, tasks: tuple[Task, ...]) -> dict:
    pin_properties = {
        "version": {
            "type": "integer",
            "minimum": 1,
            "maximum": 2**63 - 1,
            "nullable": True,
            "description": "Pin a version (null: none)",
        },
        "label": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.-]{1,64}$",
            "nullable": True,
            "description": "Pin a label (null: none)",
        },
    }
    one_pin = {
        "not": {
            "required": ["version", "label"],
            "properties": {"version": {"type": "integer"}, "label": {"type": "string"}},
        }
    }
    """A version or a label, not both (null counts as not given)."""
    model_info = {
        "type": "object",
        "required": ["name", "version"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "integer"},
            "label": {"type": "string"},
        },
    }
    schemas = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
        "PredictRequest": {
            "type": "object",
            "description": "TF Serving's REST predict body (g3doc/api_rest.md), forwarded as is",
            "oneOf": [{"required": ["instances"]}, {"required": ["inputs"]}],
            "properties": {
                "signature_name": {"type": "string"},
                "instances": {"type": "array"},
                "inputs": {},
            },
        },
        "ExamplesRequest": {
            "type": "object",
            "description": "TF Serving's REST classify/regress body, forwarded as is",
            "required": ["examples"],
            "properties": {
                "signature_name": {"type": "string"},
                "context": {"type": "object"},
                "examples": {"type": "array", "items": {"type": "object"}},
            },
        },
        "InferRequest": {
            "type": "object",
            "description": "The Open Inference Protocol's $inference_request "
            "(kserve/kserve docs/predict-api/v2/required_api.md); with binary tensors, the "
            "JSON ends at Inference-Header-Content-Length",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "parameters": {"type": "object"},
                "inputs": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "shape", "datatype"],
                        "properties": {
                            "name": {"type": "string"},
                            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                            "datatype": {"type": "string"},
                            "parameters": {"type": "object"},
                            "data": {"type": "array"},
                        },
                    },
                },
                "outputs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string"},
                            "parameters": {"type": "object"},
                        },
                    },
                },
            },
        },
        "TFServingError": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
        "ModelList": {
            "type": "object",
            "required": ["models"],
            "properties": {
                "models": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "versions", "replicas"],
                        "properties": {
                            "name": {"type": "string"},
                            "error": {"type": "string"},
                            "versions": {"$ref": "#/components/schemas/Versions"},
                            "replicas": {
                                "type": "object",
                                "description": "As each model server replica has it, by address",
                                "additionalProperties": {
                                    "type": "object",
                                    "required": ["versions"],
                                    "properties": {
                                        "versions": {"$ref": "#/components/schemas/Versions"},
                                        "error": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
        "Versions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["version", "state"],
                "properties": {
                    "version": {"type": "integer"},
                    "state": {"type": "string"},
                    "error": {"type": "string"},
                },
            },
        },
        "ModelStates": {
            "type": "object",
            "description": "Model name → AVAILABLE, or why not",
            "additionalProperties": {"type": "string"},
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string", "enum": ["ok"]}},
        },
        "Readiness": {
            "type": "object",
            "description": "models and replicas are shown when API keys are off, or to a key "
            "with the ops scope",
            "required": ["ready"],
            "properties": {
                "ready": {"type": "boolean"},
                "models": {"$ref": "#/components/schemas/ModelStates"},
                "replicas": {
                    "type": "object",
                    "description": "Each model server replica (TFS_TARGET) by address",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["ready", "models"],
                        "properties": {
                            "ready": {"type": "boolean"},
                            "models": {"$ref": "#/components/schemas/ModelStates"},
                        },
                    },
                },
            },
        },
    }
    name_parameter = {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
    }

    def tf_serving(
        method: str,
        summary: str,
        request_schema: str | None = None,
        protocol: str = "tf_serving",
        ok: dict | None = None,
    ) -> dict:
        """A proxied operation: TF Serving's REST API, or the Open Inference Protocol's
        (`protocol` "v2" on a model's path, "v2-server" on the server's); both answer errors as
        {"error": message}."""
        if protocol == "tf_serving":
            summary += (
                ". TF Serving's REST API, proxied unchanged; /versions/{version} or "
                "/labels/{label} may follow the model name"
            )
        else:
            summary += ". The Open Inference Protocol's REST API (KServe V2), proxied unchanged"
            if protocol == "v2":
                summary += "; /versions/{version} may follow the model name"
        operation = {
            "summary": summary + ".",
            "parameters": [] if protocol == "v2-server" else [name_parameter],
            "responses": {
                "200": ok or {"description": "The model server's answer", "content": {JSON: {}}},
                **{
                    str(status): {
                        "description": description,
                        "content": {
                            JSON: {"schema": {"$ref": "#/components/schemas/TFServingError"}}
                        },
                    }
                    for status, description in (
                        (400, "TF Serving refused the request (its message)"),
                        (401, "API keys are configured and none or an unknown one was sent"),
                        (404, "Unknown model or version"),
                        (413, "Body over the size limit"),
                        (503, "The model server is unreachable"),
                    )
                },
            },
        }
        if request_schema:
            operation["requestBody"] = {
                "required": True,
                "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{request_schema}"}}},
            }
        return {method: operation}

    def simple_get(summary: str, schema: str | None, content_type: str = JSON, **extra) -> dict:
        content = {content_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
        if schema is None:
            content = {content_type: {"schema": {"type": "string"}}}
        return {
            "get": {
                "summary": summary,
                "responses": {"200": {"description": "OK", "content": content}, **extra},
            }
        }

    health = {
        "description": "True (a 400 is false); the body says it too",
        "content": {
            JSON: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "live": {"type": "boolean"},
                        "ready": {"type": "boolean"},
                        "name": {"type": "string"},
                    },
                }
            }
        },
    }
    paths = {}
    for task in tasks:
        body = task.request_schema(settings)
        schemas[f"{task.schema_name}Request"] = {
            **one_pin,
            "type": "object",
            "required": body["required"],
            "additionalProperties": False,
            "properties": {**body["properties"], **pin_properties},
            **({"example": body["example"]} if "example" in body else {}),
        }
        schemas[f"{task.schema_name}Response"] = {
            "type": "object",
            "required": [*task.response_schema["required"], "model"],
            "properties": {**task.response_schema["properties"], "model": model_info},
        }
        extra = {"parameters": list(task.parameters)}
        if task.upload_field:
            extra["upload"] = {
                MULTIPART: {
                    "schema": {
                        "type": "object",
                        "description": "One image file, and a version (digits) or a label "
                        "or neither",
                        "required": [task.upload_field],
                        "additionalProperties": False,
                        "maxProperties": 2,
                        "properties": {
                            task.upload_field: {"type": "string", "format": "binary"},
                            **{
                                name: {k: v for k, v in pin.items() if k != "nullable"}
                                for name, pin in pin_properties.items()
                            },
                        },
                    }
                }
            }
        paths[f"/v1/{task.route}"] = {
            "post": _pinned(
                task.summary, f"{task.schema_name}Request", f"{task.schema_name}Response", **extra
            )
        }
    paths |= {
        "/v1/models/{name}": tf_serving("get", "Model status (GetModelStatus)"),
        "/v1/models/{name}/metadata": tf_serving("get", "Model metadata (GetModelMetadata)"),
        "/v1/models/{name}:predict": tf_serving("post", "Predict", "PredictRequest"),
        "/v1/models/{name}:classify": tf_serving("post", "Classify", "ExamplesRequest"),
        "/v1/models/{name}:regress": tf_serving("post", "Regress", "ExamplesRequest"),
        "/v2": tf_serving("get", "Server metadata", protocol="v2-server"),
        "/v2/health/live": tf_serving("get", "Server live", protocol="v2-server", ok=health),
        "/v2/health/ready": tf_serving("get", "Server ready", protocol="v2-server", ok=health),
        "/v2/models/{name}": tf_serving("get", "Model metadata", protocol="v2"),
        "/v2/models/{name}/ready": tf_serving("get", "Model ready", protocol="v2", ok=health),
        "/v2/models/{name}/infer": tf_serving("post", "Infer", "InferRequest", protocol="v2"),
        "/v1/models": simple_get(
            "Models, versions and states (TF Serving GetModelStatus)",
            "ModelList",
            **_error_responses(401, 403, 429, 503, 504),
        ),
        "/healthz": simple_get("The gateway process is alive", "Health"),
        "/readyz": simple_get(
            "Some model server replica reachable with every model AVAILABLE (503 otherwise); "
            "each replica reported",
            "Readiness",
            **{
                "503": {
                    "description": "Not ready",
                    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Readiness"}}},
                }
            },
        ),
        "/metrics": simple_get("Prometheus metrics", None, "text/plain"),
        "/openapi.json": simple_get("This document", None),
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "seqserve gateway",
            "version": "1.0.0",
            "description": "HTTP prediction API in front of TensorFlow Serving. Errors are "
            '`{"error": {"code", "message"}}`. Every response carries X-Request-ID. When the '
            "operator configures API keys, /v1 routes need `Authorization: Bearer <key>` or "
            "`X-API-Key`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
        },
    }


DOCS_ROUTE = "/docs"
SWAGGER_UI_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")
"""What the /docs page loads from the swagger-ui-bundle package (served under /docs/)."""


def html(spec: dict) -> str:
    """The /docs page: Swagger UI rendering /openapi.json (every route with its parameters,
    body schema and responses, and a form to try it)."""
    title = _e(f"{spec['info']['title']} API {spec['info']['version']}")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="{DOCS_ROUTE}/swagger-ui.css">'
        "</head><body>"
        '<noscript>Machine-readable: <a href="/openapi.json">/openapi.json</a></noscript>'
        f'<div id="swagger-ui"></div><script src="{DOCS_ROUTE}/swagger-ui-bundle.js"></script>'
        '<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});'
        "</script></body></html>"
    )


def _e(text: str) -> str:
    return html_text.escape(str(text))
