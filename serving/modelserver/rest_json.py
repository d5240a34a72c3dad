"""TF Serving's REST JSON: request bodies → tensors and tf.Examples, results → response bodies.

A port of the behaviour of TF Serving's `util/json_tensor.cc` (its tests:
`util/json_tensor_test.cc`; its documentation: `g3doc/api_rest.md`), so clients see the same
acceptance rules, the same error texts and the same bytes:
- a value must be of the signature input's type: a JSON number for floats, a whole number in
  range for integers, true/false for booleans, a string or {"b64": ...} for strings;
  `1.5` for an int input, `"1.5"` for a float and `null` are errors naming the value;
- nested lists must be dense; the row format checks every instance against the first;
- columnar inputs take the signature's inputs from the object and ignore other keys;
- output floats are written with six significant digits unless that does not round-trip
  (float32 0.1 → `0.1`), whole numbers keep a `.0`, NaN/Infinity are written bare;
- responses are laid out as rapidjson's PrettyWriter lays them out (4-space indent, arrays of
  a prediction on one line), outputs whose alias ends in `_bytes` as {"b64": ...}.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping

import numpy as np

from protocol.messages import example_pb2, feature_pb2, types_pb2
from protocol.rest_errors import json_string
from serving.modelserver.errors import InvalidArgument, Unimplemented

ROW, COLUMNAR = "row", "columnar"
MAX_DEBUG_BYTES = 256

_TYPE_NAMES = {
    types_pb2.DT_FLOAT: "float",
    types_pb2.DT_DOUBLE: "double",
    types_pb2.DT_INT32: "int32",
    types_pb2.DT_INT16: "int16",
    types_pb2.DT_INT8: "int8",
    types_pb2.DT_UINT8: "uint8",
    types_pb2.DT_UINT16: "uint16",
    types_pb2.DT_STRING: "string",
    types_pb2.DT_INT64: "int64",
    types_pb2.DT_BOOL: "bool",
    types_pb2.DT_UINT32: "uint32",
    types_pb2.DT_UINT64: "uint64",
    types_pb2.DT_HALF: "half",
    types_pb2.DT_COMPLEX64: "complex64",
    types_pb2.DT_COMPLEX128: "complex128",
    types_pb2.DT_BFLOAT16: "bfloat16",
}
_INT32 = (-(2**31), 2**31)
_READERS = {
    types_pb2.DT_FLOAT: (np.float32, "number"),
    types_pb2.DT_DOUBLE: (np.float64, "number"),
    types_pb2.DT_INT32: (np.int32, _INT32),
    types_pb2.DT_INT16: (np.int16, _INT32),
    types_pb2.DT_INT8: (np.int8, _INT32),
    types_pb2.DT_UINT8: (np.uint8, _INT32),
    types_pb2.DT_INT64: (np.int64, (-(2**63), 2**63)),
    types_pb2.DT_UINT32: (np.uint32, (0, 2**32)),
    types_pb2.DT_UINT64: (np.uint64, (0, 2**64)),
    types_pb2.DT_BOOL: (np.bool_, "bool"),
    types_pb2.DT_STRING: (object, "string"),
}


def parse_object(body: bytes) -> dict:
    """ParseJson: one JSON object (NaN and Infinity allowed, anything after it ignored)."""
    if not body:
        raise InvalidArgument("JSON Parse error: The document is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidArgument(
            f"JSON Parse error: Invalid encoding in string. at offset: {error.start}"
        ) from None
    start = len(text) - len(text.lstrip(" \t\n\r"))
    if start == len(text):
        raise InvalidArgument(f"JSON Parse error: The document is empty. at offset: {start}")
    decoder = json.JSONDecoder(
        parse_int=_parse_int, parse_float=_parse_float, object_pairs_hook=_first_key_wins
    )
    try:
        document, _ = decoder.raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise InvalidArgument(
            f"JSON Parse error: {_parse_error(error.msg)} at offset: {error.pos}"
        ) from None
    except OverflowError as error:
        raise InvalidArgument(
            "JSON Parse error: Number too big to be stored in double. at offset: "
            f"{text.find(str(error), start)}"
        ) from None
    except RecursionError:
        raise InvalidArgument("JSON Parse error: the document nests too deeply") from None
    if SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(document):
        raise InvalidArgument(
            "JSON Parse error: The surrogate pair in string is invalid. at offset: "
            f"{SURROGATE_ESCAPE.search(text).start()}"
        )
    if not isinstance(document, dict):
        raise InvalidArgument(f"JSON Value: {debug_string(document)} Is not object")
    return document


SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A \\uD800–\\uDFFF escape: only a document holding one can hold a lone surrogate."""


