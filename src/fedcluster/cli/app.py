"""Registers every `fedcluster` command and turns our errors into one line.

Commands live in their own modules and import heavy packages (torch, flwr)
inside the command body, so `fedcluster --help` stays fast.
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.console import Console

from fedcluster.errors import FedclusterError

# Flower reports usage to its servers unless told not to; hospitals' networks
# must see no traffic they did not ask for. Set before anything imports flwr.
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

app = typer.Typer(
    name="fedcluster",
    help="Federated learning across hospitals: the training goes to the data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def _options(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks and debug logs."
    ),
) -> None:
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    from fedcluster.cli import (
        check,
        compare,
        demo,
        down,
        init,
        k8s,
        provision,
        report,
        run,
        runs,
        status,
        up,
    )

    app.command("init")(init.init_command)
    app.command("check")(check.check_command)
    app.command("run")(run.run_command)
    app.command("demo")(demo.demo_command)
    app.add_typer(runs.app, name="runs")
    app.command("report")(report.report_command)
    runs.app.command("compare")(compare.compare_command)
    app.add_typer(k8s.app, name="k8s")
    app.command("provision")(provision.provision_command)
    app.command("up")(up.up_command)
    app.command("status")(status.status_command)
    app.command("down")(down.down_command)


def main() -> None:
    """Console-script entry point: run the app, print our errors as one line."""
    _register()
    try:
        # Without standalone mode click returns a command's exit code
        # (typer.Exit) instead of leaving the process with it.
        code = app(standalone_mode=False)
    except FedclusterError as error:
        if _state["debug"]:
            raise
        err_console.print(
            f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True
        )
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except SystemExit:
        raise
    except Exception as error:  # a click usage error or a bug
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise
    if isinstance(code, int) and code:
        sys.exit(code)
