#!/usr/bin/env bash
# Checks the TLS configuration of `tlsecho serve` with testssl.sh (Debian package testssl.sh), on 127.0.0.1
# and a free port, for each key type in KEY_TYPES (default: "ec-p256 rsa-2048", gencert's default and the
# usual RSA one). Fails unless: no protocol below TLS 1.2 is offered, no weak, anonymous or obsolete cipher
# is offered, and no vulnerability check reports anything but OK.
#
#   scripts/testssl.sh              # both key types, about a minute each
#   KEY_TYPES=ec-p256 scripts/testssl.sh
#
# Results (testssl's text report, its JSON findings and a one-line-per-finding summary) are kept in
# TESTSSL_OUT (default: a temporary folder, printed at the end). docs/security.md records the last run.
set -euo pipefail
cd "$(dirname "$0")/.."

testssl_bin=$(command -v testssl || command -v testssl.sh || true)
if [ -z "$testssl_bin" ]; then
  echo "testssl.sh is not installed (Debian: apt-get install testssl.sh)" >&2
  exit 2
fi
command -v jq >/dev/null || { echo "jq is needed to read testssl's JSON (apt-get install jq)" >&2; exit 2; }
[ -f dist/cli/run.js ] || npm run build >/dev/null

out=${TESTSSL_OUT:-$(mktemp -d -t tlsecho-testssl-XXXXXX)}
mkdir -p "$out"
work=$(mktemp -d -t tlsecho-testssl-work-XXXXXX)
server=''
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Findings that describe where the certificate comes from, not how the server speaks TLS: a local CA has no
# revocation service and no DNS CAA record, by design.
EXPECTED_FOR_A_LOCAL_CA='^(cert_revocation|DNS_CAArecord)$'

node bin/tlsecho gencert --ca --out "$work/ca" >/dev/null 2>&1
failed=0
for key_type in ${KEY_TYPES:-ec-p256 rsa-2048}; do
  node bin/tlsecho gencert --issuer "$work/ca" --key-type "$key_type" --out "$work/$key_type" >/dev/null 2>&1
  node bin/tlsecho serve --port 0 --cert "$work/$key_type/server.crt" --key "$work/$key_type/server.key" \
    --json 2>"$work/serve-$key_type.log" &
  server=$!
  port=''
  for _ in $(seq 1 100); do
    port=$(jq -r 'select(.event == "listening") | .port' "$work/serve-$key_type.log" 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.2
  done
  if [ -z "$port" ]; then
    echo "tlsecho serve did not start:" >&2
    cat "$work/serve-$key_type.log" >&2
    exit 1
  fi

  report="$out/testssl-$key_type"
  rm -f "$report.json"
  echo "== $key_type: $("$testssl_bin" --version 2>/dev/null | grep -o 'testssl *[0-9.]*' | head -1 | tr -s ' ') against 127.0.0.1:$port" >&2
  # -p protocols, -s cipher categories, -f forward secrecy, -S server defaults, -P server preferences,
  # -U vulnerabilities. testssl exits non-zero when it merely has findings; the verdict is ours, below.
  "$testssl_bin" --quiet --color 0 --warnings off --add-ca "$work/ca/ca.crt" --jsonfile "$report.json" \
    -p -s -f -S -P -U "127.0.0.1:$port" >"$report.txt" 2>&1 || true
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=''

  jq -r '.[] | "\(.severity)\t\(.id)\t\(.finding)"' "$report.json" >"$report.summary.tsv"
  # Anything above INFO that is not about the certificate's provenance fails the check.
  problems=$(jq -r --arg expected "$EXPECTED_FOR_A_LOCAL_CA" \
    '.[] | select((.severity | IN("OK", "INFO", "DEBUG")) | not) | select(.id | test($expected) | not)
         | "\(.severity) \(.id): \(.finding)"' "$report.json")
  offered_old=$(jq -r '.[] | select(.id | IN("SSLv2", "SSLv3", "TLS1", "TLS1_1")) | select(.finding | test("not offered") | not)
                        | "\(.id): \(.finding)"' "$report.json")
  echo "   protocols:       $(jq -r '[.[] | select(.id | IN("SSLv2","SSLv3","TLS1","TLS1_1","TLS1_2","TLS1_3")) | "\(.id) \(.finding)"] | join("; ")' "$report.json")" >&2
  echo "   vulnerabilities: $(jq -r '[.[] | select(.id | IN("heartbleed","CCS","ticketbleed","ROBOT","secure_renego","secure_client_renego","CRIME_TLS","POODLE_SSL","fallback_SCSV","SWEET32","FREAK","DROWN","LOGJAM","BEAST","LUCKY13","RC4")) | select(.severity | IN("OK","INFO") | not)] | length' "$report.json") flagged" >&2
  if [ -n "$problems$offered_old" ]; then
    failed=1
    echo "   FAILED:" >&2
    printf '     %s\n' "$problems" "$offered_old" | sed '/^ *$/d' >&2
  else
    echo "   passed (findings expected for a local CA: $(jq -r --arg expected "$EXPECTED_FOR_A_LOCAL_CA" '[.[] | select(.id | test($expected)) | .id] | join(", ")' "$report.json"))" >&2
  fi
done
echo "reports in $out" >&2
exit "$failed"
