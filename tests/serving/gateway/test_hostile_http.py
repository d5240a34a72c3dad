"""Hostile HTTP on raw sockets, through gunicorn as deployed: broken chunked framing and heads
gunicorn refuses get a JSON error (never a 500, never gunicorn's HTML page), counted in
/metrics, and the connection is closed after it."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from serving.processes import http

HEAD = b"POST /v1/sum HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
TRAILERS = b"".join(b"T%d: v\r\n" % index for index in range(200))

MALFORMED_CHUNKS = {
    "size not hex": CHUNKED + b"zz\r\n{}\r\n0\r\n\r\n",
    "size with 0x": CHUNKED + b"0x2\r\n{}\r\n0\r\n\r\n",
    "negative size": CHUNKED + b"-2\r\n{}\r\n0\r\n\r\n",
    "no CRLF after data": CHUNKED + b"2\r\n{}XX0\r\n\r\n",
    "size below the data": CHUNKED + b"1\r\n{}\r\n0\r\n\r\n",
    "100 KB chunk extension": CHUNKED + b"2;" + b"e" * 100_000 + b"\r\n{}\r\n0\r\n\r\n",
    "200 trailers": CHUNKED + b"2\r\n{}\r\n0\r\n" + TRAILERS + b"\r\n",
}
BAD_HEADS = {
    "Content-Length not a number": b"POST /v1/sum HTTP/1.1\r\nHost: x\r\n"
    b"Content-Length: abc\r\n\r\n{}",
    "two Content-Lengths": b"POST /v1/sum HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Content-Length: 3\r\n\r\n{}",
    "Content-Length and chunked": b"POST /v1/sum HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "control byte in a header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
    "bare LF": b"GET /healthz HTTP/1.1\nHost: x\n\n",
    "unknown transfer coding": b"POST /v1/sum HTTP/1.1\r\nHost: x\r\n"
    b"Transfer-Encoding: gzip\r\n\r\n",
}


def exchange(url: str, raw: bytes) -> tuple[int, dict, bytes]:
    """Send `raw`, read until the server closes: (status, JSON body, head)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as client:
        client.sendall(raw)
        received = b""
        while chunk := client.recv(65536):  # ends only when the server closes
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body), head


@pytest.mark.parametrize("raw", MALFORMED_CHUNKS.values(), ids=MALFORMED_CHUNKS)
def test_a_malformed_chunked_body_is_a_400_naming_the_framing(gateway, raw):
    status, body, _ = exchange(gateway.rest_url, raw)
    assert status == 400
    assert body["error"]["code"] == "invalid_argument"
    assert body["error"]["message"].startswith("body: malformed chunked encoding")


@pytest.mark.parametrize("raw", BAD_HEADS.values(), ids=BAD_HEADS)
def test_a_head_gunicorn_refuses_is_json_too(gateway, raw):
    status, body, head = exchange(gateway.rest_url, raw)
    assert status == 400
    assert b"Content-Type: application/json" in head
    assert body["error"]["code"] == "invalid_argument"
    assert body["error"]["message"].startswith("request head: ")


def test_refused_heads_are_counted(gateway):
    exchange(gateway.rest_url, BAD_HEADS["bare LF"])
    _, text = http("GET", gateway.rest_url + "/metrics")
    assert 'gateway_requests_total{model="-",route="unparsed",status="400"}' in text


def test_a_newline_in_a_model_name_is_a_json_404(gateway):
    status, body, _ = exchange(
        gateway.rest_url, b"GET /v1/models/a%0Ab HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert status == 404 and "error" in body
