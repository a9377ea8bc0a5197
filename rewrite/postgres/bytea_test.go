package postgres

import (
	"bytes"
	"testing"

	"github.com/kmsenc/kmsenc/rewrite"
)

func TestByteaLiteral(t *testing.T) {
	cases := []struct {
		in   string
		want []byte
		ok   bool
	}{
		{`\x0102ff`, []byte{1, 2, 0xff}, true},
		{`\X0A`, []byte{0x0a}, true},
		{`\x`, []byte{}, true},
		{`abc`, []byte("abc"), true},
		{`a\\b`, []byte(`a\b`), true},
		{`\000\377`, []byte{0, 0xff}, true},
		{`\x0`, nil, false},
		{`\xzz`, nil, false},
		{`a\b`, nil, false},
		{`\400`, nil, false},
	}
	for _, c := range cases {
		got, err := byteaLiteral(rewrite.Literal{Go: c.in, Text: "'" + c.in + "'"})
		if (err == nil) != c.ok {
			t.Errorf("%q: err = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && !bytes.Equal(got.Go.([]byte), c.want) {
			t.Errorf("%q = %x, want %x", c.in, got.Go, c.want)
		}
	}
	if _, err := byteaLiteral(rewrite.Literal{Go: int64(1), Text: "1"}); err == nil {
		t.Error("a number for a bytes column was accepted")
	}
}
