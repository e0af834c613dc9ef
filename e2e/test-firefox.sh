#!/usr/bin/env bash
# Firefox ESR, headless: policies.json (SecurityDevices) loads the module and Firefox
# exits by itself. With E2E_FIREFOX_CLIENTAUTH=1 also: with automatic client-certificate
# selection Firefox fetches a page from a local TLS server that requires a client
# certificate, signing with the Card Authentication key (9E, no PIN); the server
# (gnutls-serv) logs the certificate it saw, and the screenshot is kept as an artifact
# (E2E_ARTIFACTS, default build/e2e-artifacts/firefox.png). See docs/firefox.md.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module firefox
ff=$(command -v firefox-esr || command -v firefox || true)
if [[ -z $ff ]]; then
	skip "firefox (firefox-esr not installed)"
	exit 0
fi
if [[ $(id -u) != 0 ]] || ! have unshare certutil modutil gnutls-serv; then
	skip "firefox (needs root for a private mount of /etc/firefox/policies, certutil, modutil and gnutls-serv)"
	exit 0
fi
artifacts=${E2E_ARTIFACTS:-$REPO/build/e2e-artifacts}
mkdir -p "$artifacts"
rm -f "$artifacts/firefox.png"

export_certs || { notok "export the card's certificates with pkcs11-tool"; exit 0; }

# A CA and a server certificate for "localhost" that the profile trusts.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=pcsc11 e2e CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
	-keyout "$WORK/ca.key" -out "$WORK/ca.pem" >/dev/null 2>&1
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
	-keyout "$WORK/srv.key" -out "$WORK/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$WORK/srv.ext"
openssl x509 -req -in "$WORK/srv.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
	-days 1 -extfile "$WORK/srv.ext" -out "$WORK/srv.pem" >/dev/null 2>&1

# The profile: trusts the CA, picks a client certificate without asking.
prof=$WORK/profile
mkdir -p "$prof" "$WORK/home"
certutil -N -d "sql:$prof" --empty-password
certutil -A -d "sql:$prof" -n "pcsc11 e2e CA" -t C,, -i "$WORK/ca.pem"
cat >"$prof/user.js" <<'JS'
user_pref("security.default_personal_cert", "Select Automatically");
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.enabled", false);
user_pref("network.proxy.type", 0);
JS
mkdir -p "$WORK/policies"
cat >"$WORK/policies/policies.json" <<JSON
{"policies": {"SecurityDevices": {"Add": {"pcsc11": "$P11_MODULE"}},
              "DisableAppUpdate": true, "DisableTelemetry": true}}
JSON

# The server requires a client certificate and names the 9E certificate as its trusted
# CA, so Firefox's automatic choice is 9E. gnutls-serv (it serves connections in
# parallel, as Firefox needs) logs the certificate each client presented.
port=$(free_port)
bg gnutls-serv ${E2E_FIREFOX_PRIORITY:+--priority "$E2E_FIREFOX_PRIORITY"} --http -p "$port" --x509certfile "$WORK/srv.pem" --x509keyfile "$WORK/srv.key" \
	--x509cafile "$WORK/cert-04.pem" --require-client-cert >"$WORK/server.log" 2>&1 >/dev/null
wait_port "$port" 10 || { notok "TLS test server starts" "$WORK/server.log"; exit 0; }

# Firefox reads /etc/firefox/policies/policies.json: a private mount namespace gives it
# ours without touching the machine's (the empty directory is created if missing).
mkdir -p /etc/firefox/policies
# firefox URL: one headless run that saves a screenshot of URL and exits by itself.
firefox() {
	HOME=$WORK/home MOZ_CRASHREPORTER_DISABLE=1 timeout -k 5 "${E2E_FIREFOX_TIMEOUT:-90}" unshare --mount -- sh -c '
		mount --bind "$1" /etc/firefox/policies && shift && exec "$@"' sh "$WORK/policies" \
		"$ff" --headless --no-remote --profile "$prof" --screenshot "$artifacts/firefox.png" "$1" \
		>>"$WORK/firefox.log" 2>&1
}

# Run 1: the policy registers the module in the profile's module database.
start=$SECONDS
firefox "data:text/html,<p>pcsc11</p>"
rc=$?
took=$((SECONDS - start))
if grep -q "^library=$P11_MODULE\$" "$prof/pkcs11.txt" 2>/dev/null; then
	ok "policies.json SecurityDevices registers the module in the Firefox profile"
else
	notok "policies.json SecurityDevices registers the module in the Firefox profile" "$WORK/firefox.log"
fi
if [[ $rc == 0 ]]; then
	ok "Firefox with the module loaded exits by itself after ${took}s (no hang at shutdown)"
else
	notok "Firefox with the module loaded exits cleanly (status $rc after ${took}s; 124 = killed by the time limit)" "$WORK/firefox.log"
fi
if [[ ${E2E_FIREFOX_CLIENTAUTH:-0} != 1 ]]; then
	skip "Firefox client-certificate login with 9E (headless Firefox stalls after the token signs, with any module: docs/firefox.md; E2E_FIREFOX_CLIENTAUTH=1 runs it)"
	exit 0
fi
# To pick a client certificate Firefox logs in to every token that is not marked
# "friendly" (certificates readable without login), and a headless Firefox cannot ask
# for a PIN: it would wait for ever. The card's certificates are public, so say so;
# the 9E key needs no PIN.
modutil -dbdir "sql:$prof" -force -default pcsc11 -mechanisms FRIENDLY >"$WORK/modutil.log" 2>&1 ||
	notok "modutil -default pcsc11 -mechanisms FRIENDLY" "$WORK/modutil.log"
rm -f "$artifacts/firefox.png"

# Run 2: fetch the page that requires a client certificate.
start=$SECONDS
firefox "https://localhost:$port/pcsc11-e2e"
rc=$?
took=$((SECONDS - start))

if grep -q 'Subject: CN=pcsc11 demo Card Authentication,O=pcsc11' "$WORK/server.log"; then
	ok "Firefox authenticated with the 9E certificate (server log: $(grep -m1 -o 'Subject: CN=pcsc11 demo Card Authentication' "$WORK/server.log"))"
else
	cat "$WORK/server.log" >>"$WORK/firefox.log"
	notok "Firefox fetched the page with the 9E client certificate" "$WORK/firefox.log"
fi
if [[ -s $artifacts/firefox.png ]] && file "$artifacts/firefox.png" 2>/dev/null | grep -q PNG; then
	ok "screenshot saved: $artifacts/firefox.png"
else
	notok "screenshot saved: $artifacts/firefox.png" "$WORK/firefox.log"
fi
if [[ $rc == 0 ]]; then
	ok "Firefox exited cleanly after ${took}s (no hang in C_Finalize/C_WaitForSlotEvent)"
else
	notok "Firefox exited cleanly (status $rc after ${took}s; 124 = killed by the time limit)" "$WORK/firefox.log"
fi
