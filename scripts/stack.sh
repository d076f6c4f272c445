#!/usr/bin/env bash
# Starts and stops the whole local stack: FerretDB, the FastCGI programs
# (tools/fcgi-supervisor, unix sockets) and nginx with the project's configuration,
# all on 127.0.0.1 and all under one directory.
#
#   scripts/stack.sh start|stop|status
#   scripts/stack.sh db-stop|db-start      (fault tests: database down/up)
#   scripts/stack.sh migrate-sqlite        (old SQLite store -> PostgreSQL)
#   scripts/stack.sh pg-stop|pg-start      (fault tests: PostgreSQL alone)
#   scripts/stack.sh render                (only write run/nginx.conf and its snippets; nginx -t)
#   scripts/stack.sh bot-stop|bot-start    (the bot's worker alone)
#
# Environment: STACK_DIR (default ./var), PORT (8080), DB_PORT (27018),
# PG_PORT (27019, the stack's own PostgreSQL under FerretDB),
# FCGI_CHILDREN (2 per program), DEMO_DATA (data/demo.json; empty: none),
# RATE_LIMIT_API (requests per 15 min per address, 100), RATE_LIMIT_ORDERS
# (orders per 5 min per address, 10), TRUSTED_PROXY
# (the one reverse proxy whose X-Forwarded-For is believed, 127.0.0.1),
# NCHAN_REDIS_URL (Nchan's channels in Redis, shared by several hosts),
# EXTERNAL_DB=1 (use MONGODB_URI as given, e.g. a MongoDB replica set,
# instead of starting a local FerretDB), SKIP_DAEMONS (daemons not to
# start, e.g. menu-listener).
# Anything else (LOG_LEVEL, NODE_ENV, BOT_TOKEN, ...) passes through to
# the programs, which also read ./.env for what the environment lacks.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${OSHXONA_BIN:-$ROOT/build/bin}

# The operator's .env may set PORT; the environment wins.
env_from_file() {
	[ -f "$ROOT/.env" ] || return 0
	sed -n "s/^[[:space:]]*$1=[\"']\{0,1\}\([^\"']*\)[\"']\{0,1\}[[:space:]]*$/\1/p" "$ROOT/.env" | tail -n 1
}
PORT=${PORT:-$(env_from_file PORT)}
PORT=${PORT:-8080}
DB_PORT=${DB_PORT:-27018}
PG_PORT=${PG_PORT:-27019}
STACK_DIR=${STACK_DIR:-$ROOT/var}
FCGI_CHILDREN=${FCGI_CHILDREN:-2}
DEMO_DATA=${DEMO_DATA-$ROOT/data/demo.json}
# Every program under fcgi-apps/ runs: a new program needs no line here.
# health first, so /healthz answers as soon as nginx does.
mapfile -t APPS < <(
	echo health
	find "$ROOT/fcgi-apps" -mindepth 2 -maxdepth 2 -name main.c -printf '%h\n' |
		xargs -n1 basename | grep -vx health | sort
)

RUN=$STACK_DIR/run
LOGS=$STACK_DIR/logs
DATA=$STACK_DIR/data

say() { echo "stack: $*"; }
die() {
	echo "stack: $*" >&2
	exit 1
}

# True when the process runs: a zombie (killed, not yet reaped: a process
# whose parent died is left to PID 1, which need not reap it) does not count.
running() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$state" != Z ]
}

# True when every PID in the file is a live process.
alive() {
	local f=$1 pid any=0
	[ -s "$f" ] || return 1
	while read -r pid || [ -n "$pid" ]; do
		[ -n "$pid" ] || continue
		running "$pid" || return 1
		any=1
	done <"$f"
	[ "$any" -eq 1 ]
}

