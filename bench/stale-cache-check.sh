#!/usr/bin/env bash
# bench/stale-cache-check.sh — does a module's disk cache notice a certificate that
# another program re-issued for the same key? (docs/performance.md, S7/S8)
#
# Reads the 9A certificate through OpenSC with its file cache on (filling the cache),
# re-issues the certificate for the same public key through pcsc11 (another program,
# no cache), then reads it again through OpenSC (warm) and through pcsc11 with its
# disk cache on and filled before the change. Prints each serial number. Needs root
# (private pcscd in private namespaces, as bench/run.sh), `make build` first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${STALE_INNER:-0} != 1 ]]; then
	[[ $(id -u) == 0 ]] || { echo "needs root" >&2; exit 1; }
	W=$(mktemp -d)
	trap 'rm -rf "$W"' EXIT
	STALE_INNER=1 W=$W unshare --mount --net --fork -- bash "$0"
	exit
fi
mount -t tmpfs -o mode=0755 tmpfs /run/pcscd
ip link set lo up
export PCSC11_RIG_DIR=$W/rig PCSC11_VPIV=$repo/build/pcsc11-vpiv
"$repo/hwtests/rig.sh" up >/dev/null 2>&1
trap '"$repo/hwtests/rig.sh" down >/dev/null 2>&1' EXIT
osc=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so p11=$repo/build/libpcsc11.so
printf 'app default {\n\tframework pkcs15 {\n\t\tuse_file_caching = yes;\n\t}\n}\n' >"$W/oc.conf"
mkdir -p "$W/home"
oc() { OPENSC_CONF=$W/oc.conf HOME=$W/home XDG_CACHE_HOME=$W/home "$@"; }
p11() { PCSC11_CACHE_DIR=$W/p11cache "$@"; }
serial() { openssl x509 -inform DER -in "$1" -noout -serial; }
read9a() { "$@" --read-object --type cert --id 01 -o "$W/out.der" >/dev/null 2>&1 && serial "$W/out.der"; }
echo "before:               $(oc read9a pkcs11-tool --module "$osc")"
p11 read9a pkcs11-tool --module "$p11" >/dev/null # fills pcsc11's cache too
openssl x509 -inform DER -in "$W/out.der" -pubkey -noout >"$W/pub.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
	-out "$W/ca.pem" -subj /CN=ca -days 1 2>/dev/null
openssl x509 -new -force_pubkey "$W/pub.pem" -subj /CN=reissued -CA "$W/ca.pem" -CAkey "$W/ca.key" \
	-days 2 -outform DER -out "$W/new.der" 2>/dev/null
PCSC11_CACHE=0 pkcs11-tool --module "$p11" --login --login-type so \
	--so-pin 010203040506070801020304050607080102030405060708 \
	--write-object "$W/new.der" --type cert --id 01 >/dev/null 2>&1
echo "re-issued:            $(serial "$W/new.der")"
echo "OpenSC, file cache:   $(oc read9a pkcs11-tool --module "$osc")"
echo "pcsc11, disk cache:   $(p11 read9a pkcs11-tool --module "$p11")"
