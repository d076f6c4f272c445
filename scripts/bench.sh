#!/usr/bin/env bash
# `make bench`: starts its own stack on free loopback ports with the demo
# data, then measures, in one run:
#   1. GET /api/categories through nginx -> FastCGI menu program -> FerretDB
#      and nginx serving a static file of the very same bytes (wrk);
#   2. order creation, POST /api/orders, at BENCH_CONNECTIONS (wrk);
#   3. publish -> receive latency on a branch channel with
#      BENCH_SUBSCRIBERS (1000) EventSource subscribers;
# and prints throughputs, p99 latencies, the menu/static ratio, and the RSS
# of every FastCGI child afterwards. BENCH_SECONDS (10 per wrk run).
#   4. then, on a fresh stack, the hot requests with 1,000 and with 100,000
#      orders in the database, and their ratio (scripts/bench_history.py;
#      BENCH_HISTORY_ONLY=1 runs only this part).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-50}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
export STACK_DIR
STACK_DIR=$(mktemp -d /tmp/oshxona-bench.XXXXXX)
export PORT DB_PORT PG_PORT
PORT=$(free_port)
DB_PORT=$(free_port)
PG_PORT=$(free_port)
export LOG_LEVEL=warn DEMO_DATA=$ROOT/data/demo.json
# The benchmark is one client sending far more than the per-address limit.
export RATE_LIMIT_API=10000000 RATE_LIMIT_ORDERS=10000000
export BOT_TOKEN=424242:bench-token-not-a-real-bot TELEGRAM_API_BASE=http://127.0.0.1:9
export TELEGRAM_WEBHOOK_SECRET=bench-webhook-secret BOT_WAKE_SOCKET=$STACK_DIR/run/bot-wake.sock
cleanup() {
	bash "$ROOT/scripts/stack.sh" stop >/dev/null 2>&1 || true
	rm -rf "$STACK_DIR"
	if [ -n "${BIG_DIR:-}" ]; then
		STACK_DIR=$BIG_DIR bash "$ROOT/scripts/stack.sh" stop >/dev/null 2>&1 || true
		rm -rf "$BIG_DIR"
	fi
}
trap cleanup EXIT

# Request cost against history (issue 11): the stack at $STACK_DIR gets
# the small history, a second one (BIG_DIR) the large one.
BIG_DIR=""
history_bench() {
	local py pw big_port big_db big_pg
	py=$(bash "$ROOT/scripts/setup.sh" --print-python)
	pw=$("$py" -c 'import json, sys; print([s for s in json.load(open(sys.argv[1]))["staff"] if s["login"] == "owner"][0]["password"])' "$DEMO_DATA")
	BIG_DIR=$(mktemp -d /tmp/oshxona-bench-big.XXXXXX)
	big_port=$(free_port)
	big_db=$(free_port)
	big_pg=$(free_port)
	STACK_DIR=$BIG_DIR PORT=$big_port DB_PORT=$big_db PG_PORT=$big_pg \
		bash "$ROOT/scripts/stack.sh" start >/dev/null
	echo "bench: history (FerretDB on PostgreSQL 15; sizes ${BENCH_HISTORY_SIZES:-1000,100000})"
	(cd "$ROOT/scripts" && "$py" bench_history.py "$PORT" "$DB_PORT" "$big_port" "$big_db" \
		"$BOT_TOKEN" "$pw")
}
# BENCH_ONLY=history|webhook|analytics runs that one part alone (on a
# quiet machine, the parts whose figures an issue names).
[ "${BENCH_HISTORY_ONLY:-0}" = 1 ] && BENCH_ONLY=history
PY=$(bash "$ROOT/scripts/setup.sh" --print-python)
webhook_bench() {
	# The bot's webhook at a fixed 100 updates a second (open loop), with the
	# bot worker handling them against a local fake Bot API.
	"$PY" "$ROOT/scripts/bench_webhook.py" "$PORT" "$DB_PORT" "$STACK_DIR" "$TELEGRAM_WEBHOOK_SECRET" \
		"$BOT_TOKEN" "${BENCH_WEBHOOK_RATE:-100}" "${BENCH_WEBHOOK_SECONDS:-20}"
}
analytics_bench() {
	local pw
	pw=$("$PY" -c 'import json, sys; print([s for s in json.load(open(sys.argv[1]))["staff"] if s["login"] == "owner"][0]["password"])' "$DEMO_DATA")
	echo "bench: analytics, ${BENCH_ANALYTICS_ORDERS:-1000000} orders over 365 days"
	(cd "$ROOT/scripts" && "$PY" bench_analytics.py "$PORT" "$DB_PORT" "$pw" "$STACK_DIR")
}
case "${BENCH_ONLY:-}" in
history | webhook | analytics)
	bash "$ROOT/scripts/stack.sh" start >/dev/null
	"${BENCH_ONLY}_bench"
	exit 0
	;;
