#!/bin/sh
# pcsc11's own PKCS#11 module through the test PIN-pad reader, with
# pkcs11-tool as the application. Run by e2e.sh inside its namespaces, with pcscd up,
# the PIN-pad card (demo keys, PIN 123456) behind the control socket $1 and a vpcd
# reader registered beside it. Checks:
#   - the PIN-pad token has CKF_PROTECTED_AUTHENTICATION_PATH ("PIN pad present");
#   - --login --sign with no PIN: C_Login(NULL) through the pad (scripted 123456), the
#     signature verifies with openssl;
#   - the same with 9C (PIN always): C_Login(CKU_CONTEXT_SPECIFIC, NULL) on the pad;
#   - a scripted wrong PIN: CKR_PIN_INCORRECT, the card's retry counter drops by one
#     (empty VERIFY through opensc-tool) and the token flags say "user PIN count low";
#   - a scripted cancel and a timeout: CKR_FUNCTION_CANCELED; no retry spent;
#   - --change-pin with no PINs: C_SetPIN(NULL, NULL) through the pad, then the new
#     PIN logs in;
#   - the same module with the plain vpcd reader: no protected path.
# Environment: PCSC11_VPIV (card program), PCSC11_MODULE (default build/libpcsc11.so).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
vpiv=${PCSC11_VPIV:-$root/build/pcsc11-vpiv}
lib=${PCSC11_MODULE:-$root/build/libpcsc11.so}
sock=$1
padreader="pcsc11 PIN pad 00 00"
work=$(mktemp -d)
plain=
cleanup() {
	if [ -n "$plain" ]; then kill "$plain" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "e2e-module: $*" >&2
	exit 1
}
pad() { "$vpiv" --control "$sock" --send "pinpad $*" >/dev/null; }
# consumed: every scripted entry was taken by the reader (the PIN went through the pad).
consumed() {
	"$vpiv" --control "$sock" --send "pinpad status" | grep -q "pending=0" || fail "$1: the pad's entries were not all used"
}
# p11 runs pkcs11-tool on the PIN-pad slot (the slot description is the reader name).
p11() { pkcs11-tool --module "$lib" --slot-description "$padreader" "$@" 2>&1; }
# flags READER: the token flags of READER's slot in pkcs11-tool -T (which lists every
# slot whatever --slot-description says).
flags() {
	pkcs11-tool --module "$lib" -T 2>&1 | awk -v r="$1" '
		/^Slot [0-9]/ { mine = index($0, "): " r) > 0 }
		mine && /token flags/ { sub(/.*token flags *: */, ""); print }'
}
# retries: the PIN counter as the card tells it to an empty VERIFY (63Cx).
retries() {
	opensc-tool -r "$padreader" -s 00A4040005A000000308 -s 0020008000 2>&1 |
		sed -n 's/.*SW1=0x63, SW2=0xc\([0-9a-f]\).*/\1/ip' | tail -n 1
}

# Protected path on the PIN-pad token.
f=$(flags "$padreader")
case $f in *"PIN pad present"*) ;; *) fail "no CKF_PROTECTED_AUTHENTICATION_PATH on the PIN-pad token: flags '$f'" ;; esac

# A login through the pad and a signature that verifies. Nothing queued beforehand is
# a timeout, so clear whatever an earlier check left.
pad clear
printf 'signed through the PIN pad\n' >"$work/data"
p11 --read-object --type pubkey --id 01 -o "$work/pub.der" >/dev/null || fail "cannot read the 9A public key"
openssl pkey -pubin -inform DER -in "$work/pub.der" -out "$work/pub.pem" 2>/dev/null || fail "9A public key unreadable"
pad type 123456
p11 --login --sign --id 01 --mechanism SHA256-RSA-PKCS -i "$work/data" -o "$work/sig" >"$work/out" ||
	fail "sign with a PIN-pad login failed: $(cat "$work/out")"
openssl dgst -sha256 -verify "$work/pub.pem" -signature "$work/sig" "$work/data" >/dev/null ||
	fail "the signature made after a PIN-pad login does not verify"
