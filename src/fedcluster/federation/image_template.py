"""The example that `fedcluster init --task images` writes.

A new user gets a federation that trains as it stands: three hospitals, each
with its own image folder next to the federation file, and a federation file
whose `[task]` table lists the classes. The images are either the user's own
collection (an image folder or CIFAR-10's python batches), split with the
IID or Dirichlet partitioner, or, when none is given, generated shapes that
need no download. Either way each hospital ends up with a plain image folder,
which is what a real hospital points its `data` at.
"""

from __future__ import annotations

import json
import logging
import shutil
import string
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fedcluster.data.image_demo import SHAPES, write_shape_images
from fedcluster.data.image_files import read_image
from fedcluster.data.image_partition import (
    ImagePool,
    read_image_pool,
    split_pool,
    write_hospital_folders,
)
from fedcluster.data.partition import SplitHospital, SplitPlan
from fedcluster.errors import FedclusterError

log = logging.getLogger(__name__)

EXAMPLE_IMAGES_PER_CLASS = 120
EXAMPLE_SIZE = 32


@dataclass(frozen=True)
class ImagesExample:
    """What `write_images_example` wrote."""

    federation_file: Path
    hospitals: list[SplitHospital]
    classes: tuple[str, ...]
    source: str


def write_images_example(
    output: Path,
    *,
    name: str,
    source: Path | None = None,
    partition: str = "dirichlet",
    alpha: float = 0.5,
    hospitals: int = 3,
    seed: int = 0,
    max_images: int | None = 3000,
    force: bool = False,
) -> ImagesExample:
    """Write `output` and one image folder per hospital under `output`'s `data/`."""
    data = output.parent / "data"
    names = hospital_names(hospitals)
    folders = [data / _slug(hospital) for hospital in names]
    taken = [folder for folder in folders if folder.exists()]
    if taken and not force:
        raise FedclusterError(
            f"{taken[0]} already exists; pass --force to replace the example's "
            "hospital folders, or -o a federation file in another folder"
        )
    for folder in taken:
        shutil.rmtree(folder)

    plan = SplitPlan(
        partition=partition,
        hospitals=hospitals,
        alpha=alpha if partition == "dirichlet" else None,
        seed=seed,
    )
    with tempfile.TemporaryDirectory(prefix="fedcluster-images-") as scratch:
        if source is None:
            write_shape_images(
                Path(scratch), per_class=EXAMPLE_IMAGES_PER_CLASS, size=EXAMPLE_SIZE
            )
            pool = read_image_pool(Path(scratch))
            described = (
                f"generated shapes ({', '.join(SHAPES)}), "
                f"{EXAMPLE_IMAGES_PER_CLASS} per class"
            )
        else:
            pool = read_image_pool(source, max_images=max_images, seed=seed)
            described = f"{len(pool)} images from {source}"
        parts = split_pool(pool, plan)
        by_folder = [
            (folder.name, images)
            for folder, (_, images) in zip(folders, parts, strict=True)
        ]
        written = write_hospital_folders(pool, by_folder, data)
        channels = _channels(pool)

    moved = [
        SplitHospital(hospital, split.path, split.rows, split.label_counts)
        for hospital, split in zip(names, written, strict=True)
    ]
    split = (
        f"Dirichlet partitioner, alpha = {alpha}" if partition == "dirichlet" else "IID"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        images_federation(
            name=name,
            classes=pool.classes,
            channels=channels,
            hospitals=[(h.name, f"data/{h.path.name}") for h in moved],
            origin=f"{described}, split into {hospitals} hospitals with the {split}",
        ),
        encoding="utf-8",
    )
    return ImagesExample(output, moved, pool.classes, described)


def hospital_names(count: int) -> list[str]:
    """Hospital A, Hospital B, ...; numbered past the alphabet."""
    if count <= len(string.ascii_uppercase):
        return [f"Hospital {letter}" for letter in string.ascii_uppercase[:count]]
    return [f"Hospital {number:03d}" for number in range(1, count + 1)]


def images_federation(
    *,
    name: str,
    classes: Sequence[str],
    channels: int,
    hospitals: Sequence[tuple[str, str]],
    origin: str,
    image_size: int = EXAMPLE_SIZE,
    rounds: int = 10,
) -> str:
    """A commented federation file for the `images` task."""
    # JSON's string escapes are valid in TOML, whatever a folder is called.
    class_list = ", ".join(json.dumps(c) for c in classes)
    tables = "\n".join(
        f'[[hospital]]\nname = "{hospital}"\ndata = "{data}"\n'
        for hospital, data in hospitals
    )
    return f'''# fedcluster federation file for image classification.
# Every command takes it: fedcluster check -f FILE, fedcluster run -f FILE.
# Paths are relative to this file's folder.
#
# The example hospitals hold {origin}.

name = "{name}"
runtime = "simulation"   # simulation, local or kubernetes
rounds = {rounds}
local_epochs = 2         # passes over its own images each hospital makes per round
min_hospitals = 2
seed = 0                 # fixes every hospital's train/test split and the initial model
round_timeout = 300
quorum_deadline = 120
runs_dir = "runs"

[task]
name = "images"
# Every hospital maps these names to the same class numbers. A hospital's
# folder holds one sub-folder per class it has images of:
#   <data>/<class>/<image>.png|.jpg|.dcm
# or a labels.csv with the columns file,label (e.g. DICOM exports).
classes = [{class_list}]
image_size = {image_size:<11d}# every image is resized to this many pixels square
channels = {channels:<13d}# 1 (greyscale) or 3 (colour); other images are refused
resize = true            # false: refuse images of another size instead
test_fraction = 0.25     # share of each class held out for testing at each hospital
learning_rate = 0.05
batch_size = 32
device = "auto"          # a GPU when the hospital has one; "cpu" to never use it

[strategy]
name = "fedavg"

# One [[hospital]] table per hospital: its name and its own image folder.
# A hospital's client reads this folder and no other.
{tables}'''


def _channels(pool: ImagePool) -> int:
    """Channel count of the collection, judged from its first image."""
    if pool.pixels is not None:
        return 3
    return int(read_image(pool.files[0]).shape[0])


def _slug(hospital: str) -> str:
    return "-".join(hospital.lower().split())