# Stops every PID in the file (TERM, then KILL after 5 s) and removes it.
stop_pids() {
	local f=$1 pid pids=() i
	[ -f "$f" ] || return 0
	while read -r pid || [ -n "$pid" ]; do
		[ -n "$pid" ] && pids+=("$pid")
	done <"$f"
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for i in $(seq 50); do
		local left=0
		for pid in "${pids[@]}"; do
			running "$pid" && left=1
		done
		[ "$left" -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -f "$f"
}

# Shared secrets for every process of a development stack: generated once,
# kept in the stack directory, so tokens and sessions survive restarts and
# are valid in every FastCGI child (a per-process random secret is not).
dev_secrets() {
	local f=$STACK_DIR/secrets.env
	if [ ! -s "$f" ]; then
		(
			umask 077
			printf 'JWT_SECRET=%s\nSESSION_SECRET=%s\n' \
				"$(openssl rand -hex 32)" "$(openssl rand -hex 32)" >"$f"
		)
	fi
	local k v
	while IFS='=' read -r k v; do
		case $k in
		JWT_SECRET | SESSION_SECRET)
			if [ -z "${!k:-}" ] && [ -z "$(env_from_file "$k")" ]; then
				export "$k=$v"
			fi
			;;
		esac
	done <"$f"
}

# The embedded database: FerretDB on a PostgreSQL 15 cluster that the
# stack owns (data in $DATA/pg, its own port and socket directory). Only
# equality filters reach PostgreSQL through FerretDB, and only GIN
# expression indexes (made by oshxona-init) serve them: see README.md.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PGDATA_DIR=$DATA/pg
PG_SOCK=$STACK_DIR/pgrun

# PostgreSQL refuses to run as root: as root, run it as the owner of an
# existing cluster, else as Debian's "postgres" user; otherwise as the
# caller. Prints the user name.
pg_user() {
	if [ "$(id -u)" -ne 0 ]; then
		id -un
		return 0
	fi
	local owner
	if [ -d "$PGDATA_DIR" ]; then
		owner=$(stat -c %U "$PGDATA_DIR")
		if [ "$owner" != root ] && [ "$owner" != UNKNOWN ]; then
			echo "$owner"
			return 0
		fi
	fi
	getent passwd postgres >/dev/null ||
		die "running as root needs a 'postgres' user to run PostgreSQL (apt-get install postgresql-15)"
	echo postgres
}

# Runs a command as the cluster's user.
as_pg() {
	local u
	u=$(pg_user)
	if [ "$(id -u)" -eq 0 ] && [ "$u" != root ]; then
		runuser -u "$u" -- "$@"
	else
		"$@"
	fi
}

# As root, the cluster's user must reach $DATA/pg through directories
# root made 0700 (mktemp -d): allow traversal (x, not listing) on the
# ones we own, and say which one blocks otherwise.
pg_dirs() {
	local u d
	u=$(pg_user)
	mkdir -p "$PGDATA_DIR" "$PG_SOCK"
	touch "$LOGS/postgresql.log"
	if [ "$(id -u)" -eq 0 ] && [ "$u" != root ]; then
		chown "$u:" "$PGDATA_DIR" "$PG_SOCK" "$LOGS/postgresql.log"
		d=$(dirname "$PGDATA_DIR")
		while [ "$d" != / ]; do
			if ! runuser -u "$u" -- test -x "$d" 2>/dev/null; then
				[ "$(stat -c %u "$d")" -eq 0 ] ||
					die "user $u cannot enter $d (PostgreSQL's data is below it)"
				chmod o+x "$d"
			fi
			d=$(dirname "$d")
		done
	fi
	chmod 700 "$PGDATA_DIR" "$PG_SOCK"
}

pg_alive() {
	local pid
	[ -s "$PGDATA_DIR/postmaster.pid" ] || return 1
	pid=$(head -n 1 "$PGDATA_DIR/postmaster.pid")
	[ -n "$pid" ] && running "$pid"
}

# The cluster's password (loopback TCP needs one; the local socket,
# 0700 and owned by the cluster's user, is trusted).
pg_password() {
	local f=$DATA/pg-password
	if [ ! -s "$f" ]; then
		(
			umask 077
			openssl rand -hex 24 >"$f"
		)
	fi
	cat "$f"
}

pg_url() {
	echo "postgres://oshxona:$(pg_password)@127.0.0.1:$PG_PORT/ferretdb"
}

