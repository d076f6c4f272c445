#!/usr/bin/env bash
# Runs every executable test_* in DIR (default build/tests), shows its
# output, and ends with exactly one line "unit: N passed, N failed" where N
# counts individual cmocka tests. A binary that exits non-zero without
# reporting a failed test (a crash, a sanitizer report, a hang) counts as one
# failure, as does one that prints no cmocka summary at all. Exits non-zero
# on any failure.
set -u

dir=${1:-build/tests}
passed=0
failed=0
nbins=0
timeout_s=${UNIT_TIMEOUT:-300}

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Plain cmocka output on stdout, whatever the caller's environment says.
export CMOCKA_MESSAGE_OUTPUT=STDOUT
unset CMOCKA_XML_FILE

# The sum of the N in every line of the form "[  WORD  ] N test(s)".
count() {
	local word=$1
	sed -n -E "s/^\[ +${word} +\] +([0-9]+) tests?\(s\).*/\1/p" "$out" |
	    awk '{ s += $1 } END { print s + 0 }'
}

if [ ! -d "$dir" ]; then
	echo "run-unit: no such directory: $dir"
	echo "unit: 0 passed, 1 failed"
	exit 1
fi

for bin in "$dir"/test_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	nbins=$((nbins + 1))
	name=$(basename "$bin")
	echo "== $name"
	# In a subshell whose stderr is closed to bash's own "Segmentation
	# fault" notices: a crash is reported below, in order.
	(
		if command -v timeout >/dev/null 2>&1; then
			timeout "$timeout_s" "$bin" >"$out" 2>&1
		else
			"$bin" >"$out" 2>&1
		fi
		rc=$?
		exit "$rc"
	) 2>/dev/null
	rc=$?
	cat "$out"
	if [ "$rc" -eq 124 ]; then
		echo "== $name: timed out after ${timeout_s}s"
	elif [ "$rc" -gt 128 ]; then
		echo "== $name: killed by signal $((rc - 128))"
	fi
	p=$(count PASSED)
	f=$(count FAILED)
	summaries=$(grep -c -E '^\[ +(PASSED|FAILED) +\] +[0-9]+ tests?\(s\)' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "== $name: exit status $rc with no failed test reported; counted as 1 failure"
		f=1
	elif [ "$summaries" -eq 0 ]; then
		echo "== $name: no cmocka summary printed; counted as 1 failure"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done

if [ "$nbins" -eq 0 ]; then
	echo "run-unit: no test_* executables in $dir"
	failed=$((failed + 1))
fi

echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
