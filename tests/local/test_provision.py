"""`fedcluster provision`: the federation's CA, server certificate and node keys."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    load_ssh_private_key,
    load_ssh_public_key,
)
from local_helpers import fedcluster, write_federation

from fedcluster.federation.load import load_federation
from fedcluster.security.certificates import (
    Issued,
    certificate_names,
    create_ca,
    issue_server_certificate,
    key_to_pem,
    load_ec_key,
    to_pem,
)
from fedcluster.security.pki import PkiLayout, provision


def _files(folder: Path) -> dict[Path, tuple[bytes, int]]:
    return {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_provision_writes_a_ca_a_server_certificate_and_a_key_pair_per_hospital(
    federation_file: Path,
) -> None:
    # Prepare
    federation = load_federation(federation_file)
    layout = PkiLayout.of(federation)

    # Act
    done = fedcluster(
        "provision", "-f", str(federation_file), cwd=federation_file.parent
    )

    # Assert
    assert done.returncode == 0, done.stderr
    ca = x509.load_pem_x509_certificate(layout.ca_certificate.read_bytes())
    server = x509.load_pem_x509_certificate(layout.server_certificate.read_bytes())
    server.verify_directly_issued_by(ca)
    assert sorted(certificate_names(server)) == ["127.0.0.1", "localhost"]
    for hospital in federation.hospitals:
        key = load_ssh_private_key(
            layout.hospital_key(hospital).read_bytes(), password=None
        )
        public = load_ssh_public_key(layout.hospital_public_key(hospital).read_bytes())
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.curve.name == "secp384r1"
        assert public == key.public_key()


def test_private_keys_are_readable_by_their_owner_only(federation_file: Path) -> None:
    # Prepare
    federation = load_federation(federation_file)
    layout = PkiLayout.of(federation)

    # Act
    provision(federation)

    # Assert
    private = [layout.ca_key, layout.server_key] + [
        layout.hospital_key(h) for h in federation.hospitals
    ]
    for path in private:
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert layout.root.stat().st_mode & 0o777 == 0o700


def test_a_second_provision_changes_no_file(federation_file: Path) -> None:
    # Prepare
    federation = load_federation(federation_file)
    provision(federation)
    before = _files(PkiLayout.of(federation).root)

    # Act
    steps = provision(federation)

    # Assert
    assert {step.action for step in steps} == {"kept"}
    assert _files(PkiLayout.of(federation).root) == before


def test_a_hospital_added_to_the_file_gets_a_key_and_the_others_keep_theirs(
    tmp_path: Path,
) -> None:
    # Prepare
    provision(load_federation(write_federation(tmp_path, hospitals=["Cleveland"])))
    layout = PkiLayout(tmp_path / ".fedcluster" / "pki")
    before = _files(layout.root)
    bigger = load_federation(
        write_federation(tmp_path, hospitals=["Cleveland", "Hungary"])
    )

    # Act
    steps = provision(bigger)

    # Assert
    actions = {step.what: step.action for step in steps}
    assert actions["key of hospital 'Hungary'"] == "created"
    assert actions["key of hospital 'Cleveland'"] == "kept"
    after = _files(layout.root)
    assert all(after[path] == content for path, content in before.items())
    assert layout.hospital_key(bigger.hospital("Hungary")) in after


def test_force_replaces_every_key(federation_file: Path) -> None:
    # Prepare
    federation = load_federation(federation_file)
    provision(federation)
    layout = PkiLayout.of(federation)
    before = _files(layout.root)

    # Act
    steps = provision(federation, force=True)

    # Assert
    assert {step.action for step in steps} == {"replaced"}
    after = _files(layout.root)
    assert all(after[path][0] != content[0] for path, content in before.items())


def test_server_names_come_from_the_federation_file(tmp_path: Path) -> None:
    # Prepare
    federation = load_federation(
        write_federation(
            tmp_path,
            extra='server_names = ["localhost", "127.0.0.1", "fl.hospital.example"]',
        )
    )

    # Act
    provision(federation)

    # Assert
    server = x509.load_pem_x509_certificate(
        PkiLayout.of(federation).server_certificate.read_bytes()
    )
    assert sorted(certificate_names(server)) == [
        "127.0.0.1",
        "fl.hospital.example",
        "localhost",
    ]


def test_changed_server_names_renew_the_certificate_but_keep_its_key(
    tmp_path: Path,
) -> None:
    # Prepare
    provision(load_federation(write_federation(tmp_path)))
    layout = PkiLayout(tmp_path / ".fedcluster" / "pki")
    key_before = layout.server_key.read_bytes()
    renamed = load_federation(
        write_federation(tmp_path, extra='server_names = ["127.0.0.1", "fl.example"]')
    )

    # Act
    steps = provision(renamed)

    # Assert
    step = next(s for s in steps if s.what == "SuperLink server certificate")
    assert step.action == "renewed"
    assert layout.server_key.read_bytes() == key_before
    server = x509.load_pem_x509_certificate(layout.server_certificate.read_bytes())
    assert sorted(certificate_names(server)) == ["127.0.0.1", "fl.example"]


def _expire_server_certificate_in(layout: PkiLayout, days: int) -> None:
    """Reissue the server certificate so that it has `days` days left."""
    ca = Issued(
        load_ec_key(layout.ca_key),
        x509.load_pem_x509_certificate(layout.ca_certificate.read_bytes()),
    )
    short = issue_server_certificate(
        ca, ["localhost", "127.0.0.1"], days=days, key=load_ec_key(layout.server_key)
    )
    layout.server_certificate.write_bytes(to_pem(short.certificate))


def test_check_fails_when_a_certificate_expires_within_the_threshold(
    federation_file: Path,
) -> None:
    # Prepare
    federation = load_federation(federation_file)
    provision(federation)
    _expire_server_certificate_in(PkiLayout.of(federation), days=10)

    # Act
    done = fedcluster(
        "provision", "-f", str(federation_file), "--check", "--min-days", "20",
        cwd=federation_file.parent,
    )  # fmt: skip

    # Assert
    assert done.returncode == 5
    assert "SuperLink server certificate" in done.stderr
    # Issued with 10 days; a second later fewer than 10 whole days are left.
    assert re.search(r"\b(9|10) days left", done.stderr)
    assert "under the 20-day threshold" in done.stderr


def test_check_passes_and_prints_days_left_when_certificates_are_fresh(
    federation_file: Path,
) -> None:
    # Prepare
    provision(load_federation(federation_file))

    # Act
    done = fedcluster(
        "provision", "-f", str(federation_file), "--check", cwd=federation_file.parent
    )

    # Assert
    assert done.returncode == 0, done.stderr
    # Whole days left: 3650 or 3649 for the CA's ten years depending on
    # when within the day it was issued, 365 or 364 for the server's year.
    assert re.search(r"\b(3649|3650)\b", done.stdout)  # the CA
    assert re.search(r"\b(364|365)\b", done.stdout)  # the server certificate


def test_check_without_certificates_says_to_provision(federation_file: Path) -> None:
    # Act
    done = fedcluster(
        "provision", "-f", str(federation_file), "--check", cwd=federation_file.parent
    )

    # Assert
    assert done.returncode == 5
    assert "run `fedcluster provision -f FILE`" in done.stderr


def test_provision_renews_a_certificate_close_to_expiry_and_keeps_every_key(
    federation_file: Path,
) -> None:
    # Prepare
    federation = load_federation(federation_file)
    provision(federation)
    layout = PkiLayout.of(federation)
    _expire_server_certificate_in(layout, days=3)
    keys_before = {path: path.read_bytes() for path in layout.root.rglob("*.key")}

    # Act
    steps = provision(federation)

    # Assert
    step = next(s for s in steps if s.what == "SuperLink server certificate")
    assert step.action == "renewed"
    assert {p: p.read_bytes() for p in layout.root.rglob("*.key")} == keys_before
    server = x509.load_pem_x509_certificate(layout.server_certificate.read_bytes())
    left = server.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert left.days >= 364


def test_a_ca_key_in_another_format_is_refused_in_one_line(
    federation_file: Path,
) -> None:
    # Prepare
    federation = load_federation(federation_file)
    provision(federation)
    PkiLayout.of(federation).ca_key.write_text("not a key\n")

    # Act
    done = fedcluster(
        "provision", "-f", str(federation_file), cwd=federation_file.parent
    )

    # Assert
    assert done.returncode == 5
    assert len(done.stderr.strip().splitlines()) == 1
    assert "ca.key" in done.stderr and "--force" in done.stderr


def test_certificates_built_here_round_trip_through_pem() -> None:
    # Prepare
    ca = create_ca("roundtrip", days=2)

    # Act
    again = x509.load_pem_x509_certificate(to_pem(ca.certificate))

    # Assert
    assert again == ca.certificate
    assert b"PRIVATE KEY" in key_to_pem(ca.key)
