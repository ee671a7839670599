"""`fedcluster provision`: write or check the federation's CA, certificate and keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fedcluster.cli.common import FEDERATION_OPTION

_ACTION_STYLE = {
    "created": "green",
    "kept": "dim",
    "renewed": "yellow",
    "replaced": "yellow",
    "repaired": "yellow",
}


def provision_command(
    file: Path = FEDERATION_OPTION,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace every key and certificate, even those still valid. "
            "Hospitals' new keys must then be registered again (`fedcluster up`).",
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing; print days left per certificate and exit 5 when "
            "one has fewer than --min-days.",
        ),
    ] = False,
    min_days: Annotated[
        int | None,
        typer.Option(
            "--min-days",
            min=0,
            help="Days a certificate must still be valid: --check fails under it "
            "and provisioning renews under it "
            "[default: [local] expiry_warning_days].",
        ),
    ] = None,
) -> None:
    """Write the CA, the SuperLink's certificate and one key pair per hospital.

    Running it again changes nothing: existing keys are kept unless --force is
    given; hospitals newly added to the file get their keys.
    """
    from fedcluster.federation.load import load_federation
    from fedcluster.security.errors import SecurityError
    from fedcluster.security.pki import check_certificates, provision

    federation = load_federation(file)
    console = Console()
    threshold = federation.local.expiry_warning_days if min_days is None else min_days

    if check:
        statuses = check_certificates(federation)
        table = Table("certificate", "expires (UTC)", "days left", "file")
        table.columns[-1].overflow = "fold"
        for status in statuses:
            style = "red" if status.days_left < threshold else "green"
            table.add_row(
                status.what,
                status.expires.strftime("%Y-%m-%d %H:%M"),
                f"[{style}]{int(status.days_left)}[/]",
                str(status.path),
            )
        console.print(table)
        expiring = [s for s in statuses if s.days_left < threshold]
        if expiring:
            first = expiring[0]
            fix = (
                f"renew it with `fedcluster provision -f {file} --min-days {threshold}`"
            )
            if threshold >= federation.local.certificate_days:
                fix = (
                    f"raise [local] certificate_days above {threshold}, then run "
                    f"`fedcluster provision -f {file} --min-days {threshold}`"
                )
            raise SecurityError(
                f"{first.what} {first.path} has {int(first.days_left)} days left, "
                f"under the {threshold}-day threshold; {fix}"
            )
        return

    steps = provision(federation, force=force, renew_within=threshold)
    table = Table("what", "action", "file")
    table.columns[-1].overflow = "fold"
    for step in steps:
        style = _ACTION_STYLE[step.action]
        action = f"[{style}]{step.action}[/] {step.reason}".rstrip()
        table.add_row(step.what, action, str(step.path))
    console.print(table)
