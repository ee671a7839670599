"""`fedcluster init`: write a commented federation file to start from."""

from __future__ import annotations

from pathlib import Path

import typer

from fedcluster.cli.common import console
from fedcluster.errors import FedclusterError


def init_command(
    output: Path = typer.Option(
        Path("federation.toml"), "--output", "-o", help="Where to write the file."
    ),
    name: str = typer.Option("my-federation", "--name", help="Federation name."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    task: str = typer.Option(
        "heart", "--task", help="heart (clinical tables) or images (an image example)."
    ),
    images: Path | None = typer.Option(
        None,
        "--images",
        help="images: an image folder or CIFAR-10 batches to split "
        "(default: generated shapes).",
    ),
    partition: str = typer.Option(
        "dirichlet", "--partition", help="images: iid or dirichlet."
    ),
    alpha: float = typer.Option(0.5, "--alpha", help="images: Dirichlet alpha."),
    hospitals: int = typer.Option(3, "--hospitals", help="images: how many."),
    kubernetes: bool = typer.Option(
        False,
        "--kubernetes",
        help="Write the three-hospital example for clusters joined with Liqo.",
    ),
) -> None:
    """Write a commented federation.toml to edit (images: with image folders)."""
    from fedcluster.federation.templates import starter_federation

    if output.exists() and not force:
        raise FedclusterError(
            f"{output} already exists; pass --force to overwrite it or -o another path"
        )
    if kubernetes:
        from fedcluster.runtime.kubernetes.example import kubernetes_example

        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(kubernetes_example(name), encoding="utf-8")
        console.print(
            f"wrote {output}; set each hospital's cluster_id and data location, "
            f"then run `fedcluster k8s preflight -f {output}`"
        )
        return
    if task == "images":
        from fedcluster.cli.init_images import init_images

        init_images(
            output,
            name=name,
            images=images,
            partition=partition,
            alpha=alpha,
            hospitals=hospitals,
            force=force,
        )
        return
    if task != "heart" or images is not None:
        raise FedclusterError(
            f"--task {task!r}{' with --images' if images else ''} is not an "
            "example init writes; use --task heart, or --task images [--images DIR]"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(starter_federation(name), encoding="utf-8")
    console.print(
        f"wrote {output}; point each [[hospital]] at its data, then run "
        f"`fedcluster check -f {output}`"
    )
