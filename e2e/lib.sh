# shellcheck shell=bash
# Shared helpers for the e2e/test-*.sh scripts: result lines, a private work dir,
# background processes we own, and the module under test.
#
# Every test script prints one line per check: "ok - …", "not ok - …" or
# "skip - … (reason)". e2e/run.sh counts those lines.

set -uo pipefail

E2E_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_HERE/.." && pwd)

# The module under test: P11_MODULE (default build/libpcsc11.so), made absolute because
# ssh-agent's allow-list and NSS's module database compare canonical paths.
P11_MODULE=${P11_MODULE:-$REPO/build/libpcsc11.so}
P11_MODULE=$(realpath -m "$P11_MODULE")
export P11_MODULE

# The demo card's user PIN (hwtests/rig.sh provisions it). Never printed: it goes into
# files under $WORK (mode 0600) and is read from there by the programs.
E2E_PIN=${E2E_PIN:-123456}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pcsc11-e2e.XXXXXX")
chmod 0700 "$WORK"
umask 077
printf '%s' "$E2E_PIN" >"$WORK/pin"
printf '#!/bin/sh\ncat %q\n' "$WORK/pin" >"$WORK/askpass"
chmod 0700 "$WORK/askpass"

_e2e_pids=()

ok() { echo "ok - $*"; }
skip() { echo "skip - $*"; }
# notok NAME [LOGFILE]: a failure, with the tail of the log indented (the PIN never
# reaches a log: it is only ever passed through files).
notok() {
	echo "not ok - $1"
	if [[ -n ${2:-} && -s $2 ]]; then
		tail -n "${E2E_LOG_LINES:-15}" "$2" | sed 's/^/    # /'
	fi
}

# check NAME CMD…: run CMD with output in $WORK/last.log; ok when it exits 0.
check() {
	local name=$1
	shift
	if "$@" >"$WORK/last.log" 2>&1; then ok "$name"; else notok "$name" "$WORK/last.log"; return 1; fi
}

# have CMD…: all of the commands exist.
have() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || return 1; done
}

# bg CMD…: start CMD in the background in its own session, its PID in BG_PID; cleanup
# stops it. (Not in a $(…) subshell: the PID would not reach cleanup.)
BG_PID=
bg() {
	setsid "$@" </dev/null &
	BG_PID=$!
	_e2e_pids+=("$BG_PID")
}

# free_port: an unused TCP port on the loopback interface.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT [SECONDS]: wait until something listens on 127.0.0.1:PORT.
wait_port() {
	local port=$1 n=$((${2:-10} * 10))
	while ((n-- > 0)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_file PATH [SECONDS]: wait until PATH exists (a socket, a PID file).
wait_file() {
	local f=$1 n=$((${2:-10} * 10))
	while ((n-- > 0)); do
		[[ -e $f ]] && return 0
		sleep 0.1
	done
	return 1
}

cleanup() {
	local pid
	for pid in "${_e2e_pids[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${_e2e_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${E2E_KEEP:-0} == 1 ]]; then
		echo "# work dir kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# need_module: the module file exists, or every check is skipped.
need_module() {
	if [[ ! -r $P11_MODULE ]]; then
		skip "$1 (module $P11_MODULE not found; run make build)"
		exit 0
	fi
}

# module_is_opensc: the reference module, whose objects differ a little (it shows
# private keys 01-03 only after login; labels differ).
module_is_opensc() { [[ $P11_MODULE == *opensc-pkcs11* ]]; }

# card_control CMD: remove/insert the virtual card (rig's control socket); 1 if no rig.
card_control() {
	[[ -n ${PCSC11_VPIV_CONTROL:-} && -S $PCSC11_VPIV_CONTROL && -n ${PCSC11_VPIV:-} ]] || return 1
	"$PCSC11_VPIV" --control "$PCSC11_VPIV_CONTROL" --send "$1" >/dev/null
}

# card_cycle: remove the virtual card, wait until pcscd sees it gone, insert it and
# wait until it is back (events, no fixed sleeps). 1 if there is no rig to drive, or
# the rig is shared (E2E_OWN_RIG unset: other suites may be using the card).
card_cycle() {
	local wc=${PCSC11_RIG_DIR:-/tmp/pcsc11-rig}/waitcard
	[[ ${E2E_OWN_RIG:-0} == 1 ]] || return 1
	[[ -x $wc && -n ${PCSC11_HWTEST_READER:-} ]] || return 1
	card_control remove || return 1
	"$wc" -reader "$PCSC11_HWTEST_READER" -absent -timeout 10s >/dev/null || return 1
	card_control insert || return 1
	"$wc" -reader "$PCSC11_HWTEST_READER" -timeout 10s >/dev/null
}

# Certificates of the demo card, exported once per script with pkcs11-tool (the
# reference client) through the module under test: $WORK/cert-01.pem … cert-04.pem.
export_certs() {
	local id
	for id in 01 02 03 04; do
		pkcs11-tool --module "$P11_MODULE" --read-object --type cert --id "$id" \
			-o "$WORK/cert-$id.der" >/dev/null 2>&1 || return 1
		openssl x509 -inform DER -in "$WORK/cert-$id.der" -out "$WORK/cert-$id.pem" || return 1
	done
}

# tls_server CA [S_SERVER-ARG…]: an openssl s_server on 127.0.0.1:$TLS_PORT that
# requires a client certificate issued by CA and answers with its status page (-www).
# The client writes what it got to $WORK/client.out (its diagnostics, if apart, to
# $WORK/client.err); tls_result judges it.
tls_server() {
	local ca=$1
	shift
	[[ -s $WORK/srv.pem ]] || OPENSSL_CONF=/dev/null openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -days 1 -subj /CN=127.0.0.1 -keyout "$WORK/srv.key" -out "$WORK/srv.pem" >/dev/null 2>&1
	TLS_PORT=$(free_port)
	OPENSSL_CONF=/dev/null bg openssl s_server -accept "127.0.0.1:$TLS_PORT" -Verify 1 -verify_return_error \
		-CAfile "$ca" -cert "$WORK/srv.pem" -key "$WORK/srv.key" "$@" -www >"$WORK/server.log" 2>&1
	TLS_PID=$BG_PID
	wait_port "$TLS_PORT" 10
}

# tls_result NAME [PATTERN…]: stops tls_server; NAME passes when the client's output
# shows the status page's "Client certificate" and matches every grep PATTERN.
tls_result() {
	local name=$1 p
	shift
	kill "$TLS_PID" 2>/dev/null
	for p in 'Client certificate' "$@"; do
		grep -q -- "$p" "$WORK/client.out" && continue
		cat "$WORK/server.log" "$WORK"/client.err >>"$WORK/client.out" 2>/dev/null
		notok "$name" "$WORK/client.out"
		return
	done
	ok "$name"
}
