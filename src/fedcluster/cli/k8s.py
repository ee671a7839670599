"""`fedcluster k8s ...`: the multi-cluster runtime on clusters joined with Liqo.

Exit codes: 0 done; 1 a hospital (or the central Liqo) is not ready; 2 the
federation file is wrong; 5 key material is missing; 6 kubectl, liqoctl or
flwr failed or is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from fedcluster.cli.common import FEDERATION_OPTION, console

if TYPE_CHECKING:
    from fedcluster.runtime.kubernetes.plan import ClusterPlan
    from fedcluster.runtime.kubernetes.tools import Tools

app = typer.Typer(
    help="Run the federation on Kubernetes clusters joined with Liqo.",
    no_args_is_help=True,
)


def _plan(file: Path) -> ClusterPlan:
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.kubernetes.plan import cluster_plan

    return cluster_plan(load_federation(file))


def _tools(plan: ClusterPlan) -> Tools:
    from fedcluster.runtime.kubernetes.tools import Tools

    return Tools(plan.settings.context)


def _mark(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"


@app.command("render")
def render_command(
    file: Path = FEDERATION_OPTION,
    output: Path = typer.Option(
        Path("k8s"), "--output", "-o", help="Folder to write the manifests into."
    ),
) -> None:
    """Write the manifests (plain YAML and a kustomization) into a folder."""
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.kubernetes.render import render

    rendered = render(load_federation(file), output)
    console.print(
        f"wrote {len(rendered.files)} files for {len(rendered.plan.hospitals)} "
        f"hospitals into {output}; apply with `kubectl apply --server-side -k "
        f"{output}` or `fedcluster k8s up -f {file}`"
    )
    console.print(
        f"[dim]{output}/tls/ holds the SuperLink's private key: keep the folder "
        f"private; {output}/hospital-side/ is what each hospital applies itself[/]"
    )


@app.command("preflight")
def preflight_command(file: Path = FEDERATION_OPTION) -> None:
    """Check every hospital's peering and virtual node; exit 1 naming the unready."""
    from fedcluster.runtime.kubernetes.preflight import run_preflight

    plan = _plan(file)
    result = run_preflight(plan, _tools(plan))

    title = f"Liqo {result.liqo.version} in cluster {result.liqo.cluster_id}"
    table = Table(title=title)
    for column in (
        "hospital",
        "cluster id",
        "peering",
        "virtual node",
        "CPU",
        "memory",
    ):
        table.add_column(column)
    for hospital in result.hospitals:
        if not hospital.peered:
            peering = "[red]not peered[/]"
        else:
            peering = "[green]healthy[/]" if hospital.healthy else "[red]unhealthy[/]"
        node = "-"
        if hospital.node:
            ready = "[green]Ready[/]" if hospital.node_ready else "[red]NotReady[/]"
            node = f"{hospital.node} {ready}"
        table.add_row(
            hospital.hospital,
            hospital.cluster_id,
            peering,
            node,
            hospital.cpu or "-",
            hospital.memory or "-",
        )
    console.print(table)
    for hospital in result.hospitals:
        for problem in hospital.problems:
            console.print(f"[red]{hospital.hospital}:[/] {problem}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    result.raise_unless_ready()
    console.print(f"all {len(result.hospitals)} hospitals ready")


@app.command("up")
def up_command(
    file: Path = FEDERATION_OPTION,
    skip_preflight: bool = typer.Option(
        False, "--skip-preflight", help="Deploy even if preflight finds problems."
    ),
) -> None:
    """Deploy and wait until every hospital's client is Ready.

    Offloads the namespace, starts the SuperLink and one client per hospital,
    and registers the hospitals' public keys.
    """
    from fedcluster.runtime.kubernetes.deploy import up

    plan = _plan(file)
    result = up(
        plan,
        _tools(plan),
        say=lambda line: console.print(line),
        skip_preflight=skip_preflight,
    )
    if result.remote_namespace:
        console.print(
            f"hospitals find the federation in namespace {result.remote_namespace} "
            "of their own cluster"
        )


@app.command("status")
def status_command(
    file: Path = FEDERATION_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead."),
    flower: bool = typer.Option(
        True,
        "--flower/--no-flower",
        help="Also ask the SuperLink for each hospital's Flower node state.",
    ),
) -> None:
    """Map each hospital to its pod, virtual node, cluster id and Flower node."""
    import json

    from fedcluster.runtime.kubernetes.flower import node_states
    from fedcluster.runtime.kubernetes.status import collect_status
    from fedcluster.runtime.kubernetes.submission import control_endpoint
    from fedcluster.runtime.kubernetes.tools import ClusterError

    plan = _plan(file)
    tools = _tools(plan)
    states: dict[str, str] = {}
    if flower:
        try:
            with control_endpoint(plan, tools) as link:
                states = node_states(plan, tools, link)
        except ClusterError as error:
            # Pods and nodes are still worth showing when the SuperLink is down.
            typer.echo(f"warning: no Flower node states: {error}", err=True)
    status = collect_status(plan, tools, flower_nodes=states)

    if as_json:
        typer.echo(json.dumps(status.to_json(), indent=2))
        return
    superlink = status.superlink
    console.print(
        f"namespace {plan.namespace}: offloading {status.offloading}"
        + (
            f" (hospitals' namespace {status.remote_namespace})"
            if status.remote_namespace
            else ""
        )
    )
    console.print(
        "SuperLink: "
        + (
            f"{superlink.pod} {superlink.phase}, ready {_mark(superlink.ready)}"
            if superlink
            else "[red]no pod[/]"
        )
    )
    table = Table()
    for column in ("hospital", "cluster id", "pod", "virtual node", "Ready", "Flower"):
        table.add_column(column)
    for hospital in status.hospitals:
        node = hospital.node or "-"
        if hospital.node and not hospital.on_own_cluster:
            node = f"[red]{node}[/]"
        table.add_row(
            hospital.hospital,
            hospital.cluster_id,
            f"{hospital.pod or '-'} ({hospital.phase})",
            node,
            _mark(hospital.ready),
            hospital.flower,
        )
    console.print(table)
    for hospital in status.hospitals:
        if hospital.detail:
            console.print(f"[yellow]{hospital.hospital}:[/] {hospital.detail}")


@app.command("down")
def down_command(
    file: Path = FEDERATION_OPTION,
    purge_state: bool = typer.Option(
        False,
        "--purge-state",
        help="Also delete the SuperLink's database and the run store in the cluster.",
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask before --purge-state."),
) -> None:
    """Remove what `up` created in the central cluster.

    Never touches hospital data, hospital keys, or the namespace offloading.
    """
    from fedcluster.runtime.kubernetes.deploy import down

    plan = _plan(file)
    if purge_state and not yes:
        typer.confirm(
            "delete the SuperLink's database and every run stored in the cluster?",
            abort=True,
        )
    removed = down(plan, _tools(plan), purge_state=purge_state)
    for line in removed:
        console.print(line)
    console.print(
        f"removed {len(removed)} objects from namespace {plan.namespace}; the "
        "namespace, its offloading and all hospital data are untouched"
    )


@app.command("hospital-key")
def hospital_key_command(
    hospital: str = typer.Option(..., "--hospital", help="The hospital, by name."),
    namespace: str = typer.Option(
        ..., "--namespace", help="The twin namespace in the hospital's cluster."
    ),
    context: str | None = typer.Option(
        None, "--context", help="kubeconfig context of the hospital's own cluster."
    ),
    output: Path | None = typer.Option(
        None, "--out", help="Where to write the public key (default: HOSPITAL.pub)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing key."),
    file: Path | None = typer.Option(
        None,
        "--file",
        "-f",
        help="Optional: the federation file, to check the hospital's name.",
    ),
) -> None:
    """Run at a hospital: create its key pair in its own cluster.

    Only the public key is written, for the platform engineer to register.
    The hospital needs no federation file for this, only its own name.
    """
    from fedcluster.runtime.kubernetes.keys import (
        create_hospital_key,
        hospital_identity,
    )
    from fedcluster.runtime.kubernetes.tools import Tools

    if file is not None:
        _plan(file).hospital(hospital)
    identity = hospital_identity(hospital)
    made = create_hospital_key(
        identity,
        Tools(context),
        namespace=namespace,
        public_out=output or Path(f"{identity.label}.pub"),
        force=force,
    )
    verb = "replaced" if made.replaced else "created"
    console.print(
        f"{verb} Secret {made.secret} in namespace {made.namespace}; the private "
        "key exists only there"
    )
    console.print(
        f"send {made.public_key} to the federation's platform engineer; its "
        f"SHA-256 is {made.fingerprint[:16]}…, confirm it with them by another channel"
    )
