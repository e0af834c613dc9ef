#!/usr/bin/env bash
# The Debian package, installed for real with dpkg: p11-kit list-modules shows the
# module and its token through the package's p11-kit module file, pkcs11-tool lists
# slots and objects through the installed path, the installed pcsc11 finds the
# installed module by itself, man pcsc11 works, and dpkg --purge removes every file.
# The machine's own system is not touched: dpkg runs in a private mount namespace with
# overlays on /usr, /etc and /var (its database included), discarded at the end, so
# parallel test runs and the machine never see the package.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module package
deb=$(ls "$REPO"/build/pcsc11_*.deb 2>/dev/null | head -1)
if [[ -z $deb ]]; then
	skip "package (no build/pcsc11_*.deb; run make deb)"
	exit 0
fi
if [[ $(id -u) != 0 ]] || ! have unshare dpkg p11-kit pkcs11-tool; then
	skip "package (needs root for a private overlay of /usr, /etc, /var, and p11-kit, pkcs11-tool)"
	exit 0
fi
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
export DEB=$deb LIB=/usr/lib/$multiarch/pkcs11/libpcsc11.so OV=$WORK/overlay PIN_FILE=$WORK/pin
cat >"$WORK/inner.sh" <<'SH'
set -u
ok() { echo "ok - $*"; }
notok() { echo "not ok - $1"; [[ -n ${2:-} && -s $2 ]] && tail -n 15 "$2" | sed 's/^/    # /'; }
for d in /usr /etc /var; do
	mkdir -p "$OV$d/up" "$OV$d/work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$OV$d/up,workdir=$OV$d/work" "$d" ||
		{ echo "skip - package (cannot mount an overlay on $d: $(uname -r))"; exit 0; }
done
log=$OV/log
if DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" >"$log" 2>&1 && dpkg-query -W -f='${Status}' pcsc11 | grep -q 'install ok installed'; then
	ok "dpkg -i $(basename "$DEB") (its dependencies pcscd and libpcsclite1 satisfied)"
else
	notok "dpkg -i $(basename "$DEB")" "$log"
	exit 0
fi
files=$(dpkg -L pcsc11)
p11-kit list-modules >"$log" 2>&1
# The module's block: from "pcsc11: …" to the next module.
block=$(awk '/^[^ \t].*: / {on = ($1 == "pcsc11:")} on' "$log")
if grep -q "^pcsc11: $LIB" <<<"$block" && grep -q 'token: ' <<<"$block"; then
	ok "p11-kit list-modules loads pcsc11 from $LIB through the package's module file and shows its token ($(grep -m1 'token: ' <<<"$block" | sed 's/^ *//'))"
else
	notok "p11-kit list-modules shows pcsc11 and a token" "$log"
fi
if pkcs11-tool --module "$LIB" -L >"$log" 2>&1 && grep -q 'token label' "$log" &&
	pkcs11-tool --module "$LIB" -O >"$log.o" 2>&1 && [[ $(grep -c '^Certificate Object' "$log.o") -ge 4 ]]; then
	ok "pkcs11-tool --module $LIB lists the token and its certificates"
else
	cat "$log.o" >>"$log" 2>/dev/null
	notok "pkcs11-tool --module $LIB lists the token and its certificates" "$log"
fi
if /usr/bin/pcsc11 --json doctor >"$log" 2>&1; [[ $(python3 -c 'import json,sys; c={x["name"]: x for x in json.load(open(sys.argv[1]))["checks"]}; print(c["module"]["status"], c["p11-kit"]["status"])' "$log") == "ok ok" ]]; then
	ok "the installed pcsc11 doctor finds the installed module and its p11-kit file by itself"
else
	notok "pcsc11 doctor with the installed package" "$log"
fi
if man -w pcsc11 >"$log" 2>&1 && MANWIDTH=80 man pcsc11 2>/dev/null | grep -q 'register'; then
	ok "man pcsc11: $(cat "$log")"
else
	notok "man pcsc11" "$log"
fi
if dpkg --purge pcsc11 >"$log" 2>&1 && ! dpkg-query -W -f='${Status}' pcsc11 2>/dev/null | grep -q 'installed'; then
	left=$(for f in $files; do [[ -f $f || -L $f ]] && echo "$f"; done; [[ -e /etc/pcsc11 ]] && echo /etc/pcsc11)
	if [[ -z $left ]]; then
		ok "dpkg --purge removes every file of the package, /etc/pcsc11 included"
	else
		notok "dpkg --purge left: $left"
	fi
else
	notok "dpkg --purge pcsc11" "$log"
fi
p11-kit list-modules 2>/dev/null | grep -q '^pcsc11:' && notok "p11-kit still lists pcsc11 after the purge" || ok "p11-kit no longer lists pcsc11 after the purge"
SH
unshare --mount --propagation private -- bash "$WORK/inner.sh"