def _has_lone_surrogate(document) -> bool:
    """Whether a string (key or value) holds half a surrogate pair, which is no UTF-8 text
    (rapidjson refuses it while parsing; Python's parser lets it through)."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def signature_name(document: dict) -> str:
    """FillSignature: the optional "signature_name", which must be a string."""
    name = document.get("signature_name", "")
    if not isinstance(name, str):
        raise InvalidArgument(
            f"JSON Value: {debug_string(document)} not formatted correctly. "
            "'signature_name' key must be a string value."
        )
    return name


def predict_inputs(document: dict, signature_name: str, inputs: Mapping) -> tuple[dict, str]:
    """FillPredictRequestFromJson: the request's tensors by alias, and its format.

    `inputs` is the signature's input map (alias → TensorInfo)."""
    if not inputs:
        raise InvalidArgument(
            f"Failed to get input map for signature: {signature_name or 'DEFAULT'}"
        )
    has_instances, has_inputs = "instances" in document, "inputs" in document
    if has_instances and has_inputs:
        raise InvalidArgument(
            f"JSON Value: {debug_string(document)} Not formatted correctly expecting only one "
            "of 'inputs' or 'instances' keys to exist "
        )
    if has_instances:
        instances = document["instances"]
        if not isinstance(instances, list):
            raise InvalidArgument(
                f"JSON Value: {debug_string(document)} Expecting 'instances' to be an list/array"
            )
        if not instances:
            raise InvalidArgument(
                f"JSON Value: {debug_string(document)} No values in 'instances' array"
            )
        return _from_instances(instances, inputs), ROW
    if has_inputs:
        return _from_inputs(document["inputs"], inputs), COLUMNAR
    raise InvalidArgument("Missing 'inputs' or 'instances' key")


def examples(document: dict) -> list[bytes]:
    """FillClassifyRegressRequestFromJson: serialized tf.Examples, context prepended."""
    context = b""
    if "context" in document:
        context = _example(document["context"]).SerializeToString()
    listed = document.get("examples")
    if "examples" not in document:
        raise InvalidArgument(
            f"JSON Value: {debug_string(document)} When method is classify, key 'examples' is "
            "expected and was not found"
        )
    if not isinstance(listed, list):
        raise InvalidArgument(
            f"JSON Value: {debug_string(document)} Expecting 'examples' value to be an list/array"
        )
    if not listed:
        raise InvalidArgument(
            f"JSON Value: {debug_string(document)} 'examples' value is an empty array"
        )
    return [context + _example(value).SerializeToString() for value in listed]


def predict_response(outputs: dict[str, np.ndarray], request_format: str) -> bytes:
    """MakeJsonFromTensors: {"predictions": ...} (row) or {"outputs": ...} (columnar)."""
    if not outputs:
        raise InvalidArgument("Cannot convert empty tensor map to JSON")
    names = sorted(outputs)
    writer = PrettyWriter()
    writer.start_object()
    if request_format == ROW:
        batch = None
        for name in names:
            value = outputs[name]
            if value.ndim == 0:
                raise InvalidArgument(f"Tensor name: {name} has no shape information ")
            if batch is not None and value.shape[0] != batch:
                raise InvalidArgument(
                    f"Tensor name: {name} has inconsistent batch size: {value.shape[0]} "
                    f"expecting: {batch}"
                )
            batch = value.shape[0]
        texts = {name: _texts(name, outputs[name]) for name in names}
        writer.key("predictions")
        writer.start_array()
        for item in range(batch):
            if len(names) > 1:
                writer.start_object()
            writer.single_line = True
            for name in names:
                if len(names) > 1:
                    writer.key(name)
                _write_values(writer, texts[name][item])
            writer.single_line = False
            if len(names) > 1:
                writer.end_object()
        writer.end_array()
    else:
        writer.key("outputs")
        if len(names) > 1:
            writer.start_object()
        for name in names:
            if len(names) > 1:
                writer.key(name)
            _write_values(writer, _texts(name, outputs[name]))
        if len(names) > 1:
            writer.end_object()
    writer.end_object()
    return writer.getvalue()


