#!/usr/bin/env bash
# What the dashboard's build and browser tests need besides the servers: Debian's `chromium`
# (tests/browser drive it through Playwright's Python package; Playwright never downloads a
# browser) and Node.js/npm for `make web` (npm ci + build, run by `make test`).
#
# Chromium missing: installed with `apt-get install -y chromium` (Debian's registry) when this runs
# as root or with password-less sudo, unless OMNISTOCK_BROWSER_INSTALL=0. Whatever is still
# missing is a loud warning for a developer (the browser test skips) and fails under CI=true or
# OMNISTOCK_REQUIRE_SERVERS=1, like scripts/ensure-services.sh.
set -uo pipefail

CHROMIUM="${OMNISTOCK_CHROMIUM:-/usr/bin/chromium}"
# Vite 8's engines field (web/package-lock.json): ^20.19.0 || >=22.12.0.
NODE_MIN_20=19
NODE_MIN_22=12

truthy() { case "${1,,}" in 1 | true | yes | on) return 0 ;; *) return 1 ;; esac; }

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"; else return 1; fi
}

install_chromium() {
  truthy "${OMNISTOCK_BROWSER_INSTALL:-1}" || return 0
  command -v apt-get >/dev/null || return 0
  echo "installing Debian's chromium for the browser tests (apt-get install -y chromium)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y chromium || { as_root apt-get update && as_root apt-get install -y chromium; } || true
}

node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null || return 1
  local version major minor
  version=$(node --version 2>/dev/null) || return 1
  version=${version#v}
  major=${version%%.*}
  minor=${version#*.}
  minor=${minor%%.*}
  ((major > 22 || (major == 22 && minor >= NODE_MIN_22) || (major == 20 && minor >= NODE_MIN_20)))
}

missing=()
if [[ ! -x $CHROMIUM ]]; then
  install_chromium
fi
[[ -x $CHROMIUM ]] || missing+=("$CHROMIUM (apt-get install -y chromium)")
node_ok || missing+=("Node.js >= 20.${NODE_MIN_20} with npm (found: $(node --version 2>/dev/null || echo none))")

required=false
if truthy "${CI:-}" || truthy "${OMNISTOCK_REQUIRE_SERVERS:-}"; then required=true; fi
for thing in "${missing[@]}"; do
  if $required; then
    echo "!!! $thing is missing: CI=true / OMNISTOCK_REQUIRE_SERVERS=1 requires it for the dashboard tests !!!" >&2
  else
    echo "!!! $thing is missing: the dashboard build / browser test will be SKIPPED !!!" >&2
  fi
done
if $required && ((${#missing[@]})); then
  exit 1
fi
exit 0
