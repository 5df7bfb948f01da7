"""Real Mosquitto brokers on loopback for the MQTT tests (imported by tests/comms/conftest.py).

Fixtures:

- ``mqtt_url``: ``mqtt://127.0.0.1:PORT`` of a plain broker shared by the whole session
  (anonymous, no persistence). Tests share it: give each test topics of its own (a unique
  interface chunk), retained messages included.
- ``mqtt_brokers``: a factory of brokers of the test's own, stopped after it:
  ``mqtt_brokers()`` a plain one, ``mqtt_brokers(security=DIR)`` a TLS one configured by
  :func:`fleet.security.mqtt.write_mosquitto_config` (client certificates of DIR's CA, the
  robots' ACL). Each is a :class:`Broker` that can be stopped and started again on the
  same port (reconnection tests).

Every fixture skips its test (with the reason) when the mosquitto binary is absent
(``.ci/mosquitto.sh`` installs it). Ports are free ones picked at random, never 1883.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fleet.comms import free_port
from fleet.comms import mqtt_url as make_url
from fleet.security.mqtt import write_mosquitto_config

STARTUP_TIMEOUT_S = 5.0


def mosquitto_binary() -> str:
    """The mosquitto executable; skips the calling test when there is none."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/bin")
    if found is None:
        pytest.skip("mosquitto is not installed (bash .ci/mosquitto.sh installs it)")
    return found


class Broker:
    """A mosquitto process with a config file of its own; :meth:`start` waits until it
    accepts TCP connections."""

    def __init__(self, config: Path, port: int, *, tls: bool) -> None:
        self.config = config
        self.port = port
        self.url = make_url("127.0.0.1", port, tls=tls)
        self.log = config.with_suffix(".log")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        assert self.port != 1883, "tests never use the system broker's port"
        with self.log.open("ab") as log:
            self._process = subprocess.Popen([mosquitto_binary(), "-c", str(self.config)],
                                             stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port}: {self.log.read_text()}")

    def stop(self) -> None:
        """Kill the broker (SIGKILL: no goodbye to its clients) and wait for it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _plain(directory: Path) -> Broker:
    port = free_port()
    config = directory / f"mosquitto-{port}.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                      "persistence false\n")
    return Broker(config, port, tls=False)


def _tls(security: Path) -> Broker:
    port = free_port()
    # started as root, mosquitto drops to the mosquitto user, who cannot read the 0600 keys
    run_as = "root" if os.geteuid() == 0 else None
    config = write_mosquitto_config(security, port=port, bind="127.0.0.1", run_as=run_as)
    return Broker(config, port, tls=True)


@pytest.fixture(scope="session")
def mqtt_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a plain broker shared by the session (see the module docstring)."""
    mosquitto_binary()
    broker = _plain(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker.url
    broker.stop()


MakeBroker = Callable[..., Broker]


@pytest.fixture
def mqtt_brokers(tmp_path: Path) -> Iterator[MakeBroker]:
    """Starts brokers of this test's own: plain, or TLS with ``security=DIR``."""
    mosquitto_binary()
    made: list[Broker] = []

    def make(*, security: Path | None = None) -> Broker:
        broker = _tls(security) if security is not None else _plain(tmp_path)
        made.append(broker)
        return broker.start()

    yield make
    for broker in made:
        broker.stop()
