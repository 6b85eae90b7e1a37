#!/usr/bin/env bash
# `idesk` against the sandbox tenant: sign-in through $BROWSER, status, incidents, sign-out, with
# the refresh token in the real keychain and nowhere else.
set -euo pipefail
IDESK="$PWD/target/debug/idesk"
API="$PWD/target/debug/sandbox-api"
field() { tr ' ' '\n' <<< "$IDESK_SANDBOX" | sed -n "s/^$1=//p"; }
fail() { echo "cli e2e FAILED: $*" >&2; exit 1; }
# What the keychain holds under the test's service (secret-tool prints attributes on stderr). Read
# whole, then searched: `secret-tool | grep -q` under pipefail fails when grep exits early (SIGPIPE).
keychain() { secret-tool search --all service "$IDESK_KEYCHAIN_SERVICE" 2>&1 || true; }
issuer=$(field issuer)
tenant=$(field tenant)
out="$E2E_WORK/cli"
mkdir -p "$out"

"$IDESK" profile add e2e --tenant "$tenant" --client-id "$(field client_id)" --authority "${issuer%/v2.0}" --api-base "$(field graph)" > /dev/null

set +e; "$IDESK" status > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 3 ] || fail "status before sign-in exited $rc, expected 3 (not signed in)"

# No Secret Service: a clear error, and nothing written anywhere instead.
set +e; nokeychain=$(DBUS_SESSION_BUS_ADDRESS="unix:path=$E2E_WORK/no-such-bus" "$IDESK" sign-in --timeout 5 2>&1); rc=$?; set -e
[ "$rc" = 3 ] || fail "sign-in without a keychain exited $rc, expected 3"
grep -q "keychain is not usable" <<< "$nokeychain" || fail "no clear keychain error: $nokeychain"

# A tenant whose admin has not consented: the error says so and gives the admin-consent link.
idp_origin=$(cut -d/ -f1-3 <<< "$issuer")
curl -fsS -X POST "$idp_origin/_sandbox/fault" -H 'content-type: application/json' \
  -d '{"endpoint":"authorize","error":"consent_required","code":65001,"times":1}' > /dev/null
set +e; consent=$("$IDESK" sign-in --timeout 60 2>&1); rc=$?; set -e
[ "$rc" = 3 ] || fail "a consent error exited $rc, expected 3"
grep -q "AADSTS65001" <<< "$consent" && grep -q "/v2.0/adminconsent?client_id=" <<< "$consent" \
  || fail "a consent error does not offer the admin-consent link: $consent"

"$IDESK" sign-in --timeout 90 > "$out/sign-in.txt" 2> "$E2E_WORK/logs/cli-sign-in.log" || fail "sign-in: $(cat "$E2E_WORK/logs/cli-sign-in.log")"
grep -q '^Signed in as alice@' "$out/sign-in.txt" || fail "sign-in did not name the account: $(cat "$out/sign-in.txt")"

grep -q 'attribute.username = refresh-token:e2e$' <<< "$(keychain)" \
  || fail "the keychain holds no refresh token for the profile"

"$IDESK" status --json > "$out/status.json" 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" incidents --format json --output "$out/all.json" 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" incidents --since 48h --format json > "$out/recent.json" 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" incidents --format csv --output "$out/all.csv" 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" incidents --show-merged --format json --output "$out/with-merged.json" 2>> "$E2E_WORK/logs/cli.log"
"$API" dump --tenant "$tenant" > "$out/expected.json"

python3 - "$out" <<'PY'
import json, sys, datetime
out = sys.argv[1]
status = json.load(open(f"{out}/status.json"))
assert status["signedIn"] is True and status["account"]["username"].startswith("alice@"), status
assert not any(k.lower().endswith("token") for k in status), f"status must not carry tokens: {list(status)}"
everything = json.load(open(f"{out}/expected.json"))
# Merged incidents (status redirected) are listed only when asked for.
merged = {i["id"] for i in everything if i["status"] == "redirected"}
assert merged and all(i["redirectIncidentId"] for i in everything if i["id"] in merged), "the data set has merged incidents"
expected = {i["id"]: i for i in everything if i["id"] not in merged}
got = json.load(open(f"{out}/all.json"))
assert len(got) == len(expected) and {i["id"] for i in got} == set(expected), f"listed {len(got)} of {len(expected)} incidents"
with_merged = json.load(open(f"{out}/with-merged.json"))
assert {i["id"] for i in with_merged} == set(expected) | merged, "--show-merged lists the merged ones too"
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