# A data directory of the old default (FerretDB's SQLite handler) and no
# cluster yet: refuse, and say how to carry the data over.
pg_refuse_sqlite() {
	if [ ! -s "$PGDATA_DIR/PG_VERSION" ] && compgen -G "$DATA/ferretdb/*.sqlite" >/dev/null; then
		die "$DATA/ferretdb holds data of the old SQLite store. Copy it into the new PostgreSQL store with 'bash scripts/stack.sh migrate-sqlite' (STACK_DIR=$STACK_DIR), or move $DATA/ferretdb away to start empty."
	fi
}

# A new cluster in $PGDATA_DIR. initdb's output depends only on its
# arguments, the PostgreSQL major version and the user, and takes seconds
# (its bootstrap is CPU-bound: 3 s here under load, once per test stack),
# so a pristine copy is kept per user and copied (0.3 s) the next time.
# Its superuser has no password yet: pg_start sets this stack's own.
pg_new_cluster() {
	local u tpl tmp
	u=$(pg_user)
	tpl=${OSHXONA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oshxona}/pg15-template-$u
	if [ -s "$tpl/PG_VERSION" ] && cp -a "$tpl/." "$PGDATA_DIR/" 2>/dev/null; then
		if [ "$(id -u)" -eq 0 ]; then
			chown -R "$u:" "$PGDATA_DIR"
		fi
		return 0
	fi
	find "$PGDATA_DIR" -mindepth 1 -delete
	as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -E UTF8 --locale=C.UTF-8 -U oshxona \
		--auth-local=trust --auth-host=scram-sha-256 \
		</dev/null >>"$LOGS/postgresql.log" 2>&1 ||
		die "initdb failed (see $LOGS/postgresql.log)"
	tmp=$tpl.tmp.$$
	mkdir -p "$(dirname "$tpl")"
	if cp -a "$PGDATA_DIR" "$tmp" 2>/dev/null && mv -T "$tmp" "$tpl" 2>/dev/null; then
		return 0
	fi
	rm -rf "$tmp"
}

pg_start() {
	if pg_alive; then
		return 0
	fi
	[ -x "$PG_BIN/pg_ctl" ] || die "PostgreSQL 15 is not installed: run 'make setup'"
	pg_dirs
	local fresh=0
	if [ ! -s "$PGDATA_DIR/PG_VERSION" ]; then
		pg_new_cluster
		fresh=1
	fi
	rm -f "$PGDATA_DIR/postmaster.pid"
	# plan_cache_mode: FerretDB's statements are prepared with the field name
	# as a parameter (_jsonb->$1 @> $2); a generic plan cannot match the GIN
	# expression indexes, and PostgreSQL switches to one after five runs
	# whenever a seq scan looks cheap (small tables of large documents:
	# daily_stats went from 4 to 26 ms a read). No parallel workers: every
	# query here touches a few rows, and a stale row estimate after a burst
	# of inserts made a status change's {_id, version} read start two
	# workers, 7 ms instead of 0.1. oshxona-init also sets both on the
	# database, for deployments whose PostgreSQL we do not start.
	as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOGS/postgresql.log" -w -t 60 -s \
		-o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c plan_cache_mode=force_custom_plan -c max_parallel_workers_per_gather=0" \
		start </dev/null ||
		{
			tail -n 20 "$LOGS/postgresql.log" >&2 || true
			die "PostgreSQL did not start on 127.0.0.1:$PG_PORT"
		}
	if [ "$fresh" -eq 1 ]; then
		# Through stdin, so the password shows in no process list.
		printf "ALTER ROLE oshxona PASSWORD '%s';\n" "$(pg_password)" |
			as_pg "$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U oshxona -d postgres \
				-qAt -v ON_ERROR_STOP=1 -f - >/dev/null ||
			die "cannot set the PostgreSQL password"
	fi
	if ! as_pg "$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U oshxona -d postgres -Atqc \
		"SELECT 1 FROM pg_database WHERE datname = 'ferretdb'" </dev/null | grep -q 1; then
		as_pg "$PG_BIN/createdb" -h "$PG_SOCK" -p "$PG_PORT" -U oshxona ferretdb </dev/null ||
			die "createdb ferretdb failed"
	fi
}

pg_stop() {
	pg_alive || return 0
	as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 30 -s stop </dev/null ||
		as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w -t 10 -s stop </dev/null || true
}

