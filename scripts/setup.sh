#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment with a Python >= 3.12.
# Usage: scripts/setup.sh [VENV_DIR]   (default .venv)
# Looks for: $PYTHON, python3.13, python3.12, python3 (if new enough), pyenv versions.
# Extras: $BORDERSCEN_EXTRAS (default "dev": everything the tests need; "" for the core only,
# which is all `make run` needs). .installed records what is installed; asking for more extras
# than it lists installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
extras="${BORDERSCEN_EXTRAS-dev}"

new_enough() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
  local c
  for c in "${PYTHON:-}" python3.13 python3.12 python3; do
    [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && new_enough "$c" && { command -v "$c"; return 0; }
  done
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  command -v pyenv >/dev/null 2>&1 && root="$(pyenv root)"
  for c in $(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
    new_enough "$c" && { echo "$c"; return 0; }
  done
  return 1
}

have_extras() {  # every requested extra is recorded in .installed (dev includes all)
  local e
  [ -f "$venv/.installed" ] || return 1
  grep -qx "dev" "$venv/.installed" && return 0
  for e in ${extras//,/ }; do grep -qx "$e" "$venv/.installed" || return 1; done
  return 0
}

if [ -x "$venv/bin/python" ] && new_enough "$venv/bin/python" \
   && [ "$venv/.installed" -nt pyproject.toml ] && have_extras; then
  exit 0   # up to date
fi

if ! py="$(find_python)"; then
  cat >&2 <<MSG
error: borderscen needs Python >= 3.12 and none was found.
  Looked at: \$PYTHON, python3.13, python3.12, python3, and pyenv's versions.
  Install one, e.g.  'pyenv install 3.12'  or  'apt-get install python3.12 python3.12-venv',
  then run this again (or point PYTHON=/path/to/python3.12 at it).
MSG
  exit 1
fi
echo "setup: using $py ($("$py" --version 2>&1)) -> $venv, extras [$extras]"
[ -x "$venv/bin/python" ] && new_enough "$venv/bin/python" || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
if [ -n "$extras" ]; then
  "$venv/bin/python" -m pip install --quiet -e ".[$extras]"
else
  "$venv/bin/python" -m pip install --quiet -e .
fi
{ [ -f "$venv/.installed" ] && [ "$venv/.installed" -nt pyproject.toml ] && cat "$venv/.installed"; \
  echo "core"; tr ',' '\n' <<< "$extras"; } | sed '/^$/d' | sort -u > "$venv/.installed.new"
mv "$venv/.installed.new" "$venv/.installed"
# Optional: the headless Chromium the explorer's browser tests drive (installed only when
# missing and we are root with apt-get; the tests install it themselves otherwise or skip).
if [[ ",$extras," == *",dev,"* ]] && [ "${BORDERSCEN_BROWSER:-1}" != "0" ]; then
  bash scripts/setup-browser.sh >/dev/null 2>&1 || echo "setup: no chromium (explorer browser tests will try again or skip)"
fi
echo "setup: done"
