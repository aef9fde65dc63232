# Sourced by scripts/demo, scripts/test and scripts/bench: installs what is missing, and nothing else.
# System packages come from Debian (apt-get); Python packages go into .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

radio_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

radio_venv() {
  local stamp="$ROOT/.venv/.installed"
  local want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "setup: installing Python packages into .venv"
  [ -x "$ROOT/.venv/bin/python" ] || python3 -m venv "$ROOT/.venv"
  # pip's notes about this machine's package index are not news to a user: keep errors, drop those
  "$ROOT/.venv/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v '^WARNING: Location' || true; }
  "$ROOT/.venv/bin/python" -m pip install -q -e "$ROOT[test]" 2>&1 | { grep -v '^WARNING: Location' || true; }
  echo "$want" > "$stamp"
}

radio_npm() {
  # The tests' JavaScript parsers and checkers (tests/js/package-lock.json), in tests/js/node_modules only.
  command -v npm >/dev/null 2>&1 || radio_apt nodejs npm
  local dir="$ROOT/tests/js" stamp="$ROOT/tests/js/node_modules/.installed" want
  want="$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "setup: installing test packages into tests/js/node_modules"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
}
