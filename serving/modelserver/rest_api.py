"""REST adapter: TF Serving's HTTP/JSON API over the core.

Routing, status codes and bodies follow TF Serving's `model_servers/http_server.cc`,
`http_rest_api_handler.cc` and `http_rest_api_util.cc` (their tests:
`http_rest_api_handler_test.cc`): only `/v1/...` paths reach the API (others get the HTTP
server's plain 404 page); a request that matches no route is "Malformed request"; errors are
`{"error": message}` with the status's HTTP code; OPTIONS answers CORS preflights, and
--rest_api_enable_cors_support adds the CORS headers.

Additions of this server: a bound on the body size (413), and the Open Inference Protocol
under `/v2` (v2_rest.py). The HTTP server under it is
rest_server.py (--rest_api_num_threads threads run requests; more wait their turn).
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import unquote

from google.protobuf import json_format
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from protocol.messages import get_model_metadata_pb2
from protocol.rest_errors import error_body
from serving.modelserver import rest_json
from serving.modelserver.core import ModelServerCore, ModelSpec
from serving.modelserver.errors import (
    InvalidArgument,
    ServingError,
    code_name,
)
from serving.modelserver.grpc_api import metadata_response
from serving.modelserver.metrics import CONTENT_TYPE
from serving.modelserver.status import status_response
from serving.modelserver.v2_rest import V2_PATH, V2RestApi

log = logging.getLogger(__name__)

API_PATH = re.compile(r"(?i)/v1/.*")
PREDICTION_PATH = re.compile(
    r"(?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)"
)
STATUS_PATH = re.compile(
    r"(?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:\/(metadata))?"
)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET",
    "Access-Control-Allow-Headers": "Content-Type",
}
NOT_FOUND_PAGE = (
    "<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n<H1>Not Found</H1>\n"
    "</BODY></HTML>\n"
)
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024
INT64_MAX = 2**63 - 1


class BodyTooLarge(InvalidArgument):
    """The body exceeds this server's limit (TF Serving has none)."""

    http_status = 413


class RestApi:
    """A WSGI application serving TF Serving's REST API; one instance per server."""

    def __init__(
        self,
        core: ModelServerCore,
        prometheus_path: str | None = None,
        timeout_seconds: float = 30.0,
        cors: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ):
        self.core = core
        self.prometheus_path = prometheus_path
        self.timeout_seconds = timeout_seconds
        self.cors = cors
        self.max_body_bytes = max_body_bytes
        self.v2 = V2RestApi(core, timeout_seconds)

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = self.max_body_bytes
        path = request.path
        if self.prometheus_path and path == self.prometheus_path:
            response = Response(self.core.metrics.render(), content_type=CONTENT_TYPE)
        elif V2_PATH.fullmatch(path):
            response = self.v2(request)
        elif not API_PATH.fullmatch(path):
            response = Response(NOT_FOUND_PAGE, status=404, content_type="text/html")
        elif request.method == "OPTIONS":
            response = self._preflight(request)
        else:
            response = self._api(request, environ)
        return response(environ, start_response)

    def _preflight(self, request: Request) -> Response:
        """A CORS preflight is OK when it names an http(s) origin; the body is empty."""
        allowed = re.search(r"https?://", request.headers.get("Origin", ""))
        response = Response(b"", status=200 if allowed else 400)
        response.headers.pop("Content-Type", None)
        if self.cors:
            response.headers.update(CORS_HEADERS)
        return response

    def _api(self, request: Request, environ) -> Response:
        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout_seconds
        model, method, error = "", "", None
        try:
            model, method, body = self._dispatch(request, _raw_path(environ), deadline)
            response = Response(body, content_type="application/json")
        except ServingError as failure:
            error = failure
        except RequestEntityTooLarge:
            error = BodyTooLarge(f"Request body larger than {self.max_body_bytes} bytes")
        except Exception as failure:
            log.exception("unexpected error in %s %s", request.method, request.path)
            error = ServingError(f"Internal error: {type(failure).__name__}")
        if error is not None:
            response = Response(
                error_body(str(error)),
                status=error.http_status,
                content_type="application/json",
            )
        else:
            micros = (time.perf_counter() - started) * 1e6
            self.core.metrics.request_latency.add(micros, model, method, "REST")
        self.core.metrics.request_count.increment(model, code_name(error))
        if self.cors:
            response.headers.update(CORS_HEADERS)
        return response

    def _dispatch(self, request: Request, path: str, deadline: float) -> tuple[str, str, bytes]:
        """HttpRestApiHandler::ProcessRequest: (model name, method, response body)."""
        malformed = InvalidArgument(f"Malformed request: {request.method} {path}")
        if request.method == "POST":
            match = PREDICTION_PATH.fullmatch(path)
            if not match:
                raise malformed
            name, version, label, method = match.groups()
            spec = _spec(name, version, label)
            body = request.get_data()
            return spec.name, method, self._verb(method.lower(), spec, body, deadline)
        if request.method == "GET":
            match = STATUS_PATH.fullmatch(path)
            if not match:
                raise malformed
            name, version, label, subresource = match.groups()
            spec = _spec(name or "", version, label)
            if not spec.name:
                raise InvalidArgument("Missing model name in request.")
            if subresource and subresource == "metadata":
                return spec.name, "", _metadata_json(self.core.metadata(spec))
            statuses = self.core.status(ModelSpec(spec.name, spec.version))
            return spec.name, "", _message_json(status_response(statuses))
        raise malformed

    def _verb(self, verb: str, spec: ModelSpec, body: bytes, deadline: float) -> bytes:
        document = rest_json.parse_object(body)
        spec = ModelSpec(spec.name, spec.version, spec.label, rest_json.signature_name(document))
        if verb == "predict":
            signature_inputs = self.core.signature_inputs(spec)
            inputs, request_format = rest_json.predict_inputs(
                document, spec.signature_name, signature_inputs
            )
            answer = self.core.predict(spec, inputs, deadline=deadline)
            return rest_json.predict_response(answer.result, request_format)
        examples = rest_json.examples(document)
        if verb == "classify":
            return rest_json.classify_response(self.core.classify(spec, examples, deadline).result)
        return rest_json.regress_response(self.core.regress(spec, examples, deadline).result)


def _spec(name: str, version: str | None, label: str | None) -> ModelSpec:
    """ParseModelInfo: names and labels are URL-decoded, versions must fit an int64."""
    number = None
    if version:
        number = int(version)
        if number > INT64_MAX:
            raise InvalidArgument(f"Failed to convert version: {version} to numeric.")
    return ModelSpec(unquote(name), number, unquote(label) if label else None)


def _raw_path(environ) -> str:
    """The path as the client sent it (percent-escapes intact), as TF Serving matches it."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    return environ.get("PATH_INFO", "")


def _json_text(message, **options) -> str:
    return json_format.MessageToJson(
        message, indent=1, always_print_fields_with_no_presence=True, **options
    )


def _message_json(message) -> bytes:
    """MessageToJsonString with whitespace and unset fields printed."""
    return _json_text(message).encode()


def _metadata_json(servable) -> bytes:
    """ToJsonString(GetModelMetadataResponse): TF Serving's own concatenation of the model spec
    and the signature map, field names as in the protos."""
    response = metadata_response(servable)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    spec = _json_text(response.model_spec, preserving_proto_field_name=True)
    signature_json = _json_text(signature_map, preserving_proto_field_name=True)
    return (
        f'{{\n"model_spec":{spec},\n"metadata": {{"signature_def": {signature_json}}}\n}}\n'
    ).encode()
