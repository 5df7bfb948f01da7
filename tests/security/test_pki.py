"""The certificate authority and `fleet security`: files, permissions, names, revocation."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.security.acl import site_access_control
from fleet.security.pki import Authority, Role, SecurityError, revoked_serials


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cn(path: Path) -> str:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return str(cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)


def test_init_writes_ca_manager_robots_supervisors(tmp_path: Path) -> None:
    d = tmp_path / "sec"
    result = CliRunner().invoke(app, ["security", "init", str(d), "--robot", "acme/r1",
                                      "--robot", "acme/r2", "--supervisor", "alice",
                                      "--connect", "tls/127.0.0.1:7447"])
    assert result.exit_code == 0, result.output
    assert _cn(d / "manager" / "cert.pem") == "fleet-manager"
    assert _cn(d / "robots" / "acme" / "r1" / "cert.pem") == "robot/acme/r1/g1"
    assert _cn(d / "supervisors" / "alice" / "cert.pem") == "supervisor/alice/g1"
    keys = [d / "ca" / "key.pem", d / "manager" / "key.pem",
            d / "robots" / "acme" / "r1" / "key.pem", d / "robots" / "acme" / "r2" / "key.pem",
            d / "supervisors" / "alice" / "key.pem", d / "robots" / "acme" / "r1" / "zenoh.json5"]
    for key in keys:
        assert _mode(key) == 0o600, key
    # every leaf is signed by the CA
    ca = x509.load_pem_x509_certificate((d / "ca" / "cert.pem").read_bytes())
    pub = ca.public_key()
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    for leaf in d.glob("**/cert.pem"):
        if leaf.parent.name != "ca":
            x509.load_pem_x509_certificate(leaf.read_bytes()).verify_directly_issued_by(ca)
    # the manager's certificate names the loopback host both ways
    sans = x509.load_pem_x509_certificate((d / "manager" / "cert.pem").read_bytes()) \
        .extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)


def test_robot_config_is_a_zenoh_config_file(tmp_path: Path) -> None:
    import zenoh

    authority = Authority.create(tmp_path / "sec")
    authority.add_robot("acme/r1")
    from fleet.security.configs import write_robot_config
    robot = authority.find(Role.ROBOT, "acme/r1")
    assert robot is not None
    path = write_robot_config(authority, robot, ["tls/127.0.0.1:7447"])
    config = zenoh.Config.from_file(str(path))
    assert json.loads(config.get_json("mode")) == "client"
    assert json.loads(config.get_json("transport/link/tls/enable_mtls")) is True
    assert json.loads(config.get_json("connect/endpoints")) == ["tls/127.0.0.1:7447"]


def test_revoke_lists_in_crl_drops_from_acl_and_reissue_is_a_new_name(tmp_path: Path) -> None:
    authority = Authority.create(tmp_path / "sec")
    first = authority.add_robot("acme/r1")
    authority.add_supervisor("alice")
    assert authority.revoke(Role.ROBOT, "acme/r1").revoked
    assert revoked_serials(tmp_path / "sec") == {first.serial_number}
    assert not (tmp_path / "sec" / "robots" / "acme" / "r1" / "key.pem").exists()
    acl = site_access_control(Authority.open(tmp_path / "sec"), "uagv")
    names = [cn for s in acl["subjects"] for cn in s["cert_common_names"]]
    assert first.cn not in names and "supervisor/alice/g1" in names
    again = authority.add_robot("acme/r1")
    assert again.cn == "robot/acme/r1/g2" and again.serial_number != first.serial_number
    with pytest.raises(SecurityError, match="already has a certificate"):
        authority.add_robot("acme/r1")


def test_acl_denies_by_default_and_names_each_robot_keys() -> None:
    from fleet.security.acl import access_control
    from fleet.security.pki import Holder

    acl = access_control("uagv", robots=[Holder(Role.ROBOT, "acme/r1", "robot/acme/r1/g1", 1, 1)],
                         supervisors=[])
    assert acl["enabled"] is True and acl["default_permission"] == "deny"
    robot_keys = {k for r in acl["rules"] if r["id"].startswith("robot acme/r1")
                  for k in r["key_exprs"]}
    assert all(k.startswith("uagv/v2/acme/r1/") for k in robot_keys)
    assert not any(r["id"].startswith("supervisor") for r in acl["rules"])


@pytest.mark.parametrize("args, fragment", [
    (["--robot", "acme"], "MANUFACTURER/SERIAL"),
    (["--robot", "acme/r*1"], "serial"),
    (["--supervisor", "../evil"], "supervisor name"),
])
def test_bad_names_are_one_line_and_write_nothing(tmp_path: Path, args: list[str],
                                                  fragment: str) -> None:
    result = CliRunner().invoke(app, ["security", "init", str(tmp_path / "sec"), *args])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], lines
    assert not (tmp_path / "sec").exists()


def test_init_refuses_a_non_empty_directory_and_revoke_an_unknown(tmp_path: Path) -> None:
    d = tmp_path / "sec"
    assert CliRunner().invoke(app, ["security", "init", str(d)]).exit_code == 0
    again = CliRunner().invoke(app, ["security", "init", str(d)])
    assert again.exit_code == 1 and "not empty" in again.stderr
    unknown = CliRunner().invoke(app, ["security", "revoke", str(d), "--robot", "acme/zz"])
    assert unknown.exit_code == 1 and "no active robot" in unknown.stderr
    missing = CliRunner().invoke(app, ["security", "list", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "not a fleet security directory" in missing.stderr
