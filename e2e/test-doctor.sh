#!/usr/bin/env bash
# pcsc11 doctor against the real stack (docs/troubleshooting.md): every check passes
# on a healthy setup, and each failing verdict is reproduced for real: a Firefox
# profile without the module (then registered, then marked friendly by modutil), a
# program holding the virtual card with SCARD_SHARE_EXCLUSIVE (named by the doctor),
# and pcscd stopped (a private mount namespace where pcscd's socket does not exist).
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module doctor
cli=$REPO/build/pcsc11
[[ -x $cli ]] || { skip "doctor (build/pcsc11 missing; run make build)"; exit 0; }
have certutil modutil || { skip "doctor (certutil/modutil from libnss3-tools missing)"; exit 0; }
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
home=$WORK/home
prof=$home/.mozilla/firefox/e2e.default-esr
mkdir -p "$prof"
certutil -N -d "sql:$prof" --empty-password
printf '[Profile0]\nName=default-esr\nIsRelative=1\nPath=e2e.default-esr\n' >"$home/.mozilla/firefox/profiles.ini"
# doctor ARGS…: doctor --json as the test user would run it; $WORK/doctor.json, status in $rc.
doctor() {
	rc=0
	HOME=$home XDG_CONFIG_HOME=$home/.config "$cli" --json doctor --module "$P11_MODULE" "$@" >"$WORK/doctor.json" 2>"$WORK/doctor.err" || rc=$?
}
# status NAME: a check's status in $WORK/doctor.json; verdict NAME: its verdict.
status() { python3 -c 'import json,sys; print(next(c["status"] for c in json.load(open(sys.argv[1]))["checks"] if c["name"]==sys.argv[2]))' "$WORK/doctor.json" "$1"; }
verdict() { python3 -c 'import json,sys; print(next(c["verdict"] for c in json.load(open(sys.argv[1]))["checks"] if c["name"]==sys.argv[2]))' "$WORK/doctor.json" "$1"; }

doctor
if [[ $rc == 1 && $(status registration) == fail && $(verdict registration) == *"not registered in firefox $prof"* ]]; then
	ok "doctor: a Firefox profile without the module fails 'registration' and names it"
else
	notok "doctor: an unregistered profile fails 'registration' (exit $rc)" "$WORK/doctor.json"
fi
for c in pcscd readers exclusive polkit module; do
	[[ $(status $c) == ok ]] || { notok "doctor: '$c' is ok on the rig ($(status $c): $(verdict $c))"; }
done
[[ $(status module) == ok ]] && ok "doctor: pcscd, readers, exclusive, polkit ok; the module loads ($(verdict module))"

HOME=$home "$cli" register --module "$P11_MODULE" >"$WORK/register.log" 2>&1
doctor
if [[ $(status registration) == ok && $(status friendly) == ok ]]; then
	ok "doctor: after pcsc11 register, 'registration' is ok ($(verdict registration))"
else
	notok "doctor: 'registration' ok after register" "$WORK/doctor.json"
fi

# Friendly, as modutil sets it (it loads the module and marks its slots).
modutil -dbdir "sql:$prof" -default pcsc11 -mechanisms FRIENDLY -force >"$WORK/modutil.log" 2>&1
doctor
if grep -q PublicCerts "$prof/pkcs11.txt" && [[ $rc == 1 && $(status friendly) == fail ]]; then
	ok "doctor: slots marked friendly by modutil -mechanisms FRIENDLY fail 'friendly'"
else
	notok "doctor: a friendly mark fails 'friendly' (exit $rc)" "$WORK/doctor.json"
fi
HOME=$home "$cli" register --module "$P11_MODULE" >"$WORK/register.log" 2>&1
doctor
if ! grep -q PublicCerts "$prof/pkcs11.txt" && [[ $(status friendly) == ok ]]; then
	ok "doctor: pcsc11 register removed the friendly mark"
else
	notok "doctor: register removes the friendly mark" "$WORK/doctor.json"
fi

# A program holding the card exclusively.
name=${PCSC11_HWTEST_READER:-}
if [[ -z $name ]]; then
	name=$(HOME=$home "$cli" --json readers 2>/dev/null | python3 -c 'import json,sys; print(next(r["name"] for r in json.load(sys.stdin)["readers"] if r.get("card_present")))' 2>/dev/null)
fi
if [[ -n $name ]] && "$go" build -o "$WORK/holdcard" "$REPO/hwtests/cmd/holdcard" 2>"$WORK/build.log"; then
	bg "$WORK/holdcard" -reader "$name" >"$WORK/hold.out" 2>&1
	holder=$BG_PID
	for _ in $(seq 50); do grep -q held "$WORK/hold.out" && break; sleep 0.1; done
	doctor
	kill -TERM "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	if grep -q held "$WORK/hold.out" && [[ $rc == 1 && $(status exclusive) == fail ]] &&
		[[ $(verdict exclusive) == *"\"$name\""*"holdcard (pid "* ]]; then
		ok "doctor: a card held with SCARD_SHARE_EXCLUSIVE fails 'exclusive', naming the program ($(verdict exclusive | grep -o 'holdcard (pid [0-9]*)'))"
	else
		cat "$WORK/hold.out" >>"$WORK/doctor.json"
		notok "doctor: an exclusive holder fails 'exclusive' and is named (exit $rc)" "$WORK/doctor.json"
	fi
	doctor
	[[ $(status exclusive) == ok ]] && ok "doctor: 'exclusive' ok again once the holder is gone" || notok "doctor: 'exclusive' ok after the holder" "$WORK/doctor.json"
else
	skip "doctor: exclusive holder (no card found, or hwtests/cmd/holdcard does not build)"
fi

# pcscd stopped: in a private mount namespace an empty /run/pcscd hides its socket.
if [[ $(id -u) == 0 ]] && have unshare; then
	rc=0
	HOME=$home unshare --mount -- sh -c 'mount -t tmpfs none /run/pcscd && exec "$@"' sh \
		"$cli" --json doctor --module "$P11_MODULE" >"$WORK/doctor.json" 2>"$WORK/doctor.err" || rc=$?
	if [[ $rc == 1 && $(status pcscd) == fail && $(verdict pcscd) == *"no socket /run/pcscd/pcscd.comm"* && $(status readers) == skip ]]; then
		ok "doctor: pcscd stopped fails 'pcscd' ($(verdict pcscd)) and skips the card checks"
	else
		notok "doctor: pcscd stopped fails 'pcscd' (exit $rc)" "$WORK/doctor.json"
	fi
else
	skip "doctor: pcscd stopped (needs root for a private mount namespace)"
fi
