#!/usr/bin/env bash
# The header check (see main.c): module/include/pcsc11_pkcs11.h against p11-kit's and
# NSS's pkcs11.h (Debian packages libp11-kit-dev and libnss3-dev): constants, struct
# sizes and alignments, field offsets and sizes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
include=$(cd "$here/.." && pwd)
ours=$include/pcsc11_pkcs11.h
p11kit=${P11KIT_INCLUDE:-/usr/include/p11-kit-1}
nss=${NSS_INCLUDE:-/usr/include/nss}
[[ -f $p11kit/p11-kit/pkcs11.h ]] || { echo "header-check: $p11kit/p11-kit/pkcs11.h missing (apt-get install libp11-kit-dev)" >&2; exit 1; }
[[ -f $nss/pkcs11.h ]] || { echo "header-check: $nss/pkcs11.h missing (apt-get install libnss3-dev)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# mentions FILE NAME: FILE (a reference header and the headers it includes) names NAME.
mentions() { grep -qwE "$2" "$@" 2>/dev/null; }
nss_files=("$nss"/pkcs11*.h)

# guard NAME LINE ABSENT_LINE: LINE on our side and on each reference side that declares
# NAME, ABSENT_LINE on the others. (Constants use #ifdef instead: the preprocessor knows.)
guard() {
	local name=$1 line=$2 absent=$3 sides=(SIDE_OURS)
	grep -qw "$name" "$p11kit/p11-kit/pkcs11.h" && sides+=(SIDE_P11KIT)
	grep -qw "$name" "${nss_files[@]}" && sides+=(SIDE_NSS)
	local cond="" s
	for s in "${sides[@]}"; do cond+="${cond:+ || }defined($s)"; done
	printf '#if %s\n%s\n#else\n%s\n#endif\n' "$cond" "$line" "$absent"
}

{
	# Constants with a value (not CK_PTR and the function-declaring macros).
	grep -E '^#define CK[A-Z0-9]*_[A-Za-z0-9_]+ (\(~0UL\)|0x[0-9A-Fa-f]+UL|[0-9]+(UL)?)$' "$ours" |
		awk '{print $2}' | sort -u |
		while read -r k; do printf '#ifdef %s\nK_PRESENT(%s)\n#else\nK_ABSENT(%s)\n#endif\n' "$k" "$k" "$k"; done
	# Structs, written one field a line: "typedef struct NAME {" or "struct NAME {", fields
	# "TYPE name;" / "TYPE name[N];", closed by "} NAME;" or "};".
	awk '
		/^(typedef )?struct CK_[A-Z0-9_]+ \{/ {
			name = $0; sub(/^(typedef )?struct /, "", name); sub(/ \{.*/, "", name)
			print "S " name; infield = 1; next
		}
		infield && /^\}/ { infield = 0; next }
		infield && /;/ { f = $0; sub(/\[.*/, "", f); sub(/;.*/, "", f); n = split(f, w, /[ \t*]+/); print "F " name " " w[n] }
	' "$ours" | while read -r kind s f; do
		if [[ $kind == S ]]; then guard "$s" "S($s)" "S_ABSENT($s)"
		else guard "$s" "F($s, $f)" "F_ABSENT($s, $f)"; fi
	done
} >"$out/names.h"

cc=${CC:-cc}
flags=(-std=c11 -Wall -Wextra -Werror -I "$here" -I "$out")
"$cc" "${flags[@]}" -DSIDE_OURS -I "$include" -c "$here/layout.c" -o "$out/ours.o"
"$cc" "${flags[@]}" -DSIDE_P11KIT -I "$p11kit" -c "$here/layout.c" -o "$out/p11kit.o"
"$cc" "${flags[@]}" -DSIDE_NSS -I "$nss" -I /usr/include/nspr -c "$here/layout.c" -o "$out/nss.o"
"$cc" "${flags[@]}" "$here/main.c" "$out/ours.o" "$out/p11kit.o" "$out/nss.o" -o "$out/header-check"
"$out/header-check"
