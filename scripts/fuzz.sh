#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for a short time (default 50000 inputs each):
# long enough to catch a regression on the seed corpus and its neighbours, short enough
# for `make test`. A count (Nx) rather than a duration: go test -fuzz with a short
# -fuzztime can fail with "context deadline exceeded" on a loaded machine. Longer
# runs: `bash scripts/fuzz.sh 60s`.
set -euo pipefail
fuzztime=${1:-50000x}
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
n=0
for pkg in $($go list ./... | grep -v /hwtests); do
  dir=$($go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "fuzz: $pkg $target ($fuzztime)"
    $go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/pcsc11-fuzz.log 2>&1 || { cat /tmp/pcsc11-fuzz.log; exit 1; }
    n=$((n+1))
  done
done
echo "fuzz: $n targets ran without a failure"
