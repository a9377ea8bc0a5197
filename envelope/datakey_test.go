package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func mustDataKey(t testing.TB) *DataKey {
	t.Helper()
	dk, err := NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func TestSealOpen(t *testing.T) {
	dk := mustDataKey(t)
	for _, tt := range []struct {
		aad       string
		plaintext []byte
	}{
		{"users.email", []byte("alice@example.com")},
		{"users.email", []byte{}},
		{"", []byte("no associated data")},
		{"t.c", bytes.Repeat([]byte{0xff}, 4096)},
	} {
		sealed := dk.Seal(tt.aad, tt.plaintext)
		if len(sealed) != 12+len(tt.plaintext)+16 {
			t.Errorf("Seal(%q) is %d bytes, want nonce(12)+%d+tag(16)", tt.aad, len(sealed), len(tt.plaintext))
		}
		got, err := dk.Open(tt.aad, sealed)
		if err != nil {
			t.Fatalf("Open(%q): %v", tt.aad, err)
		}
		if !bytes.Equal(got, tt.plaintext) {
			t.Errorf("Open(%q) = %q, want %q", tt.aad, got, tt.plaintext)
		}
	}
	a, b := dk.Seal("t.c", []byte("same")), dk.Seal("t.c", []byte("same"))
	if bytes.Equal(a[:12], b[:12]) || bytes.Equal(a, b) {
		t.Error("two Seals of one value share a nonce")
	}
}

func TestOpenRefuses(t *testing.T) {
	dk := mustDataKey(t)
	sealed := dk.Seal("users.email", []byte("alice@example.com"))
	flip := func(i int) []byte {
		s := bytes.Clone(sealed)
		s[i] ^= 0x80
		return s
	}
	tests := []struct {
		name   string
		key    *DataKey
		aad    string
		sealed []byte
		want   string
	}{
		{"flipped nonce", dk, "users.email", flip(0), "users.email was tampered with"},
		{"flipped ciphertext", dk, "users.email", flip(13), "tampered"},
		{"flipped tag", dk, "users.email", flip(len(sealed) - 1), "tampered"},
		{"moved to another column", dk, "users.ssn", sealed, "users.ssn"},
		{"no aad", dk, "", sealed, "tampered"},
		{"truncated", dk, "users.email", sealed[:len(sealed)-1], "tampered"},
		{"shorter than nonce and tag", dk, "users.email", sealed[:27], "too short"},
		{"empty", dk, "users.email", nil, "too short"},
		{"another key", mustDataKey(t), "users.email", sealed, "tampered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.key.Open(tt.aad, tt.sealed)
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Open = %q, %v; want ErrDecrypt", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestLockboxVector opens a value written by Lockbox (KMS_ENCRYPTED_FORMATS.md).
func TestLockboxVector(t *testing.T) {
	key, _ := hex.DecodeString("61e6ba4a3a2498e3a8fdcd047eff0cd9864016f2c83c34599a3257a57ce6f7fb")
	dk, err := DataKeyFromBytes(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := LoadValue("Uv/+Sgar0kM216AvVlBH5Gt8vIwtQGfPysl539WY2DER62AoJg==", false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dk.Open("", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "it works!" {
		t.Errorf("Open = %q, want %q", got, "it works!")
	}
}

func TestDataKeyFromBytes(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := DataKeyFromBytes(make([]byte, n)); !errors.Is(err, ErrDecrypt) {
			t.Errorf("DataKeyFromBytes(%d bytes) = %v, want an ErrDecrypt error", n, err)
		}
	}
	b := bytes.Repeat([]byte{1}, 32)
	dk, err := DataKeyFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	sealed := dk.Seal("", []byte("x"))
	b[0] = 2 // the key was copied
	if _, err := dk.Open("", sealed); err != nil {
		t.Errorf("changing the caller's slice changed the key: %v", err)
	}
}

func TestDataKeyNeverPrinted(t *testing.T) {
	dk := mustDataKey(t)
	type holder struct {
		dk  DataKey
		ptr *DataKey
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "dk", dk, "val", *dk)
	outputs := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "%T"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, dk), fmt.Sprintf(verb, *dk),
			fmt.Sprintf(verb, holder{*dk, dk}), fmt.Sprintf(verb, []*DataKey{dk}))
	}
	for _, out := range outputs {
		assertNoKey(t, out, dk)
	}
	if got := fmt.Sprint(dk); got != "envelope.DataKey(redacted)" {
		t.Errorf("fmt.Sprint(dk) = %q", got)
	}
}

// assertNoKey fails if s holds dk's bytes in any form a printer would use.
func assertNoKey(t *testing.T, s string, dk *DataKey) {
	t.Helper()
	key := dk.bytes()
	forms := []string{
		hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key)),
		base64.RawStdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key),
		strings.Trim(fmt.Sprint(key), "[]"), fmt.Sprintf("%#v", key)[8:], string(key),
		fmt.Sprintf("%q", key),
	}
	for _, f := range forms {
		if strings.Contains(s, f) {
			t.Errorf("%q contains the data key as %q", s, f)
		}
	}
}
