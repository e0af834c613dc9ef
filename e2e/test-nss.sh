#!/usr/bin/env bash
# NSS (what Firefox, Thunderbird and Chromium on Linux use): modutil -add registers the
# module in a fresh NSS database, certutil -L -h all lists the token's certificates, and
# tstclnt does TLS 1.3 client authentication with the token's RSA key (RSA-PSS) and
# P-256 key against openssl s_server -Verify 1.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module nss
if ! have modutil certutil tstclnt openssl; then
	skip "nss (libnss3-tools not installed)"
	exit 0
fi

db=sql:$WORK/nssdb
mkdir -p "$WORK/nssdb"
certutil -N -d "$db" --empty-password >/dev/null 2>&1
if echo | modutil -dbdir "$db" -force -add pcsc11 -libfile "$P11_MODULE" >"$WORK/modutil.log" 2>&1 &&
	# modutil -list exits 1 on an empty slot (no token information), whatever the
	# module: the check reads what it printed.
	{ modutil -dbdir "$db" -list pcsc11 >>"$WORK/modutil.log" 2>&1 || true; } &&
	grep -q "Library file: $P11_MODULE" "$WORK/modutil.log" && grep -q 'Token Name:' "$WORK/modutil.log"; then
	ok "modutil -add registers the module"
else
	notok "modutil -add registers the module" "$WORK/modutil.log"
	exit 0
fi

if certutil -L -d "$db" -h all >"$WORK/certs.txt" 2>&1 &&
	grep -q 'PIV Authentication' "$WORK/certs.txt" && grep -q 'Card Authentication' "$WORK/certs.txt" &&
	grep -q 'Digital Signature' "$WORK/certs.txt" && grep -q 'Key Management' "$WORK/certs.txt"; then
	ok "certutil -L -h all lists the token's four certificates"
else
	notok "certutil -L -h all lists the token's four certificates" "$WORK/certs.txt"
fi

# nickname PATTERN: the "token:label" nickname of the certificate whose line matches.
nickname() {
	grep -- "$1" "$WORK/certs.txt" | head -n 1 | sed -E 's/[[:space:]]+[A-Za-z]*,[A-Za-z]*,[A-Za-z]*[[:space:]]*$//'
}

# The server trusts the card's (self-signed) certificates and requires a client
# certificate; it offers only PSS and ECDSA for client signatures.
export_certs || { notok "export the card's certificates with pkcs11-tool"; exit 0; }
cat "$WORK"/cert-0[1-4].pem >"$WORK/clientca.pem"
printf 'GET / HTTP/1.0\r\n\r\n' >"$WORK/request"

# tls NAME NICKNAME-PATTERN SUBJECT-CN SIGTYPE: one TLS 1.3 handshake with that
# certificate; ok when the server's status page names the client certificate's subject
# and the client's signature type (RSA-PSS or ECDSA).
tls() {
	local name=$1 nick
	nick=$(nickname "$2")
	if [[ -z $nick ]]; then
		notok "$name (no certificate matching '$2')" "$WORK/certs.txt"
		return
	fi
	tls_server "$WORK/clientca.pem" -tls1_3 -client_sigalgs rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:ecdsa_secp256r1_sha256
	timeout 60 tstclnt -h 127.0.0.1 -p "$TLS_PORT" -d "$db" -n "$nick" -W "$WORK/pin" -o \
		-V tls1.3:tls1.3 -A "$WORK/request" >"$WORK/client.out" 2>"$WORK/client.err"
	tls_result "$name" "CN *= *$3" 'Protocol *: *TLSv1.3' "^Peer signature type: $4\$"
}

tls "tstclnt TLS 1.3 client auth with the RSA key (9A, RSA-PSS)" 'PIV Authentication' 'pcsc11 demo PIV Authentication' RSA-PSS
tls "tstclnt TLS 1.3 client auth with the P-256 key (9E)" 'Card Authentication' 'pcsc11 demo Card Authentication' ECDSA
tls "tstclnt TLS 1.3 client auth with the P-256 key (9C, always-authenticate)" 'Digital Signature' 'pcsc11 demo Digital Signature' ECDSA
