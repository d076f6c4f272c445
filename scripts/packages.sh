#!/bin/sh
# Prints the Debian packages of scripts/packages.txt, one per line: those
# of the given roles (build, run, dev), or all of them.
#   scripts/packages.sh build run
set -eu
list=$(dirname "$0")/packages.txt
awk -v roles=" $* " '
	/^[[:space:]]*(#|$)/ { next }
	NF != 2 { print FILENAME ": bad line: " $0 > "/dev/stderr"; bad = 1; exit 1 }
	roles == "  " || index(roles, " " $2 " ") { print $1 }
	END { exit bad }
' "$list"
