"""Reading a request: its JSON body, raw bytes and path, an uploaded file, the version pin.
The body is read whole before the request takes a slot (`read_body`), bounded by the body limit
in size and by the request's deadline in time."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import numpy as np
import orjson
from flask import current_app, g, request
from gunicorn.http.errors import ParseException

from serving.gateway import validation
from serving.gateway.app_state import gateway
from serving.gateway.cutoff import Cutoffs
from serving.gateway.errors import (
    InvalidInput,
    MalformedBody,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)

ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
"""A version in the query string (str.isdigit() also takes '²' and '１', which int() refuses or
reads as 1)."""
NOT_INTEGER_START = np.frombuffer(b".eE", np.uint8)
"""What precedes a run of digits that is a fraction or an exponent, not an integer."""
CUTOFFS = Cutoffs()
"""This worker's cutoffs: each body read ends when its request's deadline does."""


def read_body() -> None:
    """Read the whole body now, so no slot is held while a client sends it."""
    if request.method != "POST":
        return
    if request.mimetype == "multipart/form-data" and not g.tf_serving:  # an upload to a task
        with timed_reads():
            request.files  # noqa: B018  (parses the form: reads the body)
    else:
        raw_body()


def json_body() -> dict:
    if not request.is_json:
        raise UnsupportedMediaType(
            f"expected Content-Type: application/json, got {request.mimetype or 'none'}"
        )
    try:
        body = parsed(raw_body())
    except DuplicateKey as error:
        raise InvalidInput(
            f"body: the key {str(error)[:64]!r} appears twice in one object"
        ) from None
    except (ValueError, RecursionError) as error:
        raise InvalidInput(f"body: not valid JSON ({error})") from None
    if not isinstance(body, dict):
        raise InvalidInput(f"body: expected a JSON object, got {validation.describe(body)}")
    return body


def parsed(raw: bytes):
    """The JSON value of `raw`, read by orjson (several times faster than `json`) where its
    answer is exactly Python's, else by `json` with the duplicate-key check, whose errors name
    the problem. orjson's is exact when the text has one object (the only `{`), as many `:` as
    that object has keys (so no key repeats and no string holds a colon: a repeat would leave
    fewer keys than colons), and no integer long enough to pass 64 bits (orjson reads one as a
    float); NaN, Infinity, lone surrogates and anything else orjson refuses take the slow way."""
    if raw.count(b"{") == 1:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if isinstance(value, dict) and raw.count(b":") == len(value) and not _long_integer(raw):
                return value
    return json.loads(raw, object_pairs_hook=_unique_keys)


def _long_integer(text: bytes) -> bool:
    """Whether an object's text may hold an integer of 19 digits or more: a run of that many
    digits not after `.`, `e` or `E` (~10 µs for an image's 4.7 KB; a regular expression
    takes ~40). The text starts and ends with a non-digit (`{`, `}` or blanks)."""
    chars = np.frombuffer(text, np.uint8)
    breaks = np.flatnonzero((chars - 48) > 9)  # non-digits (uint8 wraps below '0')
    long_runs = np.diff(breaks) > 19
    return (
        bool(long_runs.any())
        and not np.isin(chars[breaks[:-1][long_runs]], NOT_INTEGER_START).all()
    )


class DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """An object, refused when a key repeats: parsers disagree on which value wins (Python's
    keeps the last, TF Serving's the first), so such a body has no one meaning."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen = set()
        raise DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return found


def raw_body() -> bytes:
    """The request body, read once; a chunked body (no Content-Length) over the limit is 413
    too (Werkzeug enforces the limit itself when the length is declared)."""
    if "raw_body" not in g:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        with timed_reads():
            if request.content_length is None:
                data = request.environ["wsgi.input"].read(limit + 1)
                if len(data) > limit:
                    raise PayloadTooLarge(f"body: larger than the limit of {limit} bytes")
                g.raw_body = data
            else:
                g.raw_body = request.get_data()
    return g.raw_body


@contextmanager
def timed_reads() -> Iterator[None]:
    """Reading the body waits at most GATEWAY_BODY_TIMEOUT_S for each piece of data, and no
    longer in all than the request's deadline leaves: a client that stops sending, or trickles,
    gets 408 instead of holding a worker's connection for ever. (Werkzeug turns the socket's
    TimeoutError into ClientDisconnected; its context still says why.)"""
    client_socket = request.environ.get("gunicorn.socket")
    seconds = gateway().settings.body_timeout_s
    g.deadline.remaining()  # 504 if nothing is left to read with
    cutoff = None
    if client_socket is not None:
        client_socket.settimeout(seconds)
        cutoff = CUTOFFS.add(client_socket, g.deadline.expires_at)
    length = request.content_length
    awaited = f"the {length} bytes declared" if length else "the end of the chunked body"
    failure: BaseException | None = None
    try:
        yield
    except BaseException as error:
        failure = error
    finally:
        if client_socket is not None:
            client_socket.settimeout(None)
    if cutoff is not None and CUTOFFS.cancel(cutoff):  # cut, or cut just as the last bytes came
        raise RequestTimeout(f"body: {awaited} not received within the deadline") from None
    if failure is None:
        return
    if isinstance(failure, TimeoutError) or isinstance(failure.__context__, TimeoutError):
        raise RequestTimeout(f"body: no data for {seconds:g} s before {awaited}") from None
    if isinstance(failure, ParseException):  # gunicorn's reader of a chunked body
        raise MalformedBody(
            f"body: malformed chunked encoding ({type(failure).__name__}: {str(failure)[:80]})"
        ) from None
    raise failure


def raw_path() -> str:
    """The path as the client sent it (percent-escapes intact), for the model server to parse."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    return quote(request.path, safe="/:@!$&'()*+,;=", errors="surrogateescape")


def uploaded_form(upload_field: str) -> dict:
    """A multipart body, which read_body has already parsed, as a JSON body would be: its one
    file as {upload_field: [bytes]}, beside its text fields (a version as digits)."""
    files = list(request.files.items(multi=True))
    if [name for name, _ in files] != [upload_field]:
        got = ", ".join(repr(name) for name, _ in files) or "none"
        raise InvalidInput(
            f"multipart body: expected exactly 1 image file, in the field {upload_field!r}; "
            f"got files in {got}"
        )
    body = {}
    for name, values in request.form.lists():
        if len(values) > 1:
            raise InvalidInput(f"multipart body: the field {name!r} appears twice")
        (value,) = values
        body[name] = int(value) if name == "version" and ASCII_DIGITS.fullmatch(value) else value
    return body | {upload_field: [files[0][1].read()]}
