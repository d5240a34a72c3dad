"""What the OpenAPI document cannot state, for schemathesis: an image field — "format": "byte"
(base64 in JSON) or "binary" (a multipart file), the only fields in the document with those
formats — is valid when it holds a PNG or JPEG with a digit on it. Positive cases carry such
images (a dark or light background, a block of ink inside a one-pixel margin), so a 400 for
one is a real failure; the hostile images are the hostile-input tests' job."""

from __future__ import annotations

import base64
import io

import numpy as np
import schemathesis
from hypothesis import strategies as st
from PIL import Image


@st.composite
def digit_images(draw) -> bytes:
    height, width = draw(st.integers(8, 48)), draw(st.integers(8, 48))
    background = draw(st.sampled_from([0, 255]))
    pixels = np.full((height, width), background, np.uint8)
    top, left = draw(st.integers(1, height - 2)), draw(st.integers(1, width - 2))
    bottom, right = draw(st.integers(top + 1, height - 1)), draw(st.integers(left + 1, width - 1))
    pixels[top:bottom, left:right] = 255 - background
    encoded = io.BytesIO()
    Image.fromarray(pixels).save(encoded, format=draw(st.sampled_from(["PNG", "JPEG"])))
    return encoded.getvalue()


schemathesis.openapi.format("byte", digit_images().map(lambda raw: base64.b64encode(raw).decode()))
schemathesis.openapi.format("binary", digit_images())
