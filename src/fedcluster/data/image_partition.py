"""Splitting one image collection into simulated hospitals' image folders.

The source is an image folder (`<root>/<class>/<file>`, PNG, JPEG or DICOM)
or CIFAR-10's python batches (`data_batch_1` ... `data_batch_5`,
`test_batch`, `batches.meta`) as they unpack from the archive. The split is
the tables' one (`fedcluster.data.partition.split_table`, the `flwr-datasets`
IID and Dirichlet partitioners) applied to a small table of image numbers and
labels, so images and rows are dealt out by the same rules.

Each hospital's images are then written as its own image folder, copies of
the source files (or PNGs for CIFAR-10), so a simulated hospital reads its
data through exactly the path a real hospital uses. `materialise_image_split`
keeps the folders in a cache named after the source's listing and the split
settings, built under a temporary name and renamed into place.

CIFAR-10's batches are Python pickles; only load batches you downloaded from
the dataset's authors, as unpickling can run code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from fedcluster.data.image_files import is_image_file
from fedcluster.data.partition import SplitHospital, SplitPlan, split_table
from fedcluster.errors import FederationFileError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CIFAR_BATCHES = (*(f"data_batch_{n}" for n in range(1, 6)), "test_batch")
_IMAGE, _LABEL = "image", "label"


@dataclass(frozen=True)
class ImagePool:
    """Every image of a source: its class, and its file or its pixels."""

    source: Path
    classes: tuple[str, ...]
    labels: NDArray[np.int64]
    files: tuple[Path, ...] = ()
    # CIFAR-10 only: (n, 32, 32, 3) 8-bit RGB.
    pixels: NDArray[np.uint8] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def write(self, index: int, folder: Path) -> None:
        """Put image `index` into `folder/<its class>/`."""
        target = folder / self.classes[int(self.labels[index])]
        target.mkdir(parents=True, exist_ok=True)
        if self.pixels is not None:
            from PIL import Image

            Image.fromarray(self.pixels[index]).save(target / f"{index:05d}.png")
        else:
            shutil.copyfile(self.files[index], target / self.files[index].name)


def read_image_pool(
    source: Path, *, max_images: int | None = None, seed: int = 0
) -> ImagePool:
    """The images of `source`; at most `max_images`, drawn evenly from classes."""
    if not source.is_dir():
        raise FederationFileError(
            f"{source}: no such folder; give an image folder (<root>/<class>/<file>) "
            "or the folder holding CIFAR-10's python batches"
        )
    pool = _read_cifar(source) if is_cifar_folder(source) else _read_folder(source)
    if max_images is not None and max_images < len(pool):
        pool = _subsample(pool, max_images, seed)
    log.debug(
        "image pool %s: %d images, %d classes", source, len(pool), len(pool.classes)
    )
    return pool


def is_cifar_folder(folder: Path) -> bool:
    """Whether `folder` holds CIFAR-10's python batches."""
    return (folder / "batches.meta").is_file() and (folder / "data_batch_1").is_file()


def split_pool(pool: ImagePool, plan: SplitPlan) -> list[tuple[str, NDArray[np.int64]]]:
    """Image numbers per hospital, dealt by `plan` (iid or dirichlet)."""
    if plan.partition not in ("iid", "dirichlet"):
        raise FederationFileError(
            f"simulation.partition {plan.partition!r} cannot split images; "
            "use iid or dirichlet"
        )
    table = pd.DataFrame({_IMAGE: np.arange(len(pool)), _LABEL: pool.labels})
    parts = split_table(table, SplitPlan(**{**asdict(plan), "label": _LABEL}))
    return [(name, rows[_IMAGE].to_numpy(dtype=np.int64)) for name, rows in parts]


def write_hospital_folders(
    pool: ImagePool,
    parts: Sequence[tuple[str, NDArray[np.int64]]],
    folder: Path,
) -> list[SplitHospital]:
    """Write each hospital's images to `folder/<hospital>/<class>/`."""
    hospitals = []
    for name, images in parts:
        hospital_folder = folder / name
        for index in images:
            pool.write(int(index), hospital_folder)
        counts = np.bincount(pool.labels[images], minlength=len(pool.classes))
        hospitals.append(
            SplitHospital(
                name=name,
                path=hospital_folder,
                rows=len(images),
                label_counts={
                    c: int(n) for c, n in zip(pool.classes, counts, strict=True) if n
                },
            )
        )
    return hospitals


