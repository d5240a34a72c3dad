"""MNIST-style preparation of uploaded images."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from client.images import MAX_IMAGE_PIXELS, ImageError, decode_digit

LIMIT = MAX_IMAGE_PIXELS


def encoded(image: Image.Image, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def drawn_seven(size=(300, 400), ink=0, paper=255, mode="L") -> Image.Image:
    """A thick '7' off-centre on a large canvas."""
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    draw.line([(40, 60), (200, 60), (110, 330)], fill=ink, width=28)
    return image


def centre_of_mass(digit: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(digit.shape)
    return (rows * digit).sum() / digit.sum(), (cols * digit).sum() / digit.sum()


def test_a_dark_on_light_drawing_becomes_a_centred_20_pixel_digit():
    digit = decode_digit(encoded(drawn_seven()), "img", LIMIT)
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.max() == pytest.approx(1.0) and digit.min() >= 0.0
    rows = np.flatnonzero(digit.max(axis=1) > 0.05)
    assert rows[-1] - rows[0] + 1 in (20, 21)
    row, col = centre_of_mass(digit)
    assert abs(row - 13.5) <= 1 and abs(col - 13.5) <= 1


def test_light_on_dark_jpeg_and_transparent_canvas_give_the_same_digit():
    reference = decode_digit(encoded(drawn_seven()), "img", LIMIT)
    inverted = decode_digit(encoded(drawn_seven(ink=255, paper=0), "JPEG"), "img", LIMIT)
    canvas = drawn_seven(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    transparent = decode_digit(encoded(canvas), "img", LIMIT)
    assert np.abs(inverted - reference).mean() < 0.03
    assert np.abs(transparent - reference).mean() < 0.03


def test_an_mnist_digit_scaled_up_comes_back_close_to_itself():
    original = np.zeros((28, 28), np.float32)
    original[4:24, 13:16] = 1.0
    original[4:7, 9:16] = 1.0
    big = Image.fromarray(((1 - original) * 255).astype(np.uint8)).resize((280, 280))
    digit = decode_digit(encoded(big), "img", LIMIT)
    best = max(
        np.corrcoef(np.roll(digit, (dy, dx), axis=(0, 1)).reshape(-1), original.reshape(-1))[0, 1]
        for dy in range(-3, 4)
        for dx in range(-3, 4)
    )
    assert best > 0.9


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (encoded(Image.new("L", (50, 50), 255)), "img: no digit found (the image is blank)"),
        (encoded(Image.new("L", (8, 8), 0), "GIF"), "img: expected a PNG or JPEG image, got GIF"),
        (encoded(drawn_seven())[:200], "img: damaged image"),
        (b"GIF89a garbage", "img: not a readable PNG or JPEG image"),
        (
            encoded(Image.new("L", (5000, 4000), 255)),
            "img: expected at most 4000000 pixels, got 5000x4000",
        ),
    ],
)
def test_unusable_images_are_invalid_input(data, message):
    with pytest.raises(ImageError) as raised:
        decode_digit(data, "img", LIMIT)
    assert raised.value.details.startswith(message)


def bomb(side: int) -> bytes:
    """A 1-bit palette PNG with a transparent colour: a few KB that decode to side² pixels."""
    image = Image.new("P", (side, side), 0)
    image.putpalette([0, 0, 0, 255, 255, 255])
    ImageDraw.Draw(image).line([(side // 5, side // 5), (side // 2, side * 4 // 5)], 1, side // 40)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", bits=1, transparency=0, optimize=True)
    return buffer.getvalue()


def test_a_decompression_bomb_is_refused_from_its_header():
    data = bomb(4000)
    assert len(data) < 20_000
    with pytest.raises(ImageError, match="expected at most 4000000 pixels, got 4000x4000"):
        decode_digit(data, "img", LIMIT)


def test_an_image_within_the_budget_is_reduced_before_any_float_work():
    """2000 × 2000 (the largest square in the default budget) of transparent palette
    image still gives the digit: the alpha channel, box-reduced in Pillow."""
    digit = decode_digit(bomb(2000), "img", LIMIT)
    assert digit.shape == (28, 28) and digit.max() == pytest.approx(1.0)


def test_a_large_jpeg_photo_is_decoded_at_a_reduced_scale():
    """A 12-megapixel JPEG counts as what it is decoded into (DCT scaling), not 12 M."""
    photo = drawn_seven(size=(3000, 4000)).resize((3000, 4000))
    digit = decode_digit(encoded(photo, "JPEG"), "img", LIMIT)
    reference = decode_digit(encoded(drawn_seven()), "img", LIMIT)
    assert np.abs(digit - reference).mean() < 0.05


def test_the_exif_orientation_is_applied():
    upright = drawn_seven()
    turned = upright.transpose(Image.Transpose.ROTATE_90)  # stored turned, EXIF says turn back
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    turned.save(buffer, "JPEG", exif=exif.tobytes())
    digit = decode_digit(buffer.getvalue(), "img", LIMIT)
    reference = decode_digit(encoded(upright, "JPEG"), "img", LIMIT)
    assert np.abs(digit - reference).mean() < 0.03
