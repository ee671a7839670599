"""Decoding one image file into pixel values: PNG and JPEG with Pillow, DICOM
with pydicom.

Every decoder returns a float32 array of shape (channels, height, width) with
values in [0, 1], at the file's own size and with its own channel count.
Checking the result against a task (class, size, channels) is the job of
`fedcluster.data.images`, which knows the hospital and turns problems into
one-line errors.

How intensities reach [0, 1]:

- 8-bit pictures are divided by 255, 16-bit greyscale PNGs by 65535;
- an alpha channel is dropped (greyscale + alpha counts as one channel,
  colour + alpha as three), and palette images count as colour;
- DICOM pixel data goes through the file's modality transform (e.g. CT
  Hounsfield units), then is scaled per image from its own minimum to its
  own maximum, because stored bit depths and value ranges differ between
  scanners; MONOCHROME1 images (white = low) are inverted. Windowing is not
  applied: a task that needs a fixed window should export pictures instead.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})

Pixels = NDArray[np.float32]

# Pillow modes by the channel count fedcluster gives them.
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L"})
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA", "CMYK", "YCbCr"})


class UnreadableImage(Exception):
    """The file cannot be decoded; the message says why in a few words."""


def is_dicom(path: Path) -> bool:
    """Whether `path` is DICOM: by suffix, or by the `DICM` preamble marker."""
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    if path.suffix:
        return False
    # DICOM files often have no suffix at all (PACS exports, DICOMDIR trees).
    try:
        with path.open("rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def is_image_file(path: Path) -> bool:
    """Whether fedcluster can read `path` as an image, judged by its name."""
    return path.suffix.lower() in PICTURE_SUFFIXES or is_dicom(path)


def read_image(path: Path) -> Pixels:
    """Pixels of one PNG, JPEG or DICOM file as (channels, height, width)."""
    if is_dicom(path):
        return _read_dicom(path)
    return _read_picture(path)


def _read_picture(path: Path) -> Pixels:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as picture:
            picture.load()
            mode = picture.mode
            if mode in _GREY_MODES:
                values = _grey_values(picture)
            elif mode in _COLOUR_MODES:
                rgb = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
                values = rgb.transpose(2, 0, 1)
            else:
                raise UnreadableImage(
                    f"Pillow mode {mode!r} is not supported; "
                    "save it as 8-bit greyscale or RGB"
                )
    except UnidentifiedImageError as error:
        raise UnreadableImage("not a PNG or JPEG image Pillow can decode") from error
    except (OSError, ValueError, SyntaxError) as error:
        # Pillow raises these for truncated or corrupt files.
        raise UnreadableImage(_first_line(error) or "corrupt image data") from error
    return np.ascontiguousarray(values, dtype=np.float32)


def _grey_values(picture: Image.Image) -> NDArray[np.float32]:
    if picture.mode in ("1", "LA", "La"):
        picture = picture.convert("L")
    raw = np.asarray(picture)
    # Mode L holds 8-bit values; the I modes hold 16-bit PNG samples.
    scale = 255.0 if picture.mode == "L" else 65535.0
    grey: NDArray[np.float32] = np.clip(raw.astype(np.float32) / scale, 0.0, 1.0)
    return grey[np.newaxis]


def _read_dicom(path: Path) -> Pixels:
    import pydicom
    from pydicom.pixels.processing import apply_color_lut, apply_modality_lut

    try:
        dataset = pydicom.dcmread(path)
        frames = int(dataset.get("NumberOfFrames", 1) or 1)
        if frames > 1:
            raise UnreadableImage(
                f"holds {frames} frames; export one image (one frame) per file"
            )
        pixels = dataset.pixel_array
        photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2"))
        if photometric == "PALETTE COLOR":
            pixels = apply_color_lut(pixels, dataset)
        elif pixels.ndim == 2:
            pixels = apply_modality_lut(pixels, dataset)
    except UnreadableImage:
        raise
    except Exception as error:
        # pydicom reports bad files, missing pixel data and missing
        # decompression plugins with many exception types; all mean the same
        # thing to a hospital: this file cannot be used as it is.
        raise UnreadableImage(
            f"pydicom cannot decode it ({_first_line(error)})"
        ) from error

    values = np.asarray(pixels, dtype=np.float64)
    if values.ndim == 2:
        values = values[np.newaxis]
    elif values.ndim == 3 and values.shape[-1] == 3:
        values = values.transpose(2, 0, 1)
    else:
        raise UnreadableImage(f"pixel data of shape {values.shape} is not one image")
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    if photometric == "MONOCHROME1":
        scaled = 1.0 - scaled
    log.debug("decoded DICOM %s (%s, %s)", path.name, photometric, values.shape)
    return np.ascontiguousarray(scaled, dtype=np.float32)


def resize(pixels: Pixels, size: int) -> Pixels:
    """`pixels` resampled (bilinear, per channel) to `size` x `size`."""
    from PIL import Image

    if pixels.shape[1:] == (size, size):
        return pixels
    channels = [
        np.asarray(
            Image.fromarray(channel).resize((size, size), Image.Resampling.BILINEAR),
            dtype=np.float32,
        )
        for channel in pixels
    ]
    return np.clip(np.stack(channels), 0.0, 1.0)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:160] if text else type(error).__name__
