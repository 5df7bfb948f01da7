#!/usr/bin/env bash
# Installs Chromium and its WebDriver from Debian packages (when missing), for the
# dashboard's real-browser test (tests/dashboard/test_browser.py). Quiet: prints nothing on
# success; exits non-zero when they cannot be installed (the browser test then skips).
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium chromium-driver) >/dev/null 2>&1 || {
    echo "could not install chromium and chromium-driver from Debian packages" >&2
    exit 1
}
command -v chromium >/dev/null && command -v chromedriver >/dev/null
