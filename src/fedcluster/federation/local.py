"""The `[local]` table of `federation.toml`: the deployed runtime on one machine.

These settings shape the certificate authority written by `fedcluster provision`
and the processes started by `fedcluster up --runtime local`: where the
SuperLink listens, which names its server certificate is valid for, how long
certificates live, and which ports the SuperNodes take on this machine.
"""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from fedcluster.federation.model import Federation

Port = Annotated[int, Field(ge=1, le=65_535)]


class LocalSettings(BaseModel):
    """Ports, certificate names and lifetimes for the local deployed runtime."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The SuperLink serves the Fleet, Control and Runtime APIs on one port.
    # Loopback by default: nothing outside this machine can reach it.
    superlink_host: str = "127.0.0.1"
    superlink_port: Port = 9092
    # Each SuperNode serves its ClientApp runtime API on its own port:
    # hospital i (in file order) takes supernode_base_port + i.
    supernode_base_port: Port = 9190
    # Names the SuperLink's server certificate is valid for; SuperNodes and
    # the `flwr` command line must reach the SuperLink under one of them.
    server_names: Annotated[list[str], Field(min_length=1)] = [
        "localhost",
        "127.0.0.1",
    ]
    ca_days: Annotated[int, Field(ge=1, le=36_500)] = 3650
    certificate_days: Annotated[int, Field(ge=1, le=3650)] = 365
    # `fedcluster provision --check` fails, and `provision` renews a
    # certificate, when fewer days than this are left.
    expiry_warning_days: Annotated[int, Field(ge=0)] = 30
    # Seconds `fedcluster up` waits for every SuperNode to come online.
    startup_timeout: Annotated[float, Field(gt=0.0)] = 90.0
    # Each hospital's SuperNode and SuperExec run through fedcluster's thin
    # launchers, which cut most of a round's fixed waiting: ClientApp
    # processes forked with flwr and torch already imported, a SuperNode that
    # looks for the next message `supernode_poll` seconds after its last one
    # (waiting longer, up to Flower's fixed 3 s, the longer it is idle).
    # `false` runs Flower's own `flower-supernode` and `flower-superexec`.
    quick_start: bool = True
    supernode_poll: Annotated[float, Field(ge=0.05, le=3.0)] = 0.25

    @field_validator("server_names")
    @classmethod
    def _names_are_plain(cls, names: list[str]) -> list[str]:
        for name in names:
            if not name or any(c.isspace() for c in name) or "/" in name:
                raise ValueError(
                    f"server name {name!r} is not a host name or IP address"
                )
        return names

    @property
    def connect_host(self) -> str:
        """The host a process on this machine dials to reach the SuperLink."""
        if self.superlink_host in ("0.0.0.0", "::", ""):
            return "127.0.0.1"
        return self.superlink_host

    @property
    def superlink_address(self) -> str:
        """`host:port` of the SuperLink as seen from this machine."""
        host = self.connect_host
        if _is_ipv6(host):
            host = f"[{host}]"
        return f"{host}:{self.superlink_port}"

    def supernode_port(self, index: int) -> int:
        """The runtime API port of the hospital at position `index`."""
        return self.supernode_base_port + index


def _is_ipv6(host: str) -> bool:
    try:
        return ip_address(host).version == 6
    except ValueError:
        return False


def state_folder(federation: Federation) -> Path:
    """The federation's state folder as an absolute path.

    A relative `state_dir` is taken relative to the folder holding the
    federation file (or the working directory for a federation built in code),
    so that processes started from anywhere agree on where the state is.
    """
    folder = federation.state_dir
    if folder.is_absolute():
        return folder
    base = federation.source.parent if federation.source else Path.cwd()
    return (base / folder).resolve()
