// Package pinpad is the card side of pcsc11's test PIN-pad reader: a scripted keypad
// that answers the reader driver's PIN requests (pinpad/ifd, a pcscd IFD handler
// speaking the vpcd protocol; see docs/pinpad.md).
//
// When an application calls SCardControl(FEATURE_VERIFY_PIN_DIRECT or
// FEATURE_MODIFY_PIN_DIRECT) on the test reader, the driver forwards the raw
// PIN_VERIFY_STRUCTURE / PIN_MODIFY_STRUCTURE to the card side as one vpcd message,
// prefixed by MsgVerify (F1) or MsgModify (F2). Keypad.Handle parses it strictly, takes
// the next scripted user action (a typed PIN, a cancel or a timeout), builds the real
// command APDU the way a CCID PIN-pad reader's firmware does (PIN inserted into abData
// per bmFormatString, bmPINBlockString and bmPINLengthFormat), runs it on the card and
// returns the response APDU, which the driver hands back to the application.
//
// Answers follow PC/SC v2 part 10 and the CCID driver: 6400 timeout (also when no
// action is queued: the keypad never blocks), 6401 cancelled, 6402 new PIN and its
// confirmation differ, 6403 typed PIN outside the structure's min/max length, 6B80 a
// structure the reader rejects (bad field, layout that does not fit the APDU).
package pinpad
