#!/usr/bin/env bash
# The emulators' own checks (tests/emulators/*/selftest.mjs): each starts its emulator and
# holds it to the documented request and response shapes, authentication, faults and the
# statement templates, so a change to an emulator that loosens what it checks fails here.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
[[ -d $SLUICE_ROOT/tests/oracles/node_modules/@duckdb/node-api ]] || fail "test oracles not installed: run scripts/oracles.sh"
for emu in snowflake databricks; do
	out=$(cd "$TMP" && timeout 300 node "$SLUICE_ROOT/tests/emulators/$emu/selftest.mjs" 2>&1) ||
		fail "the $emu emulator's selftest failed: $(grep -v '^ok' <<<"$out" | tail -20)"
	summary=$(tail -n 1 <<<"$out")
	[[ $summary =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] || fail "$emu selftest: $summary"
	((BASH_REMATCH[1] >= 40)) || fail "$emu selftest ran only ${BASH_REMATCH[1]} checks"
	ASSERTS=$((ASSERTS + BASH_REMATCH[1]))
	log "$emu: $summary"
done
pass