# FerretDB with the given handler arguments on a port; $RUN/<name>.pid.
ferretdb_start() {
	local name=$1 port=$2
	shift 2
	if alive "$RUN/$name.pid"; then
		return 0
	fi
	local ferretdb
	ferretdb=$(bash "$ROOT/scripts/setup.sh" --print-ferretdb)
	[ -x "$ferretdb" ] || die "FerretDB is not built: run 'make setup'"
	# GOMAXPROCS: one core fewer than the machine has. With every core, Go's
	# garbage collector and FerretDB's goroutines took all of them in bursts
	# of tens of ms, and requests that never touch the database waited: the
	# webhook bench's 403 control had p99 43 ms on a quiet 2-core machine,
	# 5 ms with GOMAXPROCS=1 (the webhook itself 52 -> 7 ms). PostgreSQL does
	# the queries in its own processes either way. FERRETDB_GOMAXPROCS overrides.
	local cores
	cores=$(nproc 2>/dev/null || echo 2)
	# setsid: the database outlives the shell that started it; in a
	# non-interactive shell it execs in place, so $! is FerretDB's PID.
	GOMAXPROCS=${FERRETDB_GOMAXPROCS:-$((cores > 1 ? cores - 1 : 1))} setsid "$ferretdb" "$@" \
		--listen-addr="127.0.0.1:$port" --state-dir=- --debug-addr=- \
		--telemetry=disable --log-level=warn \
		>>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
	local i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		alive "$RUN/$name.pid" || break
		sleep 0.1
	done
	tail -n 20 "$LOGS/$name.log" >&2 || true
	die "FerretDB did not start on 127.0.0.1:$port"
}

db_start() {
	pg_refuse_sqlite
	pg_start
	# The URL holds the password: through the environment, not argv.
	FERRETDB_POSTGRESQL_URL=$(pg_url) ferretdb_start ferretdb "$DB_PORT" --handler=postgresql
}

# An outage of the whole database: FerretDB and PostgreSQL.
db_stop() {
	stop_pids "$RUN/ferretdb.pid"
	pg_stop
}

db_alive() {
	alive "$RUN/ferretdb.pid" && pg_alive
}

# Copies an old SQLite store ($DATA/ferretdb, the former default) into
# the PostgreSQL store: the old FerretDB reads it on a side port, the new
# one writes; every collection with its indexes. `make run` then adds the
# GIN indexes (oshxona-init). The old store is kept, renamed.
migrate_sqlite() {
	mkdir -p "$RUN" "$LOGS"
	chmod 700 "$RUN"
	compgen -G "$DATA/ferretdb/*.sqlite" >/dev/null || die "no SQLite store in $DATA/ferretdb"
	if alive "$RUN/nginx.pid"; then
		die "stop the stack first (make stop)"
	fi
	local side=${MIGRATE_PORT:-$((DB_PORT + 2))}
	ferretdb_start ferretdb-sqlite "$side" --handler=sqlite --sqlite-url="file:$DATA/ferretdb/"
	pg_start
	FERRETDB_POSTGRESQL_URL=$(pg_url) ferretdb_start ferretdb "$DB_PORT" --handler=postgresql
	local py rc=0
	py=$(bash "$ROOT/scripts/setup.sh" --print-python)
	"$py" "$ROOT/scripts/migrate_sqlite.py" "mongodb://127.0.0.1:$side/" \
		"mongodb://127.0.0.1:$DB_PORT/" || rc=$?
	stop_pids "$RUN/ferretdb-sqlite.pid"
	db_stop
	[ "$rc" -eq 0 ] || die "migration failed; the SQLite store in $DATA/ferretdb is untouched"
	mv "$DATA/ferretdb" "$DATA/ferretdb.sqlite-migrated"
	say "migrated; the old store is kept in $DATA/ferretdb.sqlite-migrated; start with 'make run'"
}

