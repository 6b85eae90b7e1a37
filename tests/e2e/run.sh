#!/usr/bin/env bash
# End to end, with every real part: the sandbox tenant (oidc-provider + the sandbox API), the OS
# keychain (a private gnome-keyring on a private session bus), headless Chromium as the user's
# browser, `idesk` through $BROWSER, and the built app in a real window under Xvfb driven through
# WebDriver (tauri-driver + WebKitWebDriver).
#
# Run it through `make e2e`, which wraps it in dbus-run-session + tests/support/keychain-session.sh.
# Everything it writes goes to a temp dir; it never touches a user's config, data or keychain.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/idesk-e2e.XXXXXX")
export E2E_WORK=$WORK
export IDESK_KEYCHAIN_SERVICE="incident-desk-e2e-$$"
export BROWSER="$ROOT/tests/support/browser.sh" BROWSER_LOG="$WORK/logs/browser.log"
export IDESK_LOG=debug
# The app's log file (it rotates there): inside the work dir, whose files are searched for tokens.
export IDESK_LOG_DIR="$WORK/logs/app-log"
mkdir -p "$WORK/logs"

# Every process started here is recorded in `pids` by the shell that started it (never inside a
# command substitution, whose subshell would forget it) and stopped on exit, pass or fail.
pids=()
# The app suite's sandbox IdP keeps its grants here to survive a restart: the provider's own store,
# so outside the work dir whose files are searched for leaked tokens.
IDP_STATE=$(mktemp -d "${TMPDIR:-/tmp}/idesk-e2e-idp.XXXXXX")
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$IDP_STATE"
  # A green run leaves no files behind (its screenshots are copied to target/e2e first); a failed
  # one keeps its logs and says where they are.
  if [ "$rc" = 0 ]; then rm -rf "$WORK"; else echo "e2e: the logs and files of this run are kept in $WORK" >&2; fi
}
trap cleanup EXIT

echo "e2e: work dir $WORK"
# Each suite gets its own sandbox tenant, so one suite's writes never change what the other expects.
. scripts/sandbox-start.sh
start_sandbox() { # name [state dir] → sets SANDBOX_LINE and SANDBOX_PID
  SANDBOX_STATE_DIR="${2:-}" sandbox_start "$WORK/sandbox-$1.out" "$WORK/logs/sandbox-$1.log" 30 || {
    echo "e2e: the sandbox ($1) did not start, twice" >&2; cat "$WORK/logs/sandbox-$1.log" >&2; return 1; }
}
start_sandbox cli; cli_sandbox=$SANDBOX_LINE
# A second customer tenant for the CLI's all-profiles list: its own tenant ID and data set.
SANDBOX_TENANT=0b5e9c27-4d61-4f0a-9e3b-2c7d8a6f1e42 SANDBOX_SEED=7 SANDBOX_INCIDENTS=60 start_sandbox cli2; cli2_sandbox=$SANDBOX_LINE
# The app's tenant is stopped and started again by the app suite (the offline start): it keeps
# its IdP state (signing keys, grants) in a folder the restart reuses.
start_sandbox app "$IDP_STATE"; app_sandbox=$SANDBOX_LINE app_sandbox_pid=$SANDBOX_PID
start_sandbox setup; setup_sandbox=$SANDBOX_LINE

# 1. The CLI, with its own config and data dirs.
IDESK_SANDBOX="$cli_sandbox" IDESK_SANDBOX2="$cli2_sandbox" IDESK_CONFIG_DIR="$WORK/cli/config" IDESK_DATA_DIR="$WORK/cli/data" bash tests/e2e/cli.sh

# 2. The desktop app in a real window.
export IDESK_SANDBOX="$app_sandbox" IDESK_CONFIG_DIR="$WORK/app/config" IDESK_DATA_DIR="$WORK/app/data"
exec 3> "$WORK/display"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 2> "$WORK/logs/xvfb.log" &
pids+=($!)
exec 3>&-
for _ in $(seq 50); do [ -s "$WORK/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$WORK/display")"
start_driver() { # the app inherits tauri-driver's environment
  tauri-driver > "$WORK/logs/$1.log" 2>&1 &
  driver=$!
  pids+=($driver)
  for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/4444) 2>/dev/null && break; sleep 0.1; done
}
start_driver app-and-driver
E2E_SANDBOX_PID="$app_sandbox_pid" E2E_SANDBOX_STATE="$IDP_STATE" \
  APP_BIN="$ROOT/target/debug/incident-desk" node tests/e2e/app.e2e.mjs

# 3. First run: no profile and no sandbox announced, so the app opens on the setup.
kill "$driver"; wait "$driver" 2>/dev/null || true
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/4444) 2>/dev/null || break; sleep 0.1; done
E2E_SANDBOX="$setup_sandbox" IDESK_SANDBOX="" IDESK_CONFIG_DIR="$WORK/setup/config" IDESK_DATA_DIR="$WORK/setup/data" \
  start_driver setup-and-driver
E2E_SANDBOX="$setup_sandbox" IDESK_CONFIG_DIR="$WORK/setup/config" APP_BIN="$ROOT/target/debug/incident-desk" node tests/e2e/setup.e2e.mjs

# 4. The Linux packages as users get them: the .deb unpacked into a throwaway root, its idesk run,
# its app started with an empty home; the .rpm's file list.
deb=$(ls target/release/bundle/deb/*.deb | head -1)
rpm=$(ls target/release/bundle/rpm/*.rpm | head -1)
bash tests/e2e/package.sh "$deb" "$rpm" "$WORK/package"
kill "$driver"; wait "$driver" 2>/dev/null || true
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/4444) 2>/dev/null || break; sleep 0.1; done
mkdir -p "$WORK/package/home"
unset IDESK_SANDBOX IDESK_CONFIG_DIR IDESK_DATA_DIR IDESK_LOG_DIR XDG_CONFIG_HOME XDG_DATA_HOME XDG_STATE_HOME XDG_CACHE_HOME
HOME="$WORK/package/home" start_driver package-and-driver
APP_BIN="$WORK/package/root/usr/bin/incident-desk" node tests/e2e/package.e2e.mjs
[ -s "$WORK/package/home/.local/state/incident-desk/logs/incident-desk.log" ] \
  || { echo "e2e: the installed app wrote no log file in the platform's place" >&2; exit 1; }

mkdir -p target/e2e && cp "$WORK"/*.png target/e2e/ 2>/dev/null || true
# Each suite (cli.sh, app.e2e.mjs, setup.e2e.mjs, package) stops at its first failure: reaching here means all passed.
echo "e2e: 4 passed, 0 failed"
