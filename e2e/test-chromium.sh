#!/usr/bin/env bash
# Chromium with the module in ~/.pki/nssdb, registered by `pcsc11 register`, fetches a
# page from a local TLS server that requires a client certificate: Chromium asks for
# the PIN in its own "Unlock Security Device" dialog (the script types it, as a user
# would), signs the handshake with the Card Authentication key (9E), and the server
# logs the certificate it received. AutoSelectCertificateForUrls (a managed policy, in
# a private mount namespace) picks the certificate without a second dialog.
#
# Chromium runs on a private virtual X display (Xvfb), not in --headless: headless
# Chromium has no PIN dialog and waits forever for one (seen with Chromium 156 and
# any token that needs a login: NSS asks Chromium for the PIN before it lists the
# token's certificates). See docs/nss.md.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module chromium
chr=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $chr ]] || ! have Xvfb xdotool certutil; then
	skip "chromium (chromium, xvfb, xdotool or certutil not installed: bash scripts/deps.sh)"
	exit 0
fi
if [[ $(id -u) != 0 ]] || ! have unshare; then
	skip "chromium (needs root for a private mount of /etc/chromium/policies/managed)"
	exit 0
fi
cli=$REPO/build/pcsc11
export_certs || { notok "export the card's certificates with pkcs11-tool"; exit 0; }
home=$WORK/home
mkdir -p "$home" "$WORK/policies"

# A private X display: the first free number from 90.
disp=
for n in $(seq 90 120); do
	[[ -e /tmp/.X11-unix/X$n || -e /tmp/.X$n-lock ]] && continue
	bg Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1
	wait_file "/tmp/.X11-unix/X$n" 10 && { disp=:$n; break; }
done
[[ -n $disp ]] || { notok "Xvfb starts" "$WORK/xvfb.log"; exit 0; }
export DISPLAY=$disp

# $WORK/chromium ARGS…: Chromium as the test user, its managed policies from
# $WORK/policies (a script, so that bg can start it in its own session).
mkdir -p /etc/chromium/policies/managed
cat >"$WORK/chromium" <<SH
#!/bin/sh
export HOME='$home'
exec unshare --mount -- sh -c 'mount --bind "\$1" /etc/chromium/policies/managed && shift && exec "\$@"' sh '$WORK/policies' \\
	'$chr' --no-sandbox --disable-gpu --no-first-run --no-default-browser-check --password-store=basic \\
	--user-data-dir='$WORK/chromium-profile' "\$@"
SH
chmod 0700 "$WORK/chromium"

# The server requires a client certificate issued by the 9E certificate itself.
port=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$WORK/srv.key" -out "$WORK/srv.pem" >/dev/null 2>&1
bg python3 "$REPO/e2e/chromium-tls-server.py" "$port" "$WORK/srv.pem" "$WORK/srv.key" "$WORK/cert-04.pem" "$WORK/server.log"
wait_port "$port" 10 || { notok "TLS test server starts"; exit 0; }
printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"https://localhost:%s\\",\\"filter\\":{}}"]}\n' "$port" \
	>"$WORK/policies/pcsc11-e2e.json"

# Run 1: Chromium, with a new profile and no module, goes to the page: asked for a
# client certificate, it opens its NSS database (~/.pki/nssdb, created if missing) and
# has none to offer. Then the module is registered in that database.
bg "$WORK/chromium" --ignore-certificate-errors "https://localhost:$port/first" >>"$WORK/chromium.log" 2>&1
first=$BG_PID
wait_file "$home/.pki/nssdb/pkcs11.txt" 10
sleep 1
kill -TERM -- "-$first" 2>/dev/null
wait "$first" 2>/dev/null
created="Chromium created ~/.pki/nssdb"
[[ -f $home/.pki/nssdb/cert9.db ]] || created="pcsc11 register created ~/.pki/nssdb (Chromium had not)"
if HOME=$home "$cli" register --module "$P11_MODULE" >"$WORK/register.log" 2>&1 &&
	grep -q "^added  *chromium  *$home/.pki/nssdb" "$WORK/register.log"; then
	ok "pcsc11 register adds the module to Chromium's ~/.pki/nssdb ($created)"
else
	notok "pcsc11 register adds the module to ~/.pki/nssdb" "$WORK/register.log"
	exit 0
fi

# Run 2: the page. The PIN goes from a file into Chromium's dialog, never on a command line.
start=$SECONDS
bg "$WORK/chromium" --ignore-certificate-errors "https://localhost:$port/pcsc11-e2e" >>"$WORK/chromium.log" 2>&1
browser=$BG_PID
win=$(timeout 30 xdotool search --sync --onlyvisible --name "Unlock Security Device" 2>/dev/null | head -1)
if [[ -n $win ]]; then
	ok "Chromium asks for the card's PIN in its \"Unlock Security Device\" dialog"
	xdotool windowfocus --sync "$win" 2>>"$WORK/xdotool.log"
	xdotool type --delay 20 --file "$WORK/pin" 2>>"$WORK/xdotool.log"
	xdotool key Return 2>>"$WORK/xdotool.log"
else
	notok "Chromium asks for the PIN (no \"Unlock Security Device\" window in 30 s)" "$WORK/chromium.log"
fi
for _ in $(seq 300); do
	grep -q '^GET /pcsc11-e2e ' "$WORK/server.log" 2>/dev/null && break
	sleep 0.1
done
took=$((SECONDS - start))
if grep -q '^GET /pcsc11-e2e client=organizationName=pcsc11,commonName=pcsc11 demo Card Authentication$' "$WORK/server.log" 2>/dev/null; then
	ok "Chromium fetched the page with the 9E client certificate in ${took}s (the server saw: $(sed -n 's/^GET \/pcsc11-e2e client=//p' "$WORK/server.log" | head -1))"
else
	cat "$WORK/server.log" >>"$WORK/chromium.log" 2>/dev/null
	notok "Chromium fetched the page with the 9E client certificate" "$WORK/chromium.log"
fi
kill -TERM -- "-$browser" 2>/dev/null
for _ in $(seq 100); do kill -0 "$browser" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$browser" 2>/dev/null; then
	notok "Chromium exits within 10 s of SIGTERM (no hang in C_Finalize)"
else
	ok "Chromium exits cleanly with the module loaded"
fi
if HOME=$home "$cli" unregister >"$WORK/unregister.log" 2>&1 && ! grep -q '^name=pcsc11$' "$home/.pki/nssdb/pkcs11.txt"; then
	ok "pcsc11 unregister removes the module from ~/.pki/nssdb"
else
	notok "pcsc11 unregister" "$WORK/unregister.log"
fi
