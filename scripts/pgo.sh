#!/usr/bin/env bash
# idesk's release build, compiled with a profile of its own work (profile-guided optimization):
#   1. an instrumented build of idesk (target/pgo/gen) does a day's work against the sandbox
#      tenant with 10,000 incidents: adds a profile, syncs, lists (JSON, CSV, table; online and
#      from the store), opens an incident, writes a report, triages one, lists the changes;
#   2. the counts it recorded are merged (llvm-profdata, from rustup's llvm-tools);
#   3. the release build (target/pgo/use) is compiled with them and copied to
#      target/release-cli/idesk, where the packages take it from.
# target/release-cli/idesk.build names the build made: where rustup cannot add llvm-tools, idesk
# is built plain, with a warning.
# The training is done again only when the instrumented build changed. `make release` runs this.
# Linux: the training runs in a private session bus and keychain, as the tests do.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
host=$(rustc -vV | sed -n 's/^host: //p')
profdata_tool="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
mkdir -p target/release-cli
if [ ! -x "$profdata_tool" ]; then
  echo "pgo: adding rustup's llvm-tools (llvm-profdata merges the training's counts)"
  if ! timeout 600 rustup component add llvm-tools; then
    # Without it the build still ships, unguided, and says so: `make bench` prints which it measured.
    echo "pgo: WARNING: rustup could not add llvm-tools; idesk is built without its profile (plain release-cli)" >&2
    cargo build --locked --profile release-cli -p idesk
    echo "plain release-cli (no llvm-tools)" > target/release-cli/idesk.build
    exit 0
  fi
fi

PGO="$ROOT/target/pgo"
RAW="$PGO/raw"
PROFILE="$PGO/idesk.profdata"
mkdir -p "$PGO"
# With an explicit --target, RUSTFLAGS reach only the target's crates: build scripts and proc
# macros stay uninstrumented and are shared by neither build's flags.
build() { # target dir, rustflags
  CARGO_TARGET_DIR="$1" RUSTFLAGS="$2" cargo build --locked --profile release-cli -p idesk --target "$host"
}

build "$PGO/gen" "-Cprofile-generate=$RAW"
GEN="$PGO/gen/$host/release-cli/idesk"
trained_from=$(sha256sum < "$GEN")
if [ -f "$PROFILE" ] && [ "$(cat "$PGO/trained-from" 2>/dev/null)" = "$trained_from" ]; then
  echo "pgo: the instrumented build is unchanged; its profile stands"
else
  cargo build --release --locked -p sandbox-api
  rm -rf "$RAW"
  echo "pgo: training the instrumented idesk on the sandbox tenant"
  GEN="$GEN" dbus-run-session -- sh tests/support/keychain-session.sh bash scripts/pgo-train.sh
  "$profdata_tool" merge -o "$PROFILE.new" "$RAW"
  mv "$PROFILE.new" "$PROFILE"
  printf '%s' "$trained_from" > "$PGO/trained-from"
  rm -rf "$RAW"
fi

build "$PGO/use" "-Cprofile-use=$PROFILE"
cp "$PGO/use/$host/release-cli/idesk" target/release-cli/idesk.new
mv target/release-cli/idesk.new target/release-cli/idesk
echo "profile-guided" > target/release-cli/idesk.build
echo "pgo: target/release-cli/idesk"
