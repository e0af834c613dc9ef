#!/usr/bin/env bash
# Remote use through p11-kit: `p11-kit server --provider MODULE "pkcs11:token…"` exports
# the token on a Unix socket (what ssh -R would forward), and p11-kit-client.so on the
# other side lists it with pkcs11-tool and signs with it.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module remote
client=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
if ! have p11-kit p11tool pkcs11-tool || [[ ! -e $client ]]; then
	skip "remote (p11-kit, p11-kit-modules, gnutls-bin or opensc missing)"
	exit 0
fi

token=$(p11tool --provider "$P11_MODULE" --list-tokens 2>/dev/null | grep 'URL: pkcs11:model=' |
	grep -v p11-kit-trust | head -n 1 | sed 's/.*URL: //')
if [[ -z $token ]]; then
	notok "find the token's URI with p11tool --list-tokens"
	exit 0
fi
sock=$WORK/p11kit.sock
bg p11-kit server -f --provider "$P11_MODULE" -n "$sock" "$token" >"$WORK/server.log" 2>&1 >/dev/null
if ! wait_file "$sock" 10; then
	notok "p11-kit server starts" "$WORK/server.log"
	exit 0
fi
export P11_KIT_SERVER_ADDRESS=unix:path=$sock
ok "p11-kit server exports the token on a Unix socket"

if timeout 60 pkcs11-tool --module "$client" -L -O >"$WORK/list.txt" 2>&1 &&
	grep -q 'token flags' "$WORK/list.txt" &&
	[[ $(grep -c '^Certificate Object' "$WORK/list.txt") -ge 4 ]]; then
	ok "pkcs11-tool -L -O through p11-kit-client.so lists the token and its certificates"
else
	notok "pkcs11-tool -L -O through p11-kit-client.so lists the token and its certificates" "$WORK/list.txt"
fi

export_certs || { notok "export the card's certificates with pkcs11-tool"; exit 0; }
for id in 01 04; do openssl x509 -in "$WORK/cert-$id.pem" -noout -pubkey >"$WORK/pub-$id.pem"; done
head -c 500 /dev/urandom >"$WORK/msg"
openssl dgst -sha256 -binary -out "$WORK/msg.sha256" "$WORK/msg"
E2E_P11_PIN=$(cat "$WORK/pin")
export E2E_P11_PIN

if timeout 60 pkcs11-tool --module "$client" --login --pin env:E2E_P11_PIN --sign --id 01 \
	-m SHA256-RSA-PKCS -i "$WORK/msg" -o "$WORK/rsa.sig" >"$WORK/sign.log" 2>&1 &&
	openssl dgst -sha256 -verify "$WORK/pub-01.pem" -signature "$WORK/rsa.sig" "$WORK/msg" >>"$WORK/sign.log" 2>&1; then
	ok "remote RSA signature (9A, with login) verifies with the certificate"
else
	notok "remote RSA signature (9A, with login) verifies with the certificate" "$WORK/sign.log"
fi

# (pkcs11-tool logs in before any --sign on a token that says "login required", even
# for 9E, whose key needs no PIN.)
if timeout 60 pkcs11-tool --module "$client" --login --pin env:E2E_P11_PIN --sign --id 04 -m ECDSA --signature-format openssl \
	-i "$WORK/msg.sha256" -o "$WORK/ec.sig" >"$WORK/sign.log" 2>&1 &&
	openssl pkeyutl -verify -pubin -inkey "$WORK/pub-04.pem" -in "$WORK/msg.sha256" -sigfile "$WORK/ec.sig" >>"$WORK/sign.log" 2>&1; then
	ok "remote ECDSA signature (9E) verifies with the certificate"
else
	notok "remote ECDSA signature (9E) verifies with the certificate" "$WORK/sign.log"
fi
