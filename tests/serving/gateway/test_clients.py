"""What the clients people use actually receive from the gateway (under gunicorn, as deployed)
when a request breaks a limit: 413 for a body over the limit, 431 for header fields over
gunicorn's limits, 414 for a request line too long, 408 for a body that stops arriving — each
with its JSON error, for urllib, http.client, requests, httpx and curl alike. A server that
answers early and closes resets the connection under a client still sending (urllib and
http.client send the whole request before reading), so the gateway reads and discards the
rest after answering (a lingering close, as nginx does)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http import client as http_client
from urllib.parse import urlsplit

import httpx
import pytest
import requests

from tests.conftest import GATEWAY_BODY_TIMEOUT_S

OVER = b'{"sequences": [[1]], "padding": "' + b"x" * (5 * 1024 * 1024) + b'"}'
"""A JSON body of 5 MiB: over the gateway's 4 MiB limit."""
SMALL = b'{"sequences": [[1, 1]]}'
JSON = {"Content-Type": "application/json"}
HUGE_HEADER = {**JSON, "X-Trace": "t" * 10_000}
"""One header field over gunicorn's limit_request_field_size (8190 bytes)."""
TOO_LARGE = {
    "error": {
        "code": "payload_too_large",
        "message": "body: larger than the limit of 4194304 bytes",
    }
}
curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def slow_body():
    """SMALL in two parts with a pause longer than GATEWAY_BODY_TIMEOUT_S between them."""
    yield SMALL[:5]
    time.sleep(GATEWAY_BODY_TIMEOUT_S + 0.6)
    yield SMALL[5:]


def with_urllib(url: str, body=OVER, headers=JSON) -> tuple[int, dict]:
    if not isinstance(body, bytes):  # an iterable body needs its length declared
        headers = {**headers, "Content-Length": str(len(SMALL))}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def with_http_client(url: str, body=OVER, headers=JSON) -> tuple[int, dict]:
    parts = urlsplit(url)
    connection = http_client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("POST", parts.path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def with_requests(url: str, body=OVER, headers=JSON) -> tuple[int, dict]:
    response = requests.post(url, data=body, headers=headers, timeout=30)
    return response.status_code, response.json()


def with_httpx(url: str, body=OVER, headers=JSON) -> tuple[int, dict]:
    response = httpx.post(url, content=body, headers=headers, timeout=30)
    return response.status_code, response.json()


def with_curl(url: str, body=OVER, headers=JSON) -> tuple[int, dict]:
    """curl posting bytes with their length, or streaming an iterable body from its stdin
    (chunked, sent as it comes)."""
    command = ["curl", "-sS", "-w", "\n%{http_code}", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if isinstance(body, bytes):
        command += ["--data-binary", "@-"]
        parts = [body]
    else:
        command += ["-X", "POST", "-T", "-"]
        parts = body
    curl_process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    for part in parts:
        curl_process.stdin.write(part)
        curl_process.stdin.flush()
    out, err = curl_process.communicate(timeout=60)
    assert curl_process.returncode == 0, err
    text, status = out.decode().rsplit("\n", 1)
    return int(status), json.loads(text)


PYTHON_CLIENTS = [with_urllib, with_http_client, with_requests, with_httpx]
EVERY_CLIENT = [*PYTHON_CLIENTS, pytest.param(with_curl, marks=curl)]


@pytest.mark.parametrize("send", EVERY_CLIENT)
def test_a_body_over_the_limit_is_a_413_every_client_receives(gateway, send):
    assert send(gateway.rest_url + "/v1/sum") == (413, TOO_LARGE)


def test_the_next_request_on_a_kept_alive_connection_after_a_413_is_served(gateway):
    """The 413 says `Connection: close` and the gateway closes, so a client that keeps its
    connections alive sends its next request on a new one, which is answered: http.client
    (one HTTPConnection object), a requests Session and an httpx Client, each several times."""
    parts = urlsplit(gateway.rest_url)
    connection = http_client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    session, client = requests.Session(), httpx.Client(timeout=30)
    url = gateway.rest_url + "/v1/sum"
    for _ in range(3):
        connection.request("POST", "/v1/sum", body=OVER, headers=JSON)
        response = connection.getresponse()
        assert (response.status, response.getheader("Connection")) == (413, "close")
        response.read()
        connection.request("POST", "/v1/sum", body=SMALL, headers=JSON)
        response = connection.getresponse()
        assert response.status == 200, response.read()
        assert json.loads(response.read())["sums"]
        assert session.post(url, data=OVER, headers=JSON).status_code == 413
        assert session.post(url, data=SMALL, headers=JSON).status_code == 200
        assert client.post(url, content=OVER, headers=JSON).status_code == 413
        assert client.post(url, content=SMALL, headers=JSON).status_code == 200
    connection.close()
    session.close()
    client.close()


@pytest.mark.parametrize("send", EVERY_CLIENT)
def test_a_header_field_over_the_limit_is_a_431_every_client_receives(gateway, send):
    status, body = send(gateway.rest_url + "/v1/sum", SMALL, HUGE_HEADER)
    assert status == 431
    assert body["error"]["code"] == "request_header_fields_too_large"
    assert "8190 bytes" in body["error"]["message"]


def test_a_request_line_over_the_limit_is_a_414(gateway):
    status, body = with_requests(gateway.rest_url + "/v1/sum?" + "q" * 5000, SMALL)
    assert (status, body["error"]["code"]) == (414, "uri_too_long")


def test_a_body_that_stops_arriving_is_a_408_every_client_receives(gateway):
    """GATEWAY_BODY_TIMEOUT_S after the last bytes, the gateway answers 408 (nginx's
    client_body_timeout); each client pauses mid-body longer than that, all at once. urllib
    declares the length; the others stream chunked."""
    senders = [with_urllib, with_http_client, with_requests, with_httpx]
    if shutil.which("curl"):
        senders.append(with_curl)
    url = gateway.rest_url + "/v1/sum"
    with ThreadPoolExecutor(len(senders)) as pool:
        answers = list(pool.map(lambda send: send(url, slow_body(), JSON), senders))
    for send, (status, body) in zip(senders, answers, strict=True):
        assert status == 408, (send.__name__, body)
        assert body["error"]["code"] == "request_timeout", (send.__name__, body)