# Each program runs under tools/fcgi-supervisor: $app.pid is the
# supervisor's PID, $app.children its live children's (one a line), and a
# child that dies is replaced (issue 12: spawn-fcgi never replaced one).
fcgi_start() {
	local app=$1 i
	if alive "$RUN/$app.pid"; then
		return 0
	fi
	stop_pids "$RUN/$app.pid"
	rm -f "$RUN/$app.sock" "$RUN/$app.children"
	[ -x "$BIN/$app" ] || die "$BIN/$app is not built: run 'make'"
	[ -x "$BIN/fcgi-supervisor" ] || die "$BIN/fcgi-supervisor is not built: run 'make'"
	LOG_FILE="$LOGS/$app.log" setsid "$BIN/fcgi-supervisor" -n "$app" -s "$RUN/$app.sock" \
		-M 0600 -F "$FCGI_CHILDREN" -P "$RUN/$app.pid" -C "$RUN/$app.children" \
		-- "$BIN/$app" >>"$LOGS/$app.log" 2>&1 </dev/null &
	for i in $(seq 100); do
		[ -S "$RUN/$app.sock" ] && [ -s "$RUN/$app.children" ] && [ -s "$RUN/$app.pid" ] && return 0
		sleep 0.05
	done
	die "$app did not start (see $LOGS/$app.log)"
}

# Stops a program: its supervisor ends the children (TERM, KILL after 5 s).
fcgi_stop() {
	stop_pids "$RUN/$1.pid"
	rm -f "$RUN/$1.sock" "$RUN/$1.children"
}

# Long-running helpers that are not FastCGI programs, one name a line:
# $BIN/<name>, started after nginx (they may talk to it) in the stack's
# environment (start() exports what they read), stopped before it;
# $RUN/<name>.pid, $LOGS/<name>.log. A new one is one line here.
# SKIP_DAEMONS="<name> ..." leaves some out (test_scaleout: a host whose
# menu cache only menu-sync refreshes).
DAEMONS=(
	menu-listener # drops the menu cache on every catalogue write, from any host
)

# The daemons to run: DAEMONS less SKIP_DAEMONS.
daemons() {
	local d
	for d in "${DAEMONS[@]}"; do
		case " ${SKIP_DAEMONS:-} " in *" $d "*) continue ;; esac
		echo "$d"
	done
}

daemon_start() {
	local name=$1
	if alive "$RUN/$name.pid"; then
		return 0
	fi
	rm -f "$RUN/$name.pid"
	[ -x "$BIN/$name" ] || die "$BIN/$name is not built: run 'make'"
	# setsid execs in place here, so $! is the daemon's own PID.
	LOG_FILE="$LOGS/$name.log" setsid "$BIN/$name" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
}

