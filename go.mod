module github.com/pcsc11/pcsc11

go 1.26.0

require (
	github.com/ebfe/scard v0.0.0-20241214075232-7af069cabc25
	github.com/go-piv/piv-go/v2 v2.6.0
	github.com/godbus/dbus/v5 v5.2.4
	golang.org/x/crypto v0.58.0
)

require golang.org/x/sys v0.49.0 // indirect
