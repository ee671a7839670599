"""Example images that need no download: one simple shape per class.

`fedcluster init --task images` writes these when the user gives no image
folder of their own, and the tests train on them. Each image is a circle,
square, triangle or cross of random size, position and colour on a noisy
background: easy enough for a small CNN to learn within a few rounds, hard
enough that a hospital which never saw a shape cannot recognise it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

log = logging.getLogger(__name__)

SHAPES = ("circle", "square", "triangle", "cross")


def draw_shape(
    shape: str, *, size: int, channels: int, rng: np.random.Generator
) -> Image.Image:
    """One `size` x `size` picture of `shape` (greyscale when `channels` is 1)."""
    background = rng.uniform(0.0, 0.35)
    noise = rng.normal(background, 0.08, size=(size, size, 3))
    picture = Image.fromarray(
        (np.clip(noise, 0.0, 1.0) * 255).astype(np.uint8), mode="RGB"
    )
    colour = tuple(int(c) for c in rng.integers(140, 256, size=3))
    radius = rng.uniform(0.2, 0.36) * size
    centre_x, centre_y = rng.uniform(radius, size - radius, size=2)
    box = (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius)
    draw = ImageDraw.Draw(picture)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon(
            [(centre_x, box[1]), (box[0], box[3]), (box[2], box[3])], fill=colour
        )
    elif shape == "cross":
        bar = max(1.0, radius / 2.5)
        draw.rectangle((box[0], centre_y - bar, box[2], centre_y + bar), fill=colour)
        draw.rectangle((centre_x - bar, box[1], centre_x + bar, box[3]), fill=colour)
    else:
        raise ValueError(f"unknown shape {shape!r}; use one of {', '.join(SHAPES)}")
    return picture.convert("L") if channels == 1 else picture


def write_shape_images(
    root: Path,
    *,
    per_class: int,
    size: int = 32,
    channels: int = 3,
    seed: int = 0,
    shapes: tuple[str, ...] = SHAPES,
) -> int:
    """Write `root/<shape>/<shape>-NNNN.png` for each shape; return the count."""
    rng = np.random.default_rng(seed)
    for shape in shapes:
        folder = root / shape
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(per_class):
            picture = draw_shape(shape, size=size, channels=channels, rng=rng)
            picture.save(folder / f"{shape}-{number:04d}.png")
    log.debug("wrote %d example images to %s", per_class * len(shapes), root)
    return per_class * len(shapes)
