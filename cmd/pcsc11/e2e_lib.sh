# shellcheck shell=bash
# Result lines of the CLI's end-to-end scripts (e2e_test.sh, e2e_pinpad.sh): set
# e2e_name, source this, call ok/fail/check, end with finish.
fails=0
ok() { echo "$e2e_name: ok: $*"; }
fail() { echo "$e2e_name: FAIL: $*"; fails=$((fails + 1)); }
# check NAME FILE PATTERN...: every fixed-string pattern occurs in FILE.
check() {
	local name=$1 file=$2 p
	shift 2
	for p in "$@"; do
		grep -qF -- "$p" "$file" || { fail "$name: no '$p' in:"; sed 's/^/    /' "$file"; return; }
	done
	ok "$name"
}
# finish: exit 1 when a check failed.
finish() {
	((fails == 0)) && echo "$e2e_name: all checks passed" || { echo "$e2e_name: $fails check(s) FAILED"; exit 1; }
}