# One incident in detail, a triage write, and the encrypted cache.
first_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$out/all.json")
"$IDESK" incident "$first_id" --json > "$out/detail.json" 2>> "$E2E_WORK/logs/cli.log"
python3 - "$out/detail.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["alerts"] and all(a["evidence"] for a in d["alerts"]), "alerts with evidence"
PY
"$IDESK" update "$first_id" --status inProgress --assign me --tag "e2e-tag" --comment "Taken by the CLI test" > /dev/null 2>> "$E2E_WORK/logs/cli.log" \
  || fail "update: $(tail -1 "$E2E_WORK/logs/cli.log")"
"$IDESK" incident "$first_id" --json > "$out/updated.json" 2>> "$E2E_WORK/logs/cli.log"
python3 - "$out/updated.json" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))["incident"]
assert i["status"] == "inProgress" and i["assignedTo"].startswith("alice@"), i
assert "e2e-tag" in i["tags"] and any(c["text"] == "Taken by the CLI test" for c in i["comments"]), i
PY
# Unassign: the tenant holds no assignee afterwards.
"$IDESK" update "$first_id" --assign none > /dev/null 2>> "$E2E_WORK/logs/cli.log" \
  || fail "unassign: $(tail -1 "$E2E_WORK/logs/cli.log")"
api_origin=$(cut -d/ -f1-3 <<< "$(field graph)")
curl -fsS "$api_origin/_sandbox/incidents/$first_id" | python3 -c 'import json,sys; i=json.load(sys.stdin); assert i["assignedTo"] is None, i' \
  || fail "--assign none left an assignee on the tenant"
# Resolving needs a note: refused before anything is sent (exit 2), the incident unchanged.
set +e; "$IDESK" update "$first_id" --status resolved > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "resolving without a note exited $rc, expected 2"
"$IDESK" sync --json > "$out/sync1.json" 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" sync --json > "$out/sync2.json" 2>> "$E2E_WORK/logs/cli.log"
python3 - "$out" <<'PY'
import json, sys
s1, s2 = (json.load(open(f"{sys.argv[1]}/sync{n}.json")) for n in (1, 2))
assert s1["total"] > 0 and s2["fetched"] == 1 and s2["total"] == s1["total"], (s1, s2)
PY
offline=$("$IDESK" incidents --offline --format json 2>> "$E2E_WORK/logs/cli.log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$offline" = "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$out/sync1.json")" ] || fail "offline listing differs from the cache"
# Streamed from the store newest change first; a reader that stops early ends it quietly.
"$IDESK" incidents --offline --format json > "$out/offline.json" 2>> "$E2E_WORK/logs/cli.log"
python3 -c 'import datetime,json,sys; t=[datetime.datetime.fromisoformat(i["lastUpdate"]) for i in json.load(open(sys.argv[1]))]; assert len(t) > 100 and t == sorted(t, reverse=True), t[:5]' "$out/offline.json" \
  || fail "the offline listing is not newest change first"
# `--since` reads the store's newest rows only and stops at the first older one.
"$IDESK" incidents --offline --since 48h --format json > "$out/offline-recent.json" 2>> "$E2E_WORK/logs/cli.log"
python3 - "$out" <<'PY' || fail "--offline --since 48h"
import datetime, json, sys
out = sys.argv[1]
every = json.load(open(f"{out}/offline.json"))
now = datetime.datetime.now(datetime.timezone.utc)
def age(i): return now - datetime.datetime.fromisoformat(i["lastUpdate"])
want = {i["id"] for i in every if age(i) <= datetime.timedelta(hours=48)}
got = [i["id"] for i in json.load(open(f"{out}/offline-recent.json"))]
edge = {i["id"] for i in every if abs(age(i) - datetime.timedelta(hours=48)) < datetime.timedelta(minutes=2)}
assert 0 < len(want) < len(every) and (set(got) ^ want) <= edge, (len(got), len(want))
assert got == [i["id"] for i in every if i["id"] in set(got)], "not in the full listing's order"
PY
set +e; IDESK_LOG=warn "$IDESK" incidents --offline --format json 2> "$out/early.err" | head -c 100 > /dev/null; rc=${PIPESTATUS[0]}; set -e
[ "$rc" = 0 ] && [ ! -s "$out/early.err" ] || fail "a listing whose reader stopped early: exit $rc, $(cat "$out/early.err")"
title=$(python3 -c 'import json,sys; print(max((i["displayName"] for i in json.load(open(sys.argv[1]))), key=len)[:30])' "$out/all.json")
if grep -rqF -- "$title" "$IDESK_DATA_DIR"; then fail "incident text in clear under the data dir"; fi