"") ;;
*)
	echo "bench: BENCH_ONLY is history, webhook or analytics" >&2
	exit 2
	;;
esac
bash "$ROOT/scripts/stack.sh" start >/dev/null

base=http://127.0.0.1:$PORT
curl -fsS "$base/api/categories" -o "$STACK_DIR/bench/categories.json"
cmp -s <(curl -fsS "$base/api/categories") <(curl -fsS "$base/_bench/categories.json") ||
	{ echo "bench: static twin differs from the API response" >&2; exit 1; }
bytes=$(stat -c %s "$STACK_DIR/bench/categories.json")

# Prints "req/s p99-ms" for one wrk run: URL, then wrk options.
run_wrk() {
	local out url=$1
	shift
	out=$(wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" --latency "$@" "$url")
	local rps p99 non2xx
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
	if [ -n "$non2xx" ]; then
		echo "bench: $non2xx non-2xx answers from $url" >&2
		exit 1
	fi
	echo "$rps $(to_ms "$p99")"
}
# wrk prints latencies as 812.00us, 1.23ms or 1.05s.
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
		else print v }'
}

echo "bench: ${SECONDS_EACH}s each, $CONNS connections, 2 wrk threads, $bytes-byte body, $(nproc) cores"
read -r api_rps api_p99 < <(run_wrk "$base/api/categories")
read -r static_rps static_p99 < <(run_wrk "$base/_bench/categories.json")
# A search answer comes from a FastCGI child's own table (cache hit), not
# from a file: the price of the FastCGI hop itself.
curl -fsS -o /dev/null "$base/api/products?search=osh&limit=5"
read -r search_rps search_p99 < <(run_wrk "$base/api/products?search=osh&limit=5")
printf '%-34s %12s %10s\n' "" "requests/s" "p99 ms"
printf '%-34s %12.0f %10s\n' "GET /api/categories (cache hit)" "$api_rps" "$api_p99"
printf '%-34s %12.0f %10s\n' "nginx static, same bytes" "$static_rps" "$static_p99"
printf '%-34s %12.0f %10s\n' "GET /api/products?search (hit)" "$search_rps" "$search_p99"
awk -v a="$api_rps" -v s="$static_rps" 'BEGIN { printf "ratio menu/static: %.3f\n", a / s }'
awk -v a="$search_rps" -v s="$static_rps" 'BEGIN { printf "ratio search via FastCGI/static: %.3f\n", a / s }'
owner_pw=$("$PY" -c 'import json, sys; print([s for s in json.load(open(sys.argv[1]))["staff"] if s["login"] == "owner"][0]["password"])' "$DEMO_DATA")
read -r branch token < <("$PY" "$ROOT/scripts/bench_prep.py" "$PORT" "$DB_PORT" "$STACK_DIR/bench" "$BOT_TOKEN" "$owner_pw")
read -r order_rps order_p99 < <(run_wrk "$base/api/orders" -s "$STACK_DIR/bench/order.lua")
printf '%-28s %12.0f %10s\n' "POST /api/orders (create)" "$order_rps" "$order_p99"
"$PY" "$ROOT/scripts/bench_realtime.py" "$PORT" "$STACK_DIR" "$branch" "$token" \
	"${BENCH_SUBSCRIBERS:-1000}" "${BENCH_EVENTS:-100}"
echo "nginx workers crashed: $(grep -c 'exited on signal' "$STACK_DIR/logs/error.log" || true)"
for app in menu health auth orders chanauth admin uploads; do
	while read -r pid || [ -n "$pid" ]; do
		# RSS counts shared library pages every process maps; the private
		# (unshared) part is what each extra child really costs.
		[ -n "$pid" ] && echo "rss $app child $pid: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")," \
			"private $(awk '/^Private_(Clean|Dirty)/ {s += $2} END {print s, "kB"}' "/proc/$pid/smaps_rollup")"
	done <"$STACK_DIR/run/$app.children"
done
webhook_bench
bash "$ROOT/scripts/stack.sh" stop >/dev/null
rm -rf "${STACK_DIR:?}"/*
bash "$ROOT/scripts/stack.sh" start >/dev/null
history_bench

# Analytics (issue 13): rollup throughput on BENCH_ANALYTICS_ORDERS
# (1,000,000) generated orders, and endpoint latency over a week and then a
# year of rollups (scripts/bench_analytics.py). BENCH_ANALYTICS=0 skips it.
if [ "${BENCH_ANALYTICS:-1}" != 0 ]; then
	# A fresh database: the rollups measured are only the generated ones.
	bash "$ROOT/scripts/stack.sh" stop >/dev/null
	rm -rf "${STACK_DIR:?}"/*
	bash "$ROOT/scripts/stack.sh" start >/dev/null
	analytics_bench
fi