render_nginx_conf() {
	local user_line=""
	# Workers must reach the 0600 sockets and the stack directory: run
	# them as the user who owns both. (Production uses www-data.)
	if [ "$(id -u)" -eq 0 ]; then
		user_line="user root root;"
	fi
	# The seed's general limit, RATE_LIMIT_API requests per 15 minutes,
	# as a leaky bucket: that many at once (burst), refilled at limit/15
	# per minute (nginx rates are whole requests per minute).
	local limit=${RATE_LIMIT_API:-100}
	local rate=$(((limit + 14) / 15))
	# And the seed's order limit, RATE_LIMIT_ORDERS per 5 minutes.
	local olimit=${RATE_LIMIT_ORDERS:-10}
	local orate=$(((olimit + 4) / 5))
	mkdir -p "$RUN/oshxona"
	# The CORS origins of the two front ends, for nginx's own answers.
	local url origin origins=""
	for url in "${ADMIN_PANEL_URL:-$(env_from_file ADMIN_PANEL_URL)}" \
		"${USER_FRONTEND_URL:-$(env_from_file USER_FRONTEND_URL)}"; do
		origin=$(printf '%s' "${url:-http://127.0.0.1:8080}" |
			sed -n 's|^\(https\{0,1\}://[^/?#]*\).*$|\1|p' | tr 'A-Z' 'a-z')
		case " $origins " in *" $origin "*) ;; *) origins="$origins $origin" ;; esac
	done
	: >"$RUN/oshxona/cors-origins.conf"
	for origin in $origins; do
		printf '"%s" $http_origin;\n' "$origin" >>"$RUN/oshxona/cors-origins.conf"
	done
	# The upstreams (from fcgi-apps/) and the locations production shares.
	bash "$ROOT/scripts/nginx-render.sh" snippets "$RUN/oshxona" "$RUN" \
		MENU_FILES="$STACK_DIR/cache/files" MEDIA_ROOT="$STACK_DIR" \
		ADMIN_DIR="$ROOT/web/admin/dist" SHOP_DIR="$ROOT/web/shop/dist" \
		API_BURST=$((limit - 1)) ORDER_BURST=$((olimit - 1)) \
		ORDER_RETRY=$(((60 + orate - 1) / orate))
	# Plain HTTP: no Strict-Transport-Security (production's hsts.conf).
	echo "# The local site is plain HTTP: no HSTS." >"$RUN/oshxona/hsts.conf"
	# Nchan's Redis mode (NCHAN_REDIS_URL, e.g. redis://10.0.0.5:6379): the
	# channels live in Redis, so several hosts share them. Empty: in memory.
	: >"$RUN/oshxona/nchan-redis.conf"
	if [ -n "${NCHAN_REDIS_URL:-}" ]; then
		printf 'nchan_redis_url "%s";\nnchan_use_redis on;\n' "$NCHAN_REDIS_URL" \
			>"$RUN/oshxona/nchan-redis.conf"
	fi
	sed -e "s|@PORT@|$PORT|g" -e "s|@STACK_DIR@|$STACK_DIR|g" \
		-e "s|@USER_LINE@|$user_line|g" \
		-e "s|@TRUSTED_PROXY@|${TRUSTED_PROXY:-127.0.0.1}|g" \
		-e "s|@API_RATE@|${rate}r/m|g" -e "s|@ORDER_RATE@|${orate}r/m|g" \
		"$ROOT/nginx-conf/oshxona.conf.in" >"$RUN/nginx.conf"
}

nginx_start() {
	if alive "$RUN/nginx.pid"; then
		nginx -p "$STACK_DIR/" -c "$RUN/nginx.conf" -e "$LOGS/error.log" -s reload
		return 0
	fi
	rm -f "$RUN/nginx.pid"
	nginx -p "$STACK_DIR/" -c "$RUN/nginx.conf" -e "$LOGS/error.log" -t -q ||
		die "nginx rejected $RUN/nginx.conf"
	nginx -p "$STACK_DIR/" -c "$RUN/nginx.conf" -e "$LOGS/error.log"
}

wait_ready() {
	local i
	for i in $(seq 100); do
		if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	die "nginx does not answer on 127.0.0.1:$PORT (see $LOGS/error.log)"
}

# The bot's worker (tools/oshxona-bot run, issue 14): one per host; it
# moves what the webhook spooled ($DATA/bot-spool) into the inbox and
# handles it. Not started without a BOT_TOKEN (it could send nothing), nor
# with BOT_WORKER=0 (the bot's tests run their own). `stack.sh bot-start`
# and `bot-stop` start and stop it alone, with the environment as given.
bot_env() {
	export BOT_SPOOL_DIR=${BOT_SPOOL_DIR:-$DATA/bot-spool}
	export BOT_WAKE_SOCKET=${BOT_WAKE_SOCKET:-$RUN/bot-wake.sock}
	if [ "${EXTERNAL_DB:-0}" != 1 ]; then
		export MONGODB_URI="mongodb://127.0.0.1:$DB_PORT/oshxona"
	fi
	export NCHAN_PUBLISH_SOCKET=$RUN/nchan-publish.sock
	[ -f "$ROOT/.env" ] && export OSHXONA_ENV_FILE=${OSHXONA_ENV_FILE:-$ROOT/.env}
	export OSHXONA_ENV_FILE=${OSHXONA_ENV_FILE:-/dev/null}
	mkdir -p "$BOT_SPOOL_DIR"
	chmod 700 "$BOT_SPOOL_DIR"
}
bot_start() {
	[ "${BOT_WORKER:-1}" != 0 ] || return 0
	if [ -z "${BOT_TOKEN:-$(env_from_file BOT_TOKEN)}" ]; then
		say "bot worker not started: no BOT_TOKEN"
		return 0
	fi
	alive "$RUN/oshxona-bot.pid" && return 0
	[ -x "$BIN/oshxona-bot" ] || die "$BIN/oshxona-bot is not built: run 'make'"
	OSHXONA_LOCK_DIR=$RUN LOG_FILE="$LOGS/oshxona-bot.log" setsid "$BIN/oshxona-bot" run \
		>>"$LOGS/oshxona-bot.log" 2>&1 </dev/null &
	echo $! >"$RUN/oshxona-bot.pid"
}
bot_stop() {
	stop_pids "$RUN/oshxona-bot.pid"
	rm -f "${BOT_WAKE_SOCKET:-$RUN/bot-wake.sock}"
}

