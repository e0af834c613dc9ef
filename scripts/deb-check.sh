#!/usr/bin/env bash
# Checks the Debian package without installing it on the machine: unpacks it into a
# scratch root (dpkg -x) and compares its files, modes, owners, control fields and
# generated files with what scripts/deb.sh promises. Part of `make test`.
#
#   scripts/deb-check.sh build/pcsc11_<version>_<arch>.deb
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
deb=$(realpath "${1:?usage: deb-check.sh DEB}")
fails=0
ok() { echo "deb-check: ok: $*"; }
fail() { echo "deb-check: FAIL: $*"; fails=$((fails + 1)); }
scratch=$(mktemp -d /tmp/pcsc11-deb-check.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
lib=/usr/lib/$multiarch/pkcs11/libpcsc11.so

# The files: exactly these, the docs being README.md and every docs/*.md of the tree.
{
	printf '%s\n' /etc/pcsc11/pcsc11.conf /usr/bin/pcsc11 /usr/bin/pcsc11-vpiv "$lib" \
		/usr/share/doc/pcsc11/README.md /usr/share/doc/pcsc11/copyright \
		/usr/share/man/man1/pcsc11.1.gz /usr/share/p11-kit/modules/pcsc11.module
	for f in "$repo"/docs/*.md; do echo "/usr/share/doc/pcsc11/$(basename "$f")"; done
} | LC_ALL=C sort >"$scratch/want"
dpkg -x "$deb" "$scratch/root" || { fail "dpkg -x $deb"; exit 1; }
(cd "$scratch/root" && find . ! -type d -printf '/%P\n') | LC_ALL=C sort >"$scratch/got"
if diff -u "$scratch/want" "$scratch/got" >"$scratch/diff"; then
	ok "file list ($(wc -l <"$scratch/got") files) in a scratch root"
else
	fail "file list differs (- expected, + in the package):"
	sed 's/^/    /' "$scratch/diff"
fi

# Owners and modes as dpkg will create them.
bad=$(dpkg-deb -c "$deb" | awk '$2 != "root/root" {print "owner " $2 " " $6}
	$1 ~ /^-/ && $6 ~ /\/usr\/bin\// && $1 != "-rwxr-xr-x" {print "mode " $1 " " $6}
	$1 ~ /^-/ && $6 !~ /\/usr\/bin\// && $1 != "-rw-r--r--" {print "mode " $1 " " $6}
	$1 ~ /^d/ && $1 != "drwxr-xr-x" {print "mode " $1 " " $6}')
[[ -z $bad ]] && ok "owners root/root, modes 0755 (programs, directories) and 0644 (the rest)" || fail "owners/modes: $bad"

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
dep=$(field Depends)
[[ $(field Package) == pcsc11 && $dep == *pcscd* && $dep == *libpcsclite1* && $(field Architecture) == "$(dpkg --print-architecture)" ]] &&
	ok "control: pcsc11 $(field Version) $(field Architecture), Depends: $dep" || fail "control fields: $(dpkg-deb -f "$deb")"
[[ $deb == */pcsc11_"$(field Version)"_"$(field Architecture)".deb ]] && ok "file name $(basename "$deb")" || fail "file name $(basename "$deb") does not match the control fields"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles 2>/dev/null | grep -qx /etc/pcsc11/pcsc11.conf &&
	ok "/etc/pcsc11/pcsc11.conf is a conffile" || fail "conffiles"

# The generated files.
r=$scratch/root
grep -qx "module: $lib" "$r/usr/share/p11-kit/modules/pcsc11.module" && [[ -f $r$lib ]] &&
	ok "p11-kit module file names $lib, which the package installs" || fail "p11-kit module file"
file -b "$r$lib" | grep -q 'ELF 64-bit LSB shared object' && ok "libpcsc11.so is a shared object" || fail "libpcsc11.so: $(file -b "$r$lib")"
# The shipped configuration file parses (its keys are all commented out) through the
# packaged CLI: it reports no configuration error.
conf_err=$(cd "$scratch" && mkdir -p xdg/pcsc11 && cp "$r/etc/pcsc11/pcsc11.conf" xdg/pcsc11/ &&
	XDG_CONFIG_HOME=$scratch/xdg "$r/usr/bin/pcsc11" --json info 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["config_errors"]))')
keys=$(grep -c '^# [a-z_]* =' "$r/etc/pcsc11/pcsc11.conf")
[[ $conf_err == 0 && $keys -ge 10 ]] && ok "pcsc11.conf lists $keys keys, commented out, and parses" || fail "pcsc11.conf: $conf_err errors, $keys keys"
if gzip -t "$r/usr/share/man/man1/pcsc11.1.gz" && zcat "$r/usr/share/man/man1/pcsc11.1.gz" | grep -q '^\.SS doctor'; then
	if command -v man >/dev/null; then
		warn=$(MANWIDTH=80 man --warnings -l "$r/usr/share/man/man1/pcsc11.1.gz" 2>&1 >/dev/null)
		[[ -z $warn ]] && ok "pcsc11(1) renders without warnings (man --warnings)" || fail "pcsc11(1): $warn"
	else
		ok "pcsc11(1) is gzip'd roff with every command (man not installed: not rendered)"
	fi
else
	fail "pcsc11(1) missing or not gzip'd roff"
fi
(cd "$r" && dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./md5sums | md5sum --quiet -c -) && ok "md5sums match" || fail "md5sums"

[[ $fails == 0 ]] && echo "deb-check: passed" || { echo "deb-check: $fails check(s) FAILED"; exit 1; }
