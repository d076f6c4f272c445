#!/usr/bin/env bash
# The app container's main process: the stack (nginx, Nchan, the FastCGI
# programs and the daemons such as menu-listener, scripts/stack.sh) against
# MONGODB_URI, and cron for the jobs.
# `docker compose stop` sends TERM: everything stops cleanly.
set -euo pipefail
cd /src
export OSHXONA_BIN=/opt/oshxona/bin
mkdir -p "$STACK_DIR" "$LOG_DIR" /etc/oshxona /var/cache/oshxona
# Inside the container nginx listens on every interface; compose publishes
# the port on the host's loopback only.
sed -i 's/listen 127.0.0.1:@PORT@/listen @PORT@/' nginx-conf/oshxona.conf.in
# cron does not pass the container's environment on: the jobs read it from
# the env file (OSHXONA_ENV_FILE in the crontab), readable by root only.
(
	umask 077
	env | grep -E '^[A-Z_][A-Z0-9_]*=' | grep -vE '^(HOME|PWD|SHLVL|HOSTNAME|_)=' >/etc/oshxona/env
)
# The jobs' menu cache is the stack's (menu-sync drops it).
ln -sfn "$STACK_DIR/cache" /var/cache/oshxona/menu
bash scripts/stack.sh start
cron
stop() {
	bash scripts/stack.sh stop || true
	[ -s /run/crond.pid ] && kill "$(cat /run/crond.pid)" 2>/dev/null || true
	exit 0
}
trap stop TERM INT
tail -F "$STACK_DIR/logs/error.log" "$STACK_DIR/logs/access.log" &
wait $!
