#!/usr/bin/env bash
# `make test`: every check CI runs, then a check that nothing the run started is still running.
# Every process the run starts inherits IDESK_TEST_RUN; whatever still carries it at the end was
# left behind by a test: it is listed, stopped, and the run fails. Temporary files go to a
# directory of the run's own, removed at the end of a green run; what the tests left in it is
# named first.
set -uo pipefail
cd "$(dirname "$0")/.."
export IDESK_TEST_RUN="run-$$-$(date +%s%N)"
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/idesk-test.XXXXXX") || exit 1
export TMPDIR
make --no-print-directory lint unit ui-test e2e
status=$?
bash scripts/leftovers.sh "$IDESK_TEST_RUN" || status=1
# A failed run keeps its temporary files (a failed e2e's logs are there) and says where.
left=$(ls -A "$TMPDIR")
if [ "$status" != 0 ]; then echo "the run's temporary files are kept in $TMPDIR" >&2
elif [ -n "$left" ]; then echo "leftovers: temporary files the tests did not remove (removed now):" $left
else echo "leftovers: no temporary files left"; fi
[ "$status" = 0 ] && rm -rf "$TMPDIR"
exit "$status"
