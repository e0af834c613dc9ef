package config

import "strings"

// ReaderFilter answers whether a reader may become a slot under the allow and deny
// lists (reader_allow, reader_deny): comma-separated patterns where * is any run of
// characters and ? one character, compared without regard to case with the whole
// reader name. An empty allow list allows every reader; deny wins over allow. nil when
// both lists are empty (no filter).
func ReaderFilter(allow, deny string) func(name string) bool {
	a, d := patterns(allow), patterns(deny)
	if len(a) == 0 && len(d) == 0 {
		return nil
	}
	return func(name string) bool {
		n := strings.ToLower(name)
		for _, p := range d {
			if glob(p, n) {
				return false
			}
		}
		if len(a) == 0 {
			return true
		}
		for _, p := range a {
			if glob(p, n) {
				return true
			}
		}
		return false
	}
}

func patterns(list string) []string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.ToLower(p))
		}
	}
	return out
}

// glob matches * and ? (no classes, no escapes: reader names hold brackets and
// slashes literally). Iterative with one backtrack point, so linear in practice and
// never exponential.
func glob(pattern, name string) bool {
	p, n := []rune(pattern), []rune(name)
	pi, ni, star, mark := 0, 0, -1, 0
	for ni < len(n) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == n[ni]):
			pi++
			ni++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ni
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ni = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
