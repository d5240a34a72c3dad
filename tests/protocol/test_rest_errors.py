"""TF Serving's REST error body, as rapidjson's PrettyWriter writes MakeJsonFromStatus's object
(json_tensor.cc): four-space indent, control characters as upper-case \\u escapes."""

import json

from protocol.rest_errors import error_body


def test_the_body_is_laid_out_as_tf_serving_writes_it():
    assert error_body('bad "x"\x1f') == b'{\n    "error": "bad \\"x\\"\\u001F"\n}'


def test_any_message_reads_back_as_itself():
    message = "tensor\n\tname \u00e9 \\ /"
    assert json.loads(error_body(message)) == {"error": message}
