#!/usr/bin/env bash
# `idesk` against the sandbox tenant: sign-in through $BROWSER, status, incidents, sign-out, with
# the refresh token in the real keychain and nowhere else.
set -euo pipefail
IDESK="$PWD/target/debug/idesk"
API="$PWD/target/debug/sandbox-api"
field() { tr ' ' '\n' <<< "$IDESK_SANDBOX" | sed -n "s/^$1=//p"; }
fail() { echo "cli e2e FAILED: $*" >&2; exit 1; }
issuer=$(field issuer)
tenant=$(field tenant)
out="$E2E_WORK/cli"
mkdir -p "$out"

"$IDESK" profile add e2e --tenant "$tenant" --client-id "$(field client_id)" --authority "${issuer%/v2.0}" --api-base "$(field graph)" > /dev/null

set +e; "$IDESK" status > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 3 ] || fail "status before sign-in exited $rc, expected 3 (not signed in)"

"$IDESK" sign-in --timeout 90 > "$out/sign-in.txt" 2> "$E2E_WORK/logs/cli-sign-in.log" || fail "sign-in: $(cat "$E2E_WORK/logs/cli-sign-in.log")"
grep -q '^Signed in as alice@' "$out/sign-in.txt" || fail "sign-in did not name the account: $(cat "$out/sign-in.txt")"

secret-tool search --all service "$IDESK_KEYCHAIN_SERVICE" 2>&1 | grep -q 'attribute.username = refresh-token:e2e$' \
  || fail "the keychain holds no refresh token for the profile"

"$IDESK" status --json > "$out/status.json" 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" incidents --format json --output "$out/all.json" 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" incidents --since 48h --format json > "$out/recent.json" 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" incidents --format csv --output "$out/all.csv" 2>> "$E2E_WORK/logs/cli.log"
"$API" dump --tenant "$tenant" > "$out/expected.json"

python3 - "$out" <<'PY'
import json, sys, datetime
out = sys.argv[1]
status = json.load(open(f"{out}/status.json"))
assert status["signedIn"] is True and status["account"]["username"].startswith("alice@"), status
assert not any(k.lower().endswith("token") for k in status), f"status must not carry tokens: {list(status)}"
expected = {i["id"]: i for i in json.load(open(f"{out}/expected.json"))}
got = json.load(open(f"{out}/all.json"))
assert len(got) == len(expected) and {i["id"] for i in got} == set(expected), f"listed {len(got)} of {len(expected)} incidents"
for i in got:
    e = expected[i["id"]]
    assert (i["displayName"], i["severity"], i["status"]) == (e["displayName"], e["severity"], e["status"]), (i, e)
now = datetime.datetime.now(datetime.timezone.utc)
def age(i): return now - datetime.datetime.fromisoformat(i["lastUpdateDateTime"].replace("Z", "+00:00"))
want_recent = {i["id"] for i in expected.values() if age(i) <= datetime.timedelta(hours=48)}
got_recent = {i["id"] for i in json.load(open(f"{out}/recent.json"))}
# An incident right at the 48-hour edge may fall either side between the two clocks.
edge = {i["id"] for i in expected.values() if abs(age(i) - datetime.timedelta(hours=48)) < datetime.timedelta(minutes=2)}
assert (got_recent ^ want_recent) <= edge, f"--since 48h: got {len(got_recent)}, expected {len(want_recent)}"
assert 0 < len(want_recent) < len(expected), "the data set should have both recent and older incidents"
csv_lines = open(f"{out}/all.csv").read().splitlines()
assert len(csv_lines) == len(expected) + 1, "csv: a header and one line per incident"
print(f"cli e2e: {len(got)} incidents listed, {len(got_recent)} in the last 48 h")
PY

rt=$(secret-tool lookup service "$IDESK_KEYCHAIN_SERVICE" username 'refresh-token:e2e#0')
[ -n "$rt" ] || fail "could not read the refresh token back from the keychain"
if grep -rqF -- "$rt" "$E2E_WORK" "$IDESK_CONFIG_DIR" "$IDESK_DATA_DIR" 2>/dev/null; then
  fail "the refresh token appears in a file or log: $(grep -rlF -- "$rt" "$E2E_WORK" "$IDESK_CONFIG_DIR" "$IDESK_DATA_DIR")"
fi

"$IDESK" sign-out > /dev/null 2>> "$E2E_WORK/logs/cli.log"
if secret-tool search --all service "$IDESK_KEYCHAIN_SERVICE" 2>&1 | grep -q 'refresh-token:e2e'; then
  fail "sign-out left the refresh token in the keychain"
fi
set +e; "$IDESK" incidents > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 3 ] || fail "incidents after sign-out exited $rc, expected 3"
echo "cli e2e: passed"
