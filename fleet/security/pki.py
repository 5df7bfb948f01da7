"""The fleet's certificate authority: who may talk to the manager, as certificates.

A security directory (``fleet security init DIR``) holds::

    DIR/registry.json                 who holds which certificate (common names, revocations)
    DIR/crl.pem                       certificate revocation list signed by the CA
    DIR/ca/cert.pem  ca/key.pem       the authority (keep key.pem offline once set up)
    DIR/manager/{cert,key,ca}.pem     the manager's identity (server and client use)
    DIR/robots/MANUFACTURER/SERIAL/   {cert,key,ca}.pem + zenoh.json5 (written by configs)
    DIR/supervisors/NAME/             {cert,key,ca}.pem: what ``--credentials`` points at
    DIR/dashboards/NAME/              {cert,key,ca}.pem: a dashboard's HTTPS identity

Every private key and every file embedding one is written with mode 0600 (directories
0700). Keys are ECDSA P-256; certificates name their holder in the common name:

- manager: ``fleet-manager`` (SANs: ``localhost``, ``127.0.0.1`` and the hosts given);
- robot: ``robot/{manufacturer}/{serial}/g{generation}``: manufacturer and serial are key
  chunks (never contain ``/``) so the name is unambiguous; the generation grows each time a
  robot's certificate is re-issued after a revocation, so that the router's access control
  (which knows common names, not serial numbers) never lets an old revoked certificate back
  in under a re-used name;
- supervisor: ``supervisor/{name}/g{generation}``;
- dashboard: ``dashboard/{name}/g{generation}``, a server certificate only (for the host
  names given), which the site's Zenoh access control does not name: the web server of
  ``fleet dashboard`` holds no key that could act on the site's network.

Revoking removes the holder from the active set (the access control built from the
registry no longer names it) and adds the certificate to ``crl.pem``. See docs/security.md
for what that does and does not enforce.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fleet.errors import ProtocolError
from fleet.errors import SecurityError as SecurityError  # re-exported
from fleet.protocol.keys import check_chunk

MANAGER_CN = "fleet-manager"
"""Common name of the manager's certificate."""

DEFAULT_HOSTS = ("localhost", "127.0.0.1")
"""Names the manager's certificate is valid for unless more are given."""

CERT_DAYS = 825
"""Validity of leaf certificates (days); the CA lives ten years."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class Role(StrEnum):
    """What a certificate's holder is allowed to be."""

    MANAGER = "manager"
    """The fleet manager: may do everything on the site's keys."""
    ROBOT = "robot"
    """One robot: may publish only its own reports and hear only its own orders."""
    SUPERVISOR = "supervisor"
    """A person (or tool) using the manager's query API through the CLI."""
    DASHBOARD = "dashboard"
    """A dashboard's web server (HTTPS for its host names); no rights on the site's Zenoh
    network."""


