#!/usr/bin/env bash
# GnuTLS with the module: p11tool --provider lists tokens and objects with RFC 7512
# pkcs11: URIs and signs with --test-sign; gnutls-cli authenticates to a TLS server
# with a pkcs11: URI key.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module gnutls
have p11tool gnutls-cli || { skip "gnutls (gnutls-bin not installed)"; exit 0; }
# GnuTLS tools read the PIN from GNUTLS_PIN (never printed).
GNUTLS_PIN=$(cat "$WORK/pin")
export GNUTLS_PIN
p=(--provider "$P11_MODULE")

if p11tool "${p[@]}" --list-tokens >"$WORK/tokens.txt" 2>&1 &&
	grep -q '^Token [0-9]*:' "$WORK/tokens.txt" && grep -q 'URL: pkcs11:model=' "$WORK/tokens.txt"; then
	ok "p11tool --list-tokens shows the token with its pkcs11: URI"
else
	notok "p11tool --list-tokens shows the token with its pkcs11: URI" "$WORK/tokens.txt"
fi
# The token's own URI (the one whose model is not p11-kit's trust module).
token=$(grep 'URL: pkcs11:model=' "$WORK/tokens.txt" | grep -v 'p11-kit-trust' | head -n 1 | sed 's/.*URL: //')

if p11tool "${p[@]}" --list-all "$token" >"$WORK/all.txt" 2>&1 &&
	[[ $(grep -c 'URL: pkcs11:.*;id=%0[1-4];.*type=cert' "$WORK/all.txt") -ge 4 ]] &&
	[[ $(grep -c 'URL: pkcs11:.*;id=%0[1-4];.*type=public' "$WORK/all.txt") -ge 4 ]]; then
	ok "p11tool --list-all lists certificates and public keys 01-04 with pkcs11: URIs"
else
	notok "p11tool --list-all lists certificates and public keys 01-04 with pkcs11: URIs" "$WORK/all.txt"
fi

if p11tool "${p[@]}" --list-all-certs "$token" >"$WORK/certs.txt" 2>&1 &&
	[[ $(grep -c 'Type: X.509 Certificate' "$WORK/certs.txt") -ge 4 ]]; then
	ok "p11tool --list-all-certs lists the four certificates"
else
	notok "p11tool --list-all-certs lists the four certificates" "$WORK/certs.txt"
fi

if p11tool "${p[@]}" --login --list-all-privkeys "$token" >"$WORK/keys.txt" 2>&1 &&
	[[ $(grep -c 'URL: pkcs11:.*;id=%0[1-4];.*type=private' "$WORK/keys.txt") -ge 4 ]]; then
	ok "p11tool --login --list-all-privkeys lists private keys 01-04"
else
	notok "p11tool --login --list-all-privkeys lists private keys 01-04" "$WORK/keys.txt"
fi

# test_sign ID NAME: p11tool signs with the key and verifies with its public key.
test_sign() {
	if p11tool "${p[@]}" --login --test-sign "$token;id=%$1;type=private" >"$WORK/sign.txt" 2>&1 &&
		grep -q 'Verifying against public key in the token... ok' "$WORK/sign.txt"; then
		ok "p11tool --test-sign with $2"
	else
		notok "p11tool --test-sign with $2" "$WORK/sign.txt"
	fi
}
test_sign 01 "the RSA key (9A)"
test_sign 04 "the P-256 key (9E)"

# gnutls-cli with client authentication from the token (9A, TLS 1.3 so RSA-PSS).
if export_certs; then
	tls_server "$WORK/cert-01.pem"
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 60 gnutls-cli "${p[@]}" --insecure -p "$TLS_PORT" 127.0.0.1 \
		--x509certfile "$token;id=%01;type=cert" --x509keyfile "$token;id=%01;type=private" >"$WORK/client.out" 2>&1
	tls_result "gnutls-cli authenticates with a pkcs11: URI key (9A)" \
		'Subject: *O *= *pcsc11, CN *= *pcsc11 demo PIV Authentication'
else
	notok "export the card's certificates with pkcs11-tool"
fi

# Without --provider: the p11-kit module file that `make install` puts in place. When
# pcsc11 is not installed on this machine, `make install DESTDIR=…` stages it and a
# private mount namespace lays the staged module directory and library over the
# system's, so the installed layout itself is what p11-kit and p11tool find.
libdir=/usr/lib/x86_64-linux-gnu/pkcs11
moddir=/usr/share/p11-kit/modules
modfile=$(grep -lE "^module: *(.*/)?libpcsc11\.so" $moddir/*.module /etc/pkcs11/modules/*.module 2>/dev/null | head -n 1)
run_p11kit=()
if [[ -z $modfile && $(id -u) == 0 ]] && have unshare && [[ -d $libdir && -d $moddir ]]; then
	stage=$WORK/stage
	if make -C "$REPO" -s install DESTDIR="$stage" >"$WORK/install.log" 2>&1 &&
		[[ -f $stage$moddir/pcsc11.module && -f $stage$libdir/libpcsc11.so ]]; then
		ok "make install DESTDIR stages the module and its p11-kit module file ($(cat "$stage$moddir/pcsc11.module"))"
		modfile=$moddir/pcsc11.module
		run_p11kit=(unshare --mount -- sh -c 'mount --bind "$1" "$2" && mount --bind "$3" "$4" && shift 4 && exec "$@"' sh
			"$stage$libdir" "$libdir" "$stage$moddir" "$moddir")
	else
		notok "make install DESTDIR stages the module and its p11-kit module file" "$WORK/install.log"
	fi
fi
if [[ -z $modfile ]]; then
	skip "p11-kit list-modules / p11tool without --provider (pcsc11 not installed, and staging it needs root and unshare)"
else
	name=$(basename "$modfile" .module)
	if "${run_p11kit[@]}" p11-kit list-modules >"$WORK/modules.txt" 2>&1 && grep -q "^$name: " "$WORK/modules.txt" &&
		"${run_p11kit[@]}" p11tool --list-tokens >"$WORK/tokens2.txt" 2>&1 && grep -qF "$token" "$WORK/tokens2.txt"; then
		ok "p11-kit list-modules and p11tool --list-tokens find the token through $modfile"
	else
		cat "$WORK/tokens2.txt" >>"$WORK/modules.txt" 2>/dev/null
		notok "p11-kit list-modules and p11tool --list-tokens find the token through $modfile" "$WORK/modules.txt"
	fi
fi
