"""``fleet security mqtt-config``: the Mosquitto configuration and ACL written from the
registry (the broker's behaviour with them: tests/comms/test_mqtt_transport.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.errors import SecurityError
from fleet.security.mqtt import mosquitto_acl, mosquitto_conf
from fleet.security.pki import Authority, Role


@pytest.fixture
def security(tmp_path: Path) -> Path:
    authority = Authority.create(tmp_path / "sec")
    authority.add_robot("acme/r1")
    authority.add_robot("acme/r2")
    return tmp_path / "sec"


def test_the_acl_names_active_robots_only(security: Path) -> None:
    authority = Authority.open(security, need_key=True)
    authority.revoke(Role.ROBOT, "acme/r2")
    text = mosquitto_acl("site-a/uagv", authority.active(Role.ROBOT))
    assert "user fleet-manager\ntopic readwrite #" in text
    assert "user robot/acme/r1/g1\n" in text
    assert "topic write site-a/uagv/v2/acme/r1/state\n" in text
    assert "topic read site-a/uagv/v2/acme/r1/order\n" in text
    assert "acme/r2" not in text


def test_the_configuration_requires_certificates(security: Path) -> None:
    text = mosquitto_conf(security, port=18883, bind="127.0.0.1")
    for line in ("listener 18883 127.0.0.1", "require_certificate true",
                 "use_identity_as_username true", "allow_anonymous false",
                 f"cafile {security.resolve() / 'ca' / 'cert.pem'}",
                 f"crlfile {security.resolve() / 'crl.pem'}"):
        assert line + "\n" in text
    with pytest.raises(SecurityError):
        mosquitto_conf(security, bind="0.0.0.0\nallow_anonymous true")


def test_the_command_writes_both_files(security: Path) -> None:
    result = CliRunner().invoke(app, ["security", "mqtt-config", str(security),
                                      "--port", "18884"])
    assert result.exit_code == 0, result.output
    assert "listener 18884\n" in (security / "mqtt" / "mosquitto.conf").read_text()
    assert "user robot/acme/r1/g1" in (security / "mqtt" / "acl").read_text()
