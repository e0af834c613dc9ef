#!/usr/bin/env bash
# pcsc11 register / unregister against a profile that Firefox ESR itself creates
# (headless): the dry run changes nothing, register adds the module once (a second run
# changes nothing), NSS's own modutil reads the entry and loads the module with its
# token, Firefox started on the profile loads the module (its C_Initialize is in the
# module's log) and keeps the entry, unregister removes it. --system writes a policy
# file that keeps other policies. (Chromium's ~/.pki/nssdb: e2e/test-chromium.sh.)
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module register
ff=$(command -v firefox-esr || command -v firefox || true)
cli=$REPO/build/pcsc11
if [[ -z $ff ]] || ! have modutil certutil; then
	skip "register (firefox-esr or libnss3-tools not installed)"
	exit 0
fi
home=$WORK/home
mkdir -p "$home"
# firefox ARGS…: headless Firefox ESR as the test user, bounded in time.
firefox() {
	HOME=$home MOZ_CRASHREPORTER_DISABLE=1 timeout -k 5 "${E2E_FIREFOX_TIMEOUT:-90}" "$ff" --headless --no-remote "$@" >>"$WORK/firefox.log" 2>&1
}
firefox -CreateProfile e2e
firefox -P e2e --screenshot "$WORK/first.png" about:blank
# Where: ~/.mozilla/firefox, or ~/.config/mozilla/firefox (Firefox ESR 153 on a new home).
prof=$(ls -d "$home"/.mozilla/firefox/*.e2e "$home"/.config/mozilla/firefox/*.e2e 2>/dev/null | head -1)
if [[ -n $prof && -f $prof/pkcs11.txt && -f $(dirname "$prof")/profiles.ini ]]; then
	ok "Firefox ESR created a profile with its NSS database (${prof#"$home"/})"
else
	notok "Firefox ESR creates a profile" "$WORK/firefox.log"
	exit 0
fi
cp "$prof/pkcs11.txt" "$WORK/pkcs11.before"

reg() { HOME=$home "$cli" "$@" >"$WORK/reg.log" 2>&1; }
if reg register --module "$P11_MODULE" --dry-run && grep -q "^would be added  *firefox  *$prof\$" "$WORK/reg.log" &&
	cmp -s "$prof/pkcs11.txt" "$WORK/pkcs11.before"; then
	ok "register --dry-run names the profile and changes nothing"
else
	notok "register --dry-run" "$WORK/reg.log"
fi
if reg register --module "$P11_MODULE" && grep -q "^added  *firefox  *$prof\$" "$WORK/reg.log"; then
	ok "register adds the module to the Firefox profile"
else
	notok "register adds the module to the Firefox profile" "$WORK/reg.log"
fi
if reg register --module "$P11_MODULE" && [[ $(grep -c '^unchanged ' "$WORK/reg.log") -ge 1 ]] && ! grep -q '^added\|^updated' "$WORK/reg.log" &&
	[[ $(grep -c '^name=pcsc11$' "$prof/pkcs11.txt") == 1 ]]; then
	ok "register again: unchanged, one entry"
else
	notok "register is idempotent" "$WORK/reg.log"
fi
# (modutil exits non-zero for the rig's empty second reader: "Unable to get information
# about token", docs/nss.md.)
modutil -dbdir "sql:$prof" -list pcsc11 >"$WORK/modutil.log" 2>&1
if grep -q "^Library file: $P11_MODULE\$" "$WORK/modutil.log" && grep -q 'Token Name: ' "$WORK/modutil.log"; then
	ok "NSS's modutil reads the entry and loads the module ($(grep -m1 'Token Name: ' "$WORK/modutil.log" | sed 's/^ *//; s/ *$//'))"
else
	notok "modutil -list pcsc11 on the registered profile" "$WORK/modutil.log"
fi
: >"$WORK/p11.log"
PCSC11_DEBUG=1 PCSC11_LOG=$WORK/p11.log firefox -P e2e --screenshot "$WORK/second.png" about:blank
if grep -q 'C_Initialize → CKR_OK' "$WORK/p11.log" && grep -q '^name=pcsc11$' "$prof/pkcs11.txt"; then
	ok "Firefox started on the profile loads the module from it and keeps the entry"
else
	notok "Firefox loads the registered module (its log: $(wc -l <"$WORK/p11.log") lines)" "$WORK/firefox.log"
fi
if reg unregister && grep -q "^removed  *firefox  *$prof\$" "$WORK/reg.log" && ! grep -q '^name=pcsc11$' "$prof/pkcs11.txt" &&
	modutil -dbdir "sql:$prof" -list >"$WORK/modutil.log" 2>&1 && ! grep -q 'pcsc11' "$WORK/modutil.log"; then
	ok "unregister removes it; modutil lists no pcsc11"
else
	notok "unregister" "$WORK/reg.log"
fi
pol=$WORK/policies/policies.json
mkdir -p "$WORK/policies"
printf '{"policies": {"DisableTelemetry": true}}\n' >"$pol"
if reg register --module "$P11_MODULE" --system --policies "$pol" &&
	python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["policies"]; assert p["DisableTelemetry"] is True and p["SecurityDevices"]["Add"]["pcsc11"]==sys.argv[2]' "$pol" "$P11_MODULE"; then
	ok "register --system writes SecurityDevices into the policy file, keeping other policies"
else
	notok "register --system" "$WORK/reg.log"
fi
# Firefox applies that file (as /etc/firefox/policies/policies.json, in a private mount
# namespace): the unregistered profile gets the module at start.
if [[ $(id -u) == 0 ]] && have unshare; then
	mkdir -p /etc/firefox/policies
	HOME=$home MOZ_CRASHREPORTER_DISABLE=1 timeout -k 5 "${E2E_FIREFOX_TIMEOUT:-90}" unshare --mount -- sh -c '
		mount --bind "$1" /etc/firefox/policies && shift && exec "$@"' sh "$WORK/policies" \
		"$ff" --headless --no-remote -P e2e --screenshot "$WORK/third.png" about:blank >>"$WORK/firefox.log" 2>&1
	if grep -q "^library=$P11_MODULE\$" "$prof/pkcs11.txt"; then
		ok "Firefox applies the policy register --system wrote: the module is in the profile"
	else
		notok "Firefox applies the policy register --system wrote" "$WORK/firefox.log"
	fi
else
	skip "register --system with Firefox (needs root for a private mount of /etc/firefox/policies)"
fi
if reg unregister --system --policies "$pol" && ! grep -q pcsc11 "$pol" && grep -q DisableTelemetry "$pol"; then
	ok "unregister --system removes it from the policy file, keeping the rest"
else
	notok "unregister --system" "$WORK/reg.log"
fi
