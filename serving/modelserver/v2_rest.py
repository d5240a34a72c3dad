"""The Open Inference Protocol over REST, on the model server's REST port beside TF Serving's
`/v1` API. Paths, bodies and statuses as kserve/kserve docs/predict-api/v2/required_api.md
gives them ("HTTP/REST"): health answers by status (200 true, 4xx false) and, for KServe's
client, a `{"live"|"ready": ...}` body,
errors are `{"error": message}`, an unknown model or version is 404. Triton's binary tensor
data extension (docs/protocol/extension_binary_data.md): inputs with a `binary_data_size`
parameter are read after the JSON header (`Inference-Header-Content-Length`), and outputs are
sent the same way when asked (`binary_data` on an output, `binary_data_output` on the request).
"""

from __future__ import annotations

import json
import logging
import re
import time

import numpy as np
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from serving.modelserver import v2
from serving.modelserver.core import ModelServerCore
from serving.modelserver.errors import InvalidArgument, ServingError, code_name

log = logging.getLogger(__name__)

V2_PATH = re.compile(r"/v2(?:/.*)?")
MODEL_PATH = re.compile(r"/v2/models/([^/]+)(?:/versions/([^/]+))?(?:/(ready|infer))?")
HEADER_LENGTH = "Inference-Header-Content-Length"
JSON = "application/json"


class V2RestApi:
    """A WSGI-style handler for `/v2` paths (RestApi routes them here)."""

    def __init__(self, core: ModelServerCore, timeout_seconds: float = 30.0):
        self.core = core
        self.timeout_seconds = timeout_seconds

    def __call__(self, request: Request) -> Response:
        model, error = "", None
        try:
            model, response = self._route(request)
        except ServingError as failure:
            error = failure
        except RequestEntityTooLarge:
            error = InvalidArgument(f"request body larger than {request.max_content_length} bytes")
            response = Response(json.dumps({"error": str(error)}), status=413, content_type=JSON)
            self.core.metrics.request_count.increment(model, code_name(error))
            return response
        except Exception as failure:
            log.exception("unexpected error in %s %s", request.method, request.path)
            error = ServingError(f"Internal error: {type(failure).__name__}")
        if error is not None:
            body = json.dumps({"error": str(error)})
            response = Response(body, status=error.http_status, content_type=JSON)
        self.core.metrics.request_count.increment(model, code_name(error))
        return response

    def _route(self, request: Request) -> tuple[str, Response]:
        path, method = request.path.rstrip("/") or "/", request.method
        if path == "/v2" and method == "GET":
            return "", _json(
                {
                    "name": v2.SERVER_NAME,
                    "version": v2.server_version(),
                    "extensions": list(v2.EXTENSIONS),
                }
            )
        if path == "/v2/health/live" and method == "GET":
            return "", _health({"live": True})
        if path == "/v2/health/ready" and method == "GET":
            return "", _health({"ready": v2.server_ready(self.core)})
        match = MODEL_PATH.fullmatch(path)
        if not match:
            raise InvalidArgument(f"no V2 route for {method} {path}")
        model, version, action = match.groups()
        version = version or ""
        if action is None and method == "GET":
            signature = request.args.get(v2.SIGNATURE_PARAMETER, "")
            return model, _json(_metadata_json(v2.metadata(self.core, model, version, signature)))
        if action == "ready" and method == "GET":
            ready = v2.model_ready(self.core, model, version)
            return model, _health({"name": model, "ready": ready})
        if action == "infer" and method == "POST":
            return model, self._infer(request, model, version)
        raise InvalidArgument(f"no V2 route for {method} {path}")

    def _infer(self, request: Request, model: str, version: str) -> Response:
        started = time.perf_counter()
        body = request.get_data()
        header, binary = _split(body, request.headers.get(HEADER_LENGTH))
        infer_request, binary_outputs = read_request(model, version, header, binary)
        deadline = time.monotonic() + self.timeout_seconds
        answer = v2.infer(self.core, infer_request, deadline)
        response = write_response(answer, infer_request.outputs, binary_outputs)
        micros = (time.perf_counter() - started) * 1e6
        self.core.metrics.request_latency.add(micros, model, "infer", "REST")
        return response


