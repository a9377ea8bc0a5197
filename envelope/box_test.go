package envelope

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/providers/local"
)

func TestBox(t *testing.T) {
	ctx := context.Background()
	p := newLocal(t)
	box := NewBox(newKeyring(t, KeyringConfig{Current: p, Version: 2}))
	ec := Context{"purpose": "api-token"}
	boxed, err := box.Encrypt(ctx, []byte("s3cr3t"), ec)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^v2:[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*$`).MatchString(boxed) {
		t.Errorf("boxed value %q is not v<N>:<base64>:<base64>", boxed)
	}
	if strings.Contains(boxed, "s3cr3t") {
		t.Error("the box holds the plaintext")
	}
	got, err := box.Decrypt(ctx, boxed, ec)
	if err != nil || string(got) != "s3cr3t" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	again, _ := box.Encrypt(ctx, []byte("s3cr3t"), ec)
	if again[:strings.LastIndexByte(again, ':')] == boxed[:strings.LastIndexByte(boxed, ':')] {
		t.Error("two boxes share a data key")
	}

	i := strings.LastIndexByte(boxed, ':')
	sealed, _ := base64.StdEncoding.DecodeString(boxed[i+1:])
	sealed[len(sealed)-1] ^= 1
	tampered := boxed[:i+1] + base64.StdEncoding.EncodeToString(sealed)

	// A value sealed for a column is not a box, even under the same key.
	dk, wrapped, err := box.keyring.Wrap(ctx, ec)
	if err != nil {
		t.Fatal(err)
	}
	column := wrapped + ":" + base64.StdEncoding.EncodeToString(dk.Seal("users.email", []byte("x")))

	tests := []struct {
		name  string
		boxed string
		ec    Context
	}{
		{"wrong context", boxed, Context{"purpose": "other"}},
		{"no context", boxed, nil},
		{"tampered value", tampered, ec},
		{"value of a column", column, ec},
		{"no value part", wrapped, ec},
		{"value not base64", wrapped + ":!!", ec},
		{"empty", "", ec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := box.Decrypt(ctx, tt.boxed, tt.ec)
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("Decrypt = %q, %v; want ErrDecrypt", got, err)
			}
		})
	}
}

func TestBoxEncryptOnly(t *testing.T) {
	ctx := context.Background()
	master := mustDataKey(t).bytes()
	encryptOnly, err := local.New(master, local.EncryptOnly())
	if err != nil {
		t.Fatal(err)
	}
	full, err := local.New(master)
	if err != nil {
		t.Fatal(err)
	}
	writer := NewBox(newKeyring(t, KeyringConfig{Current: encryptOnly, Version: 1}))
	boxed, err := writer.Encrypt(ctx, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Decrypt(ctx, boxed, nil); !errors.Is(err, providers.ErrAccessDenied) {
		t.Errorf("an encrypt-only box decrypted: %v", err)
	}
	reader := NewBox(newKeyring(t, KeyringConfig{Current: full, Version: 1}))
	if got, err := reader.Decrypt(ctx, boxed, nil); err != nil || string(got) != "x" {
		t.Errorf("Decrypt with decrypt permission = %q, %v", got, err)
	}
}
