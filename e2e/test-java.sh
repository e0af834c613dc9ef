#!/usr/bin/env bash
# Java with the module: SunPKCS11 with a config file; keytool -list -storetype PKCS11
# shows the key entries, and a small program signs with them (verified in software).
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module java
have java keytool || { skip "java (no JDK: apt-get install openjdk-17-jdk-headless)"; exit 0; }
cat >"$WORK/pkcs11.cfg" <<CFG
name = pcsc11
library = $P11_MODULE
slotListIndex = 0
CFG
if timeout 120 keytool -list -storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11 \
	-providerArg "$WORK/pkcs11.cfg" -storepass:file "$WORK/pin" >"$WORK/keytool.txt" 2>&1 &&
	[[ $(grep -c 'PrivateKeyEntry' "$WORK/keytool.txt") -ge 3 ]]; then
	ok "keytool -list -storetype PKCS11 lists the key entries ($(grep -c PrivateKeyEntry "$WORK/keytool.txt"))"
else
	notok "keytool -list -storetype PKCS11 lists the key entries" "$WORK/keytool.txt"
fi
timeout 120 java "$E2E_HERE/P11Sign.java" "$WORK/pkcs11.cfg" "$WORK/pin" >"$WORK/java.txt" 2>&1
rc=$?
grep -E '^(not )?ok - |^    # ' "$WORK/java.txt"
if [[ $rc != 0 ]] && ! grep -q '^not ok - ' "$WORK/java.txt"; then
	notok "SunPKCS11 signatures (java exited $rc)" "$WORK/java.txt"
fi
