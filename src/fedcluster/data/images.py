"""Reading one hospital's images and checking them against the task.

A hospital's `data` path is one of:

- an image folder, `<root>/<class name>/<file>`, with PNG, JPEG or DICOM
  files; a class the hospital has no images of simply has no folder;
- a folder holding a labels CSV (`labels.csv` unless the task says
  otherwise), or the CSV itself: two columns `file,label`, where `file` is
  relative to the CSV's folder and `label` is a class name. This is the usual
  shape of a DICOM export, but the files may be PNG or JPEG too.

Class names map to indices through the task's `classes` list, which the
federation file fixes, so every hospital numbers the classes the same way.

Every image is resized (bilinear) to the task's `image_size` unless the task
sets `resize = false`, in which case an image of another size is refused. An
image whose channel count differs from the task's `channels` is always
refused rather than converted: silently turning colour into greyscale, or
greyscale into fake colour, hides a mistake in the export. Every problem is a
`SiteDataError` naming the hospital and the file.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from fedcluster.data.image_files import (
    Pixels,
    UnreadableImage,
    is_image_file,
    read_image,
    resize,
)
from fedcluster.data.standardise import STAT_KEYS
from fedcluster.errors import SiteDataError

log = logging.getLogger(__name__)

LABEL_COLUMNS = ("file", "label")


@dataclass(frozen=True)
class ImageSpec:
    """What every hospital's images must turn into."""

    classes: tuple[str, ...]
    image_size: int
    channels: int
    resize: bool = True
    labels_file: str = "labels.csv"


@dataclass(frozen=True)
class SiteImages:
    """One hospital's images, checked: (n, channels, size, size) in [0, 1]."""

    images: NDArray[np.float32]
    labels: NDArray[np.int64]
    layout: str  # "class folders" or the labels CSV's name


def read_site_images(hospital: str, path: Path, spec: ImageSpec) -> SiteImages:
    """Read and check the images at `path` for `hospital`."""
    if not path.exists():
        raise SiteDataError(
            hospital, f"{path}: no such folder; check the hospital's `data` path"
        )
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise SiteDataError(
                hospital,
                f"{path}: is a file; point `data` at an image folder "
                "(<root>/<class>/<image>) or at a labels CSV (file,label)",
            )
        pairs = _labelled_files(hospital, path, spec)
        layout = path.name
    elif (path / spec.labels_file).is_file():
        pairs = _labelled_files(hospital, path / spec.labels_file, spec)
        layout = spec.labels_file
    else:
        pairs = _class_folder_files(hospital, path, spec)
        layout = "class folders"

    images = np.stack([_load(hospital, file, spec) for file, _ in pairs])
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    log.debug("read %d images (%s) at %s for %s", len(labels), layout, path, hospital)
    return SiteImages(images=images, labels=labels, layout=layout)


def channel_statistics(images: NDArray[np.float32]) -> dict[str, NDArray[np.float64]]:
    """Per-channel pixel count, sum and sum of squares: additive across sites.

    The keys are those of `fedcluster.data.standardise`, so the server adds
    them up with `combine_statistics` and `Standardiser` turns the total into
    a per-channel mean and standard deviation. No pixel is ever missing.
    """
    channels = images.shape[1]
    values = images.astype(np.float64).transpose(1, 0, 2, 3).reshape(channels, -1)
    statistics = {
        "count": np.full(channels, values.shape[1], dtype=np.float64),
        "sum": values.sum(axis=1),
        "sum_squares": (values**2).sum(axis=1),
        "missing": np.zeros(channels, dtype=np.float64),
    }
    assert tuple(statistics) == STAT_KEYS
    return statistics


# --- layouts -----------------------------------------------------------------


