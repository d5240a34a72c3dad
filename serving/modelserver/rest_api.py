"""REST adapter: TF Serving's HTTP/JSON API (row and columnar formats, b64) over the core."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time

import numpy as np
from google.protobuf import json_format
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from client.protos import get_model_metadata_pb2, model_pb2
from client.tensors import numpy_dtype
from serving.modelserver.core import ModelServerCore, ModelSpec
from serving.modelserver.errors import DeadlineExceeded, InvalidArgument, NotFound, ServingError
from serving.modelserver.examples import examples_from_json
from serving.modelserver.metrics import CONTENT_TYPE_LATEST, ServerMetrics
from serving.modelserver.servable import DEFAULT_SIGNATURE
from serving.modelserver.status import status_response

log = logging.getLogger(__name__)

_MODEL = r"/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?"
PREDICT_PATH = re.compile(rf"(?i){_MODEL}:(classify|regress|predict)")
STATUS_PATH = re.compile(rf"(?i){_MODEL}(/metadata)?")
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024


class RestApi:
    """A WSGI application; one instance per server.

    At most `max_concurrent` requests run at once (`--rest_api_num_threads`); each has
    `timeout_seconds` (`--rest_api_timeout_in_ms`) from arrival, waiting included, or gets 504.
    """

    def __init__(
        self,
        core: ModelServerCore,
        metrics: ServerMetrics,
        metrics_path: str | None = None,
        timeout_seconds: float = 30.0,
        max_concurrent: int = 64,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ):
        self.core = core
        self.metrics = metrics
        self.metrics_path = metrics_path
        self.timeout_seconds = timeout_seconds
        self.max_body_bytes = max_body_bytes
        self._slots = threading.BoundedSemaphore(max_concurrent)

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = self.max_body_bytes
        deadline = time.monotonic() + self.timeout_seconds
        try:
            if not self._slots.acquire(timeout=self.timeout_seconds):
                raise DeadlineExceeded("Deadline exceeded waiting for a free REST worker")
            try:
                response = self._dispatch(request, deadline)
            finally:
                self._slots.release()
        except ServingError as error:
            response = _error(error.http_status, str(error))
        except RequestEntityTooLarge:
            response = _error(413, f"Request body larger than {self.max_body_bytes} bytes")
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.path)
            response = _error(500, "Internal error")
        return response(environ, start_response)

    def _dispatch(self, request: Request, deadline: float) -> Response:
        path = request.path
        if self.metrics_path and path == self.metrics_path and request.method == "GET":
            return Response(self.metrics.render(), content_type=CONTENT_TYPE_LATEST)
        if not path.lower().startswith("/v1/"):
            raise NotFound(f"Not found: {path}")
        if request.method == "POST" and (match := PREDICT_PATH.fullmatch(path)):
            name, version, label, verb = match.groups()
            body = _json_object(request.get_data())
            spec = ModelSpec(name, _version(version), label, body.get("signature_name", ""))
            if not isinstance(spec.signature_name, str):
                raise InvalidArgument("'signature_name' must be a string")
            return _json(getattr(self, f"_{verb.lower()}")(spec, body, deadline))
        if request.method == "GET" and (match := STATUS_PATH.fullmatch(path)):
            name, version, label, metadata = match.groups()
            spec = ModelSpec(name, _version(version), label)
            return _json(self._metadata(spec) if metadata else self._status(spec))
        raise InvalidArgument(f"Malformed request: {request.method} {path}")

    def _predict(self, spec: ModelSpec, body: dict, deadline: float) -> dict:
        servable = self.core.manager.resolve(spec.name, spec.version, spec.label)
        signature = servable.signature(spec.signature_name or DEFAULT_SIGNATURE)
        if ("instances" in body) == ("inputs" in body):
            raise InvalidArgument(
                "JSON object: exactly one of 'instances' (row format) or 'inputs' "
                "(columnar format) is required"
            )
        row_format = "instances" in body
        if row_format:
            inputs = _decode_rows(body["instances"], signature)
        else:
            inputs = _decode_columns(body["inputs"], signature)
        prediction = self.core.predict(spec, inputs, deadline=deadline)
        outputs = {k: _jsonable(v) for k, v in prediction.outputs.items()}
        if not row_format:
            return {"outputs": next(iter(outputs.values())) if len(outputs) == 1 else outputs}
        if len(outputs) == 1:
            return {"predictions": next(iter(outputs.values()))}
        rows = {len(v) for v in outputs.values() if isinstance(v, list)}
        if len(rows) != 1:
            raise InvalidArgument("outputs do not share a batch size; use the columnar format")
        return {"predictions": [{k: v[i] for k, v in outputs.items()} for i in range(rows.pop())]}

    def _classify(self, spec: ModelSpec, body: dict, deadline: float) -> dict:
        prediction = self.core.classify(spec, examples_from_json(body), deadline)
        classes, scores = prediction.outputs.get("classes"), prediction.outputs.get("scores")
        reference = classes if classes is not None else scores
        results = []
        for row in range(len(reference)):
            pairs = []
            for column in range(reference.shape[1]):
                label = classes[row, column] if classes is not None else str(column)
                label = label.decode() if isinstance(label, bytes) else str(label)
                pairs.append([label, float(scores[row, column]) if scores is not None else 0.0])
            results.append(pairs)
        return {"results": results}

    def _regress(self, spec: ModelSpec, body: dict, deadline: float) -> dict:
        prediction = self.core.regress(spec, examples_from_json(body), deadline)
        return {"results": [float(v) for v in prediction.outputs["outputs"].reshape(-1)]}

    def _status(self, spec: ModelSpec) -> dict:
        return _message_dict(status_response(self.core.status(spec)))

    def _metadata(self, spec: ModelSpec) -> dict:
        servable = self.core.metadata(spec)
        model_spec = model_pb2.ModelSpec(name=servable.name)
        model_spec.version.value = servable.version
        signatures = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in servable.signature_defs.items():
            signatures.signature_def[key].CopyFrom(signature)
        return {
            "model_spec": _message_dict(model_spec),
            "metadata": {"signature_def": _message_dict(signatures)},
        }


def _decode_rows(instances, signature) -> dict[str, np.ndarray]:
    if not isinstance(instances, list) or not instances:
        raise InvalidArgument("'instances' must be a non-empty list")
    aliases = sorted(signature.inputs)
    named = all(isinstance(i, dict) and not _is_b64(i) for i in instances)
    if not named:
        if len(aliases) != 1:
            raise InvalidArgument(
                f"each instance must be an object with the inputs {aliases} of this signature"
            )
        return {aliases[0]: _array(aliases[0], instances, signature.inputs[aliases[0]])}
    columns = {}
    for alias in aliases:
        missing = [index for index, instance in enumerate(instances) if alias not in instance]
        if missing:
            raise InvalidArgument(f"instances[{missing[0]}] lacks the input '{alias}'")
        columns[alias] = _array(alias, [i[alias] for i in instances], signature.inputs[alias])
    extra = sorted({key for instance in instances for key in instance} - set(aliases))
    if extra:
        raise InvalidArgument(f"unknown inputs {extra}; this signature takes {aliases}")
    return columns


def _decode_columns(inputs, signature) -> dict[str, np.ndarray]:
    aliases = sorted(signature.inputs)
    if isinstance(inputs, dict) and not _is_b64(inputs):
        return {
            alias: _array(alias, value, signature.inputs.get(alias))
            for alias, value in inputs.items()
        }
    if len(aliases) != 1:
        raise InvalidArgument(f"'inputs' must be an object with the inputs {aliases}")
    return {aliases[0]: _array(aliases[0], inputs, signature.inputs[aliases[0]])}


def _array(alias: str, value, info) -> np.ndarray:
    if info is None:
        raise InvalidArgument(f"input '{alias}' is not in the signature")
    dtype = numpy_dtype(info.dtype)
    try:
        if dtype.kind == "O":
            return np.array(_strings(value), dtype=object)
        array = np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise InvalidArgument(
            f"input '{alias}': cannot read as a rectangular {dtype.name} array ({error})"
        ) from error
    return array


def _strings(value):
    if isinstance(value, list):
        return [_strings(v) for v in value]
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, TypeError) as error:
            raise InvalidArgument(f"invalid base64 value: {error}") from error
    if isinstance(value, str):
        return value.encode()
    raise InvalidArgument(f"expected a string or {{'b64': ...}}, got {type(value).__name__}")


def _is_b64(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _jsonable(value: np.ndarray):
    if value.dtype == object:
        return _decode_strings(value.tolist())
    return value.tolist()


def _decode_strings(value):
    if isinstance(value, list):
        return [_decode_strings(v) for v in value]
    try:
        return value.decode()
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(value).decode()}


def _json_object(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise InvalidArgument(f"JSON Parse error: {error}") from error
    if not isinstance(document, dict):
        raise InvalidArgument("JSON Value: request body must be a JSON object")
    return document


def _version(text: str | None) -> int | None:
    return int(text) if text else None


def _message_dict(message) -> dict:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _json(document: dict, status: int = 200) -> Response:
    return Response(json.dumps(document), status=status, content_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)
