#!/usr/bin/env bash
# OpenSC's pkcs11-tool, a real client, drives build/libpcsc11.so against the demo card:
# the listing must show the virtual token and its demo objects, and signatures made
# through the module must verify with OpenSSL.
set -euo pipefail
cd "$(dirname "$0")/.."
module=$PWD/build/libpcsc11.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
p11() { pkcs11-tool --module "$module" "$@"; }
pass=0 fail=0
check() { # check NAME CMD...: runs CMD, counts the result
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then echo "ok - $name"; pass=$((pass+1))
  else echo "not ok - $name"; sed 's/^/    /' "$work/out"; fail=$((fail+1)); fi
}
contains() { local f=$1; shift; for s in "$@"; do grep -qF -- "$s" "$f" || { echo "missing: $s"; cat "$f"; return 1; }; done; }

check "-I names the library" bash -c "pkcs11-tool --module '$module' -I > '$work/info' && grep -q 'pcsc11' '$work/info'"
check "-L lists the virtual token" bash -c "pkcs11-tool --module '$module' -L > '$work/L'"
check "token is a YubiKey 5.7 with serial 12345678" contains "$work/L" "Yubico" "12345678"
p11 -O > "$work/O" 2>&1 || true
check "-O lists the demo certificates and public keys" contains "$work/O" \
  "X.509 Certificate for PIV Authentication" "X.509 Certificate for Digital Signature" \
  "X.509 Certificate for Key Management" "X.509 Certificate for Card Authentication" \
  "Public key for PIV Authentication"
p11 --login --pin 123456 -O > "$work/O2" 2>&1 || true
check "after login the private keys show" contains "$work/O2" "Private key for PIV Authentication" "Private key for Card Authentication"

printf 'signed through libpcsc11.so\n' > "$work/data"
check "RSA-2048 SHA256-RSA-PKCS signature (9A) verifies" bash -c "
  pkcs11-tool --module '$module' --login --pin 123456 --id 01 --sign -m SHA256-RSA-PKCS -i '$work/data' -o '$work/s1' &&
  pkcs11-tool --module '$module' --read-object --type cert --id 01 -o '$work/c1.der' &&
  openssl x509 -inform DER -in '$work/c1.der' -pubkey -noout > '$work/p1.pem' &&
  openssl dgst -sha256 -verify '$work/p1.pem' -signature '$work/s1' '$work/data'"
check "P-256 ECDSA-SHA256 signature (9E) verifies" bash -c "
  pkcs11-tool --module '$module' --login --pin 123456 --id 04 --sign -m ECDSA-SHA256 --signature-format openssl -i '$work/data' -o '$work/s4' &&
  pkcs11-tool --module '$module' --read-object --type cert --id 04 -o '$work/c4.der' &&
  openssl x509 -inform DER -in '$work/c4.der' -pubkey -noout > '$work/p4.pem' &&
  openssl dgst -sha256 -verify '$work/p4.pem' -signature '$work/s4' '$work/data'"
pkcs11-tool --module "$module" --login --pin 999999 -O > "$work/bad" 2>&1 || true
check "a wrong PIN answers CKR_PIN_INCORRECT" contains "$work/bad" "CKR_PIN_INCORRECT"
p11 --login --pin 123456 -O > /dev/null 2>&1 || true  # a good login restores the retry counter
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