start() {
	mkdir -p "$RUN" "$LOGS" "$DATA" "$STACK_DIR/tmp" "$STACK_DIR/bench"
	chmod 700 "$RUN"
	local running=0
	if alive "$RUN/nginx.pid" && { [ "${EXTERNAL_DB:-0}" = 1 ] || db_alive; }; then
		running=1
	fi
	if [ "${EXTERNAL_DB:-0}" = 1 ]; then
		[ -n "${MONGODB_URI:-$(env_from_file MONGODB_URI)}" ] || die "EXTERNAL_DB=1 needs MONGODB_URI"
	else
		export MONGODB_URI="mongodb://127.0.0.1:$DB_PORT/oshxona"
	fi
	export NCHAN_PUBLISH_SOCKET=$RUN/nchan-publish.sock
	# menu-listener follows the menu channel on the ops server.
	export MENU_EVENTS_SOCKET=$RUN/ops.sock
	# Uploaded images (fcgi-apps/uploads), served by nginx as /media/<name>.
	export MEDIA_DIR=$STACK_DIR/media
	mkdir -p "$MEDIA_DIR"
	export MENU_CACHE_DIR=$STACK_DIR/cache
	# Every program's shared request counters, read by fcgi-apps/metrics.
	export METRICS_DIR=$RUN/metrics
	mkdir -p "$METRICS_DIR"
	# /readyz: every program named must have a live child (fcgi-apps/health).
	export OSHXONA_RUN_DIR=$RUN
	export OSHXONA_PROGRAMS="${APPS[*]}"
	if [ -f "$ROOT/.env" ]; then
		export OSHXONA_ENV_FILE=${OSHXONA_ENV_FILE:-$ROOT/.env}
	else
		export OSHXONA_ENV_FILE=${OSHXONA_ENV_FILE:-/dev/null}
	fi
	if [ "${NODE_ENV:-$(env_from_file NODE_ENV)}" != production ]; then
		dev_secrets
	fi
	bot_env
	if [ "$running" -eq 1 ]; then
		# Running already: only bring back a program that died.
		local app
		for app in "${APPS[@]}"; do
			fcgi_start "$app"
		done
		for app in $(daemons); do
			daemon_start "$app"
		done
		bot_start
		say "already running on http://127.0.0.1:$PORT (stop it with 'make stop')"
		return 0
	fi
	# Answers cached by an earlier run may predate the data: start empty.
	rm -rf "$STACK_DIR/cache/files"
	local pg_url=""
	if [ "${EXTERNAL_DB:-0}" != 1 ]; then
		db_start
		pg_url=$(pg_url)
	fi
	# Only oshxona-init needs PostgreSQL itself (its GIN indexes).
	OSHXONA_PG_URL=$pg_url DEMO_DATA=$DEMO_DATA LOG_FILE="$LOGS/init.log" "$BIN/oshxona-init" ||
		die "database initialisation failed (see $LOGS/init.log)"
	local app
	for app in "${APPS[@]}"; do
		fcgi_start "$app"
	done
	render_nginx_conf
	nginx_start
	wait_ready
	for app in $(daemons); do
		daemon_start "$app"
	done
	bot_start
	say "Oshxona is running (data and logs in $STACK_DIR)"
	say "  menu:    http://127.0.0.1:$PORT/api/categories"
	say "           http://127.0.0.1:$PORT/api/products?search=osh"
	say "           http://127.0.0.1:$PORT/api/branches"
	say "  health:  http://127.0.0.1:$PORT/healthz  http://127.0.0.1:$PORT/readyz"
	say "  auth:    POST http://127.0.0.1:$PORT/api/auth/login  GET /api/auth/me"
	say "  orders:  POST http://127.0.0.1:$PORT/api/orders  GET /api/admin/orders (staff)"
	say "  admin:   http://127.0.0.1:$PORT/api/admin/products  /categories  /branches  /uploads"
	say "  live:    ws:// or EventSource http://127.0.0.1:$PORT/sub/branch/<id>  /sub/user/<id>  /sub/menu"
	say "  payments: POST http://127.0.0.1:$PORT/payments/payme  /payments/click/prepare  /complete  GET /api/orders/<id>/pay"
	if [ -f "$ROOT/web/shop/dist/index.html" ]; then
		say "  shop:    http://127.0.0.1:$PORT/shop/ (the storefront; also the Telegram Mini App)"
	fi
	if [ -n "$DEMO_DATA" ] && [ -f "$DEMO_DATA" ]; then
		say "  demo staff (login / password / role):"
		python3 -c 'import json, sys
for s in json.load(open(sys.argv[1])).get("staff", []):
    print("stack:    ", s["login"], "/", s["password"], "/", s["role"], " ".join(s["branches"]))' "$DEMO_DATA"
	fi
	say "  database: mongodb://127.0.0.1:$DB_PORT/oshxona (FerretDB on PostgreSQL 15, port $PG_PORT)"
	say "  stop:    make stop"
}

