#!/usr/bin/env bash
# Every suite in order: build, format check, unit tests, unit tests under
# ASan/UBSan, black-box tests against the real stack. Ends with one summary
# line "summary: N passed, N failed" and a non-zero exit on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# Adds the "N passed, N failed" counts of a suite's output to the totals;
# a suite that failed without printing counts is one failure.
tally() {
	local name=$1 rc=$2 out=$3 p f
	p=$(grep -Eo '[0-9]+ passed' "$out" | tail -n 1 | grep -Eo '[0-9]+' || true)
	f=$(grep -Eo '[0-9]+ (failed|error|errors)' "$out" | tail -n 1 | grep -Eo '[0-9]+' || true)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	echo "== $name: $p passed, $f failed (exit $rc)"
}

# A step with no counts of its own: one pass or one failure.
step() {
	local name=$1
	shift
	echo "== $name"
	if "$@" >"$log/step.out" 2>&1; then
		passed=$((passed + 1))
	else
		cat "$log/step.out"
		failed=$((failed + 1))
		echo "== $name FAILED"
		return 1
	fi
}

step build make -s all || { echo "summary: $passed passed, $failed failed"; exit 1; }
step format-check make -s format-check
step web-build make -s web

make -s unit 2>&1 | tee "$log/unit.out"
tally unit "${PIPESTATUS[0]}" "$log/unit.out"

make -s unit-asan 2>&1 | tee "$log/asan.out"
tally unit-asan "${PIPESTATUS[0]}" "$log/asan.out"

if ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
	step fuzz-corpus-replay make -s fuzz-replay
fi

py=$(bash scripts/setup.sh --print-python)
"$py" -m pytest tests/blackbox -q -p no:cacheprovider 2>&1 | tee "$log/bb.out"
tally blackbox "${PIPESTATUS[0]}" "$log/bb.out"

# The fault drill, 60 s of it (`make drill` runs the full one): a lost,
# doubled or stuck order, a board that missed one or an undrained outbox
# fails the run.
"$py" scripts/drill.py --seconds 60 2>&1 | tee "$log/drill.out"
tally drill "${PIPESTATUS[0]}" "$log/drill.out"

# The FastCGI programs themselves under ASan/UBSan, driven by the suites
# that exercise the most C (parsers, orders, images): any sanitizer report is a failure even if
# every test passed (a report kills only that child; nginx may hide it).
if step build-asan make -s bins-asan; then
	san=$(mktemp -d)
	ASAN_OPTIONS="detect_leaks=0:log_path=$san/asan" \
		UBSAN_OPTIONS="print_stacktrace=1:log_path=$san/ubsan" \
		OSHXONA_BIN="$PWD/build/asan/bin" OSHXONA_SANITIZED=1 \
		"$py" -m pytest tests/blackbox/test_menu.py tests/blackbox/test_auth.py \
		tests/blackbox/test_orders.py tests/blackbox/test_admin.py \
		tests/blackbox/test_uploads.py tests/blackbox/test_telegram_bot.py \
		tests/blackbox/test_payments.py tests/blackbox/test_payme_fiscal.py \
		tests/blackbox/test_bot_pay.py tests/blackbox/test_analytics.py -q -p no:cacheprovider 2>&1 | tee "$log/bbasan.out"
	tally blackbox-asan "${PIPESTATUS[0]}" "$log/bbasan.out"
	if compgen -G "$san/*" >/dev/null; then
		cat "$san"/*
		failed=$((failed + 1))
		echo "== sanitizer reports from the programs: FAILED"
	fi
	rm -rf "$san"
fi

echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
