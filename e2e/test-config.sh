#!/usr/bin/env bash
# The configuration file, through libpcsc11.so as applications load it
# (docs/configuration.md): pkcs11-tool sees the effect of $XDG_CONFIG_HOME/pcsc11/pcsc11.conf
# and /etc/pcsc11/pcsc11.conf (reader_allow / reader_deny), the environment overrides
# the files, a file with an error is reported with its line and not applied (the
# module still works), and `pcsc11 info` names where each value came from.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module config
have pkcs11-tool || { skip "config (pkcs11-tool not installed)"; exit 0; }
cli=$REPO/build/pcsc11
xdg=$WORK/xdg
mkdir -p "$xdg/pcsc11"
conf=$xdg/pcsc11/pcsc11.conf
# slots: the number of slots pkcs11-tool lists through the module, with the user file.
slots() {
	env XDG_CONFIG_HOME="$xdg" "$@" pkcs11-tool --module "$P11_MODULE" -L >"$WORK/slots.txt" 2>"$WORK/stderr.txt"
	grep -c '^Slot [0-9]' "$WORK/slots.txt"
}
rm -f "$conf"
base=$(slots)
if ((base < 1)); then
	notok "config: the module lists a slot without a configuration file" "$WORK/slots.txt"
	exit 0
fi
# The rig's reader (or the first one the module shows) and a pattern for it.
name=${PCSC11_HWTEST_READER:-$(sed -n 's/^Slot [0-9]* ([^)]*): //p' "$WORK/slots.txt" | head -1)}
first_word=${name%% *}

printf '# e2e\nreader_deny = *\n' >"$conf"
n=$(slots)
if [[ $n == 0 ]]; then ok "config: reader_deny = * in \$XDG_CONFIG_HOME/pcsc11/pcsc11.conf hides every reader (pkcs11-tool -L: no slot)"; else notok "config: reader_deny = * hides every reader ($n slots)" "$WORK/slots.txt"; fi

n=$(slots PCSC11_READER_DENY="no such reader")
if [[ $n == "$base" ]]; then ok "config: PCSC11_READER_DENY in the environment overrides the file's reader_deny"; else notok "config: the environment overrides the file ($n slots, want $base)" "$WORK/slots.txt"; fi

printf 'reader_allow = "%s*"\n' "$first_word" >"$conf"
n=$(slots)
if [[ $n == "$base" ]]; then ok "config: reader_allow = \"$first_word*\" keeps the reader \"$name\""; else notok "config: reader_allow keeps a matching reader ($n slots)" "$WORK/slots.txt"; fi
printf 'reader_allow = Nonexistent*, Other?Reader\n' >"$conf"
n=$(slots)
if [[ $n == 0 ]]; then ok "config: reader_allow with no matching pattern leaves no slot"; else notok "config: reader_allow without a match ($n slots)" "$WORK/slots.txt"; fi

# An error on line 3: the file is not applied (its reader_deny = * would hide the
# reader), the module works and says where the error is.
printf '# bad\nreader_deny = *\npin_cach = 5m\n' >"$conf"
n=$(slots)
if [[ $n == "$base" ]] && grep -q "configuration not applied.*pcsc11.conf:3: unknown setting \"pin_cach\"" "$WORK/stderr.txt"; then
	ok "config: a file with an error on line 3 is reported with its line and not applied; the module goes on ($n slot(s))"
else
	notok "config: a bad file is reported and not applied ($n slots, want $base)" "$WORK/stderr.txt"
fi

# /etc/pcsc11/pcsc11.conf, in a private mount namespace (never the machine's own).
if [[ $(id -u) == 0 ]] && have unshare; then
	mkdir -p "$WORK/etc"
	printf 'reader_deny = *\n' >"$WORK/etc/pcsc11.conf"
	made=0
	[[ -d /etc/pcsc11 ]] || { mkdir /etc/pcsc11 && made=1; }
	rm -f "$conf"
	insys() { unshare --mount -- sh -c 'mount --bind "$1" /etc/pcsc11 && shift && exec "$@"' sh "$WORK/etc" "$@"; }
	n=$(XDG_CONFIG_HOME=$xdg insys pkcs11-tool --module "$P11_MODULE" -L 2>&1 | grep -c '^Slot [0-9]')
	printf 'reader_deny =\n' >"$conf" # the user's file overrides the machine's
	m=$(XDG_CONFIG_HOME=$xdg insys pkcs11-tool --module "$P11_MODULE" -L 2>&1 | grep -c '^Slot [0-9]')
	if [[ $n == 0 && $m == "$base" ]]; then
		ok "config: /etc/pcsc11/pcsc11.conf applies (reader_deny = *: no slot) and the user's file overrides it"
	else
		notok "config: /etc/pcsc11/pcsc11.conf applies and the user file overrides it ($n and $m slots, want 0 and $base)"
	fi
	if [[ -x $cli ]] && { XDG_CONFIG_HOME=$xdg insys "$cli" info >"$WORK/info.txt" 2>&1 || true; } &&
		grep -q "^  reader_deny  .* $conf:1 " "$WORK/info.txt"; then
		ok "config: pcsc11 info names the user's file and line as the source of reader_deny"
	else
		notok "config: pcsc11 info names the source of reader_deny" "$WORK/info.txt"
	fi
	((made)) && rmdir /etc/pcsc11
else
	skip "config: /etc/pcsc11/pcsc11.conf (needs root for a private mount namespace)"
fi
