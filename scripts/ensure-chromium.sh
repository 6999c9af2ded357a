#!/usr/bin/env bash
# Makes sure the Debian chromium package is installed for the editor tests (test/e2e, playwright-core).
# Idempotent: does nothing when the browser is already there. Never downloads a browser any other way.
#   CHROMIUM_PATH  browser to check (default /usr/bin/chromium; the tests read the same variable)
# Exit status: 0 when the browser runs, 1 with an explanation when it is missing and cannot be installed.
set -euo pipefail

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

works() {
  [ -x "$CHROMIUM_PATH" ] && "$CHROMIUM_PATH" --version >/dev/null 2>&1
}

if works; then
  echo "ensure-chromium: $("$CHROMIUM_PATH" --version 2>/dev/null | head -n 1) at $CHROMIUM_PATH"
  exit 0
fi

fail() {
  echo "ensure-chromium: ERROR: $1" >&2
  echo "ensure-chromium: the editor tests (test/e2e/editor.test.ts) need Chromium at $CHROMIUM_PATH." >&2
  echo "ensure-chromium: on Debian: sudo apt-get install -y chromium (or set CHROMIUM_PATH to a Chromium/Chrome binary)." >&2
  exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
  fail "Chromium is not installed and apt-get is not available (not a Debian-based system)."
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    fail "Chromium is not installed and installing it needs root (no passwordless sudo)."
  fi
fi

echo "ensure-chromium: installing the Debian chromium package (apt-get install -y chromium)…"
if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; then
  echo "ensure-chromium: retrying after apt-get update…"
  "${SUDO[@]}" apt-get update -q || fail "apt-get update failed (no network or no package sources?)."
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium ||
    fail "apt-get install chromium failed."
fi

works || fail "chromium was installed but $CHROMIUM_PATH does not run."
echo "ensure-chromium: installed $("$CHROMIUM_PATH" --version 2>/dev/null | head -n 1)"