def classify_response(classifications) -> bytes:
    """MakeJsonFromClassificationResult: {"results": [[[label, score], ...], ...]}."""
    if not classifications:
        raise InvalidArgument("Cannot convert empty ClassificationResults to JSON")
    writer = PrettyWriter()
    writer.start_object()
    writer.key("results")
    writer.start_array()
    for row in classifications:
        writer.single_line = True
        writer.start_array()
        for label, score in row:
            writer.start_array()
            writer.value(json_string(label))
            writer.value(decimal(score, single=True))
            writer.end_array()
        writer.end_array()
        writer.single_line = False
    writer.end_array()
    writer.end_object()
    return writer.getvalue()


def regress_response(values: list[float]) -> bytes:
    """MakeJsonFromRegressionResult: {"results": [value, ...]}."""
    if not values:
        raise InvalidArgument("Cannot convert empty RegressionResults to JSON")
    writer = PrettyWriter()
    writer.start_object()
    writer.key("results")
    writer.single_line = True
    writer.leaf_array([decimal(v, single=True) for v in values])
    writer.end_object()
    return writer.getvalue()


def decimal(value: float, single: bool) -> str:
    """WriteDecimal: six significant digits unless they do not round-trip, then the type's
    full precision; ".0" after whole numbers; NaN, Infinity and -Infinity bare."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = f"{value:g}"
    parsed = float(np.float32(text)) if single else float(text)
    if parsed != value:
        text = f"{value:.9g}" if single else f"{value:.17g}"
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def debug_string(value) -> str:
    """JsonValueToDebugString: the value as rapidjson writes it, cut after 256 bytes."""
    writer = PrettyWriter(limit=MAX_DEBUG_BYTES)
    writer.single_line = True
    _write_json(writer, value)
    return writer.getvalue().decode("utf-8", "replace")


class PrettyWriter:
    """rapidjson's PrettyWriter: 4-space indent; `single_line` is kFormatSingleLineArray."""

    def __init__(self, limit: int | None = None):
        self._out: list[str] = []
        self._size = 0
        self._limit = limit
        self._levels: list[list] = []
        self.single_line = False

    def getvalue(self) -> bytes:
        return "".join(self._out).encode("utf-8", "surrogateescape")

    def value(self, text: str) -> None:
        self._prefix()
        self._put(text)

    def key(self, name: str) -> None:
        self.value(json_string(name))

    def start_object(self) -> None:
        self._prefix()
        self._levels.append([False, 0])
        self._put("{")

    def end_object(self) -> None:
        _, count = self._levels.pop()
        if count:
            self._put("\n" + "    " * len(self._levels))
        self._put("}")

    def start_array(self) -> None:
        self._prefix()
        self._levels.append([True, 0])
        self._put("[")

    def end_array(self) -> None:
        _, count = self._levels.pop()
        if count and not self.single_line:
            self._put("\n" + "    " * len(self._levels))
        self._put("]")

    def leaf_array(self, texts: list[str]) -> None:
        """An array of scalars, written at once (the same bytes as one value at a time)."""
        self._prefix()
        if not texts:
            self._put("[]")
        elif self.single_line:
            self._put("[" + ", ".join(texts) + "]")
        else:
            inner = "\n" + "    " * (len(self._levels) + 1)
            outer = "\n" + "    " * len(self._levels)
            self._put("[" + ",".join(inner + text for text in texts) + outer + "]")

    def _prefix(self) -> None:
        if not self._levels:
            return
        level = self._levels[-1]
        in_array, count = level
        if in_array:
            if count:
                self._put(", " if self.single_line else ",")
            if not self.single_line:
                self._put("\n" + "    " * len(self._levels))
        else:
            if count:
                self._put(",\n" if count % 2 == 0 else ": ")
            else:
                self._put("\n")
            if count % 2 == 0:
                self._put("    " * len(self._levels))
        level[1] += 1

    def _put(self, text: str) -> None:
        if self._limit is not None and self._size >= self._limit:
            return
        self._out.append(text)
        self._size += len(text)


