#!/usr/bin/env bash
# Checks that the production site is accepted by `nginx -t` as it would be
# deployed: rendered by scripts/nginx-render.sh (as `make install` does),
# inside Debian's http block with the Nchan and headers-more modules, and a
# self-signed certificate standing in for the real one.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/logs"
bash "$ROOT/scripts/nginx-render.sh" production "$tmp"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=oshxona.example.uz \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
sed -e "s|/etc/letsencrypt/live/oshxona.example.uz/fullchain.pem|$tmp/cert.pem|" \
	-e "s|/etc/letsencrypt/live/oshxona.example.uz/privkey.pem|$tmp/key.pem|" \
	-e "s|/var/log/nginx/|$tmp/logs/|" \
	-e "s|/run/oshxona/private/|$tmp/|" \
	"$tmp/sites-available/oshxona" >"$tmp/oshxona.conf"
cat >"$tmp/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
load_module /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events {}
http {
	include /etc/nginx/mime.types;
	client_body_temp_path $tmp/body;
	proxy_temp_path $tmp/proxy;
	fastcgi_temp_path $tmp/fastcgi;
	uwsgi_temp_path $tmp/uwsgi;
	scgi_temp_path $tmp/scgi;
	include $tmp/oshxona.conf;
}
CONF
# The snippets (oshxona/...) are included relative to the conf dir, as
# /etc/nginx/oshxona/ on Debian.
nginx -t -p "$tmp/" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log"
