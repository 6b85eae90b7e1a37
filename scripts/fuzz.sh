#!/usr/bin/env bash
# `make fuzz`: each fuzz target for FUZZ_SECONDS (default 30). cargo-fuzz needs the sanitizer flags
# of a nightly compiler; RUSTC_BOOTSTRAP=1 lets this machine's stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
seconds=${FUZZ_SECONDS:-30}
for target in callback_request token_response auth_params incident_page; do
  echo "fuzz: $target for ${seconds}s"
  cargo fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 | tail -n 3
done
echo "fuzz: no crash"
