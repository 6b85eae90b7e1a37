#!/usr/bin/env bash
# `make run` (release build) and `make dev` (debug build): the app on the configured profile, or — with none configured — on the sandbox tenant,
# which this starts first and stops when the app quits. The sandbox keeps its keys and grants in the
# app's data dir and reuses its ports, so signing in once is enough across restarts.
set -euo pipefail
cd "$(dirname "$0")/.."
APP=${APP:-target/release/incident-desk}
data_dir=${IDESK_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/incident-desk}
config_dir=${IDESK_CONFIG_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/incident-desk}

if [ -s "$config_dir/profiles.json" ] && grep -q '"name"' "$config_dir/profiles.json"; then
  exec "$APP"
fi

export SANDBOX_STATE_DIR="$data_dir/sandbox"
# A gently busy tenant: one change a minute by "other analysts", so the change feed and the
# notifications have something to show.
export SANDBOX_LIVE=${SANDBOX_LIVE:-60}
mkdir -p "$SANDBOX_STATE_DIR"
ports="$SANDBOX_STATE_DIR/ports"
. scripts/sandbox-start.sh
# Stopped however this ends, also when interrupted while the sandbox starts.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
start_sandbox() { sandbox_start "$SANDBOX_STATE_DIR/announce" "$SANDBOX_STATE_DIR/sandbox.log" 30; }
: > "$SANDBOX_STATE_DIR/sandbox.log" # this run's log only
# Reuse last run's ports (the issuer URL is part of every token); fall back to fresh ones.
if [ -s "$ports" ]; then read -r SANDBOX_IDP_PORT SANDBOX_API_PORT < "$ports"; export SANDBOX_IDP_PORT SANDBOX_API_PORT; fi
if ! start_sandbox; then
  unset SANDBOX_IDP_PORT SANDBOX_API_PORT
  start_sandbox || { echo "the sandbox tenant did not start; see $SANDBOX_STATE_DIR/sandbox.log" >&2; exit 1; }
fi
IDESK_SANDBOX=$SANDBOX_LINE
export IDESK_SANDBOX
field() { tr ' ' '\n' <<< "$IDESK_SANDBOX" | sed -n "s/^$1=//p"; }
idp_port=$(field issuer | sed -E 's#^http://127\.0\.0\.1:([0-9]+)/.*#\1#')
api_port=$(field graph | sed -E 's#^http://127\.0\.0\.1:([0-9]+)/.*#\1#')
echo "$idp_port $api_port" > "$ports"
echo "Sandbox tenant running (log: $SANDBOX_STATE_DIR/sandbox.log). Any user name signs in."
"$APP"