# The first part of the stored value: the seal naming the profile's identity, then the token.
# The head names the slot of the parts (`v2 <slot> <parts> <digest>`).
slot=$(secret-tool lookup service "$IDESK_KEYCHAIN_SERVICE" username 'refresh-token:e2e' | cut -d' ' -f2)
part=$(secret-tool lookup service "$IDESK_KEYCHAIN_SERVICE" username "refresh-token:e2e/${slot}0") \
  || fail "no first part of the refresh token in the keychain: $(keychain | grep username)"
[[ "$part" == "idesk-bound "* ]] || fail "the stored refresh token is not sealed with the profile's fingerprint"
rt=${part#*$'\n'}
[ -n "$rt" ] || fail "could not read the refresh token back from the keychain"
if grep -rqF -- "$rt" "$E2E_WORK" "$IDESK_CONFIG_DIR" "$IDESK_DATA_DIR" 2>/dev/null; then
  fail "the refresh token appears in a file or log: $(grep -rlF -- "$rt" "$E2E_WORK" "$IDESK_CONFIG_DIR" "$IDESK_DATA_DIR")"
fi

# An application profile (client credentials): the secret is checked, then kept in the keychain only.
app_secret=$(field app_client_secret)
printf '%s\n' "$app_secret" | "$IDESK" profile add app --tenant "$tenant" --client-id "$(field app_client_id)" \
  --authority "${issuer%/v2.0}" --api-base "$(field graph)" --client-secret-stdin > /dev/null 2>> "$E2E_WORK/logs/cli.log" \
  || fail "application profile: $(tail -1 "$E2E_WORK/logs/cli.log")"
app_count=$("$IDESK" --profile app incidents --format json 2>> "$E2E_WORK/logs/cli.log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$app_count" = "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/all.json")" ] \
  || fail "application profile listed $app_count incidents, the user $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/all.json")"
if grep -rqF -- "$app_secret" "$IDESK_CONFIG_DIR" "$IDESK_DATA_DIR" "$E2E_WORK/logs" 2>/dev/null; then fail "the client secret was written to a file"; fi
set +e; wrong=$(printf 'wrong-secret\n' | "$IDESK" profile add app2 --tenant "$tenant" --client-id "$(field app_client_id)" \
  --authority "${issuer%/v2.0}" --api-base "$(field graph)" --client-secret-stdin 2>&1); rc=$?; set -e
[ "$rc" = 3 ] || fail "a wrong client secret exited $rc, expected 3"
grep -q "client secret is wrong" <<< "$wrong" || fail "a wrong client secret is not explained: $wrong"
grep -q app2 <<< "$("$IDESK" profile list)" && fail "a profile whose secret failed was saved"
grep -q 'client-secret:app2' <<< "$(keychain)" && fail "a failed secret was kept"

# An application profile with a certificate: idesk reads the PEM file once, the tenant checks a
# client assertion signed with its key, and from then on the keychain holds it; the file can go.
cert_file="$E2E_WORK/app-certificate.pem"
cp "$(field app_certificate)" "$cert_file"
"$IDESK" profile add appcert --tenant "$tenant" --client-id "$(field app_cert_client_id)" \
  --authority "${issuer%/v2.0}" --api-base "$(field graph)" --certificate "$cert_file" > /dev/null 2>> "$E2E_WORK/logs/cli.log" \
  || fail "certificate profile: $(tail -1 "$E2E_WORK/logs/cli.log")"
rm "$cert_file"
cert_count=$("$IDESK" --profile appcert incidents --format json 2>> "$E2E_WORK/logs/cli.log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$cert_count" = "$app_count" ] || fail "the certificate profile listed $cert_count incidents, expected $app_count"
key_line=$(sed -n '2p' "$(field app_certificate)")
if grep -rqF -- "$key_line" "$IDESK_CONFIG_DIR" "$IDESK_DATA_DIR" "$E2E_WORK/logs" 2>/dev/null; then fail "the certificate's private key was written to a file"; fi
grep -q '"credential": *"certificate"' "$IDESK_CONFIG_DIR/profiles.json" || fail "the profile does not say it uses a certificate"

# "Since you last looked": changes made elsewhere (the sandbox as a busy tenant) are in the feed
# after the next sync, marked seen on request.
[ "$("$IDESK" changes 2>> "$E2E_WORK/logs/cli.log")" = "No changes." ] || fail "changes before anything changed elsewhere"
live() { curl -fsS -X POST "$api_origin/_sandbox/live" -H 'content-type: application/json' -d "$1"; }
new_id=$(live '{"kind":"newIncident","severity":"high"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
taken_id=$(python3 -c 'import json,sys; print([i["id"] for i in json.load(open(sys.argv[1])) if i["status"] == "active"][1])' "$out/all.json")
live "{\"kind\":\"reassign\",\"id\":$taken_id,\"assignTo\":\"alice@contoso-sandbox.test\"}" > /dev/null
"$IDESK" sync > /dev/null 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" changes --json > "$out/changes.json" 2>> "$E2E_WORK/logs/cli.log"
python3 - "$out/changes.json" "$new_id" "$taken_id" <<'PY'
import json, sys
changes, new_id, taken_id = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
kinds = {(c["incidentId"], c["kind"]) for c in changes}
assert (new_id, "newIncident") in kinds, changes
assert (taken_id, "assignmentChanged") in kinds, changes
taken = next(c for c in changes if c["incidentId"] == taken_id and c["kind"] == "assignmentChanged")
assert taken["mine"] and taken["detail"].startswith("assigned to you"), taken
assert all(not c["seen"] for c in changes), "unseen until marked"
assert len(changes) == 3, f"the new incident, and the taken one's assignment and status: {changes}"
PY
"$IDESK" changes --mark-seen > "$out/changes.txt" 2>> "$E2E_WORK/logs/cli.log"
grep -q '^3 unseen' "$out/changes.txt" || fail "the text feed does not count the unseen: $(cat "$out/changes.txt")"
grep -q '^0 unseen' <<< "$("$IDESK" changes 2>> "$E2E_WORK/logs/cli.log")" || fail "--mark-seen did not mark the feed seen"

# Bulk triage: IDs as arguments and from standard input, each checked on its own.
bulk_ids=$(python3 -c 'import json,sys; print(" ".join([i["id"] for i in json.load(open(sys.argv[1])) if i["status"] == "active"][2:4]))' "$out/all.json")
# shellcheck disable=SC2086 # two IDs, split on purpose
printf '%s\n' $bulk_ids | "$IDESK" update "$first_id" --ids-from - --tag bulk-e2e --remove-tag e2e-tag > "$out/bulk.txt" 2>> "$E2E_WORK/logs/cli.log" \
  || fail "bulk update: $(cat "$out/bulk.txt")"
grep -qx '3 saved, 0 skipped, 0 failed' "$out/bulk.txt" || fail "bulk update summary: $(cat "$out/bulk.txt")"
curl -fsS "$api_origin/_sandbox/incidents/$first_id" | python3 -c 'import json,sys; t=json.load(sys.stdin)["customTags"]; assert "bulk-e2e" in t and "e2e-tag" not in t, t' \
  || fail "the bulk update did not add and remove the tags"
set +e
# shellcheck disable=SC2086
again=$("$IDESK" update "$first_id" $bulk_ids 999999 --tag bulk-e2e 2>&1); rc=$?
set -e
[ "$rc" = 4 ] || fail "a bulk update with a failure exited $rc, expected 4: $again"
grep -q '^0 saved, 3 skipped, 1 failed' <<< "$again" || fail "a repeated bulk update: $again"
grep -q "^skipped $first_id: already as asked" <<< "$again" || fail "skipped incidents are named with the reason: $again"
grep -q '^failed  999999: ' <<< "$again" || fail "a failed incident is named: $again"

# A merged incident takes no changes; --follow-merge applies the change to the incident it joined.
read -r merged_id merged_into < <(python3 -c 'import json,sys; i=next(i for i in json.load(open(sys.argv[1])) if i["status"] == "redirected"); print(i["id"], i["redirectIncidentId"])' "$out/with-merged.json")
set +e
refused=$("$IDESK" update "$merged_id" --comment "on the merged one" 2>&1); rc=$?
set -e
[ "$rc" = 4 ] || fail "a change to a merged incident exited $rc, expected 4: $refused"
grep -q "merged into #$merged_into" <<< "$refused" || fail "the refusal names the incident it joined: $refused"
"$IDESK" update "$merged_id" --follow-merge --comment "followed the merge" > /dev/null 2>> "$E2E_WORK/logs/cli.log" \
  || fail "update --follow-merge failed"
curl -fsS "$api_origin/_sandbox/incidents/$merged_into" | python3 -c 'import json,sys; c=[x["comment"] for x in json.load(sys.stdin)["comments"]]; assert "followed the merge" in c, c' \
  || fail "--follow-merge did not comment on the incident it joined"
curl -fsS "$api_origin/_sandbox/incidents/$merged_id" | python3 -c 'import json,sys; c=[x["comment"] for x in json.load(sys.stdin)["comments"]]; assert not any("merge" in x for x in c), c' \
  || fail "the merged incident itself was changed"

# Reports: incidents with hostile titles, as HTML opened in Chromium (nothing in it may run or
# load) and as Markdown (every title fenced).
mapfile -t hostile < <(python3 -c '
import json, sys
seen = set()
for i in json.load(open(sys.argv[1])):
    if "<" in i["displayName"] and i["displayName"] not in seen:
        seen.add(i["displayName"]); print(i["id"])
' "$out/all.json" | head -n 3)
[ "${#hostile[@]}" -ge 2 ] || fail "the data set has too few hostile titles for the report check"
"$IDESK" report "${hostile[@]}" --format html --output "$out/report.html" 2>> "$E2E_WORK/logs/cli.log" || fail "idesk report --format html failed"
mapfile -t titles < <(python3 -c '
import json, sys
want = set(sys.argv[2:])
for i in json.load(open(sys.argv[1])):
    if i["id"] in want: print(i["displayName"])
' "$out/all.json" "${hostile[@]}")
node "$PWD/tests/support/open-report.mjs" "$out/report.html" "${titles[@]}" >> "$E2E_WORK/logs/cli.log" 2>&1 \
  || fail "the HTML report is not inert in Chromium: $(tail -5 "$E2E_WORK/logs/cli.log")"
"$IDESK" report "${hostile[0]}" > "$out/report.md" 2>> "$E2E_WORK/logs/cli.log" || fail "idesk report (Markdown) failed"
python3 - "$out/report.md" "${titles[0]}" <<'PY' || fail "the Markdown report does not fence the incident text"
import sys
md, title = open(sys.argv[1]).read(), sys.argv[2]
assert md.startswith("# Incident "), md[:200]
assert f"` {title} `" in md, "the title is in a code span"
assert "## Alerts (" in md and "## Entities (" in md and "## Comments (" in md, md
PY

# The entity index: the details of eight open incidents go into the store; two of them name the
# same device (six hosts in the data set), and the later one says it was seen in the other.
mapfile -t opened < <(python3 -c '
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc)
recent = [i for i in json.load(open(sys.argv[1])) if i["status"] == "active"
          and now - datetime.datetime.fromisoformat(i["lastUpdate"].replace("Z", "+00:00")) < datetime.timedelta(days=29)]
print("\n".join(i["id"] for i in recent[:8]))
' "$out/all.json")
for id in "${opened[@]}"; do
  "$IDESK" incident "$id" --json > "$out/detail-$id.json" 2>> "$E2E_WORK/logs/cli.log" || fail "idesk incident $id failed"
done
read -r pivot_from pivot_to pivot_host < <(python3 -c '
import json, sys
seen = {}
for id in sys.argv[2:]:
    d = json.load(open(f"{sys.argv[1]}/detail-{id}.json"))
    for a in d["alerts"]:
        for e in a["evidence"]:
            if e["kind"] == "device":
                host = e["title"].lower()
                if host in seen and seen[host] != id:
                    print(seen[host], id, host); sys.exit(0)
                seen.setdefault(host, id)
sys.exit(1)
' "$out" "${opened[@]}") || fail "no two of eight incidents share a device"
"$IDESK" incident "$pivot_to" > "$out/pivot.txt" 2>> "$E2E_WORK/logs/cli.log"
grep -qE "^ +$pivot_host: seen in [0-9]+ other incident\(s\) in the last 30 days \([0-9]+ true positive\): .*#$pivot_from( |$)" "$out/pivot.txt" \
  || fail "incident $pivot_to does not say its device $pivot_host was seen in #$pivot_from: $(grep -A2 "$pivot_host" "$out/pivot.txt")"

# A triage macro from the settings file (as the app's Settings writes it), applied by name.
cat > "$IDESK_CONFIG_DIR/settings.json" <<'JSON'
{ "macros": { "e2e": [ { "name": "FP security testing", "key": 1, "status": "resolved",
  "classification": "informationalExpectedActivity", "determination": "securityTesting",
  "addTags": ["Red team"], "note": "Red team exercise, confirmed by {me} on {date}." } ] } }
JSON
macro_id=$(python3 -c 'import json,sys; print([i["id"] for i in json.load(open(sys.argv[1])) if i["status"] == "active"][6])' "$out/all.json")
"$IDESK" update "$macro_id" --macro "fp security TESTING" > "$out/macro.txt" 2>> "$E2E_WORK/logs/cli.log" || fail "update --macro failed: $(cat "$out/macro.txt")"
grep -qx '1 saved, 0 skipped, 0 failed' "$out/macro.txt" || fail "update --macro summary: $(cat "$out/macro.txt")"
curl -fsS "$api_origin/_sandbox/incidents/$macro_id" | python3 -c '
import json, sys
i = json.load(sys.stdin)
assert (i["status"], i["classification"], i["determination"]) == ("resolved", "informationalExpectedActivity", "securityTesting"), i
assert "Red team" in i["customTags"], i["customTags"]
assert any(c["comment"].startswith("Red team exercise, confirmed by alice@") for c in i["comments"]), i["comments"]
' || fail "the macro did not reach the sandbox as defined"
set +e; nomacro=$("$IDESK" update "$macro_id" --macro "No such macro" 2>&1); rc=$?; set -e
[ "$rc" = 2 ] || fail "an unknown macro exited $rc, expected 2: $nomacro"
grep -q 'has no macro named' <<< "$nomacro" || fail "an unknown macro is not explained: $nomacro"

"$IDESK" sign-out > /dev/null 2>> "$E2E_WORK/logs/cli.log"
if grep -q 'refresh-token:e2e' <<< "$(keychain)"; then
  fail "sign-out left the refresh token in the keychain"
fi
set +e; "$IDESK" incidents > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 3 ] || fail "incidents after sign-out exited $rc, expected 3"
ls "$IDESK_DATA_DIR"/cache/*.db > /dev/null 2>&1 || fail "a plain sign-out should keep the store"

# Sign-out with --wipe: the cache files and their key go, every part of each.
"$IDESK" sign-out --wipe > /dev/null 2>> "$E2E_WORK/logs/cli.log"
if [ -n "$(ls -A "$IDESK_DATA_DIR/cache" 2>/dev/null)" ]; then fail "sign-out --wipe left store files: $(ls "$IDESK_DATA_DIR/cache")"; fi
if grep -q ':e2e' <<< "$(keychain)"; then fail "sign-out --wipe left keychain entries of the profile: $(keychain | grep ':e2e')"; fi
[ "$("$IDESK" incidents --offline --format json 2>> "$E2E_WORK/logs/cli.log")" = "[]" ] || fail "incidents are still readable offline after the wipe"

# Removing a profile deletes its credential (every part) and its cache.
"$IDESK" --profile app sync > /dev/null 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" profile remove app > /dev/null 2>> "$E2E_WORK/logs/cli.log"
"$IDESK" profile remove appcert > /dev/null 2>> "$E2E_WORK/logs/cli.log"
if grep -q ':app' <<< "$(keychain)"; then fail "profile remove left keychain entries: $(keychain | grep ':app')"; fi
if [ -n "$(ls -A "$IDESK_DATA_DIR/cache" 2>/dev/null)" ]; then fail "profile remove left store files: $(ls "$IDESK_DATA_DIR/cache")"; fi
grep -q '^. app\b' <<< "$("$IDESK" profile list)" && fail "the removed profile is still listed"

# All profiles in one list (a provider's many customer tenants): a second sandbox with its own
# tenant ID and data set, and a config of its own with one profile per tenant.
msp() { IDESK_CONFIG_DIR="$E2E_WORK/msp/config" IDESK_DATA_DIR="$E2E_WORK/msp/data" "$IDESK" "$@"; }
field2() { tr ' ' '\n' <<< "$IDESK_SANDBOX2" | sed -n "s/^$1=//p"; }
issuer2=$(field2 issuer)
tenant2=$(field2 tenant)
api2_origin=$(cut -d/ -f1-3 <<< "$(field2 graph)")
[ "$tenant2" != "$tenant" ] || fail "the second sandbox shares the first one's tenant"
msp profile add contoso --tenant "$tenant" --client-id "$(field client_id)" --authority "${issuer%/v2.0}" --api-base "$(field graph)" > /dev/null
msp profile add fabrikam --tenant "$tenant2" --client-id "$(field2 client_id)" --authority "${issuer2%/v2.0}" --api-base "$(field2 graph)" > /dev/null
for p in contoso fabrikam; do
  msp --profile "$p" sign-in --timeout 90 > /dev/null 2>> "$E2E_WORK/logs/cli.log" || fail "sign-in of $p: $(tail -1 "$E2E_WORK/logs/cli.log")"
done
msp sync --all-profiles --json > "$out/msp-sync.json" 2>> "$E2E_WORK/logs/cli.log" || fail "sync --all-profiles: $(tail -1 "$E2E_WORK/logs/cli.log")"
for p in contoso fabrikam; do
  msp --profile "$p" incidents --offline --format json > "$out/msp-$p.json" 2>> "$E2E_WORK/logs/cli.log"
done
msp incidents --all-profiles --offline --format json > "$out/msp-offline.json" 2>> "$E2E_WORK/logs/cli.log" || fail "incidents --all-profiles --offline"
msp incidents --all-profiles --format json > "$out/msp-online.json" 2>> "$E2E_WORK/logs/cli.log" || fail "incidents --all-profiles"
msp incidents --all-profiles --offline --severity high --format csv > "$out/msp-high.csv" 2>> "$E2E_WORK/logs/cli.log"
msp incidents --all-profiles --offline > "$out/msp-table.txt" 2>> "$E2E_WORK/logs/cli.log"
msp incidents --all-profiles --offline --since 48h --format json > "$out/msp-recent.json" 2>> "$E2E_WORK/logs/cli.log" || fail "incidents --all-profiles --offline --since 48h"
# JSON: more than the pipe holds, so the listing is still being written when the reader stops.
set +e; IDESK_LOG=warn msp incidents --all-profiles --offline --format json 2> "$out/msp-early.err" | head -c 100 > /dev/null; rc=${PIPESTATUS[0]}; set -e
[ "$rc" = 0 ] && [ ! -s "$out/msp-early.err" ] || fail "an all-profiles listing whose pipe closed early: exit $rc, $(cat "$out/msp-early.err")"
SANDBOX_SEED=7 SANDBOX_INCIDENTS=60 "$API" dump --tenant "$tenant2" > "$out/expected2.json"
python3 - "$out" <<'PY'
import csv, json, sys
out = sys.argv[1]
own = {p: json.load(open(f"{out}/msp-{p}.json")) for p in ("contoso", "fabrikam")}
sync = json.load(open(f"{out}/msp-sync.json"))
assert [s["profile"] for s in sync] == ["contoso", "fabrikam"], sync
assert [s["report"]["total"] for s in sync] == [len(own["contoso"]), len(own["fabrikam"])], (sync, {p: len(v) for p, v in own.items()})
# The second profile holds the second tenant's incidents, not the first one's.
expected2 = {i["id"]: i for i in json.load(open(f"{out}/expected2.json")) if i["status"] != "redirected"}
assert {i["id"] for i in own["fabrikam"]} == set(expected2), "fabrikam lists its own tenant"
assert all(i["displayName"] == expected2[i["id"]]["displayName"] for i in own["fabrikam"])
shared = {i["id"] for i in own["contoso"]} & set(expected2)
assert shared, "the tenants share incident IDs, so rows are told apart by profile"
want = {(p, i["id"]) for p, rows in own.items() for i in rows}
for name in ("offline", "online"):
    rows = json.load(open(f"{out}/msp-{name}.json"))
    got = [(r["profile"], r["id"]) for r in rows]
    assert len(got) == len(want) and set(got) == want, f"{name}: {len(got)} rows, {len(want)} expected"
    times = [r["lastUpdateDateTime"] if "lastUpdateDateTime" in r else r["lastUpdate"] for r in rows]
    assert times == sorted(times, reverse=True), f"{name}: newest update first"
# The stores merged as read: `--since` stops at the first row older than it, in any store.
import datetime
every = json.load(open(f"{out}/msp-offline.json"))
now = datetime.datetime.now(datetime.timezone.utc)
def age(r): return now - datetime.datetime.fromisoformat(r["lastUpdate"]) if r.get("lastUpdate") else datetime.timedelta.max
recent = [(r["profile"], r["id"]) for r in every if age(r) <= datetime.timedelta(hours=48)]
edge = {(r["profile"], r["id"]) for r in every if abs(age(r) - datetime.timedelta(hours=48)) < datetime.timedelta(minutes=2)}
got = [(r["profile"], r["id"]) for r in json.load(open(f"{out}/msp-recent.json"))]
assert 0 < len(recent) < len(every) and (set(got) ^ set(recent)) <= edge, (len(got), len(recent))
assert {p for p, _ in got} == {"contoso", "fabrikam"}, "every profile's recent rows"
assert got == [(r["profile"], r["id"]) for r in every if (r["profile"], r["id"]) in set(got)], "not in the full listing's order"
high = list(csv.DictReader(open(f"{out}/msp-high.csv")))
assert high and all(r["severity"] == "high" for r in high), "the filter applies to every profile"
assert {r["profile"] for r in high} == {"contoso", "fabrikam"}, {r["profile"] for r in high}
table = open(f"{out}/msp-table.txt").read().splitlines()
assert len(table) == len(want) and {l.split()[0] for l in table} == {"contoso", "fabrikam"}, "a profile column"
print(f"cli e2e: all profiles: {len(want)} incidents of 2 tenants, {len(shared)} IDs in both")
PY
# One tenant refusing: the others are still listed, and the error names the profile.
curl -fsS -X POST "$api2_origin/_sandbox/fault" -H 'content-type: application/json' -d '{"kind":"status","status":403}' > /dev/null
set +e; msp incidents --all-profiles --format json > "$out/msp-partial.json" 2> "$out/msp-partial.err"; rc=$?; set -e
curl -fsS -X DELETE "$api2_origin/_sandbox/fault" > /dev/null
[ "$rc" != 0 ] || fail "a refusing tenant did not fail the listing"
grep -q '^idesk: fabrikam: ' "$out/msp-partial.err" || fail "the refusing profile is not named: $(cat "$out/msp-partial.err")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r and {x["profile"] for x in r} == {"contoso"}, r[:1]' "$out/msp-partial.json" \
  || fail "the other tenant's incidents were not listed"

# A damaged store: said, set aside, re-synced; never a crash.
fab_db="$E2E_WORK/msp/data/cache/$(printf fabrikam | sha256sum | cut -c1-16).db"
[ -f "$fab_db" ] || fail "no store at $fab_db"
head -c 8192 /dev/urandom > "$fab_db"
rm -f "$fab_db-wal" "$fab_db-shm"
set +e; damaged=$(msp --profile fabrikam incidents --offline --format json 2> "$out/damaged.err"); rc=$?; set -e
[ "$rc" = 0 ] && [ "$damaged" = "[]" ] || fail "a damaged store: exit $rc, $damaged"
grep -q 'Cache unreadable — re-syncing' "$out/damaged.err" || fail "a damaged store is not said: $(cat "$out/damaged.err")"
msp --profile fabrikam sync > /dev/null 2>> "$E2E_WORK/logs/cli.log" || fail "re-sync after a damaged store"

# A full disk during a sync: said, the last committed state stays readable, and the next sync
# with space resumes and completes. The data dir is a small tmpfs (root only; CI runs as root):
# 384 KiB holds about two of the sync's pages; the whole store needs about twice that.
full="$E2E_WORK/full"
mkdir -p "$full"
if mount -t tmpfs -o size=384k tmpfs "$full" 2> /dev/null; then
  trap 'umount "$full" 2> /dev/null || true' EXIT
  fullmsp() { IDESK_CONFIG_DIR="$E2E_WORK/msp/config" IDESK_DATA_DIR="$full" "$IDESK" "$@"; }
  set +e; fullmsp --profile contoso sync > /dev/null 2> "$out/full.err"; rc=$?; set -e
  [ "$rc" != 0 ] || fail "a sync onto a full disk succeeded"
  grep -q 'disk is full' "$out/full.err" || fail "a full disk is not said: $(cat "$out/full.err")"
  kept=$(fullmsp --profile contoso incidents --offline --format json 2>> "$E2E_WORK/logs/cli.log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') \
    || fail "the store is unreadable after a full disk"
  [ "$kept" -gt 0 ] || fail "a sync that filled the disk kept none of the pages it committed"
  mount -o remount,size=64m "$full"
  fullmsp --profile contoso sync > /dev/null 2>> "$E2E_WORK/logs/cli.log" || fail "the sync after space was freed: $(tail -1 "$E2E_WORK/logs/cli.log")"
  after=$(fullmsp --profile contoso incidents --offline --format json 2>> "$E2E_WORK/logs/cli.log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  [ "$after" -gt "$kept" ] && [ "$after" = "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/msp-contoso.json")" ] \
    || fail "after a full disk and a resumed sync the store holds $after incidents"
  umount "$full"
  trap - EXIT
  echo "cli e2e: full disk: said, $kept incidents kept, all $after after space was freed"
else
  echo "cli e2e: the full-disk check needs root to mount a tmpfs: not run here"
fi
echo "cli e2e: passed"
