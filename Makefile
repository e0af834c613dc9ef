# pcsc11 — build, test and demo targets. See README.md and docs/.
# Every target works on a fresh Debian 12 machine as root (or with sudo).

GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BUILD   := build
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/pcsc11/pcsc11/module.Version=$(VERSION)
FUZZTIME ?= 50000x

.PHONY: all deps build test unit header-check fuzz hwtest-ci e2e hwtest demo bench gobench install uninstall clean vet

all: build

deps:
	@bash scripts/deps.sh

# The module (c-shared), the CLI and the virtual card.
build:
	@mkdir -p $(BUILD)
	$(GO) build -buildmode=c-shared -ldflags '$(LDFLAGS)' -o $(BUILD)/libpcsc11.so ./cmd/pcsc11-pkcs11
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BUILD)/pcsc11 ./cmd/pcsc11
	$(GO) build -o $(BUILD)/pcsc11-vpiv ./cmd/pcsc11-vpiv
	$(GO) build -o $(BUILD)/notify-listener ./hwtests/cmd/notifylistener
	cc -std=c11 -Wall -Wextra -Werror -I module/include -o $(BUILD)/cabi-test hwtests/cabi/cabi_test.c -ldl

vet:
	$(GO) vet ./...

# Unit tests (no PC/SC), then a short fuzz run of every parser, then the tests that
# need a reader against the virtual card through real pcscd.
test: deps build vet unit header-check fuzz deb-check hwtest-ci e2e

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /hwtests)
	$(GO) test -count=1 -race ./apdu/... ./reader/... ./slot/... ./module/...

# Our hand-written pkcs11 header against p11-kit's and NSS's: constants, struct sizes,
# field offsets (module/include/headercheck).
header-check:
	@bash module/include/headercheck/check.sh

fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

hwtest-ci: build
	@bash scripts/test-hw.sh

# Real applications (OpenSSH, NSS, OpenSSL, GnuTLS, p11-kit, Python, Java, Firefox)
# against the virtual card through libpcsc11.so; then a fast subset of them (ssh, nss,
# openssl, gnutls; firefox on a YubiKey 4 and a standard PIV card) on every other card
# profile (e2e/run-profiles.sh).
e2e: build deb
	@bash e2e/run.sh; a=$$?; bash e2e/run-profiles.sh; b=$$?; exit $$((a | b))

# The same hwtests/ suite against a physical reader (PCSC11_HWTEST_READER names it;
# destructive steps only with PCSC11_HWTEST_DESTRUCTIVE=1).
hwtest: build
	@if [ -z "$$PCSC11_HWTEST_READER" ]; then \
	  echo "hwtest: skipped: set PCSC11_HWTEST_READER to the name of a physical reader (see pcsc_scan -r)"; \
	else $(GO) test -count=1 -v ./hwtests/...; fi

# The main job: build, start pcscd + the virtual card with demo keys, list slots,
# tokens and objects through libpcsc11.so with a real client, sign and verify.
demo: deps build
	@bash scripts/demo.sh

# Side-by-side measurement of pcsc11, OpenSC and ykcs11 against the virtual card
# (needs root for its private pcscd): rewrites docs/performance.md and
# docs/performance.png.
bench: build
	bash bench/run.sh

# Go micro-benchmarks of the parsers and the card engine.
gobench:
	$(GO) test -run='^$$' -bench=. -benchmem ./apdu/... ./slot/... ./vpiv/...

# PREFIX/DESTDIR as usual. The module goes where Debian keeps PKCS#11 modules, so
# ssh-agent's default allow-list and p11-kit find it; the p11-kit module file makes
# GnuTLS and p11-kit-proxy load it without a path.
PREFIX  ?= /usr
LIBDIR  ?= $(PREFIX)/lib/x86_64-linux-gnu
P11KITDIR ?= $(PREFIX)/share/p11-kit/modules

install: build
	install -D -m 0644 $(BUILD)/libpcsc11.so $(DESTDIR)$(LIBDIR)/pkcs11/libpcsc11.so
	install -D -m 0755 $(BUILD)/pcsc11 $(DESTDIR)$(PREFIX)/bin/pcsc11
	install -D -m 0755 $(BUILD)/pcsc11-vpiv $(DESTDIR)$(PREFIX)/bin/pcsc11-vpiv
	install -d $(DESTDIR)$(P11KITDIR)
	printf 'module: %s\n' $(LIBDIR)/pkcs11/libpcsc11.so > $(DESTDIR)$(P11KITDIR)/pcsc11.module

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/pkcs11/libpcsc11.so $(DESTDIR)$(PREFIX)/bin/pcsc11 \
	  $(DESTDIR)$(PREFIX)/bin/pcsc11-vpiv $(DESTDIR)$(P11KITDIR)/pcsc11.module

# The Debian package: build/pcsc11_<version>_<arch>.deb (dpkg-deb; see scripts/deb.sh).
# deb-check unpacks it into a scratch root and checks its files (part of make test);
# e2e/test-package.sh installs it for real, in a private overlay of /usr, /etc, /var.
deb: build
	@bash scripts/deb.sh $(VERSION)

deb-check: deb
	@bash scripts/deb-check.sh $$(ls $(BUILD)/pcsc11_*.deb)

clean:
	rm -rf $(BUILD)