@dataclass(frozen=True, slots=True)
class Holder:
    """One issued certificate as the registry records it."""

    role: Role
    name: str
    """``MANUFACTURER/SERIAL`` for robots, the supervisor's name, or ``manager``."""
    cn: str
    generation: int
    serial_number: int
    """The certificate's X.509 serial number (what the CRL lists)."""
    revoked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role.value, "name": self.name, "cn": self.cn,
                "generation": self.generation, "serial_number": str(self.serial_number),
                "revoked": self.revoked}

    @classmethod
    def from_json(cls, obj: Any) -> Holder:
        try:
            return cls(Role(obj["role"]), str(obj["name"]), str(obj["cn"]),
                       int(obj["generation"]), int(obj["serial_number"]), bool(obj["revoked"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SecurityError(f"registry entry {obj!r} is malformed: {exc}") from None


def robot_name(spec: str) -> tuple[str, str]:
    """Split ``MANUFACTURER/SERIAL`` into its two key chunks; SecurityError when malformed."""
    parts = spec.split("/")
    if len(parts) != 2:
        raise SecurityError(f"a robot is MANUFACTURER/SERIAL, got {spec!r}")
    try:
        return check_chunk(parts[0], "manufacturer"), check_chunk(parts[1], "serial number")
    except ProtocolError as exc:
        raise SecurityError(f"robot {spec!r}: {exc}") from None


def supervisor_name(name: str) -> str:
    """Return ``name`` when it is a valid supervisor name (letters, digits, ``._-``)."""
    if not _NAME.match(name):
        raise SecurityError(f"a supervisor name is 1-63 letters, digits, '.', '_' or '-', "
                            f"got {name!r}")
    return name


def _write(path: Path, data: bytes, *, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # create with the final mode: a key must never exist, even briefly, world-readable
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600 if private else 0o644)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only (mode 0600)."""
    _write(path, data, private=True)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class Authority:
    """A security directory: the CA, the registry of holders, and issuing/revoking.

    Create one with :meth:`create`, open an existing one with :meth:`open`. Methods that
    change the directory write the registry and the CRL before returning.
    """

    def __init__(self, directory: Path, ca_cert: x509.Certificate,
                 ca_key: ec.EllipticCurvePrivateKey | None, holders: list[Holder]) -> None:
        self.directory = directory
        self.ca_cert = ca_cert
        self._ca_key = ca_key
        self.holders = holders

    # ------------------------------------------------------------------ open / create
    @classmethod
    def create(cls, directory: Path, *, hosts: Sequence[str] = DEFAULT_HOSTS) -> Authority:
        """A new CA and manager certificate in ``directory`` (which must be empty or absent)."""
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise SecurityError(f"{directory} is not empty; a security directory is created "
                                "once (use add-robot / add-supervisor / revoke to change it)")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fleet certificate authority")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                             crl_sign=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))
        _write(directory / "ca" / "cert.pem", _cert_pem(cert), private=False)
        write_private(directory / "ca" / "key.pem", _key_pem(key))
        authority = cls(directory, cert, key, [])
        authority._issue(Role.MANAGER, "manager", MANAGER_CN, 1, directory / "manager",
                         hosts=list(hosts) or list(DEFAULT_HOSTS))
        authority.save()
        return authority

    @classmethod
    def open(cls, directory: Path, *, need_key: bool = False) -> Authority:
        """Read an existing security directory; SecurityError when it is not one.

        ``need_key``: also load the CA's private key (to issue or revoke).
        """
        directory = Path(directory)
        try:
            ca_cert = x509.load_pem_x509_certificate((directory / "ca" / "cert.pem").read_bytes())
            raw = json.loads((directory / "registry.json").read_text())
            holders = [Holder.from_json(h) for h in raw["holders"]]
            ca_key = None
            if need_key:
                loaded = serialization.load_pem_private_key(
                    (directory / "ca" / "key.pem").read_bytes(), password=None)
                if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                    raise SecurityError(f"{directory}/ca/key.pem is not an EC key")
                ca_key = loaded
        except FileNotFoundError as exc:
            raise SecurityError(f"{directory} is not a fleet security directory "
                                f"({exc.filename} is missing)") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SecurityError(f"cannot read security directory {directory}: {exc}") from None
        return cls(directory, ca_cert, ca_key, holders)

    def save(self) -> None:
        """Write the registry and a fresh CRL."""
        _write(self.directory / "registry.json",
               (json.dumps({"holders": [h.to_json() for h in self.holders]}, indent=2)
                + "\n").encode(), private=False)
        if self._ca_key is not None:
            _write(self.directory / "crl.pem", self._crl(), private=False)

    # ------------------------------------------------------------------ queries
    def active(self, role: Role | None = None) -> list[Holder]:
        """Holders not revoked (of ``role`` when given), in issue order."""
        return [h for h in self.holders if not h.revoked and (role is None or h.role == role)]

    def find(self, role: Role, name: str) -> Holder | None:
        """The active holder of ``role`` called ``name``, or None."""
        return next((h for h in self.active(role) if h.name == name), None)

    def holder_dir(self, holder: Holder) -> Path:
        """Where ``holder``'s cert.pem, key.pem and ca.pem live."""
        if holder.role == Role.MANAGER:
            return self.directory / "manager"
        if holder.role == Role.ROBOT:
            return self.directory / "robots" / holder.name
        if holder.role == Role.DASHBOARD:
            return self.directory / "dashboards" / holder.name
        return self.directory / "supervisors" / holder.name

    # ------------------------------------------------------------------ changes
    def add_robot(self, spec: str) -> Holder:
        """Issue a certificate for robot ``MANUFACTURER/SERIAL`` (next generation after a
        revocation); SecurityError when it already holds an active one."""
        manufacturer, serial = robot_name(spec)
        name = f"{manufacturer}/{serial}"
        if self.find(Role.ROBOT, name):
            raise SecurityError(f"robot {name} already has a certificate; revoke it first")
        gen = 1 + sum(1 for h in self.holders if h.role == Role.ROBOT and h.name == name)
        return self._issue(Role.ROBOT, name, f"robot/{name}/g{gen}", gen,
                           self.directory / "robots" / manufacturer / serial)

    def add_supervisor(self, name: str) -> Holder:
        """Issue a certificate for supervisor ``name`` (SecurityError when already active)."""
        supervisor_name(name)
        if self.find(Role.SUPERVISOR, name):
            raise SecurityError(f"supervisor {name} already has a certificate; revoke it first")
        gen = 1 + sum(1 for h in self.holders if h.role == Role.SUPERVISOR and h.name == name)
        return self._issue(Role.SUPERVISOR, name, f"supervisor/{name}/g{gen}", gen,
                           self.directory / "supervisors" / name)

    def add_dashboard(self, name: str, hosts: Sequence[str]) -> Holder:
        """Issue an HTTPS server certificate for dashboard ``name`` valid for ``hosts``
        (names or addresses browsers use to reach it); SecurityError when it already holds
        an active one or no host is given."""
        supervisor_name(name)
        if not hosts:
            raise SecurityError("a dashboard's certificate needs at least one host name")
        if self.find(Role.DASHBOARD, name):
            raise SecurityError(f"dashboard {name} already has a certificate; revoke it first")
        gen = 1 + sum(1 for h in self.holders if h.role == Role.DASHBOARD and h.name == name)
        return self._issue(Role.DASHBOARD, name, f"dashboard/{name}/g{gen}", gen,
                           self.directory / "dashboards" / name, hosts=hosts)

    def revoke(self, role: Role, name: str) -> Holder:
        """Revoke the active certificate of ``role`` ``name``: it leaves the active set, joins
        the CRL, and its private key is deleted from the directory."""
        holder = self.find(role, name)
        if holder is None:
            raise SecurityError(f"no active {role.value} certificate for {name!r}")
        if role == Role.MANAGER:
            raise SecurityError("the manager's certificate is replaced by a new directory "
                                "(see docs/security.md, key rotation)")
        self._require_key()
        revoked = Holder(holder.role, holder.name, holder.cn, holder.generation,
                         holder.serial_number, revoked=True)
        self.holders[self.holders.index(holder)] = revoked
        where = self.holder_dir(holder)
        for leftover in ("key.pem", "zenoh.json5"):
            (where / leftover).unlink(missing_ok=True)
        self.save()
        return revoked

    def _require_key(self) -> ec.EllipticCurvePrivateKey:
        if self._ca_key is None:
            raise SecurityError("this operation needs the CA's private key")
        return self._ca_key

    def _issue(self, role: Role, name: str, cn: str, generation: int, where: Path, *,
               hosts: Iterable[str] = ()) -> Holder:
        ca_key = self._require_key()
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        # a dashboard only serves HTTPS: without client use its key cannot join the network
        usages = [] if role == Role.DASHBOARD else [ExtendedKeyUsageOID.CLIENT_AUTH]
        if role in (Role.MANAGER, Role.DASHBOARD):
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                   .issuer_name(self.ca_cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       ca_key.public_key()), critical=False))
        sans = [_san(h) for h in hosts]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        write_private(where / "key.pem", _key_pem(key))
        _write(where / "cert.pem", _cert_pem(cert), private=False)
        _write(where / "ca.pem", _cert_pem(self.ca_cert), private=False)
        holder = Holder(role, name, cn, generation, cert.serial_number)
        self.holders.append(holder)
        self.save()
        return holder

    def _crl(self) -> bytes:
        ca_key = self._require_key()
        now = dt.datetime.now(dt.UTC)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.ca_cert.subject)
                   .last_update(now).next_update(now + dt.timedelta(days=30)))
        for h in self.holders:
            if h.revoked:
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(h.serial_number)
                    .revocation_date(now).build())
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def revoked_serials(directory: Path) -> set[int]:
    """X.509 serial numbers listed in ``directory/crl.pem`` (empty when there is none)."""
    try:
        crl = x509.load_pem_x509_crl((Path(directory) / "crl.pem").read_bytes())
    except FileNotFoundError:
        return set()
    except ValueError as exc:
        raise SecurityError(f"{directory}/crl.pem is not a CRL: {exc}") from None
    return {r.serial_number for r in crl}
