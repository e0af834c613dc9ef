#!/usr/bin/env bash
# Personalization through PKCS#11 alone, with pkcs11-tool on libpcsc11.so:
# a wrong SO credential changes nothing; C_InitToken resets the card with a label;
# C_InitPIN (PUK SO) sets the PIN; C_GenerateKeyPair for RSA-2048, P-256, P-384 and
# Ed25519; a certificate written with C_CreateObject; then a signature verifies, and
# independent tools (yubico-piv-tool, OpenSC's own module) see the same card. Last, a
# key generation through a PIN-protected management key, traced: no secret in the trace.
# Destructive: runs only on the e2e suite's own card (E2E_OWN_RIG), last in the list.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module personalize
if [[ ${E2E_OWN_RIG:-0} != 1 ]]; then
	skip "personalize (resets the card: runs only on the e2e suite's own virtual card)"
	exit 0
fi
M=$P11_MODULE
# The factory management key (the SO credential) and PUK of the virtual card: public
# test values, as the demo PIN.
SO=010203040506070801020304050607080102030405060708
PUK=12345678
NEWPIN=654321
printf '%s' "$NEWPIN" >"$WORK/newpin"
p11() { pkcs11-tool --module "$M" "$@"; }

p11 --login --pin "$E2E_PIN" -O >"$WORK/before.txt" 2>&1
if p11 --init-token --so-pin "${SO%??}ff" --label "must not happen" >"$WORK/wrong.log" 2>&1; then
	notok "C_InitToken with a wrong management key is refused" "$WORK/wrong.log"
elif grep -q CKR_PIN_INCORRECT "$WORK/wrong.log" && p11 --login --pin "$E2E_PIN" -O >"$WORK/after.txt" 2>&1 &&
	cmp -s "$WORK/before.txt" "$WORK/after.txt"; then
	ok "C_InitToken with a wrong management key: CKR_PIN_INCORRECT, the card's objects and PIN unchanged"
else
	diff "$WORK/before.txt" "$WORK/after.txt" >>"$WORK/wrong.log" 2>&1
	notok "C_InitToken with a wrong management key: CKR_PIN_INCORRECT and nothing changed" "$WORK/wrong.log"
fi

if check "pkcs11-tool --init-token (C_InitToken with the management key, label)" \
	p11 --init-token --so-pin "$SO" --label "pcsc11 e2e"; then
	p11 -L >"$WORK/L.txt" 2>&1
	if grep -q 'token label *: pcsc11 e2e$' "$WORK/L.txt" && grep -q 'user PIN to be changed' "$WORK/L.txt" &&
		grep -q 'SO PIN to be changed' "$WORK/L.txt"; then
		ok "the token shows the new label and the 'to be changed' flags of the factory PIN and PUK"
	else
		notok "the token shows the new label and the 'to be changed' flags" "$WORK/L.txt"
	fi
	p11 --login --pin "$E2E_PIN" -O >"$WORK/reset.txt" 2>&1
	if grep -q 'ID: *01' "$WORK/reset.txt"; then
		notok "the reset card has no keys left in 9A" "$WORK/reset.txt"
	else
		ok "the reset card has no keys left in 9A"
	fi
fi

check "pkcs11-tool --init-pin (C_InitPIN in a PUK SO session)" \
	p11 --login --login-type so --so-pin "$PUK" --init-pin --new-pin "$NEWPIN"
p11 -L >"$WORK/L2.txt" 2>&1
if grep -q 'user PIN to be changed' "$WORK/L2.txt"; then
	notok "after C_InitPIN the PIN is no longer flagged as the default" "$WORK/L2.txt"
else
	ok "after C_InitPIN the PIN is no longer flagged as the default"
fi

for spec in "rsa:2048 01" "EC:prime256v1 02" "EC:secp384r1 03" "EC:edwards25519 04"; do
	set -- $spec
	check "pkcs11-tool --keypairgen $1 (CKA_ID $2)" \
		p11 --login --login-type so --so-pin "$SO" --keypairgen --key-type "$1" --id "$2" --label "e2e $1"
done
# X25519 is generated through the dlopen harness (hwtests/crypto) and the unit tests: pkcs11-tool 0.23 sends
# CKA_EC_PARAMS for curve25519 as a PrintableString whose length counts a NUL it does
# not send (13 0b "curve25519"), which the module rightly refuses.

