"""What the clients people use actually receive from the gateway (under gunicorn, as deployed)
when the body is over the limit: the 413 with its JSON error, for urllib, http.client,
requests, httpx and curl alike. A server that answers early and closes resets the connection
under a client still sending (urllib and http.client send the whole body before reading), so
the gateway reads and discards the rest of the body after answering (a lingering close)."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from http import client as http_client
from urllib.parse import urlsplit

import httpx
import pytest
import requests

OVER = b'{"sequences": [[1]], "padding": "' + b"x" * (5 * 1024 * 1024) + b'"}'
"""A JSON body of 5 MiB: over the gateway's 4 MiB limit."""
JSON = {"Content-Type": "application/json"}
TOO_LARGE = {
    "error": {
        "code": "payload_too_large",
        "message": "body: larger than the limit of 4194304 bytes",
    }
}


def with_urllib(url: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=OVER, headers=JSON)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def with_http_client(url: str) -> tuple[int, dict]:
    parts = urlsplit(url)
    connection = http_client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("POST", parts.path, body=OVER, headers=JSON)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def with_requests(url: str) -> tuple[int, dict]:
    response = requests.post(url, data=OVER, headers=JSON, timeout=30)
    return response.status_code, response.json()


def with_httpx(url: str) -> tuple[int, dict]:
    response = httpx.post(url, content=OVER, headers=JSON, timeout=30)
    return response.status_code, response.json()


def with_curl(url: str, tmp_path) -> tuple[int, dict]:
    body = tmp_path / "body.json"
    body.write_bytes(OVER)
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            f"@{body}",
            "-w",
            "\n%{http_code}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    text, status = done.stdout.rsplit("\n", 1)
    return int(status), json.loads(text)


@pytest.mark.parametrize("send", [with_urllib, with_http_client, with_requests, with_httpx])
def test_a_body_over_the_limit_is_a_413_every_python_client_receives(gateway, send):
    assert send(gateway.rest_url + "/v1/sum") == (413, TOO_LARGE)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_receives_the_413_too(gateway, tmp_path):
    assert with_curl(gateway.rest_url + "/v1/sum", tmp_path) == (413, TOO_LARGE)


def test_the_next_request_after_a_413_is_served(gateway):
    assert with_requests(gateway.rest_url + "/v1/sum")[0] == 413
    response = requests.post(gateway.rest_url + "/v1/sum", json={"sequences": [[1, 1]]}, timeout=30)
    assert response.status_code == 200
