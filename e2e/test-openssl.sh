#!/usr/bin/env bash
# OpenSSL 3 with the module, through the pkcs11-provider (the modern path) and through
# the libp11 engine: openssl dgst/pkeyutl signatures with pkcs11: URI keys (verified
# with the certificate's public key), a CSR from the token key, and an s_client TLS
# connection with client authentication.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module openssl
have openssl || { skip "openssl (not installed)"; exit 0; }
export_certs || { notok "export the card's certificates with pkcs11-tool"; exit 0; }
for id in 01 04; do openssl x509 -in "$WORK/cert-$id.pem" -noout -pubkey >"$WORK/pub-$id.pem"; done
head -c 1000 /dev/urandom >"$WORK/msg"
openssl dgst -sha256 -binary -out "$WORK/msg.sha256" "$WORK/msg"

provider=/usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so
engine=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so

cat >"$WORK/provider.cnf" <<CONF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
pkcs11 = pkcs11_sect
[default_sect]
activate = 1
[pkcs11_sect]
module = $provider
pkcs11-module-path = $P11_MODULE
pkcs11-module-token-pin = file:$WORK/pin
activate = 1
CONF
cat >"$WORK/engine.cnf" <<CONF
openssl_conf = openssl_init
[openssl_init]
engines = engine_sect
[engine_sect]
pkcs11 = pkcs11_sect
[pkcs11_sect]
engine_id = pkcs11
dynamic_path = $engine
MODULE_PATH = $P11_MODULE
PIN = $E2E_PIN
init = 0
CONF

rsa='pkcs11:id=%01;type=private'
ec='pkcs11:id=%04;type=private'

# suite NAME KEYARGS…: the checks through one backend; KEYARGS select how openssl finds
# a key ("-engine pkcs11 -keyform engine" for the engine, nothing for the provider).
suite() {
	local name=$1
	shift
	local kargs=("$@")

	if openssl dgst -sha256 "${kargs[@]}" -sign "$rsa" -out "$WORK/rsa.sig" "$WORK/msg" >"$WORK/s.log" 2>&1 &&
		openssl dgst -sha256 -verify "$WORK/pub-01.pem" -signature "$WORK/rsa.sig" "$WORK/msg" >>"$WORK/s.log" 2>&1; then
		ok "$name: openssl dgst -sign with the RSA key (9A), verified with its certificate"
	else
		notok "$name: openssl dgst -sign with the RSA key (9A), verified with its certificate" "$WORK/s.log"
	fi

	if openssl pkeyutl -sign "${kargs[@]}" -inkey "$ec" -in "$WORK/msg.sha256" -out "$WORK/ec.sig" >"$WORK/s.log" 2>&1 &&
		openssl pkeyutl -verify -pubin -inkey "$WORK/pub-04.pem" -in "$WORK/msg.sha256" -sigfile "$WORK/ec.sig" >>"$WORK/s.log" 2>&1; then
		ok "$name: openssl pkeyutl -sign with the P-256 key (9E), verified with its certificate"
	else
		notok "$name: openssl pkeyutl -sign with the P-256 key (9E), verified with its certificate" "$WORK/s.log"
	fi

	if openssl req -new "${kargs[@]}" -key "$rsa" -subj "/CN=pcsc11 e2e csr" -out "$WORK/req.pem" >"$WORK/s.log" 2>&1 &&
		openssl req -in "$WORK/req.pem" -noout -verify >>"$WORK/s.log" 2>&1 &&
		cmp -s <(openssl req -in "$WORK/req.pem" -noout -pubkey) "$WORK/pub-01.pem"; then
		ok "$name: openssl req makes a CSR signed by the token key, with its public key"
	else
		notok "$name: openssl req makes a CSR signed by the token key, with its public key" "$WORK/s.log"
	fi

	tls_server "$WORK/cert-01.pem"
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 60 openssl s_client -connect "127.0.0.1:$TLS_PORT" -ign_eof \
		"${kargs[@]}" -cert "$WORK/cert-01.pem" -key "$rsa" >"$WORK/client.out" 2>&1
	tls_result "$name: openssl s_client authenticates with the token key (9A)" \
		'Subject: *O *= *pcsc11, CN *= *pcsc11 demo PIV Authentication'
}


# change_pin OLD NEW: through the module, PINs from files (never on a command line).
change_pin() {
	pkcs11-tool --module "$P11_MODULE" --login --pin "$(cat "$1")" --change-pin --new-pin "$(cat "$2")" >"$WORK/cp.log" 2>&1
}

if [[ -e $provider ]]; then
	# pkcs11-provider refuses to log in while the token says CKF_USER_PIN_TO_BE_CHANGED,
	# which pcsc11 reports truthfully for the factory PIN (OpenSC and ykcs11 do
	# not). Do what a user must: change the PIN first, and restore it afterwards.
	printf '%s' 246810 >"$WORK/pin.new"
	if change_pin "$WORK/pin" "$WORK/pin.new"; then
		sed -i "s|file:$WORK/pin\$|file:$WORK/pin.new|" "$WORK/provider.cnf"
		OPENSSL_CONF=$WORK/provider.cnf suite "pkcs11-provider"
		change_pin "$WORK/pin.new" "$WORK/pin" || notok "restore the demo PIN after the pkcs11-provider checks" "$WORK/cp.log"
	else
		notok "change the factory PIN before the pkcs11-provider checks" "$WORK/cp.log"
	fi
else
	skip "pkcs11-provider (not installed: apt-get install -t bookworm-backports pkcs11-provider)"
fi
if [[ -e $engine ]]; then
	OPENSSL_CONF=$WORK/engine.cnf suite "libp11 engine" -engine pkcs11 -keyform engine
else
	skip "libp11 engine (not installed: apt-get install libengine-pkcs11-openssl)"
fi
