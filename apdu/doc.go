// Package apdu speaks ISO/IEC 7816-4 to a card: command and response APDUs in short and
// extended form, command chaining and 61xx/6Cxx response handling (Exchange), status
// words as typed errors (StatusError and its Is* helpers), and a strict, bounded BER-TLV
// codec for the data objects PIV uses.
//
// Everything here parses bytes that come from outside the process (a card, or pcscd on
// behalf of a host for the virtual card), so every parser returns an error instead of
// panicking, every loop is bounded, and nothing in an error message or String output
// repeats command data, which may carry a PIN or key.
package apdu
