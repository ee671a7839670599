"""Registering each hospital's public key with the SuperLink, once.

With node authentication on, the SuperLink admits a SuperNode only if its key
was registered through the Control API. A registration survives in the
SuperLink's database across restarts, so `up` registers only keys the database
does not hold yet, and withdraws the registration of a key that `provision
--force` replaced, so the old key admits no one.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from fedcluster.federation.model import Federation, Hospital
from fedcluster.runtime.local.control import KEY_IN_USE, Control, ControlError
from fedcluster.runtime.local.errors import LocalRuntimeError
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.runtime.local.state import (
    Registration,
    read_registrations,
    write_registrations,
)

logger = logging.getLogger(__name__)


def register_hospitals(
    federation: Federation, layout: LocalLayout, control: Control
) -> dict[str, Registration]:
    """Make sure every hospital's current key is registered; name -> node."""
    recorded = read_registrations(layout.registrations)
    statuses = control.node_statuses() if recorded else {}

    registrations: dict[str, Registration] = {}
    missing: list[Hospital] = []
    for hospital in federation.hospitals:
        public_key = _public_key_text(layout, hospital)
        known = recorded.get(hospital.name)
        registered = known is not None and statuses.get(known.node_id) not in (
            None,
            "unregistered",
        )
        if known is not None and registered and known.public_key == public_key:
            registrations[hospital.name] = known
            continue
        if known is not None and registered:
            logger.info(
                "hospital %r has a new key; withdrawing node %d",
                hospital.name,
                known.node_id,
            )
            control.unregister(known.node_id)
        missing.append(hospital)

    # Each `flwr` call spends most of its time importing Flower: run them
    # side by side rather than one after the other.
    with ThreadPoolExecutor(max_workers=4) as pool:
        new = pool.map(lambda h: (h, _register(h, layout, control)), missing)
        for hospital, registration in new:
            registrations[hospital.name] = registration
            logger.info(
                "registered hospital %r as node %d",
                hospital.name,
                registration.node_id,
            )

    # Keep records of hospitals no longer in the file: their nodes stay
    # registered in the database, and a later `up` may list them again.
    kept = {**recorded, **registrations}
    write_registrations(layout.registrations, kept)
    return registrations


def forget_registrations_without_database(layout: LocalLayout) -> None:
    """Drop node records when the SuperLink database they refer to is gone."""
    if not layout.database.exists() and layout.registrations.exists():
        logger.info("no SuperLink database; forgetting recorded node ids")
        layout.registrations.unlink()


def _register(
    hospital: Hospital, layout: LocalLayout, control: Control
) -> Registration:
    public_key_path = layout.pki.hospital_public_key(hospital)
    try:
        node_id = control.register(public_key_path, hospital.name)
    except ControlError as error:
        if error.code == KEY_IN_USE:
            raise LocalRuntimeError(
                f"hospital {hospital.name!r}: its key is registered in "
                f"{layout.database} but fedcluster has no record of the node; "
                "run `fedcluster down`, delete that database and "
                f"{layout.registrations.name}, then `fedcluster up` again"
            ) from error
        raise LocalRuntimeError(
            f"hospital {hospital.name!r}: registering its key failed: {error}"
        ) from error
    return Registration(node_id=node_id, public_key=_public_key_text(layout, hospital))


def _public_key_text(layout: LocalLayout, hospital: Hospital) -> str:
    """The key type and material of the `.pub` file, without its comment."""
    path = layout.pki.hospital_public_key(hospital)
    try:
        fields = path.read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError) as error:
        raise LocalRuntimeError(
            f"hospital {hospital.name!r}: cannot read {path}; "
            "run `fedcluster provision -f FILE`"
        ) from error
    return " ".join(fields[:2])