def _from_instances(instances: list, inputs: Mapping) -> dict[str, np.ndarray]:
    """FillTensorMapFromInstancesList."""
    names = sorted(inputs)
    if not isinstance(instances[0], dict) and len(inputs) > 1:
        raise InvalidArgument(
            "instances is a plain list, but expecting list of objects as multiple input tensors "
            "required as per tensorinfo_map"
        )
    objects = _is_element_object(instances[0])
    columns: dict[str, list[np.ndarray]] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    for index, element in enumerate(instances):
        if objects:
            if not _is_element_object(element):
                raise InvalidArgument(
                    f"Expecting object but got list at item {index} of input list"
                )
            for name, value in element.items():
                try:
                    _add_instance_item(value, name, inputs, columns, shapes)
                except InvalidArgument as error:
                    raise InvalidArgument(
                        f"Failed to process element: {index} key: {name} of 'instances' list. "
                        f"Error: {error.status_string()}"
                    ) from None
            if set(element) != set(names):
                raise InvalidArgument(
                    f"Failed to process element: {index} of 'instances' list. JSON object: "
                    f"{debug_string(element)} keys must be equal to: {','.join(names)}"
                )
        else:
            if _is_element_object(element):
                raise InvalidArgument(
                    f"Expecting value/list but got object at item {index} of input list"
                )
            try:
                _add_instance_item(element, names[0], inputs, columns, shapes)
            except InvalidArgument as error:
                raise InvalidArgument(
                    f"Failed to process element: {index} of 'instances' list. "
                    f"Error: {error.status_string()}"
                ) from None
    return {name: np.stack(values) for name, values in columns.items()}


def _add_instance_item(value, name: str, inputs: Mapping, columns: dict, shapes: dict) -> None:
    if name not in inputs:
        raise InvalidArgument(f"JSON object: does not have named input: {name}")
    array = _tensor(value, inputs[name].dtype)
    if name not in shapes:
        shapes[name] = array.shape
    elif array.size != math.prod(shapes[name]):
        raise InvalidArgument(
            f"Expecting tensor size: {math.prod(shapes[name])} but got: {array.size}"
        )
    elif array.shape != shapes[name]:
        raise InvalidArgument(
            f"Expecting shape {_shape(shapes[name])} but got: {_shape(array.shape)}"
        )
    columns.setdefault(name, []).append(array)


def _from_inputs(value, inputs: Mapping) -> dict[str, np.ndarray]:
    """FillTensorMapFromInputsMap: named inputs are taken from the object, other keys ignored."""
    if not isinstance(value, dict) or _is_b64(value):
        if len(inputs) > 1:
            raise InvalidArgument(
                "inputs is a plain value/list, but expecting an object as multiple input "
                "tensors required as per tensorinfo_map"
            )
        (name,) = inputs
        return {name: _tensor(value, inputs[name].dtype)}
    tensors = {}
    for name in sorted(inputs):
        if name not in value:
            raise InvalidArgument(f"Missing named input: {name} in 'inputs' object.")
        tensors[name] = _tensor(value[name], inputs[name].dtype)
    return tensors


def _tensor(value, dtype: int) -> np.ndarray:
    """GetDenseTensorShape + FillTensorProto: a dense array of `dtype`."""
    shape = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    reader = _READERS.get(dtype)
    flat: list = []
    _fill(value, 0, shape, dtype, flat)
    if reader is None:
        raise Unimplemented(
            f"Conversion of JSON Value: {debug_string(value)} to type: {_type_name(dtype)}"
        )
    numpy_type = reader[0]
    if dtype == types_pb2.DT_STRING:
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
    elif numpy_type in (np.int8, np.int16, np.uint8):
        array = np.array(flat, dtype=np.int32).astype(numpy_type)
    else:
        with np.errstate(over="ignore"):
            array = np.array(flat, dtype=numpy_type)
    return array.reshape(shape)