consumed "sign"
[ "$(retries)" = 3 ] || fail "retry counter $(retries) after a good login, want 3"

# 9C (Digital Signature) has PIN policy ALWAYS: pkcs11-tool logs in, then calls
# C_Login(CKU_CONTEXT_SPECIFIC, NULL) before the signature: two entries on the pad.
p11 --read-object --type pubkey --id 02 -o "$work/pub9c.der" >/dev/null || fail "cannot read the 9C public key"
openssl pkey -pubin -inform DER -in "$work/pub9c.der" -out "$work/pub9c.pem" 2>/dev/null || fail "9C public key unreadable"
pad type 123456
pad type 123456
p11 --login --sign --id 02 --mechanism ECDSA-SHA256 --signature-format openssl -i "$work/data" -o "$work/sig9c" >"$work/out" ||
	fail "sign with 9C (context-specific login on the pad) failed: $(cat "$work/out")"
openssl dgst -sha256 -verify "$work/pub9c.pem" -signature "$work/sig9c" "$work/data" >/dev/null ||
	fail "the 9C signature does not verify"
consumed "sign with 9C"

# A wrong PIN: CKR_PIN_INCORRECT, one retry fewer, and the flags tell.
pad type 111111
p11 --login --list-objects --type privkey >"$work/out" || true
grep -q CKR_PIN_INCORRECT "$work/out" || fail "wrong PIN on the pad not reported: $(cat "$work/out")"
[ "$(retries)" = 2 ] || fail "retry counter $(retries) after a wrong PIN, want 2"
case $(flags "$padreader") in *"user PIN count low"*) ;; *) fail "no CKF_USER_PIN_COUNT_LOW after a wrong PIN" ;; esac

# Cancel and timeout: CKR_FUNCTION_CANCELED, the counter untouched.
pad cancel
p11 --login --list-objects --type privkey >"$work/out" || true
grep -q CKR_FUNCTION_CANCELED "$work/out" || fail "cancel not reported: $(cat "$work/out")"
p11 --login --list-objects --type privkey >"$work/out" || true
grep -q CKR_FUNCTION_CANCELED "$work/out" || fail "timeout not reported: $(cat "$work/out")"
[ "$(retries)" = 2 ] || fail "retry counter $(retries) after cancel/timeout, want 2"

# C_SetPIN(NULL, NULL): current PIN, new PIN, confirmation on the pad.
pad type 123456
pad type 24681357
pad type 24681357
p11 --change-pin >"$work/out" || fail "PIN change through the pad failed: $(cat "$work/out")"
consumed "PIN change"
pad type 24681357
p11 --login --list-objects --type privkey >"$work/out" || fail "the new PIN does not log in: $(cat "$work/out")"
[ "$(retries)" = 3 ] || fail "retry counter $(retries) after the new PIN, want 3"
pad type 123456
p11 --login --list-objects --type privkey >"$work/out" || true
grep -q CKR_PIN_INCORRECT "$work/out" || fail "the old PIN still works after the change: $(cat "$work/out")"
pad clear

# The plain vpcd reader: the same module shows no protected path.
if [ -n "${PCSC11_PLAIN_READER:-}" ]; then
	"$vpiv" --port 35963 --serial 7654321 --provision demo >"$root/build/pinpad-e2e-plain-card.log" 2>&1 &
	plain=$!
	i=0
	until pkcs11-tool --module "$lib" -T 2>/dev/null | grep -q "$PCSC11_PLAIN_READER"; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "the card never showed up in $PCSC11_PLAIN_READER"
		sleep 0.1
	done
	f=$(flags "$PCSC11_PLAIN_READER")
	[ -n "$f" ] || fail "no token in $PCSC11_PLAIN_READER"
	case $f in *"PIN pad present"*) fail "protected path on the plain vpcd reader: flags '$f'" ;; esac
	echo "e2e-module: plain vpcd reader: no protected path: ok"
else
	echo "e2e-module: skipped the plain-reader check (no vpcd driver)"
fi
echo "e2e-module: libpcsc11.so through the PIN pad (login, sign, wrong PIN, cancel, timeout, C_SetPIN): ok"
