"""Images made inside the tests: shape folders, odd PNGs, DICOM copies.

Nothing is downloaded: shapes are drawn with `fedcluster.data.image_demo`
and the DICOM files are the test files that pydicom ships.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from fedcluster.data.image_demo import SHAPES, draw_shape


def shape_folder(
    root: Path,
    counts: Mapping[str, int],
    *,
    size: int = 16,
    channels: int = 1,
    seed: int = 0,
) -> Path:
    """`root/<shape>/<n>.png` with `counts[shape]` images of each shape."""
    rng = np.random.default_rng(seed)
    for shape, count in counts.items():
        folder = root / shape
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(count):
            picture = draw_shape(shape, size=size, channels=channels, rng=rng)
            picture.save(folder / f"{number:03d}.png")
    return root


def even_shapes(root: Path, per_class: int = 12, **options: int) -> Path:
    """An image folder with `per_class` images of every shape."""
    return shape_folder(root, dict.fromkeys(SHAPES, per_class), **options)


def grey_png(path: Path, size: tuple[int, int] = (20, 20), value: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], value, dtype=np.uint8), mode="L").save(path)
    return path


def colour_png(path: Path, size: tuple[int, int] = (20, 20)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    pixels[..., 0] = 200
    Image.fromarray(pixels, mode="RGB").save(path)
    return path


def pydicom_file(name: str, target: Path) -> Path:
    """A copy of one of pydicom's own test files at `target`."""
    from pydicom.data import get_testdata_file

    source = get_testdata_file(name)
    assert source is not None, f"pydicom does not ship {name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(str(source), target)
    return target
