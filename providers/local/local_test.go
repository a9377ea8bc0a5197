package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/providers"
)

// testKey has '+' and '/' in its standard base64 form, the characters that
// url.Parse would split into host and path.
var testKey = func() []byte {
	k, err := hex.DecodeString("fbeffe0102030405060708090a0b0c0d0e0f101112131415161718191a1bfbff")
	if err != nil {
		panic(err)
	}
	return k
}()

func mustOpen(t *testing.T, url string) providers.Provider {
	t.Helper()
	p, err := providers.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return p
}

func TestOpenKeyForms(t *testing.T) {
	std := base64.StdEncoding.EncodeToString(testKey)
	if !strings.ContainsAny(std, "+/") {
		t.Fatalf("test key %s should contain + and /", std)
	}
	forms := map[string]string{
		"std padded":      std,
		"std raw":         base64.RawStdEncoding.EncodeToString(testKey),
		"url-safe padded": base64.URLEncoding.EncodeToString(testKey),
		"url-safe raw":    base64.RawURLEncoding.EncodeToString(testKey),
	}
	ref, err := New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"table": "users"}
	wrapped, err := ref.Encrypt(context.Background(), []byte("data key"), ec)
	if err != nil {
		t.Fatal(err)
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			p := mustOpen(t, "base64key://"+form)
			got, err := p.Decrypt(context.Background(), wrapped, ec)
			if err != nil {
				t.Fatalf("the key opened from %s does not decrypt: %v", name, err)
			}
			if string(got) != "data key" {
				t.Errorf("Decrypt = %q", got)
			}
		})
	}
}

