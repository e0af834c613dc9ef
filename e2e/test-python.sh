#!/usr/bin/env bash
# Python with the module through PyKCS11 (python3-pykcs11): list, log in, sign; the
# signatures are verified here with the certificates' public keys.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module python
# Debian's python3-pykcs11 is for the system interpreter (a pyenv python3 on PATH
# does not see it).
py=python3
[[ -x /usr/bin/python3 ]] && py=/usr/bin/python3
if ! "$py" -c 'import PyKCS11' 2>/dev/null; then
	skip "python (python3-pykcs11 not installed)"
	exit 0
fi
export_certs || { notok "export the card's certificates with pkcs11-tool"; exit 0; }
for id in 01 04; do openssl x509 -in "$WORK/cert-$id.pem" -noout -pubkey >"$WORK/pub-$id.pem"; done
head -c 700 /dev/urandom >"$WORK/msg"

"$py" "$E2E_HERE/pykcs11_e2e.py" "$P11_MODULE" "$WORK/pin" "$WORK"

if [[ -s $WORK/py-rsa.sig ]] &&
	openssl dgst -sha256 -verify "$WORK/pub-01.pem" -signature "$WORK/py-rsa.sig" "$WORK/msg" >"$WORK/v.log" 2>&1; then
	ok "the PyKCS11 RSA signature verifies with the 9A certificate"
else
	notok "the PyKCS11 RSA signature verifies with the 9A certificate" "$WORK/v.log"
fi
# PKCS#11 ECDSA signatures are r||s; OpenSSL wants DER.
if [[ -s $WORK/py-ec.sig ]] && python3 - "$WORK/py-ec.sig" "$WORK/py-ec.der" <<'PY' &&
import sys
raw = open(sys.argv[1], "rb").read()
def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return b"\x02" + bytes([len(b)]) + b
h = len(raw) // 2
body = der_int(raw[:h]) + der_int(raw[h:])
open(sys.argv[2], "wb").write(b"\x30" + bytes([len(body)]) + body)
PY
	openssl dgst -sha256 -verify "$WORK/pub-04.pem" -signature "$WORK/py-ec.der" "$WORK/msg" >"$WORK/v.log" 2>&1; then
	ok "the PyKCS11 ECDSA signature verifies with the 9E certificate"
else
	notok "the PyKCS11 ECDSA signature verifies with the 9E certificate" "$WORK/v.log"
fi
