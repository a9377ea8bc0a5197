package envelope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestStoreLoadValue(t *testing.T) {
	sealed := mustDataKey(t).Seal("users.email", []byte("alice@example.com"))
	b64 := base64.StdEncoding.EncodeToString(sealed)

	if got := StoreValue(sealed, false); got != b64 {
		t.Errorf("StoreValue(text) = %#v, want the base64 string %q", got, b64)
	}
	if got, ok := StoreValue(sealed, true).([]byte); !ok || !bytes.Equal(got, sealed) {
		t.Errorf("StoreValue(binary) = %#v, want the raw bytes", got)
	}

	tests := []struct {
		name   string
		in     any
		binary bool
	}{
		{"text as string", b64, false},
		{"text as []byte (MySQL)", []byte(b64), false},
		{"text with CHAR padding", b64 + "   ", false},
		{"binary as []byte", sealed, true},
		{"binary as string", string(sealed), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadValue(tt.in, tt.binary)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, sealed) {
				t.Errorf("LoadValue = %x, want %x", got, sealed)
			}
			if b, ok := tt.in.([]byte); ok && len(b) > 0 && &got[0] == &b[0] {
				t.Error("LoadValue aliases the driver's buffer")
			}
		})
	}
}

func TestLoadValueRefuses(t *testing.T) {
	tests := []struct {
		name   string
		in     any
		binary bool
	}{
		{"plaintext in a text column", "alice@example.com", false},
		{"base64 too short", base64.StdEncoding.EncodeToString(make([]byte, 27)), false},
		{"unpadded base64", base64.RawStdEncoding.EncodeToString(make([]byte, 40)), false},
		{"empty text", "", false},
		{"short binary", make([]byte, 27), true},
		{"int", int64(5), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadValue(tt.in, tt.binary)
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("LoadValue = %x, %v; want ErrDecrypt", got, err)
			}
		})
	}
	if _, err := LoadValue(nil, false); !errors.Is(err, ErrNull) {
		t.Errorf("LoadValue(nil) = %v, want ErrNull", err)
	}
	_, err := LoadValue("alice@example.com", false)
	if !strings.Contains(err.Error(), "not a kmsenc ciphertext") || strings.Contains(err.Error(), "alice") {
		t.Errorf("error %q should say what's wrong without the value", err)
	}
}

func TestWrappedKeyFormat(t *testing.T) {
	ct := []byte{0xfb, 0xff, 0x00, 0x01, 0x02}
	tests := []struct {
		version int
		ct      []byte
		want    string
	}{
		{1, ct, "v1:+/8AAQI="},
		{2, []byte("abc"), "v2:YWJj"},
		{12345, []byte{0}, "v12345:AA=="},
	}
	for _, tt := range tests {
		got := FormatWrappedKey(tt.version, tt.ct)
		if got != tt.want {
			t.Errorf("FormatWrappedKey(%d, %x) = %q, want %q", tt.version, tt.ct, got, tt.want)
		}
		v, c, err := ParseWrappedKey(got)
		if err != nil || v != tt.version || !bytes.Equal(c, tt.ct) {
			t.Errorf("ParseWrappedKey(%q) = %d, %x, %v", got, v, c, err)
		}
	}
}

func TestParseWrappedKeyRefuses(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", "version prefix"},
		{"AQICAHh...", "before 1.0"},                   // legacy AWS value
		{"$gc$cHJvamVjdHM$abc", "before 1.0"},          // legacy Google value
		{"vault:v1:abc", "version prefix"},             // legacy Vault value
		{"v:YWJj", "version prefix"},                   // no digits
		{"V1:YWJj", "version prefix"},                  // upper case
		{"v1YWJj", "version prefix"},                   // no colon
		{"v1", "version prefix"},                       // nothing after
		{"v1:", "not followed by base64"},              // empty ciphertext
		{"v1:not base64!", "not followed by base64"},   // bad base64
		{"v99999999999999999999:YWJj", "out of range"}, // overflow
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, ct, err := ParseWrappedKey(tt.in)
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("ParseWrappedKey(%q) = %d, %x, %v; want ErrDecrypt", tt.in, v, ct, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}