stop() {
	local d
	# Every daemon, skipped or not: SKIP_DAEMONS may differ from start's.
	for d in "${DAEMONS[@]}"; do
		stop_pids "$RUN/$d.pid"
	done
	if [ -f "$RUN/nginx.pid" ]; then
		nginx -p "$STACK_DIR/" -c "$RUN/nginx.conf" -e "$LOGS/error.log" -s quit 2>/dev/null || true
		local i
		for i in $(seq 50); do
			alive "$RUN/nginx.pid" || break
			sleep 0.1
		done
		stop_pids "$RUN/nginx.pid"
	fi
	bot_stop
	local app
	for app in "${APPS[@]}"; do
		fcgi_stop "$app"
	done
	db_stop
	say "stopped"
}

status() {
	local name rc=0
	for name in ferretdb "${APPS[@]}" nginx $(daemons); do
		if alive "$RUN/$name.pid" && [ -f "$RUN/$name.children" ]; then
			echo "$name: running (supervisor $(tr -d '\n' <"$RUN/$name.pid");" \
				"children $(tr '\n' ' ' <"$RUN/$name.children"))"
			[ -s "$RUN/$name.children" ] || rc=1
		elif alive "$RUN/$name.pid"; then
			echo "$name: running ($(tr '\n' ' ' <"$RUN/$name.pid"))"
		else
			echo "$name: stopped"
			rc=1
		fi
	done
	if pg_alive; then
		echo "postgresql: running ($(head -n 1 "$PGDATA_DIR/postmaster.pid"))"
	elif [ "${EXTERNAL_DB:-0}" != 1 ]; then
		echo "postgresql: stopped"
		rc=1
	fi
	return $rc
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
db-stop) db_stop ;;
migrate-sqlite) migrate_sqlite ;;
pg-stop) pg_stop ;;
pg-start)
	mkdir -p "$RUN" "$LOGS"
	pg_start
	;;
db-start)
	mkdir -p "$RUN" "$LOGS"
	db_start
	;;
render)
	mkdir -p "$RUN" "$LOGS" "$STACK_DIR/tmp"
	chmod 700 "$RUN"
	render_nginx_conf
	nginx -p "$STACK_DIR/" -c "$RUN/nginx.conf" -e "$LOGS/error.log" -t -q ||
		die "nginx rejected $RUN/nginx.conf"
	echo "$RUN/nginx.conf"
	;;
bot-start)
	mkdir -p "$RUN" "$LOGS"
	bot_env
	bot_start
	;;
bot-stop) bot_stop ;;
*)
	echo "usage: $0 start|stop|status|db-stop|db-start|migrate-sqlite|pg-stop|pg-start|render|bot-start|bot-stop" >&2
	exit 2
	;;
esac
