"""Who may use the dashboard, and on which address: :class:`Access`, :func:`check_binding`.

The rules (docs/dashboard.md, Security):

- On a loopback address with no authentication configured, whoever can reach the port is
  the person who started the dashboard (``local_name``): actions are recorded under that
  name, as the CLI records ``--by``.
- Anywhere else the dashboard needs TLS (a certificate issued by the site's authority) and
  at least one way to tell supervisors apart: HTTPS client certificates from the site's
  authority (the supervisor's name is in the certificate's common name,
  ``supervisor/NAME/gN``; a robot's certificate, ``robot/...``, is refused) and/or a
  bearer token per supervisor from a tokens file. :func:`check_binding` refuses the rest.
- Once any authentication is configured, every request must carry it (even on loopback).

A tokens file has one supervisor per line, ``NAME TOKEN`` (blank lines and ``#`` comments
ignored); a token is at least :data:`MIN_TOKEN` characters. A browser presents it once as
``/?token=...`` and then carries it in a cookie (HttpOnly, SameSite=Strict, Secure on TLS);
tools send ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path

from fleet.errors import SecurityError, UsageError
from fleet.security.pki import supervisor_name

MIN_TOKEN = 16
"""Shortest token a tokens file may hold."""

COOKIE = "fleet_dashboard_token"
"""Name of the cookie a browser carries its token in."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) is a loopback address; a name is resolved
    (every address it resolves to must be loopback)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0])).is_loopback for i in infos)


def read_tokens(path: Path) -> dict[str, str]:
    """The tokens file at ``path`` as ``{token: supervisor name}``; SecurityError (naming the
    line) when it cannot be read or a line is malformed."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SecurityError(f"cannot read the tokens file {path}: {exc.strerror}") from None
    tokens: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise SecurityError(f"{path}:{number}: a line is NAME TOKEN")
        name, token = parts
        try:
            supervisor_name(name)
        except SecurityError as exc:
            raise SecurityError(f"{path}:{number}: {exc}") from None
        if len(token) < MIN_TOKEN:
            raise SecurityError(f"{path}:{number}: a token has at least {MIN_TOKEN} characters")
        if token in tokens:
            raise SecurityError(f"{path}:{number}: this token is already {tokens[token]}'s")
        tokens[token] = name
    if not tokens:
        raise SecurityError(f"the tokens file {path} names no supervisor")
    return tokens


def name_of_cn(cn: str) -> str | None:
    """The supervisor's name in a certificate common name ``supervisor/NAME/gN``; None for
    any other holder (a robot, the manager)."""
    parts = cn.split("/")
    if len(parts) == 3 and parts[0] == "supervisor" and parts[2].startswith("g"):
        return parts[1]
    return None


@dataclass(frozen=True)
class Access:
    """How requests are authenticated. ``local_name`` is used only when neither client
    certificates nor tokens are configured."""

    local_name: str | None = None
    client_certs: bool = False
    """Whether the TLS layer requires client certificates from the site's authority."""
    tokens: dict[str, str] = field(default_factory=dict)
    """``{token: supervisor name}``."""
    revoked: frozenset[int] = frozenset()
    """Serial numbers of revoked certificates (the site's ``crl.pem``), refused."""

    @property
    def authenticated(self) -> bool:
        """Whether requests must prove who they come from."""
        return self.client_certs or bool(self.tokens)

    def supervisor(self, *, cert_cn: str | None, token: str | None,
                   cert_serial: int | None = None) -> str | None:
        """The supervisor a request comes from, or None when it proves none (no credentials,
        an unknown token, a certificate that is not a supervisor's or is revoked)."""
        if not self.authenticated:
            return self.local_name
        if cert_cn is not None and cert_serial not in self.revoked:
            name = name_of_cn(cert_cn)
            if name is not None:
                return name
        if token:
            for known, name in self.tokens.items():
                if hmac.compare_digest(known.encode(), token.encode()):
                    return name
        return None

    def refusal(self, *, cert_cn: str | None, token: str | None,
                cert_serial: int | None = None) -> str:
        """One line saying why a request without a supervisor is refused."""
        if cert_serial is not None and cert_serial in self.revoked:
            return "this certificate is revoked"
        if cert_cn is not None and name_of_cn(cert_cn) is None:
            holder = "a robot's" if cert_cn.startswith("robot/") else f"{cert_cn!r}'s"
            return f"{holder} certificate may not use the dashboard (supervisors only)"
        if token:
            return "unknown token"
        return "a supervisor's client certificate or token is required"


def check_binding(host: str, *, tls: bool, access: Access) -> None:
    """Refuse (UsageError, one line) to serve beyond loopback without TLS and supervisor
    authentication."""
    if is_loopback(host):
        return
    if not tls:
        raise UsageError(f"the dashboard serves {host}, not a loopback address, only over TLS: "
                         "pass --tls-cert and --tls-key (a certificate from the site's "
                         "authority)")
    if not access.authenticated:
        raise UsageError(f"the dashboard serves {host}, not a loopback address, only to "
                         "authenticated supervisors: pass --client-ca (client certificates "
                         "from the site's authority) and/or --tokens FILE")
