#!/usr/bin/env bash
# The system programs the test suite drives for real, as Debian/Ubuntu packages. Without one, the tests that
# need it are skipped with a one-line note naming it; under CI=true they fail instead (see
# test/helpers/system-tools.ts). `.ci/run` and `npm run test:deps` both install from this one list.
#
#   bash scripts/test-deps.sh          install whichever packages are missing (apt-get, as root or via sudo)
#   bash scripts/test-deps.sh --list   print the list, one package a line
set -euo pipefail

# openssl: certificate checks. tmux: the interactive client on a pseudo-terminal. erlang-nox, elixir: OTP
# interop peers (escript, elixir). haproxy, nginx-light + libnginx-mod-stream: load balancers in front.
# systemd: systemd-analyze checks the unit file. zsh: completion. groff, man-db: the man page. jq: the
# README's JSON example. python3: the exec: handler buffering example.
TEST_PACKAGES=(openssl tmux erlang-nox elixir haproxy nginx-light libnginx-mod-stream systemd zsh groff man-db jq python3)

if [ "${1:-}" = --list ]; then
  printf '%s\n' "${TEST_PACKAGES[@]}"
  exit 0
fi

missing=()
for package in "${TEST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies: all ${#TEST_PACKAGES[@]} packages installed"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "test dependencies: no apt-get here; install the equivalents of: ${missing[*]}" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "test dependencies: run as root (no sudo here) to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "test dependencies: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "test dependencies: installed ${#missing[@]} packages"