def materialise_image_split(
    source: Path,
    plan: SplitPlan,
    *,
    cache_dir: Path,
    max_images: int | None = None,
) -> list[SplitHospital]:
    """Each hospital's image folder for splitting `source` by `plan`, written once."""
    pool = read_image_pool(source, max_images=max_images, seed=plan.seed)
    key = hashlib.sha256(
        _listing(pool).encode()
        + json.dumps([asdict(plan), max_images], sort_keys=True).encode()
    ).hexdigest()[:12]
    folder = cache_dir / f"{source.name or 'images'}-{plan.partition}-{key}"
    if (folder / MANIFEST).exists():
        log.debug("reusing the image split in %s", folder)
        return _read_manifest(folder)

    building = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    hospitals = write_hospital_folders(pool, split_pool(pool, plan), building)
    manifest = {
        "source": str(source),
        "classes": list(pool.classes),
        "hospitals": [
            {
                "name": h.name,
                "folder": h.name,
                "images": h.rows,
                "labels": h.label_counts,
            }
            for h in hospitals
        ],
    }
    (building / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    try:
        building.rename(folder)
    except OSError:
        # Another process published the same split first; theirs is identical.
        shutil.rmtree(building, ignore_errors=True)
    log.info("split %s into %d hospitals in %s", source, len(hospitals), folder)
    return _read_manifest(folder)


# --- sources -----------------------------------------------------------------


def _read_folder(root: Path) -> ImagePool:
    folders = sorted(
        entry for entry in root.iterdir() if entry.is_dir() and entry.name[0] != "."
    )
    files: list[Path] = []
    labels: list[int] = []
    skipped = 0
    for index, folder in enumerate(folders):
        for file in sorted(folder.iterdir()):
            if file.is_file() and file.name[0] != "." and is_image_file(file):
                files.append(file)
                labels.append(index)
            else:
                skipped += 1
    if skipped:
        log.warning(
            "%s: skipped %d entries that are not PNG, JPEG or DICOM", root, skipped
        )
    used = sorted(set(labels))
    if len(used) < 2:
        raise FederationFileError(
            f"{root}: found images of {len(used)} class(es); an image folder needs "
            "one sub-folder of images per class, and at least two classes"
        )
    return ImagePool(
        source=root,
        classes=tuple(folder.name for folder in folders),
        labels=np.array(labels, dtype=np.int64),
        files=tuple(files),
    )


def _read_cifar(folder: Path) -> ImagePool:
    meta = _unpickle(folder / "batches.meta")
    classes = tuple(_text(name) for name in meta[b"label_names"])
    pixels, labels = [], []
    for name in CIFAR_BATCHES:
        path = folder / name
        if not path.is_file():
            continue
        batch = _unpickle(path)
        rows = np.asarray(batch[b"data"], dtype=np.uint8)
        # Each row holds the red plane, then green, then blue, 32x32 each.
        pixels.append(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return ImagePool(
        source=folder,
        classes=classes,
        labels=np.concatenate(labels),
        pixels=np.ascontiguousarray(np.concatenate(pixels)),
    )


def _unpickle(path: Path) -> dict[bytes, Any]:
    try:
        with path.open("rb") as handle:
            content = pickle.load(handle, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as error:
        raise FederationFileError(
            f"{path}: not a CIFAR-10 python batch ({error}); unpack "
            "cifar-10-python.tar.gz again"
        ) from error
    if not isinstance(content, dict):
        raise FederationFileError(f"{path}: not a CIFAR-10 python batch")
    return content


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _subsample(pool: ImagePool, max_images: int, seed: int) -> ImagePool:
    """`max_images` images, the same share of every class, fixed by seed."""
    rng = np.random.default_rng(seed)
    share = max_images / len(pool)
    keep: list[int] = []
    for label in np.unique(pool.labels):
        members = np.flatnonzero(pool.labels == label)
        take = max(1, round(len(members) * share))
        keep.extend(rng.choice(members, size=min(take, len(members)), replace=False))
    chosen = np.sort(np.array(keep[:max_images], dtype=np.int64))
    return ImagePool(
        source=pool.source,
        classes=pool.classes,
        labels=pool.labels[chosen],
        files=tuple(pool.files[i] for i in chosen) if pool.files else (),
        pixels=pool.pixels[chosen] if pool.pixels is not None else None,
    )


def _listing(pool: ImagePool) -> str:
    """What identifies the source's content without reading every byte."""
    if pool.pixels is not None:
        entries = [
            (name, (pool.source / name).stat().st_size)
            for name in CIFAR_BATCHES
            if (pool.source / name).is_file()
        ]
        return json.dumps([str(pool.source), entries, len(pool)])
    files = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in pool.files]
    return json.dumps(files)


def _read_manifest(folder: Path) -> list[SplitHospital]:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return [
        SplitHospital(
            name=entry["name"],
            path=folder / entry["folder"],
            rows=int(entry["images"]),
            label_counts=dict(entry["labels"]),
        )
        for entry in manifest["hospitals"]
    ]
