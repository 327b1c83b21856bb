#!/usr/bin/env bash
# Make sure a headless Chromium is there for the explorer's browser tests (Playwright drives the
# system's browser; Playwright's own browser download is not used).
# Installs Debian/Ubuntu's `chromium` when it is missing and we are root with apt-get; otherwise
# says what is missing and exits 1. Prints the browser's path on success.
set -euo pipefail

find_browser() {
  local c
  for c in "${BORDERSCEN_CHROMIUM:-}" chromium chromium-browser google-chrome; do
    [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return 0; }
  done
  return 1
}

if path="$(find_browser)"; then
  echo "$path"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: no chromium found; install it (e.g. 'apt-get install chromium') or point" \
       "BORDERSCEN_CHROMIUM at a Chromium/Chrome binary" >&2
  exit 1
fi
echo "setup-browser: installing chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium >&2 \
  || apt-get install -y -qq --no-install-recommends chromium-browser >&2
find_browser
