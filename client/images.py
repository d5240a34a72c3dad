"""PNG/JPEG bytes → a 28×28 digit in [0, 1], prepared the way MNIST's digits were.

Grayscale (or the alpha channel, for drawings on a transparent canvas), inverted when the
background is light, cropped to the ink, scaled so the longer side is 20 pixels, and placed in
a 28×28 field with its centre of mass at the centre. A digit photographed or drawn dark on
white is classified only after this (the model was trained on bright ink, centred).
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from client.errors import InvalidInput
from contract.models import SIDE

BOX = 20
"""The digit is scaled to fit a BOX × BOX square, as MNIST's were."""
MAX_IMAGE_PIXELS = 4_000_000
"""Default limit on the pixels an image is decoded into (width × height, read from its header
before decoding: a decompression-bomb guard). A JPEG is decoded at the smallest DCT scale that
keeps WORKING_SIDE, so a 12-megapixel photo counts as under 1 M; a PNG is decoded whole, and 4
M pixels of it cost at most ~12 MB and a few tens of milliseconds."""
WORKING_SIDE = 256
"""The image is box-reduced (in Pillow's C code) until its longer side is at most about this,
before any NumPy work: plenty for a digit that ends up 20 pixels tall."""
FORMATS = ("PNG", "JPEG")
INK_FRACTION = 0.2
"""Pixels brighter than this share of the brightest count as ink when cropping."""
MIN_CONTRAST = 0.1


class ImageError(InvalidInput):
    """The image cannot be used; the message names it and says why."""


def prepare_digit(
    source: bytes | str | os.PathLike, max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """The 28×28 float32 image in [0, 1] that `ServingClient.digits` takes, from a PNG or JPEG
    file (a path) or its bytes, of any size, dark ink on light or light on dark; ImageError
    (an InvalidInput) says why an image cannot be used."""
    if isinstance(source, bytes):
        return decode_digit(source, "image", max_pixels)
    try:
        with open(source, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ImageError(f"{source}: {error.strerror}") from None
    return decode_digit(data, str(source), max_pixels)


def decode_digit(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    """The MNIST-style 28×28 float32 image in `data`; `name` is used in error messages."""
    return mnist_style(_intensity(data, name, max_pixels), name)


def mnist_style(intensity: np.ndarray, name: str) -> np.ndarray:
    """Ink-is-bright 2-D array in [0, 1] → centred 28×28 digit in [0, 1]."""
    border = np.concatenate([intensity[0], intensity[-1], intensity[:, 0], intensity[:, -1]])
    if np.median(border) > 0.5:
        intensity = 1.0 - intensity
        border = 1.0 - border
    ink = np.clip(intensity - np.median(border), 0.0, None)
    if ink.max() < MIN_CONTRAST:
        raise ImageError(f"{name}: no digit found (the image is blank)")
    rows = np.flatnonzero((ink > INK_FRACTION * ink.max()).any(axis=1))
    cols = np.flatnonzero((ink > INK_FRACTION * ink.max()).any(axis=0))
    cropped = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = cropped.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(
        Image.fromarray(cropped.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX)
    )
    resized = np.clip(resized / resized.max(), 0.0, 1.0)
    return _centred(resized)


def _intensity(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    """The image's ink channel (alpha for a drawing on a transparent canvas, else grey) in
    [0, 1], at most about WORKING_SIDE on its longer side. Memory and time are bounded by the
    header's pixel count, checked before anything is decoded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise ImageError(f"{name}: expected a PNG or JPEG image, got {image.format}")
            if image.format == "JPEG":
                image.draft("L", (WORKING_SIDE, WORKING_SIDE))  # decoded at a reduced scale
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(
                    f"{name}: expected at most {max_pixels} pixels, got {width}x{height}"
                )
            orientation = image.getexif().get(ORIENTATION_TAG)
            channel = _ink_channel(image)
        factor = max(1, max(width, height) // WORKING_SIDE)
        if factor > 1:
            channel = channel.reduce(factor)
        if orientation:
            exif = Image.Exif()
            exif[ORIENTATION_TAG] = orientation
            channel.info["exif"] = exif.tobytes()
            channel = ImageOps.exif_transpose(channel)
        return np.asarray(channel, np.float32) / 255.0
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ImageError(f"{name}: not a readable PNG or JPEG image") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{name}: damaged image ({error})") from None


ORIENTATION_TAG = 0x0112


def _ink_channel(image: Image.Image) -> Image.Image:
    """One 8-bit band: the alpha channel when the image has some transparency, else grey."""
    if "A" in image.getbands() or "transparency" in image.info:
        alpha = image.convert("LA" if image.mode in ("1", "L", "P", "LA") else "RGBA")
        alpha = alpha.getchannel("A")
        if alpha.getextrema()[0] < 255:
            return alpha
    return image.convert("L")


def _centred(digit: np.ndarray) -> np.ndarray:
    field = np.zeros((SIDE, SIDE), np.float32)
    height, width = digit.shape
    total = digit.sum()
    rows, cols = np.indices(digit.shape)
    centre_row, centre_col = (rows * digit).sum() / total, (cols * digit).sum() / total
    middle = (SIDE - 1) / 2
    top = int(np.clip(round(middle - centre_row), 0, SIDE - height))
    left = int(np.clip(round(middle - centre_col), 0, SIDE - width))
    field[top : top + height, left : left + width] = digit
    return field