def _class_folder_files(
    hospital: str, root: Path, spec: ImageSpec
) -> list[tuple[Path, int]]:
    entries = sorted(entry for entry in root.iterdir() if _visible(entry))
    loose = [entry for entry in entries if entry.is_file()]
    if loose:
        raise SiteDataError(
            hospital,
            f"{loose[0]}: not inside a class folder; move it to "
            f"{root}/<class name>/, or add a {spec.labels_file} (file,label)",
        )
    unknown = [entry.name for entry in entries if entry.name not in spec.classes]
    if unknown:
        raise SiteDataError(
            hospital,
            f"{root / unknown[0]}: folder {unknown[0]!r} is not one of the task's "
            f"classes ({', '.join(spec.classes)}); rename it or add it to "
            "task.classes in the federation file",
        )
    if not entries:
        raise SiteDataError(
            hospital,
            f"{root}: no class folders; expected {root}/<class>/<image> "
            f"for classes {', '.join(spec.classes)}",
        )

    pairs: list[tuple[Path, int]] = []
    for folder in entries:
        files = sorted(entry for entry in folder.iterdir() if _visible(entry))
        if not files:
            raise SiteDataError(
                hospital,
                f"{folder}: class folder {folder.name!r} is empty; "
                "add its images or remove the folder",
            )
        for file in files:
            if file.is_dir():
                raise SiteDataError(
                    hospital,
                    f"{file}: a folder inside class folder {folder.name!r}; "
                    "put the images directly in the class folder",
                )
            if not is_image_file(file):
                raise SiteDataError(
                    hospital,
                    f"{file}: not a PNG, JPEG or DICOM file; "
                    "remove it from the class folder",
                )
        index = spec.classes.index(folder.name)
        pairs.extend((file, index) for file in files)
    return pairs


def _labelled_files(
    hospital: str, labels_csv: Path, spec: ImageSpec
) -> list[tuple[Path, int]]:
    rows = _read_label_rows(hospital, labels_csv)
    base = labels_csv.parent
    pairs: list[tuple[Path, int]] = []
    missing: list[str] = []
    for line, (name, label) in rows:
        if label not in spec.classes:
            raise SiteDataError(
                hospital,
                f"{labels_csv}: line {line} labels {name!r} as {label!r}, which is "
                f"not one of the task's classes ({', '.join(spec.classes)}); fix "
                "the label or add the class to task.classes",
            )
        file = base / name
        if not file.is_file():
            missing.append(name)
            continue
        pairs.append((file, spec.classes.index(label)))
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise SiteDataError(
            hospital,
            f"{labels_csv}: names a file that does not exist: {base / missing[0]}"
            f"{more}; copy the file there or remove its line",
        )
    return pairs


def _read_label_rows(
    hospital: str, labels_csv: Path
) -> list[tuple[int, Sequence[str]]]:
    try:
        with labels_csv.open(newline="", encoding="utf-8-sig") as handle:
            table = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise SiteDataError(
            hospital,
            f"{labels_csv}: cannot be read ({error}); save it as UTF-8 CSV",
        ) from error
    if not table:
        raise SiteDataError(
            hospital, f"{labels_csv}: the file is empty; write a header file,label"
        )
    header = tuple(cell.strip() for cell in table[0])
    if header != LABEL_COLUMNS:
        raise SiteDataError(
            hospital,
            f"{labels_csv}: header is {','.join(header)!r}, expected 'file,label'; "
            "write exactly those two columns",
        )
    rows: list[tuple[int, Sequence[str]]] = []
    for line, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 2 or not cells[0].strip() or not cells[1].strip():
            raise SiteDataError(
                hospital,
                f"{labels_csv}: line {line} does not have a file and a label; "
                "write one 'file,label' pair per line",
            )
        rows.append((line, (cells[0].strip(), cells[1].strip())))
    if not rows:
        raise SiteDataError(hospital, f"{labels_csv}: lists no images")
    return rows


# --- one image ---------------------------------------------------------------


def _load(hospital: str, file: Path, spec: ImageSpec) -> Pixels:
    try:
        pixels = read_image(file)
    except UnreadableImage as error:
        raise SiteDataError(
            hospital, f"{file}: unreadable: {error}; export it again or remove it"
        ) from error
    channels, height, width = pixels.shape
    if channels != spec.channels:
        raise SiteDataError(
            hospital,
            f"{file}: has {_channel_words(channels)}, the task expects "
            f"{_channel_words(spec.channels)}; convert the image or change "
            "task.channels",
        )
    if (height, width) != (spec.image_size, spec.image_size) and not spec.resize:
        raise SiteDataError(
            hospital,
            f"{file}: is {width}x{height} pixels, the task expects "
            f"{spec.image_size}x{spec.image_size} (task.resize = false); "
            "resize it or set task.resize = true",
        )
    return resize(pixels, spec.image_size)


def _channel_words(channels: int) -> str:
    kind = {1: " (greyscale)", 3: " (colour)"}.get(channels, "")
    return f"{channels} channel{'s' if channels != 1 else ''}{kind}"


def _visible(entry: Path) -> bool:
    # Hidden files are operating-system bookkeeping (.DS_Store), not images.
    return not entry.name.startswith(".")