# A certificate for the new RSA key, written with C_CreateObject.
if p11 --read-object --type pubkey --id 01 -o "$WORK/pub01.der" >"$WORK/rd.log" 2>&1 &&
	openssl pkey -pubin -inform DER -in "$WORK/pub01.der" -out "$WORK/pub01.pem" 2>>"$WORK/rd.log" &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tmp.key" \
		-subj "/O=pcsc11/CN=pcsc11 e2e personalized" -out "$WORK/tmp.csr" >>"$WORK/rd.log" 2>&1 &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=pcsc11 e2e issuer" \
		-keyout "$WORK/ca.key" -out "$WORK/ca.pem" >>"$WORK/rd.log" 2>&1 &&
	openssl x509 -req -in "$WORK/tmp.csr" -force_pubkey "$WORK/pub01.pem" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
		-CAcreateserial -days 2 -outform DER -out "$WORK/cert01.der" >>"$WORK/rd.log" 2>&1; then
	check "pkcs11-tool --write-object (C_CreateObject of the 9A certificate)" \
		p11 --login --login-type so --so-pin "$SO" --write-object "$WORK/cert01.der" --type cert --id 01 \
		--label "e2e certificate"
else
	notok "a certificate for the generated RSA key" "$WORK/rd.log"
fi

# The new key signs with the new PIN; OpenSSL verifies with the written certificate.
head -c 500 /dev/urandom >"$WORK/msg"
if p11 --login --pin "$NEWPIN" --sign --id 01 -m SHA256-RSA-PKCS -i "$WORK/msg" -o "$WORK/sig" >"$WORK/sign.log" 2>&1 &&
	openssl x509 -inform DER -in "$WORK/cert01.der" -noout -pubkey >"$WORK/certpub.pem" &&
	openssl dgst -sha256 -verify "$WORK/certpub.pem" -signature "$WORK/sig" "$WORK/msg" >>"$WORK/sign.log" 2>&1; then
	ok "the generated RSA key signs with the new PIN and OpenSSL verifies it with the written certificate"
else
	notok "the generated RSA key signs with the new PIN and OpenSSL verifies it" "$WORK/sign.log"
fi
# Each generated EC/Ed25519 key signs too (pkcs11-tool's own verification).
for spec in "02 ECDSA-SHA256" "03 ECDSA-SHA384" "04 EDDSA"; do
	set -- $spec
	if p11 --login --pin "$NEWPIN" --sign --id "$1" -m "$2" -i "$WORK/msg" -o "$WORK/sig$1" >"$WORK/s$1.log" 2>&1 &&
		p11 --verify --id "$1" -m "$2" -i "$WORK/msg" --signature-file "$WORK/sig$1" >>"$WORK/s$1.log" 2>&1; then
		ok "generated key $1 signs ($2) and the signature verifies"
	else
		notok "generated key $1 signs ($2) and the signature verifies" "$WORK/s$1.log"
	fi
done

# Independent software sees the same card.
reader=${PCSC11_HWTEST_READER:-}
if have yubico-piv-tool && [[ -n $reader ]]; then
	yubico-piv-tool -r "$reader" -a status >"$WORK/ypt.txt" 2>&1
	if grep -q 'pcsc11 e2e personalized' "$WORK/ypt.txt"; then
		ok "yubico-piv-tool -a status shows the certificate written through pcsc11 in slot 9a"
	else
		notok "yubico-piv-tool -a status shows the certificate written through pcsc11" "$WORK/ypt.txt"
	fi
else
	skip "yubico-piv-tool status (not installed, or no reader name)"
fi
opensc=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
if [[ -f $opensc ]]; then
	pkcs11-tool --module "$opensc" -O >"$WORK/opensc.txt" 2>&1
	if grep -q 'pcsc11 e2e personalized' "$WORK/opensc.txt"; then
		ok "OpenSC's module lists the certificate written through pcsc11"
	else
		notok "OpenSC's module lists the certificate written through pcsc11" "$WORK/opensc.txt"
	fi
else
	skip "OpenSC listing (opensc-pkcs11.so not installed)"
fi

# The same through the pcsc11 CLI (secrets from the environment, never arguments).
cli=$REPO/build/pcsc11
vpiv=${PCSC11_VPIV:-$REPO/build/pcsc11-vpiv}
if [[ ! -x $cli || ! -x $vpiv ]]; then
	skip "pcsc11 CLI personalization (build/pcsc11 or pcsc11-vpiv missing)"
	exit 0
