"""TF Serving's REST error body, `{"error": message}` as its writer lays it out
(http_rest_api_handler.cc answers a failed status with json_tensor.cc's MakeJsonFromStatus,
written by rapidjson's PrettyWriter): the model server writes it, and the gateway writes the
same for its own refusals on TF Serving's paths."""

from __future__ import annotations

ESCAPES = {i: f"\\u{i:04X}" for i in range(0x20)} | {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}
"""rapidjson Writer::String's escapes: control characters (upper-case hex), quote, backslash."""


def json_string(value: str | bytes) -> str:
    """A JSON string as rapidjson writes it; other characters (bytes that are not UTF-8 too,
    carried as surrogates) as they are."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    return '"' + value.translate(ESCAPES) + '"'


def error_body(message: str) -> bytes:
    """MakeJsonFromStatus: `{"error": message}`, four-space indented."""
    text = '{\n    "error": ' + json_string(message) + "\n}"
    return text.encode("utf-8", "surrogateescape")
