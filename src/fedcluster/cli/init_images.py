"""`fedcluster init --task images`: an image federation that trains as written.

Writes the federation file and one image folder per hospital next to it
(see `fedcluster.federation.image_template`), then says what it wrote and the
next command to run.
"""

from __future__ import annotations

from pathlib import Path

from fedcluster.cli.common import console
from fedcluster.errors import FedclusterError


def init_images(
    output: Path,
    *,
    name: str,
    images: Path | None,
    partition: str,
    alpha: float,
    hospitals: int,
    force: bool,
) -> None:
    """Write the images example; `images` is the collection to split, if any."""
    from fedcluster.federation.image_template import write_images_example

    if partition not in ("iid", "dirichlet"):
        raise FedclusterError(
            f"--partition {partition!r} cannot split images; use iid or dirichlet"
        )
    if hospitals < 2:
        raise FedclusterError("--hospitals must be at least 2 for a federation")
    if alpha <= 0:
        raise FedclusterError("--alpha must be above 0 (0.5 skews, 100 evens out)")

    with console.status("writing the hospitals' image folders..."):
        example = write_images_example(
            output,
            name=name,
            source=images,
            partition=partition,
            alpha=alpha,
            hospitals=hospitals,
            force=force,
        )
    console.print(f"wrote {output} for {example.source}")
    for hospital in example.hospitals:
        classes = ", ".join(f"{c} {n}" for c, n in hospital.label_counts.items())
        console.print(
            f"  {hospital.name}: {hospital.rows} images ({classes}) -> {hospital.path}"
        )
    console.print(f"next: `fedcluster run -f {output}`")