// TestOpenAnyKey opens random keys: whatever '/' and '+' fall where, the URL
// gives back the key (a leading '/' makes an empty host, for one).
func TestOpenAnyKey(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range 300 {
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			key[0] = 0xfc // base64 starts with '/'
		}
		b64 := base64.StdEncoding.EncodeToString(key)
		p := mustOpen(t, "base64key://"+b64)
		ref, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := ref.Encrypt(context.Background(), []byte("k"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Decrypt(context.Background(), ct, nil); err != nil {
			t.Fatalf("base64key://%s opened another key: %v", b64, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	p := mustOpen(t, "base64key://"+base64.StdEncoding.EncodeToString(testKey))
	ctx := context.Background()
	for _, ec := range []map[string]string{nil, {}, {"table": "users", "id": "123"}} {
		plaintext := bytes.Repeat([]byte{7}, 32)
		ct, err := p.Encrypt(ctx, plaintext, ec)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != 12+32+16 {
			t.Errorf("ciphertext is %d bytes, want nonce(12)+32+tag(16)", len(ct))
		}
		got, err := p.Decrypt(ctx, ct, ec)
		if err != nil {
			t.Fatalf("Decrypt(%v): %v", ec, err)
		}
		if !bytes.Equal(got, plaintext) {
			t.Errorf("Decrypt = %x, want %x", got, plaintext)
		}
	}
	if enc, dec := p.(*Provider).Counts(); enc != 3 || dec != 3 {
		t.Errorf("Counts() = %d, %d, want 3, 3", enc, dec)
	}
	p.(*Provider).ResetCounts()
	if enc, dec := p.(*Provider).Counts(); enc != 0 || dec != 0 {
		t.Errorf("after ResetCounts, Counts() = %d, %d", enc, dec)
	}
}

func TestDecryptFailures(t *testing.T) {
	p, err := New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ec := map[string]string{"table": "users", "id": "1"}
	ct, err := p.Encrypt(ctx, []byte("data key"), ec)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name string
		p    *Provider
		ct   []byte
		ec   map[string]string
	}{
		{"wrong context value", p, ct, map[string]string{"table": "users", "id": "2"}},
		{"missing context", p, ct, nil},
		{"extra context", p, ct, map[string]string{"table": "users", "id": "1", "x": ""}},
		{"flipped nonce byte", p, flip(0), ec},
		{"flipped ciphertext byte", p, flip(14), ec},
		{"flipped tag byte", p, flip(len(ct) - 1), ec},
		{"truncated", p, ct[:len(ct)-1], ec},
		{"too short", p, ct[:20], ec},
		{"empty", p, nil, ec},
		{"other master key", other, ct, ec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Decrypt(ctx, tt.ct, tt.ec)
			if !errors.Is(err, providers.ErrDecrypt) {
				t.Fatalf("Decrypt = %q, %v; want ErrDecrypt", got, err)
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Op != "decrypt" || pe.KeyURL != "base64key://(redacted)" {
				t.Errorf("error %#v is not a *providers.Error naming op and key URL", err)
			}
		})
	}
}

func TestEncryptOnly(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(testKey)
	fromURL := mustOpen(t, "base64key://"+b64+"?decrypt=deny")
	fromNew, err := New(testKey, EncryptOnly())
	if err != nil {
		t.Fatal(err)
	}
	full, err := New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ec := map[string]string{"table": "users"}
	for name, p := range map[string]providers.Provider{"url": fromURL, "New": fromNew} {
		t.Run(name, func(t *testing.T) {
			ct, err := p.Encrypt(ctx, testKey, ec)
			if err != nil {
				t.Fatalf("an encrypt-only key must encrypt: %v", err)
			}
			got, err := p.Decrypt(ctx, ct, ec)
			if !errors.Is(err, providers.ErrAccessDenied) {
				t.Fatalf("Decrypt = %x, %v; want ErrAccessDenied", got, err)
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Op != "decrypt" {
				t.Fatalf("error %v is not a *providers.Error for decrypt", err)
			}
			msg := err.Error()
			for _, want := range []string{"base64key://(redacted)?decrypt=deny", "may only encrypt"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			assertNoKeyMaterial(t, msg, testKey)
			// What it wrapped, a full key opens: it is the same master key.
			if _, err := full.Decrypt(ctx, ct, ec); err != nil {
				t.Errorf("the full key does not open what the encrypt-only key wrapped: %v", err)
			}
		})
	}
}

func TestBadKeys(t *testing.T) {
	long := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xab}, 33))
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xcd}, 16))
	b64 := base64.StdEncoding.EncodeToString(testKey)
	tests := []struct {
		name   string
		url    string
		want   string
		secret string
	}{
		{"empty", "base64key://", "no key", ""},
		{"16 bytes", "base64key://" + short, "decodes to 16 bytes", short},
		{"33 bytes", "base64key://" + long, "decodes to 33 bytes", long},
		{"not base64", "base64key://" + b64[:20] + "!!" + b64[22:], "not valid base64", b64[:20]},
		{"hex instead of base64", "base64key://" + hex.EncodeToString(testKey), "decodes to 48 bytes", hex.EncodeToString(testKey)},
		{"unknown parameter", "base64key://" + b64 + "?region=x", `unknown parameter "region"`, b64},
		{"bad decrypt value", "base64key://" + b64 + "?decrypt=allow", "decrypt=deny", b64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := providers.Open(context.Background(), tt.url)
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
			if tt.name != "unknown parameter" && tt.name != "bad decrypt value" && !strings.Contains(msg, "openssl rand -base64 32") {
				t.Errorf("error %q does not say how to make a key", msg)
			}
			if tt.secret != "" && strings.Contains(msg, tt.secret) {
				t.Errorf("error %q echoes the key", msg)
			}
		})
	}
	if _, err := New(make([]byte, 31)); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Errorf("New(31 bytes) = %v, want an error asking for 32 bytes", err)
	}
}

func TestURLRedacts(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(testKey)
	p := mustOpen(t, "base64key://"+b64)
	if got := p.URL(); got != "base64key://(redacted)" {
		t.Errorf("URL() = %q", got)
	}
	assertNoKeyMaterial(t, fmt.Sprintf("%v %+v %#v", p, p, p), testKey)
}

func TestCanceledContext(t *testing.T) {
	p, err := New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Encrypt(ctx, testKey, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Encrypt with a canceled context = %v", err)
	}
	if _, err := p.Decrypt(ctx, make([]byte, 60), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Decrypt with a canceled context = %v", err)
	}
}

// assertNoKeyMaterial checks s for the key in hex and every base64 form, and
// for the Go syntax of its bytes.
func assertNoKeyMaterial(t *testing.T, s string, key []byte) {
	t.Helper()
	forms := []string{
		hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key)),
		base64.RawStdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key),
		fmt.Sprint(key[:8]), fmt.Sprintf("%#v", key[:4]),
	}
	for _, f := range forms {
		if strings.Contains(s, f) {
			t.Errorf("%q contains key material %q", s, f)
		}
	}
}
