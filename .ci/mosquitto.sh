#!/usr/bin/env bash
# Installs the Mosquitto MQTT broker from Debian packages (when missing), for the MQTT
# transport's tests (tests/comms/test_mqtt_transport.py), which start brokers of their own
# on free loopback ports. The package's system service is not started (policy-rc.d denies
# it during the install) and is stopped if it runs anyway. Quiet: prints nothing on
# success; exits non-zero when mosquitto cannot be installed (its tests then skip).
set -euo pipefail

if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then
    exit 0
fi
# invoke-rc.d asks policy-rc.d; 101 means "action forbidden": no service starts on install
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1
fi
status=0
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends mosquitto) >/dev/null 2>&1 || status=$?
if [ -n "$made_policy" ]; then rm -f "$policy"; fi
if [ "$status" != 0 ]; then
    echo "could not install mosquitto from Debian packages" >&2
    exit 1
fi
# the tests never use the system broker on port 1883: make sure it is not running
(command -v systemctl >/dev/null && systemctl stop mosquitto) >/dev/null 2>&1 || true
[ -x /usr/sbin/mosquitto ]
