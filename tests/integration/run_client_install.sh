#!/usr/bin/env bash
# The installed library: `cmake --install` into a temporary prefix, then examples/register.c is
# built outside the tree with `pkg-config --cflags --libs sipreg` (shared) and against
# libsipreg.a (static), and the shared build registers with `sipreg serve` and unregisters on
# SIGINT. examples/serve.c (the server driver) and the sipreg program itself are built against
# the installed library too.
# Usage: run_client_install.sh PATH-TO-SIPREG (inside a configured build directory).
set -euo pipefail

SIPREG=${1:?usage: run_client_install.sh PATH-TO-SIPREG}
case "$SIPREG" in /*) ;; *) SIPREG="$PWD/$SIPREG" ;; esac
[ -x "$SIPREG" ] || { echo "run_client_install: $SIPREG is not executable" >&2; exit 1; }
for tool in cmake pkg-config python3 timeout; do
	command -v "$tool" >/dev/null || { echo "run_client_install: $tool is missing" >&2; exit 1; }
done
BUILD=$(dirname "$SIPREG")
[ -f "$BUILD/sipreg-build.env" ] || { echo "run_client_install: $BUILD is not a build directory" >&2; exit 1; }
# shellcheck disable=SC1091
. "$BUILD/sipreg-build.env"
CC=${SIPREG_BUILD_CC:-cc}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipreg_client_install.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
unset SIPREG_DB

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() {
	fail=$((fail + 1))
	echo "not ok - $1"
	shift
	for l in "$@"; do echo "    $l"; done
}
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}
has() { grep -qE -- "$2" "$1"; }
show() { echo "    --- $1"; sed 's/^/    /' "$1" 2>/dev/null | tail -25; }

PREFIX="$WORK/prefix"
if cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1; then ok "cmake --install into a prefix"; else not_ok "cmake --install"; show "$WORK/install.log"; fi
PC=$(find "$PREFIX" -name sipreg.pc | head -1)
check "sipreg.pc installed" test -n "$PC"
check "headers installed" test -f "$PREFIX/include/sipreg/client.h" -a -f "$PREFIX/include/sipreg/core.h"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "${PC:-$PREFIX/lib/pkgconfig/sipreg.pc}")
check "pkg-config knows sipreg" pkg-config --exists sipreg
check "pkg-config version" test "$(pkg-config --modversion sipreg)" = "$(sed -n 's/^Version: //p' "$PC")"
libdir=$(pkg-config --variable=libdir sipreg)
check "libdir points into the prefix" test "$(cd "$libdir" && pwd -P)" = "$(cd "$(dirname "$(find "$PREFIX" -name 'libsipreg.so' | head -1)")" && pwd -P)"

# shared
# shellcheck disable=SC2046
if "$CC" -o "$WORK/register" "$SIPREG_SOURCE_DIR/examples/register.c" $(pkg-config --cflags --libs sipreg) >"$WORK/cc.log" 2>&1; then
	ok "example builds with pkg-config --cflags --libs sipreg"
else
	not_ok "example build"
	show "$WORK/cc.log"
fi
# static
# shellcheck disable=SC2046
if "$CC" -o "$WORK/register_static" "$SIPREG_SOURCE_DIR/examples/register.c" $(pkg-config --cflags sipreg) \
	"$libdir/libsipreg.a" $(pkg-config --static --libs sipreg | sed 's/-lsipreg\b//') >"$WORK/cc2.log" 2>&1; then
	ok "example builds against libsipreg.a with pkg-config --static"
else
	not_ok "static example build"
	show "$WORK/cc2.log"
fi
# the server driver's example: builds, serves, stops on SIGINT
# shellcheck disable=SC2046
if "$CC" -o "$WORK/serve_example" "$SIPREG_SOURCE_DIR/examples/serve.c" $(pkg-config --cflags --libs sipreg) >"$WORK/cc4.log" 2>&1; then
	ok "server example builds with pkg-config --cflags --libs sipreg"
	LD_LIBRARY_PATH="$libdir" "$WORK/serve_example" 127.0.0.1:0 example.com 2 >"$WORK/serve_example.out" 2>&1 &
	SX=$!
	PIDS+=("$SX")
	sleep 0.3
	kill -INT "$SX"
	rc=0
	wait "$SX" || rc=$?
	check "server example stops on SIGINT" test "$rc" = 0 || show "$WORK/serve_example.out"
	check "server example counted" has "$WORK/serve_example.out" '^0 datagrams in, 0 out'
else
	not_ok "server example build"
	show "$WORK/cc4.log"
fi
# the program itself needs nothing but the public API (it uses libcrypto directly too)
# shellcheck disable=SC2046
if "$CC" -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DSIPREG_VERSION='"installed"' \
	-o "$WORK/sipreg_cli" "$SIPREG_SOURCE_DIR"/cmd/sipreg/*.c $(pkg-config --cflags --libs sipreg) \
	-lcrypto -lm >"$WORK/cc3.log" 2>&1; then
	ok "the sipreg program builds against the installed shared library"
	check "and its serve runs" bash -c "LD_LIBRARY_PATH='$libdir' '$WORK/sipreg_cli' serve --help >/dev/null"
else
	not_ok "the sipreg program against the installed library"
	show "$WORK/cc3.log"
fi

# it works: register with sipreg serve, SIGINT unregisters
PORT=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DB="$WORK/reg.db"
printf 'secret\n' | "$SIPREG" user add alice --domain example.com --password-stdin --db "$DB" >/dev/null
"$SIPREG" serve --listen "127.0.0.1:$PORT" --db "$DB" --domain example.com >"$WORK/serve.log" 2>&1 &
PIDS+=("$!")
sleep 0.5
if [ -x "$WORK/register" ]; then
	LD_LIBRARY_PATH="$libdir" SIP_PASSWORD=secret timeout 30 "$WORK/register" "sip:127.0.0.1:$PORT" \
		sip:alice@example.com >"$WORK/ex.out" 2>&1 &
	EX=$!
	PIDS+=("$EX")
	for i in $(seq 100); do has "$WORK/ex.out" '^registered 200' && break; sleep 0.1; done
	check "installed example registers" has "$WORK/ex.out" '^registered 200 OK expires=300'
	"$SIPREG" bindings --db "$DB" >"$WORK/b1" 2>&1 || true
	check "the binding is there" has "$WORK/b1" 'sip:alice@example.com'
	kill -INT "$EX"
	rc=0
	wait "$EX" || rc=$?
	check "SIGINT: exit 0" test "$rc" = 0 || show "$WORK/ex.out"
	check "SIGINT: unregistered" has "$WORK/ex.out" '^unregistered 200'
	"$SIPREG" bindings --db "$DB" >"$WORK/b2" 2>&1 || true
	check "the binding is gone" bash -c "! grep -q 'sip:alice@example.com' '$WORK/b2'"
	check "it used the installed shared library" bash -c "LD_LIBRARY_PATH='$libdir' ldd '$WORK/register' | grep -q '$libdir/libsipreg.so'"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