fi
"$cli" objects >"$WORK/cli-before.txt" 2>&1
if PCSC11_SO_PIN="${SO%??}ff" "$cli" init-token --label "must not happen" >"$WORK/cli-wrong.log" 2>&1; then
	notok "pcsc11 init-token with a wrong management key fails" "$WORK/cli-wrong.log"
elif "$cli" objects >"$WORK/cli-after.txt" 2>&1 && cmp -s "$WORK/cli-before.txt" "$WORK/cli-after.txt"; then
	ok "pcsc11 init-token with a wrong management key fails and changes nothing"
else
	notok "pcsc11 init-token with a wrong management key changes nothing" "$WORK/cli-after.txt"
fi
check "pcsc11 init-token --label" env PCSC11_SO_PIN="$SO" "$cli" init-token --label "pcsc11 cli"
check "pcsc11 unblock-pin (PUK, new PIN)" env PCSC11_PUK="$PUK" PCSC11_NEW_PIN="$NEWPIN" "$cli" unblock-pin
check "pcsc11 set-pin (PIN)" env PCSC11_PIN="$NEWPIN" PCSC11_NEW_PIN=11223344 "$cli" set-pin
check "pcsc11 set-pin --puk" env PCSC11_PUK="$PUK" PCSC11_NEW_PIN=87654321 "$cli" set-pin --puk
if env PCSC11_SO_PIN="$SO" "$cli" keygen --id 01 --type p256 --pin-policy once >"$WORK/cli-pub.pem" 2>"$WORK/cli-keygen.log" &&
	openssl pkey -pubin -in "$WORK/cli-pub.pem" -noout 2>>"$WORK/cli-keygen.log"; then
	ok "pcsc11 keygen --type p256 prints the new public key"
else
	notok "pcsc11 keygen --type p256 prints the new public key" "$WORK/cli-keygen.log"
fi
"$vpiv" --print-attestation-root >"$WORK/root.pem"
if "$cli" attest --id 01 --roots "$WORK/root.pem" >"$WORK/attest.txt" 2>&1 &&
	grep -q 'attestation verified: key in slot 9a generated on the card.*PIN policy once' "$WORK/attest.txt"; then
	ok "pcsc11 attest: piv-go verifies the attestation of the generated key against the virtual root"
else
	notok "pcsc11 attest verifies the attestation of the generated key" "$WORK/attest.txt"
fi
if "$cli" attest --id 01 >"$WORK/attest2.txt" 2>&1; then
	notok "pcsc11 attest without the virtual root refuses (Yubico's roots do not sign it)" "$WORK/attest2.txt"
else
	ok "pcsc11 attest without the virtual root refuses (Yubico's roots do not sign it)"
fi
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tmp2.key" \
	-subj "/O=pcsc11/CN=pcsc11 cli import" -out "$WORK/tmp2.csr" >/dev/null 2>&1 &&
	openssl x509 -req -in "$WORK/tmp2.csr" -force_pubkey "$WORK/cli-pub.pem" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
		-CAcreateserial -days 2 -out "$WORK/cli-cert.pem" >/dev/null 2>&1
check "pcsc11 import --id 01 (certificate for the generated key)" env PCSC11_SO_PIN="$SO" "$cli" import --id 01 "$WORK/cli-cert.pem"
if pkcs11-tool --module "$opensc" -O 2>/dev/null | grep -q 'pcsc11 cli import'; then
	ok "OpenSC's module lists the certificate imported with pcsc11 import"
else
	notok "OpenSC's module lists the certificate imported with pcsc11 import"
fi
check "pcsc11 delete --id 01 (certificate and key)" env PCSC11_SO_PIN="$SO" "$cli" delete --id 01
"$cli" objects >"$WORK/cli-final.txt" 2>&1
if grep -q 'id=01 ' "$WORK/cli-final.txt"; then
	notok "after pcsc11 delete nothing with CKA_ID 01 is left" "$WORK/cli-final.txt"
else
	ok "after pcsc11 delete nothing with CKA_ID 01 is left"
fi

