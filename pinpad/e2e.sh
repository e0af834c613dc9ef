#!/bin/sh
# End-to-end test of the test PIN-pad reader through a real pcscd, in private mount
# and network namespaces so that a system pcscd (and vpcd's ports) are not disturbed:
# build the driver, write a private reader.conf, start pcscd on a tmpfs /run/pcscd,
# run the pinpad_e2e Go test (vpiv card + scripted keypad; opensc-tool -l, pcsc_scan -r,
# SCardControl features, VERIFY/MODIFY PIN DIRECT); then, when build/pcsc11-vpiv has
# --pinpad-port, log in with OpenSC's PKCS#11 module through the pad of the real card
# program, scripted over its control socket, and run e2e_module.sh (libpcsc11.so:
# login, sign, wrong PIN, cancel, C_SetPIN through the pad; the plain vpcd reader has
# no protected path). Needs root (unshare).
#
# Environment: GO (go binary), PCSC11_VPIV (card program, default build/pcsc11-vpiv),
# OPENSC_PKCS11 (OpenSC's module), PCSC11_MODULE (default build/libpcsc11.so).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
vpiv=${PCSC11_VPIV:-$root/build/pcsc11-vpiv}
opensc=${OPENSC_PKCS11:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}

if [ "${PCSC11_PINPAD_IN_NS:-}" != 1 ]; then
	"$here/install.sh" >/dev/null
	# Compile outside the namespace (the module proxy may be needed); run inside.
	(cd "$root" && "$GO" test -c -tags pinpad_e2e -o build/pinpad-e2e.test ./pinpad/)
	exec unshare --mount --net env PCSC11_PINPAD_IN_NS=1 "$0" "$@"
fi

ip link set lo up
mkdir -p /run/pcscd
mount -t tmpfs tmpfs /run/pcscd
conf=$(mktemp -d)
log="$root/build/pinpad-e2e-pcscd.log"
"$here/install.sh" --conf-dir "$conf" >/dev/null
# vpcd's readers beside the PIN pad, for the plain-reader check of e2e_module.sh.
plain_reader=
if [ -f /etc/reader.conf.d/vpcd ] && [ -f /usr/lib/pcsc/drivers/serial/libifdvpcd.so ]; then
	cp /etc/reader.conf.d/vpcd "$conf/vpcd"
	plain_reader="Virtual PCD 00 00"
fi
pcscd --foreground --debug --config "$conf" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$conf"' EXIT
i=0
while [ ! -S /run/pcscd/pcscd.comm ]; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then echo "e2e: pcscd did not start; see $log" >&2; exit 1; fi
	sleep 0.05
done
"$root/build/pinpad-e2e.test" -test.run 'TestE2E' -test.count=1 -test.v "$@"

if [ -x "$vpiv" ] && "$vpiv" --help 2>&1 | grep -q -- -pinpad-port && [ -f "$opensc" ]; then
	sock=$(mktemp -u /tmp/pcsc11-pinpad-XXXXXX)
	"$vpiv" --pinpad-port 35965 --provision demo --control "$sock" >"$root/build/pinpad-e2e-card.log" 2>&1 &
	card=$!
	trap 'kill $card 2>/dev/null; kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$conf"' EXIT
	i=0
	until opensc-tool -l 2>/dev/null | grep -q 'Yes.*pcsc11 PIN pad'; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then echo "e2e: card never showed up in the PIN pad" >&2; exit 1; fi
		sleep 0.05
	done
	pad() { "$vpiv" --control "$sock" --send "pinpad $*" >/dev/null; }
	login() { pkcs11-tool --module "$opensc" --login --list-objects --type privkey 2>&1; }
	pad type 123456
	login >/dev/null || { echo "e2e: OpenSC login through the pad failed" >&2; exit 1; }
	pad type 111111
	login | grep -q CKR_PIN_INCORRECT || { echo "e2e: wrong PIN not reported" >&2; exit 1; }
	pad cancel
	login | grep -q CKR_FUNCTION_CANCELED || { echo "e2e: cancel not reported" >&2; exit 1; }
	login | grep -q CKR_FUNCTION_CANCELED || { echo "e2e: timeout not reported" >&2; exit 1; }
	echo "e2e: OpenSC PKCS#11 login through the PIN pad of $vpiv: ok"
	# pcsc11's own module through the same pad.
	if [ -f "${PCSC11_MODULE:-$root/build/libpcsc11.so}" ]; then
		PCSC11_PLAIN_READER=$plain_reader sh "$here/e2e_module.sh" "$sock"
	else
		echo "e2e: skipped the libpcsc11.so check (no build/libpcsc11.so; run make build)"
	fi
else
	echo "e2e: skipped the OpenSC check ($vpiv has no --pinpad-port yet, or no $opensc)"
fi
# pcscd must have survived everything.
kill -0 $pid
echo "e2e: ok (pcscd log: $log)"
