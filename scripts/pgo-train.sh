#!/usr/bin/env bash
# The training of idesk's profile-guided build (scripts/pgo.sh): the instrumented idesk ($GEN)
# does a day's work against the sandbox tenant. Runs inside a private session bus and keychain;
# what it starts is stopped when it ends, pass or fail, and its files are removed after a green run
# (a failed one keeps them and says where).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/idesk-pgo.XXXXXX")
pids=()
. scripts/sandbox-start.sh
trap 'sandbox_cleanup pgo "$WORK"' EXIT

# Pacing and quotas off: waiting for Microsoft's rate limits is no work to learn from.
export IDESK_PACING=off SANDBOX_QUOTAS=off SANDBOX_INCIDENTS=10000 SANDBOX_API_BIN="$ROOT/target/release/sandbox-api"
export IDESK_CONFIG_DIR="$WORK/config" IDESK_DATA_DIR="$WORK/data" IDESK_LOG_DIR="$WORK/log"
export IDESK_KEYCHAIN_SERVICE=incident-desk-pgo
sandbox_start "$WORK/sandbox.out" "$WORK/sandbox.log" 120 || {
  echo "pgo: the sandbox tenant did not start, twice; its log: $WORK/sandbox.log" >&2; exit 1; }
field() { tr ' ' '\n' <<< "$SANDBOX_LINE" | sed -n "s/^$1=//p"; }
issuer=$(field issuer)

idesk() { "$GEN" "$@" > /dev/null; }
printf '%s\n' "$(field app_client_secret)" | idesk profile add training --tenant "$(field tenant)" \
  --client-id "$(field app_client_id)" --authority "${issuer%/v2.0}" --api-base "$(field graph)" --client-secret-stdin
idesk status
idesk sync --json
idesk sync --json
idesk incidents --show-merged --format json --output "$WORK/incidents.json"
idesk incidents --since 48h --format csv
idesk incidents --offline --format json
idesk incidents --offline --since 7d --format table
id=$("$GEN" incidents --offline --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
idesk incident "$id"
idesk report "$id"
idesk update "$id" --tag pgo-training
idesk changes