def read_request(
    model: str, version: str, header: bytes, binary: bytes
) -> tuple[v2.InferRequest, dict[str, bool]]:
    """The request, and for each requested output whether it goes back as binary data."""
    document = _object(header)
    parameters = _parameters(document.get("parameters", {}), "parameters")
    inputs, offset = {}, 0
    listed = document.get("inputs")
    if not isinstance(listed, list) or not listed:
        raise InvalidArgument("inputs: expected a non-empty list of input tensors")
    for index, item in enumerate(listed):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidArgument(f"inputs[{index}]: expected an object with a name")
        name = item["name"]
        datatype, shape = item.get("datatype"), item.get("shape")
        input_parameters = _parameters(item.get("parameters", {}), f"inputs[{index}].parameters")
        size = input_parameters.get("binary_data_size")
        if size is not None:
            if type(size) is not int or size < 0 or offset + size > len(binary):
                raise InvalidArgument(f"input {name!r}: binary_data_size beyond the body")
            array = v2.from_raw(name, datatype, shape, binary[offset : offset + size])
            offset += size
        elif "data" in item:
            array = v2.array_of(name, datatype, shape, _elements(item["data"], datatype))
        else:
            raise InvalidArgument(f"input {name!r}: no data and no binary_data_size")
        if name in inputs:
            raise InvalidArgument(f"input {name!r} given twice")
        inputs[name] = array
    if offset != len(binary):
        raise InvalidArgument(f"{len(binary) - offset} bytes of binary data no input claims")
    all_binary = parameters.get("binary_data_output") is True
    binary_outputs: dict[str, bool] = {}
    for index, item in enumerate(document.get("outputs") or []):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidArgument(f"outputs[{index}]: expected an object with a name")
        output_parameters = _parameters(item.get("parameters", {}), f"outputs[{index}]")
        binary_outputs[item["name"]] = output_parameters.get("binary_data", all_binary) is True
    request_id = document.get("id", "")
    if not isinstance(request_id, str):
        raise InvalidArgument("id: expected a string")
    request = v2.InferRequest(model, version, inputs, list(binary_outputs), request_id, parameters)
    if not binary_outputs and all_binary:
        binary_outputs = {"*": True}
    return request, binary_outputs


def write_response(
    answer: v2.InferResponse, requested: list[str], binary_outputs: dict[str, bool]
) -> Response:
    names = requested or sorted(answer.outputs)
    document: dict = {"model_name": answer.model, "model_version": answer.version}
    if answer.id:
        document["id"] = answer.id
    outputs, blobs = [], []
    for name in names:
        array = np.asarray(answer.outputs[name])
        entry = {"name": name, "datatype": v2.datatype_of(array), "shape": list(array.shape)}
        if binary_outputs.get(name, binary_outputs.get("*", False)):
            blob = v2.to_raw(array)
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = _json_elements(array)
        outputs.append(entry)
    document["outputs"] = outputs
    header = json.dumps(document, separators=(",", ":")).encode()
    if not blobs:
        return Response(header, content_type=JSON)
    response = Response(header + b"".join(blobs), content_type="application/octet-stream")
    response.headers[HEADER_LENGTH] = str(len(header))
    return response


def _metadata_json(found: v2.Metadata) -> dict:
    def tensors(infos):
        return [{"name": t.name, "datatype": t.datatype, "shape": t.shape} for t in infos]

    return {
        "name": found.name,
        "versions": found.versions,
        "platform": found.platform,
        "inputs": tensors(found.inputs),
        "outputs": tensors(found.outputs),
        "parameters": {v2.SIGNATURE_PARAMETER: found.signature_name},
    }


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if not header_length.isascii() or not header_length.isdigit():
        raise InvalidArgument(f"{HEADER_LENGTH}: expected a number, got {header_length!r}")
    length = int(header_length)
    if length > len(body):
        raise InvalidArgument(f"{HEADER_LENGTH}: {length} is beyond the body ({len(body)} bytes)")
    return body[:length], body[length:]


def _object(header: bytes) -> dict:
    try:
        document = json.loads(header)
    except (ValueError, RecursionError) as error:
        raise InvalidArgument(f"the request is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise InvalidArgument("the request must be a JSON object")
    return document


def _parameters(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidArgument(f"{where}: expected an object")
    return value


def _elements(data, datatype: str):
    """JSON elements as NumPy reads them; BYTES elements (strings) as UTF-8 bytes."""
    if datatype != "BYTES":
        return data
    return np.vectorize(lambda item: item.encode() if isinstance(item, str) else item)(
        np.asarray(data, dtype=object)
    )


def _json_elements(array: np.ndarray) -> list:
    flat = array.reshape(-1)
    if v2.datatype_of(array) == "BYTES":
        return [
            item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
            for item in flat
        ]
    return flat.tolist()


def _health(answer: dict) -> Response:
    """required_api, "Health": 200 for true, a 4xx for false. The body says it too
    (`{"live": true}`, `{"ready": ...}`): the document asks for an empty body, but KServe's
    client reads these fields (kserve inference_client.py, is_server_ready and the rest) and
    tritonclient reads the status only."""
    true = answer.get("live", answer.get("ready"))
    return Response(json.dumps(answer), status=200 if true else 400, content_type=JSON)


def _json(document: dict) -> Response:
    return Response(json.dumps(document), content_type=JSON)
