#!/usr/bin/env bash
# The main job on a fresh machine (run by `make demo` after deps and build):
# start pcscd + the virtual card with demo keys, then use libpcsc11.so through real
# clients: list slots, tokens and objects, sign with the demo keys and verify the
# signatures with OpenSSL.
set -euo pipefail
cd "$(dirname "$0")/.."
module=$PWD/build/libpcsc11.so
work=$(mktemp -d /tmp/pcsc11-demo.XXXXXX)
p11() { pkcs11-tool --module "$module" "$@"; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting pcscd and the virtual PIV card (demo keys and certificates)"
hwtests/rig.sh up

step "Slots and tokens through libpcsc11.so (pkcs11-tool -L)"
p11 -L

step "Objects on the token (pkcs11-tool -O)"
p11 -O

step "Signing with the PIV Authentication key (RSA-2048, slot 9A, CKA_ID 01), PIN 123456"
printf 'pcsc11 demo: signed on the card\n' > "$work/data"
p11 --login --pin 123456 --id 01 --sign -m SHA256-RSA-PKCS -i "$work/data" -o "$work/sig.rsa"
p11 --read-object --type cert --id 01 -o "$work/cert01.der" >/dev/null
openssl x509 -inform DER -in "$work/cert01.der" -pubkey -noout > "$work/pub01.pem"
openssl dgst -sha256 -verify "$work/pub01.pem" -signature "$work/sig.rsa" "$work/data"

step "Signing with the Card Authentication key (P-256, slot 9E, CKA_ID 04)"
p11 --login --pin 123456 --id 04 --sign -m ECDSA-SHA256 --signature-format openssl -i "$work/data" -o "$work/sig.ec"
p11 --read-object --type cert --id 04 -o "$work/cert04.der" >/dev/null
openssl x509 -inform DER -in "$work/cert04.der" -pubkey -noout > "$work/pub04.pem"
openssl dgst -sha256 -verify "$work/pub04.pem" -signature "$work/sig.ec" "$work/data"

rm -rf "$work"
step "Done. pcscd and the virtual card are still running; stop them with: hwtests/rig.sh down"
