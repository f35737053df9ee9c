"""load_image turns any photo a teacher may upload into upright RGB, and names what was wrong."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facerec import ImageError, check_image, load_image

RED, BLUE = (200, 30, 40), (20, 40, 210)


def two_colour_image(mode: str = "RGB", size=(40, 20)) -> Image.Image:
    """Left half red, right half blue (wider than tall), so orientation mistakes show."""
    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    pixels[:, : size[0] // 2] = RED
    pixels[:, size[0] // 2 :] = BLUE
    return Image.fromarray(pixels).convert(mode)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_a_png_decodes_to_exact_rgb_pixels():
    rgb = load_image(encode(two_colour_image(), "PNG"))

    assert rgb.shape == (20, 40, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[10, 5]) == RED
    assert tuple(rgb[10, 35]) == BLUE


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_lossy_formats_decode_to_close_colours(fmt):
    rgb = load_image(encode(two_colour_image(), fmt, quality=95))

    assert rgb.shape == (20, 40, 3)
    assert np.abs(rgb[10, 5].astype(int) - RED).max() < 12
    assert np.abs(rgb[10, 35].astype(int) - BLUE).max() < 12


def test_a_path_and_a_file_object_work_like_bytes(tmp_path):
    data = encode(two_colour_image(), "PNG")
    path = tmp_path / "photo.png"
    path.write_bytes(data)

    assert np.array_equal(load_image(path), load_image(data))
    assert np.array_equal(load_image(str(path)), load_image(io.BytesIO(data)))


def test_exif_orientation_turns_a_phone_photo_upright():
    image = two_colour_image()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"

    rgb = load_image(encode(image, "JPEG", exif=exif, quality=95))

    # The 40x20 landscape image becomes 20x40 portrait; the red left half ends up on top.
    assert rgb.shape == (40, 20, 3)
    assert rgb[5, 10, 0] > 150 and rgb[5, 10, 2] < 100
    assert rgb[35, 10, 2] > 150 and rgb[35, 10, 0] < 100


def test_grayscale_becomes_three_equal_channels():
    rgb = load_image(encode(Image.new("L", (8, 6), 77), "PNG"))

    assert rgb.shape == (6, 8, 3)
    assert set(np.unique(rgb)) == {77}


def test_transparent_pixels_become_white_and_opaque_ones_keep_their_colour():
    rgba = Image.new("RGBA", (4, 2), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (*RED, 255))

    rgb = load_image(encode(rgba, "PNG"))

    assert tuple(rgb[0, 0]) == RED
    assert tuple(rgb[1, 3]) == (255, 255, 255)


def test_cmyk_jpeg_converts_to_rgb():
    cmyk = two_colour_image("CMYK")

    rgb = load_image(encode(cmyk, "JPEG", quality=95))

    assert rgb.shape == (20, 40, 3)
    assert rgb[10, 5, 0] > 150 and rgb[10, 35, 2] > 150


def test_16_bit_grayscale_png_is_scaled_not_clipped():
    values = np.array([[0, 32768, 65535]], dtype=np.uint16)

    rgb = load_image(encode(Image.fromarray(values), "PNG"))

    assert rgb.shape == (1, 3, 3)
    assert rgb[0, :, 0].tolist() == [0, 128, 255]


def test_text_is_not_an_image():
    with pytest.raises(ImageError) as error:
        load_image(b"name,present\nalice,yes\n")

    assert error.value.code == "not_an_image"
    assert "not an image" in error.value.message


def test_empty_upload_is_not_an_image():
    with pytest.raises(ImageError) as error:
        load_image(b"")

    assert error.value.code == "not_an_image"


def test_a_jpeg_cut_in_half_is_reported_as_truncated():
    data = encode(
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)), "JPEG"
    )

    with pytest.raises(ImageError) as error:
        load_image(data[: len(data) // 2])

    assert error.value.code == "truncated_image"
    assert "incomplete" in error.value.message


def test_a_decompression_bomb_is_refused_before_decoding():
    # A 20000 x 20000 blank PNG is a few hundred kB but 400 megapixels once decoded.
    bomb = encode(Image.new("1", (20_000, 20_000)), "PNG")

    with pytest.raises(ImageError) as error:
        load_image(bomb)

    assert error.value.code == "image_too_large"
    assert "400 megapixels" in error.value.message


def test_the_pixel_limit_can_be_lowered():
    with pytest.raises(ImageError) as error:
        load_image(encode(two_colour_image(), "PNG"), max_pixels=100)

    assert error.value.code == "image_too_large"
    assert "limit is 0.0001 megapixels" in error.value.message


# --- checking an upload without keeping its pixels ----------------------------------------------


def test_checking_a_phone_photo_gives_its_upright_size():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"

    assert check_image(encode(two_colour_image(), "JPEG", exif=exif)) == (20, 40)
    assert check_image(encode(two_colour_image(), "PNG")) == (40, 20)


def test_checking_a_large_jpeg_never_holds_its_full_size_pixels():
    import tracemalloc

    noise = np.random.default_rng(0).integers(0, 255, (750, 1000, 3), np.uint8)
    data = encode(Image.fromarray(noise).resize((6000, 4500)), "JPEG", quality=80)
    full_size = 6000 * 4500 * 3

    tracemalloc.start()
    try:
        size = check_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert size == (6000, 4500)
    assert peak < full_size / 20  # load_image holds at least full_size bytes


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_checking_a_truncated_file_refuses_it_like_loading(fmt):
    noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)
    data = encode(Image.fromarray(noise), fmt)

    with pytest.raises(ImageError) as error:
        check_image(data[: len(data) // 2])

    assert error.value.code == "truncated_image"


def test_checking_a_decompression_bomb_refuses_it_before_decoding():
    with pytest.raises(ImageError) as error:
        check_image(encode(Image.new("1", (20_000, 20_000)), "PNG"))

    assert error.value.code == "image_too_large"
