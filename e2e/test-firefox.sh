#!/usr/bin/env bash
# Firefox ESR, headless: policies.json (SecurityDevices) loads the module and Firefox
# exits by itself. Then, with automatic client-certificate selection, Firefox fetches a
# page from a local TLS server that requires a client certificate, signing with the
# Card Authentication key (9E) after asking for the PIN (answered in its own dialog,
# through Marionette); the server (gnutls-serv) logs the certificate it saw and shows it
# on the page, and a screenshot of the page is kept as an artifact (E2E_ARTIFACTS,
# default build/e2e-artifacts/firefox.png). See docs/firefox.md.
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
# parallel, as Firefox needs) describes the client's certificate on the page.
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
# Run 2: Firefox, driven through Marionette (its built-in remote protocol,
# e2e/ff-marionette.py), fetches the page that requires a client certificate. As for
# any token not marked "friendly", Firefox logs in before it picks a client
# certificate and asks for the PIN: the script types it into Firefox's own PIN dialog,
# as a user would. (A "friendly" token that Firefox never logs in to makes it stall in
# the handshake, with any module: Mozilla bug 1872998, docs/firefox.md.)
rm -f "$artifacts/firefox.png"
mport=$(free_port)
printf 'user_pref("marionette.port", %d);\n' "$mport" >>"$prof/user.js"
start=$SECONDS
HOME=$WORK/home MOZ_CRASHREPORTER_DISABLE=1 timeout -k 5 "${E2E_FIREFOX_TIMEOUT:-90}" unshare --mount -- sh -c '
	mount --bind "$1" /etc/firefox/policies && shift && exec "$@"' sh "$WORK/policies" \
	"$ff" --headless --no-remote --profile "$prof" --marionette --remote-allow-system-access \
	>>"$WORK/firefox.log" 2>&1 &
ffpid=$!
PCSC11_PIN=$E2E_PIN FF_TIMEOUT=60 python3 "$REPO/e2e/ff-marionette.py" --answer-pin "$mport" \
	"https://localhost:$port/pcsc11-e2e" "$artifacts/firefox.png" >"$WORK/marionette.log" 2>&1
mrc=$?
wait "$ffpid"
rc=$?
took=$((SECONDS - start))
cat "$WORK/marionette.log" >>"$WORK/firefox.log"

# gnutls-serv --http describes, on the page it serves, the client certificate it
# received and verified: that is the server's own proof of what Firefox presented.
if [[ $mrc == 0 ]] && grep -q 'page text: .*X.509 Certificate Information: .*Subject: CN=pcsc11 demo Card Authentication,O=pcsc11' "$WORK/marionette.log"; then
	ok "Firefox fetched the page with the 9E client certificate after asking for the PIN (the server's page: $(grep -o 'Subject: CN=pcsc11 demo Card Authentication,O=pcsc11' "$WORK/marionette.log" | head -1))"
else
	cat "$WORK/server.log" >>"$WORK/firefox.log"
	notok "Firefox fetched the page with the 9E client certificate (Marionette exit $mrc)" "$WORK/firefox.log"
fi
variety=$(sed -n 's/^screenshot: .*, \([0-9]*\) distinct pixel-data bytes$/\1/p' "$WORK/marionette.log")
if [[ -s $artifacts/firefox.png ]] && file "$artifacts/firefox.png" 2>/dev/null | grep -q PNG && ((${variety:-0} > 16)); then
	ok "screenshot of the page saved: $artifacts/firefox.png (not blank: $variety distinct pixel-data bytes)"
else
	notok "screenshot saved: $artifacts/firefox.png" "$WORK/firefox.log"
fi
if [[ $rc == 0 ]]; then
	ok "Firefox exited cleanly after ${took}s (no hang in C_Finalize/C_WaitForSlotEvent)"
else
	notok "Firefox exited cleanly (status $rc after ${took}s; 124 = killed by the time limit)" "$WORK/firefox.log"
fi
