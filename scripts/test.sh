#!/usr/bin/env bash
# `make test`: every check CI runs, then a check that nothing the run started is still running.
# Every process the run starts inherits IDESK_TEST_RUN; whatever still carries it at the end was
# left behind by a test: it is listed, stopped, and the run fails.
set -uo pipefail
cd "$(dirname "$0")/.."
export IDESK_TEST_RUN="run-$$-$(date +%s%N)"
make --no-print-directory lint unit ui-test e2e
status=$?
bash scripts/leftovers.sh "$IDESK_TEST_RUN" || status=1
exit "$status"