def _fill(value, level: int, shape: list[int], dtype: int, flat: list) -> None:
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise InvalidArgument(
                f"JSON Value: {debug_string(value)} found at incorrect level: {level + 1} in "
                f"the JSON DOM. Expected at level: {rank}"
            )
        flat.append(_scalar(value, dtype))
        return
    if level >= rank:
        raise InvalidArgument(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise InvalidArgument(
            f"Encountered list at unexpected size: {len(value)} at level: {level} expected "
            f"size: {shape[level]}"
        )
    if level == rank - 1 and dtype in _READERS and _all_plain(value, dtype):
        flat.extend(value)
        return
    for item in value:
        _fill(item, level + 1, shape, dtype, flat)


def _all_plain(values: list, dtype: int) -> bool:
    """A fast check that a leaf list holds only values of the right type (no conversions)."""
    kind = _READERS[dtype][1]
    if kind == "number":
        return all(type(v) is float or type(v) is int for v in values)
    if kind == "bool":
        return all(type(v) is bool for v in values)
    if kind == "string":
        return False
    low, high = kind
    return all(type(v) is int and low <= v < high for v in values)


def _scalar(value, dtype: int):
    """AddValueToTensor for one leaf value."""
    if dtype not in _READERS:
        raise Unimplemented(
            f"Conversion of JSON Value: {debug_string(value)} to type: {_type_name(dtype)}"
        )
    if isinstance(value, dict):
        if dtype == types_pb2.DT_STRING:
            return _b64(value)
        raise _type_error(value, dtype)
    kind = _READERS[dtype][1]
    if kind == "number":
        ok = type(value) in (int, float)
    elif kind == "bool":
        ok = type(value) is bool
    elif kind == "string":
        if type(value) is str:
            return value.encode("utf-8")
        ok = False
    else:
        low, high = kind
        ok = type(value) is int and low <= value < high
    if not ok:
        raise _type_error(value, dtype)
    return value


def _type_error(value, dtype: int) -> InvalidArgument:
    return InvalidArgument(
        f"JSON Value: {debug_string(value)} Type: {_json_type(value)} is not of expected type: "
        f"{_type_name(dtype)}"
    )


def _b64(value) -> bytes:
    if not _is_b64(value):
        raise InvalidArgument(
            f"JSON Value: {debug_string(value)} not formatted correctly for base64 data"
        )
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("Unable to base64 decode") from None


def _example(value) -> example_pb2.Example:
    """MakeExampleFromJsonObject."""
    if not isinstance(value, dict):
        raise InvalidArgument(f"Example must be JSON object but got JSON {_json_type(value)}")
    example = example_pb2.Example()
    for name, content in value.items():
        feature = feature_pb2.Feature()
        for item in content if isinstance(content, list) else [content]:
            _add_feature_value(item, name, feature)
        example.features.feature[name].CopyFrom(feature)
    return example


def _add_feature_value(value, name: str, feature: feature_pb2.Feature) -> None:
    """AddValueToFeature."""
    if value is None or isinstance(value, list) or (isinstance(value, dict) and not _is_b64(value)):
        raise InvalidArgument(
            f"Feature: {name} has element with unexpected JSON type: {_json_type(value)}"
        )
    if isinstance(value, bool):
        kind, item = "int64_list", int(value)
    elif isinstance(value, dict):
        kind, item = "bytes_list", _b64(value)
    elif isinstance(value, str):
        kind, item = "bytes_list", value.encode("utf-8")
    elif isinstance(value, float):
        kind, item = "float_list", value
    elif -(2**63) <= value < 2**63:
        kind, item = "int64_list", value
    else:
        raise InvalidArgument(f"Feature: {name} has uint64_t element. Only int64_t is supported.")
    current = feature.WhichOneof("kind")
    if current not in (None, kind):
        shown = {"bytes_list": "bytes", "float_list": "float", "int64_list": "int64"}[current]
        raise InvalidArgument(f"Unexpected element type in feature: {name} expecting type: {shown}")
    getattr(feature, kind).value.append(item)


def _texts(name: str, value: np.ndarray) -> np.ndarray:
    """Each element of an output tensor as its JSON text (an object array of value's shape)."""
    kind = value.dtype.kind
    if kind == "f" and value.dtype.itemsize in (4, 8):
        single = value.dtype.itemsize == 4
        texts = [decimal(v, single) for v in value.reshape(-1).tolist()]
    elif kind in "iu":
        texts = [str(v) for v in value.reshape(-1).tolist()]
    elif kind == "b":
        texts = ["true" if v else "false" for v in value.reshape(-1).tolist()]
    elif kind == "O":
        as_bytes = name.endswith("_bytes")
        texts = [_bytes_text(v, as_bytes) for v in value.reshape(-1)]
    else:
        raise InvalidArgument(
            f"Failed to write JSON value for tensor type: {_numpy_type_name(value.dtype)}"
        )
    array = np.empty(len(texts), dtype=object)
    array[:] = texts
    return array.reshape(value.shape)


def _write_values(writer: PrettyWriter, texts) -> None:
    """AddTensorValues: nested arrays of the prepared texts."""
    if not isinstance(texts, np.ndarray) or texts.ndim == 0:
        _write_raw(writer, texts if not isinstance(texts, np.ndarray) else texts.item())
    elif texts.ndim == 1 and not any(isinstance(t, _Object) for t in texts):
        writer.leaf_array(list(texts))
    else:
        writer.start_array()
        for item in texts:
            _write_values(writer, item)
        writer.end_array()


class _Object(str):
    """A {"b64": ...} output element, written as an object."""


def _bytes_text(value: bytes, as_b64: bool) -> str:
    if as_b64:
        return _Object(json_string(base64.b64encode(value)))
    return json_string(value)


def _write_raw(writer: PrettyWriter, text: str) -> None:
    if isinstance(text, _Object):
        writer.start_object()
        writer.key("b64")
        writer.value(str(text))
        writer.end_object()
    else:
        writer.value(text)


def _write_json(writer: PrettyWriter, value) -> None:
    """Any parsed JSON value, as rapidjson writes it."""
    if isinstance(value, dict):
        writer.start_object()
        for key, item in value.items():
            writer.key(key)
            _write_json(writer, item)
        writer.end_object()
    elif isinstance(value, list):
        writer.start_array()
        for item in value:
            _write_json(writer, item)
        writer.end_array()
    elif value is None:
        writer.value("null")
    elif isinstance(value, bool):
        writer.value("true" if value else "false")
    elif isinstance(value, str):
        writer.value(json_string(value))
    elif isinstance(value, float):
        writer.value(_double(value))
    else:
        writer.value(str(value))


def _double(value: float) -> str:
    """rapidjson's shortest form of a double (debug strings only)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + m.group(1).lstrip("+") + m.group(2), text)


def _json_type(value) -> str:
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def _is_b64(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _is_element_object(value) -> bool:
    return isinstance(value, dict) and not _is_b64(value)


def _type_name(dtype: int) -> str:
    return _TYPE_NAMES.get(dtype) or types_pb2.DataType.Name(dtype)


def _numpy_type_name(dtype: np.dtype) -> str:
    return {"float16": "half"}.get(dtype.name, dtype.name)


def _shape(shape) -> str:
    return "[" + ",".join(str(size) for size in shape) + "]"


def _first_key_wins(pairs: list[tuple[str, object]]) -> dict:
    """An object whose key repeats keeps the key's first value, as TF Serving reads it
    (rapidjson keeps every member and FindMember returns the first); Python keeps the last."""
    found: dict = {}
    for key, value in pairs:
        found.setdefault(key, value)
    return found


def _parse_int(text: str):
    """Integers past uint64 are doubles to rapidjson (and one too long for a double is too big:
    Python's int() would refuse past 4,300 digits with a ValueError of its own)."""
    if len(text) > len(str(2**64)):
        return _parse_float(text)
    value = int(text)
    return value if -(2**63) <= value < 2**64 else _parse_float(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise OverflowError(text)
    return value


def _parse_error(message: str) -> str:
    """Python's JSON error → rapidjson's wording for the same mistake."""
    for python, rapid in (
        ("Expecting value", "Invalid value."),
        ("Expecting property name", "Missing a name for object member."),
        ("Expecting ':'", "Missing a colon after a name of object member."),
        ("Expecting ',' delimiter", "Missing a comma or ']' after an array element."),
        ("Unterminated string", "Missing a closing quotation mark in string."),
        ("Invalid \\escape", "Invalid escape character in string."),
        ("Invalid \\u", "Incorrect hex digit after \\u escape in string."),
        ("Invalid control character", "Invalid encoding in string."),
    ):
        if message.startswith(python):
            return rapid
    return "Invalid value."
