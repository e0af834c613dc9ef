#!/usr/bin/env bash
# Real clients load build/libpcsc11.so against the demo card:
# pkcs11-tool -L -O -T, and GnuTLS's p11tool --list-all / --list-all-certs (GnuTLS
# passes CKF_LIBRARY_CANT_CREATE_OS_THREADS, which the module accepts). Run it inside
# the rig: hwtests/rig.sh run bash hwtests/cabi/clients.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
module=$PWD/build/libpcsc11.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
has() { # has NAME FILE STRING...: every STRING occurs in FILE
  local name=$1 f=$2; shift 2
  for s in "$@"; do
    if ! grep -qF -- "$s" "$f"; then
      echo "not ok - $name (missing: $s)"; sed 's/^/    /' "$f" | head -40; fail=$((fail + 1)); return
    fi
  done
  echo "ok - $name"; pass=$((pass + 1))
}
# What the token says it is depends on the rig's card profile (docs/conformance.md, What
# differs per card): model and serial.
card=${PCSC11_RIG_CARD:-yubikey-5.7}
case $card in
yubikey-5.*) model="YubiKey ${card#yubikey-}" serial="serial num         : 12345678" ;;
yubikey-4.3) model="YubiKey 4.3" serial="token label        : YubiKey PIV" ;;
yubikey-neo) model="YubiKey NEO" serial="token label        : YubiKey PIV" ;;
piv) model="token model        : PIV" serial="token label        : pcsc11 demo PIV Authentication" ;;
esac
[[ $model == token* ]] || model="token model        : $model"
pkcs11-tool --module "$module" -L -O -T >"$work/lot" 2>&1
has "pkcs11-tool -L -O -T: slots, token, objects" "$work/lot" \
  "Yubico YubiKey (pcsc11 virtual) 00 00" "$model" "$serial" \
  "X.509 Certificate for PIV Authentication" "Public key for Card Authentication"
pkcs11-tool --module "$module" -M >"$work/mech" 2>&1
has "pkcs11-tool -M: the mechanisms" "$work/mech" "SHA256-RSA-PKCS" "ECDSA-SHA256" "RSA-PKCS-OAEP" "ECDH1-DERIVE"
pkcs11-tool --module "$module" -O --login --pin 123456 >"$work/priv" 2>&1
has "pkcs11-tool -O --login: private keys with their PIV IDs" "$work/priv" \
  "Private key for PIV Authentication" "ID:         01" "Private key for Digital Signature" "ID:         02" \
  "Private key for Key Management" "ID:         03" "Private key for Card Authentication" "ID:         04"
p11tool --provider "$module" --list-all >"$work/all" 2>&1
has "p11tool --list-all: certificates and public keys" "$work/all" \
  "X.509 Certificate for PIV Authentication" "Public key for Digital Signature" "Type: X.509 Certificate"
p11tool --provider "$module" --list-all-certs >"$work/certs" 2>&1
has "p11tool --list-all-certs: the four demo certificates" "$work/certs" \
  "Label: X.509 Certificate for PIV Authentication" "Label: X.509 Certificate for Digital Signature" \
  "Label: X.509 Certificate for Key Management" "Label: X.509 Certificate for Card Authentication"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
