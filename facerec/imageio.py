"""Decoding uploaded files into RGB arrays, with errors a person can act on."""

from __future__ import annotations

import io
import os
import re
import warnings
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facerec.errors import ImageError

DEFAULT_MAX_PIXELS = 40_000_000
ImageSource = bytes | bytearray | str | os.PathLike | BinaryIO


def load_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a photo into an (H, W, 3) uint8 RGB array, upright per its EXIF orientation.

    source: file bytes, a path, or a binary file object (JPEG, PNG, WebP, ... as Pillow reads them).
    max_pixels: refuse images with more than this many pixels (width * height), before decoding,
        so a small "decompression bomb" file cannot exhaust memory.
    Grayscale, palette, RGBA (composited on white), CMYK and 16-bit images are converted.
    Raises ImageError with code not_an_image, truncated_image, image_too_large or
    unsupported_image.
    """
    image = _open(source)
    _check_size(image, max_pixels)
    _decode(image)
    image = ImageOps.exif_transpose(image)
    return np.ascontiguousarray(_to_rgb(image))


def check_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Check that a photo decodes, without keeping its pixels; returns its upright (width, height).

    For an upload's check in the web process: a JPEG is decoded at 1/8 scale (Pillow's draft
    mode scales the DCT; every byte of the file is still decoded, so a truncated file is still
    refused), which takes about 1/64 of the memory of ``load_image``. Other formats decode fully.
    Raises ImageError with the codes of ``load_image``.
    """
    image = _open(source)
    _check_size(image, max_pixels)
    width, height = image.size
    if image.format == "JPEG":
        image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
    _decode(image)
    _to_rgb(image)  # refuses colour modes load_image would refuse
    # EXIF orientations 5-8 turn the photo a quarter: load_image returns it upright.
    turned = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    return (height, width) if turned else (width, height)


def _decode(image: Image.Image) -> None:
    try:
        image.load()
    except OSError as exc:
        raise _truncated() from exc
    except Exception as exc:  # noqa: BLE001 - a corrupt file may fail in any codec
        raise ImageError("unsupported_image", f"The image could not be decoded ({exc}).") from exc


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    try:
        # Pillow warns (rather than raises) between 1x and 2x its own limit; we check the size
        # ourselves against max_pixels, so silence its check.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source)
    except FileNotFoundError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses (> 2x its own limit) before we see the size; its message has the count.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_large(int(found.group(1)) if found else 0) from exc
    except (UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise ImageError(
            "not_an_image", "The file is not an image. Upload a JPEG, PNG or WebP photo."
        ) from exc
    except OSError as exc:
        raise _truncated() from exc


def _check_size(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise _too_large(width * height, max_pixels)
    if width < 1 or height < 1:
        raise ImageError("unsupported_image", "The image has no pixels.")


def _too_large(pixels: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageError:
    size = f" ({pixels / 1e6:.3g} megapixels)" if pixels else ""
    limit = max_pixels / 1e6
    return ImageError(
        "image_too_large",
        f"The image is too large{size}; the limit is {limit:g} megapixels. "
        "Resize it and upload again.",
    )


def _truncated() -> ImageError:
    return ImageError(
        "truncated_image", "The image file is incomplete or damaged. Upload the photo again."
    )


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to RGB uint8; 16-bit and float modes are scaled, not clipped."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _high_depth_to_rgb(np.asarray(image))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels become white, as they look in a browser on a white page.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    try:
        return np.asarray(image.convert("RGB"))
    except (ValueError, OSError) as exc:
        raise ImageError(
            "unsupported_image", f"Images in colour mode {image.mode} are not supported."
        ) from exc


def _high_depth_to_rgb(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64)
    # 16-bit files use 0..65535; Pillow's 32-bit "I" mode may hold either range.
    top = 65535.0 if values.max(initial=0) > 255 else 255.0
    gray = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)
