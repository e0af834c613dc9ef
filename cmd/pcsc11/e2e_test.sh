#!/usr/bin/env bash
# End-to-end test of the pcsc11 CLI (build/pcsc11) through real pcscd and the virtual
# card. It runs inside the rig, which provides PCSC11_HWTEST_READER (the card's reader)
# and PCSC11_VPIV_CONTROL (the card's control socket):
#
#   hwtests/rig.sh run bash cmd/pcsc11/e2e_test.sh                         # a rig of its own
#   PCSC11_RIG_NAMESPACE=1 hwtests/rig.sh run bash cmd/pcsc11/e2e_test.sh  # beside anything
#
# Without PCSC11_HWTEST_READER it says why it skips and exits 0. It removes and inserts
# the card once (watch), and waits until the card is back before it ends.
set -uo pipefail
cd "$(dirname "$0")/../.."
cli=${PCSC11_CLI:-build/pcsc11}
vpiv=${PCSC11_VPIV:-build/pcsc11-vpiv}
# p11tool wants an absolute module path.
lib=$(realpath -m "${PCSC11_MODULE:-build/libpcsc11.so}")
rdr=${PCSC11_HWTEST_READER:-}

if [[ -z $rdr ]]; then
	echo "cli-e2e: SKIP: PCSC11_HWTEST_READER is not set (run me through hwtests/rig.sh run)"
	exit 0
fi
[[ -x $cli ]] || { echo "cli-e2e: $cli missing (make build)"; exit 1; }