# No secret in a trace: C_InitToken with the PUK leaves a random management key stored
# PIN-protected (ykman's --protect layout, PRINTED 5FC109 = 88 { 89 key }); a user's key
# generation then reads it with GET DATA 5FC109. Under `pcsc11 trace`, that answer is
# redacted, and no PIN or PUK appears (ASCII hex of 123456 and 87654321).
if check "pkcs11-tool --init-token with the PUK (leaves a PIN-protected management key)" \
	p11 --init-token --so-pin 87654321 --label "pcsc11 protected"; then
	if "$cli" trace --log "$WORK/protected.trace" -- pkcs11-tool --module "$M" --login --pin 123456 \
		--keypairgen --key-type EC:prime256v1 --id 05 --label "protected keygen" >"$WORK/protected.log" 2>&1; then
		answer=$(grep -i -A1 '> 00cb3fff.*5c035fc109' "$WORK/protected.trace" | grep ' < ' | head -1)
		if [[ $answer == *redacted* ]] && ! grep -qi '313233343536\|3837363534333231' "$WORK/protected.trace"; then
			ok "trace of a keygen with a PIN-protected management key: GET DATA 5FC109 answered '${answer##* < }', no PIN or PUK"
		else
			notok "trace of a keygen with a PIN-protected management key hides the key, the PIN and the PUK" "$WORK/protected.trace"
		fi
	else
		notok "pkcs11-tool --keypairgen with a user login on a PIN-protected management key, traced" "$WORK/protected.log"
	fi
fi

# The reverse: a card personalized by yubico-piv-tool alone is usable through pcsc11. A
# second, factory-fresh card in the second reader, with the 3DES management key that
# Debian's yubico-piv-tool 2.2 speaks.
reader2=${reader% 00 00}" 00 01"
if ! have yubico-piv-tool || [[ -z $reader || $reader2 == "$reader" ]]; then
	skip "card personalized by yubico-piv-tool (no yubico-piv-tool, or no second reader)"
	exit 0
fi
bg "$vpiv" --port 35964 --serial 22334455 --provision 3des >"$WORK/card2.log" 2>&1
n=50
until pkcs11-tool --module "$M" -L 2>/dev/null | grep -q 'serial num *: *22334455'; do
	((n-- > 0)) || break
	sleep 0.2
done
ypt() { yubico-piv-tool -r "$reader2" "$@"; }
if ypt -a generate -s 9a -A ECCP256 -o "$WORK/ypt-pub.pem" >"$WORK/ypt.log" 2>&1 &&
	# yubico-piv-tool 2.2's selfsign-certificate fails inside OpenSSL 3 before it sends
	# an APDU (Yubico/yubico-piv-tool#388): the certificate comes from a test CA.
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tmp3.key" \
		-subj "/CN=pcsc11 ypt personalized" -out "$WORK/tmp3.csr" >>"$WORK/ypt.log" 2>&1 &&
	openssl x509 -req -in "$WORK/tmp3.csr" -force_pubkey "$WORK/ypt-pub.pem" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
		-CAcreateserial -days 2 -out "$WORK/ypt-cert.pem" >>"$WORK/ypt.log" 2>&1 &&
	ypt -a import-certificate -s 9a -i "$WORK/ypt-cert.pem" >>"$WORK/ypt.log" 2>&1; then
	ok "yubico-piv-tool generates a key and imports its certificate in 9a of a second card"
	slot2=$(pkcs11-tool --module "$M" -L 2>/dev/null | awk '/^Slot [0-9]+/ {s=$2} /serial num *: *22334455/ {print s; exit}')
	openssl x509 -in "$WORK/ypt-cert.pem" -noout -pubkey >"$WORK/ypt-certpub.pem"
	if [[ -n $slot2 ]] &&
		pkcs11-tool --module "$M" --slot-index "$slot2" -O 2>/dev/null | grep -q 'pcsc11 ypt personalized' &&
		pkcs11-tool --module "$M" --slot-index "$slot2" --login --pin "$E2E_PIN" --sign --id 01 -m ECDSA-SHA256 \
			--signature-format openssl -i "$WORK/msg" -o "$WORK/ypt-sig" >"$WORK/ypt-sign.log" 2>&1 &&
		openssl dgst -sha256 -verify "$WORK/ypt-certpub.pem" -signature "$WORK/ypt-sig" "$WORK/msg" >>"$WORK/ypt-sign.log" 2>&1; then
		ok "pcsc11 lists the yubico-piv-tool certificate and its key signs (OpenSSL verifies)"
	else
		notok "pcsc11 lists the yubico-piv-tool certificate and its key signs (slot index '${slot2}')" "$WORK/ypt-sign.log"
	fi
else
	notok "yubico-piv-tool generates a key and imports its certificate in 9a of a second card" "$WORK/ypt.log"
fi
