package vpcd

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestCodecRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 2, 5, 255, 256, 4096, MaxPayload} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		var buf bytes.Buffer
		if err := WriteMsg(&buf, payload); err != nil {
			t.Fatalf("WriteMsg(%d): %v", n, err)
		}
		if buf.Len() != n+2 {
			t.Fatalf("WriteMsg(%d) wrote %d bytes, want %d", n, buf.Len(), n+2)
		}
		if got := int(buf.Bytes()[0])<<8 | int(buf.Bytes()[1]); got != n {
			t.Fatalf("length prefix %d, want %d (big-endian)", got, n)
		}
		got, err := ReadMsg(&buf)
		if err != nil {
			t.Fatalf("ReadMsg(%d): %v", n, err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("round trip of %d bytes changed the payload", n)
		}
	}
}

func TestCodecWireBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMsg(&buf, []byte{0x90, 0x00}); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x00, 0x02, 0x90, 0x00}; !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("wire % X, want % X", buf.Bytes(), want)
	}
}

func TestCodecTooLong(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMsg(&buf, make([]byte, MaxPayload+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("WriteMsg(65536 bytes) = %v, want ErrTooLong", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("a refused message still wrote %d bytes", buf.Len())
	}
}

func TestCodecTruncatedStreams(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty stream", nil, io.EOF},
		{"half a header", []byte{0x00}, io.ErrUnexpectedEOF},
		{"header only", []byte{0x00, 0x05}, io.ErrUnexpectedEOF},
		{"short payload", []byte{0x00, 0x05, 1, 2, 3}, io.ErrUnexpectedEOF},
		{"huge claim", []byte{0xFF, 0xFF, 1}, io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadMsg(bytes.NewReader(c.in))
			if !errors.Is(err, c.want) {
				t.Fatalf("ReadMsg(% X) = %v, want %v", c.in, err, c.want)
			}
		})
	}
}

func TestCodecSequence(t *testing.T) {
	stream := []byte{0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC}
	r := bytes.NewReader(stream)
	want := [][]byte{{0x04}, {}, {0xAA, 0xBB, 0xCC}}
	for i, w := range want {
		got, err := ReadMsg(r)
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("message %d = % X, %v; want % X", i, got, err, w)
		}
	}
	if _, err := ReadMsg(r); err != io.EOF {
		t.Fatalf("after the last message: %v, want io.EOF", err)
	}
}

func FuzzReadMsg(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x04})
	f.Add([]byte{0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for {
			msg, err := ReadMsg(r)
			if err != nil {
				return
			}
			if len(msg) > MaxPayload {
				t.Fatalf("message of %d bytes", len(msg))
			}
		}
	})
}