tmp=$(mktemp -d)
watcher=
cleanup() {
	[[ -n $watcher ]] && kill "$watcher" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
e2e_name=cli-e2e
# shellcheck source=cmd/pcsc11/e2e_lib.sh
. cmd/pcsc11/e2e_lib.sh
# run_cli OUT WANT_STATUS ARGS...: run the CLI, stdout to OUT, check its exit status.
run_cli() {
	local out=$1 want=$2 rc=0
	shift 2
	"$cli" "$@" >"$out" 2>"$out.err" || rc=$?
	if [[ $rc != "$want" ]]; then
		fail "pcsc11 $* exited $rc, want $want; stderr: $(cat "$out.err")"
		return 1
	fi
}
# readers: the virtual reader with its card; a plain reader (no PIN pad).
if run_cli "$tmp/readers" 0 readers; then
	check "readers shows the virtual reader and its card" "$tmp/readers" "$rdr" "card:       present, ATR 3b"
fi
if run_cli "$tmp/readers.json" 0 --json readers; then
	jq -e --arg r "$rdr" '.readers[] | select(.name == $r) | .card_present == true and .pin_pad == false and (.atr | startswith("3b"))' \
		"$tmp/readers.json" >/dev/null && ok "readers --json" || fail "readers --json: $(cat "$tmp/readers.json")"
fi

# slots: the demo card's token, serial 12345678.
if run_cli "$tmp/slots" 0 slots; then
	check "slots shows the token" "$tmp/slots" "$rdr" "serial:       12345678" "manufacturer: Yubico" "URI:          pkcs11:token="
fi
if run_cli "$tmp/slots.json" 0 slots --json; then
	slot=$(jq -r --arg r "$rdr" '.slots[] | select(.reader == $r and .token.serial == "12345678") | .id' "$tmp/slots.json")
	[[ $slot =~ ^[0-9]+$ ]] && ok "slots --json (slot $slot)" || fail "slots --json: $(cat "$tmp/slots.json")"
fi
slot=${slot:-0}

# objects: pkcs11: URIs with id=%01 for the 9A certificate, its public and private key.
if run_cli "$tmp/objects" 0 objects --slot "$slot"; then
	check "objects shows pkcs11: URIs" "$tmp/objects" \
		";serial=12345678;id=%01;object=X.509%20Certificate%20for%20PIV%20Authentication;type=cert" \
		";id=%01;object=Private%20key%20for%20PIV%20Authentication;type=private" \
		";id=%01;object=Public%20key%20for%20PIV%20Authentication;type=public" \
		";id=%04;object=X.509%20Certificate%20for%20Card%20Authentication;type=cert"
fi
if run_cli "$tmp/objects.json" 0 --json objects --slot "$slot"; then
	uri=$(jq -r '.objects[] | select(.id == "01" and .class == "cert") | .uri' "$tmp/objects.json")
	[[ $uri == pkcs11:*";id=%01;"*";type=cert" ]] && ok "objects --json" || fail "objects --json: $(cat "$tmp/objects.json")"
	# The URI names the same object for another PKCS#11 consumer (p11-kit's p11tool
	# through libpcsc11.so): exactly one certificate, the 9A one.
	if command -v p11tool >/dev/null && [[ -f $lib ]]; then
		p11tool --provider "$lib" --list-all-certs "$uri" >"$tmp/p11tool" 2>&1
		n=$(grep -c '^Object [0-9]' "$tmp/p11tool")
		if [[ $n == 1 ]] && grep -q "X.509 Certificate for PIV Authentication" "$tmp/p11tool"; then
			ok "p11tool finds the object by the CLI's URI"
		else
			fail "p11tool with $uri found $n objects:"; sed 's/^/    /' "$tmp/p11tool"
		fi
	fi
fi
run_cli "$tmp/noslot" 1 objects --slot 99 && check "objects --slot 99 fails clearly" "$tmp/noslot.err" "no slot 99"

# info
if run_cli "$tmp/info" 0 info; then
	check "info" "$tmp/info" "pcscd:   reachable" "$rdr" "pin_cache  " "reader_deny  " "environment only"
fi

# Exit status 3 when pcscd cannot be reached.
rc=0
PCSCLITE_CSOCK_NAME=$tmp/no-pcscd "$cli" readers >/dev/null 2>"$tmp/nopcscd.err" || rc=$?
[[ $rc == 3 ]] && grep -q "cannot reach pcscd" "$tmp/nopcscd.err" && ok "exit 3 without pcscd" ||
	fail "without pcscd: exit $rc, $(cat "$tmp/nopcscd.err")"

# watch: a removal and an insertion through the card's control socket.
if [[ -n ${PCSC11_VPIV_CONTROL:-} ]]; then
	"$cli" watch --json --count 2 --timeout 30s >"$tmp/watch" 2>"$tmp/watch.err" &
	watcher=$!
	# The "state" lines come once the watcher follows pcscd: only then act.
	for ((i = 0; i < 200; i++)); do
		grep -q '"event":"state"' "$tmp/watch" && break
		sleep 0.05
	done
	"$vpiv" --control "$PCSC11_VPIV_CONTROL" --send remove >/dev/null
	for ((i = 0; i < 200; i++)); do
		grep -q '"card-removed"' "$tmp/watch" && break
		sleep 0.05
	done
	"$vpiv" --control "$PCSC11_VPIV_CONTROL" --send insert >/dev/null
	rc=0
	wait "$watcher" || rc=$?
	watcher=
	events=$(jq -r --arg r "$rdr" 'select(.reader == $r and .event != "state") | .event' "$tmp/watch" | tr '\n' ' ')
	if [[ $rc == 0 && $events == "card-removed card-inserted " ]]; then
		ok "watch sees the removal and the insertion"
	else
		fail "watch: exit $rc, events '$events'; output:"; sed 's/^/    /' "$tmp/watch" "$tmp/watch.err"
	fi
	# Let the card settle before anything else uses it.
	for ((i = 0; i < 100; i++)); do
		"$cli" --json slots 2>/dev/null | jq -e --arg r "$rdr" '.slots[] | select(.reader == $r) | .token.serial == "12345678"' >/dev/null && break
		sleep 0.1
	done
else
	echo "cli-e2e: SKIP watch: PCSC11_VPIV_CONTROL is not set"
fi

# trace: the CLI itself, and a real client loading the module; the PIN stays out.
if run_cli "$tmp/trace" 0 trace -- "$cli" slots; then
	check "trace of pcsc11 slots" "$tmp/trace" "--- pcsc11 trace:" "apdu \"$rdr\" > 00a40400"
fi
if command -v pkcs11-tool >/dev/null && [[ -f $lib ]]; then
	if run_cli "$tmp/trace2" 0 trace -- pkcs11-tool --module "$lib" --slot-index "$slot" --login --pin 123456 --list-objects --type privkey; then
		check "trace of pkcs11-tool through libpcsc11.so" "$tmp/trace2" "C_Initialize" "C_Login → CKR_OK" "C_FindObjectsInit → CKR_OK" "redacted"
		# 123456 as the VERIFY data (ASCII, 0xFF padded) never appears.
		if grep -qi "313233343536" "$tmp/trace2"; then fail "the PIN is in the trace"; else ok "no PIN in the trace"; fi
	fi
fi

finish
