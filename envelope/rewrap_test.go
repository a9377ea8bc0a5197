package envelope

import (
	"context"
	"testing"

	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/providers/local"
)

// rewrapping is a local provider that can also rewrap, as Vault Transit
// can, and counts how often it does.
type rewrapping struct {
	*local.Provider
	rewraps int
}

func (p *rewrapping) Rewrap(ctx context.Context, ct []byte, ec map[string]string) ([]byte, error) {
	p.rewraps++
	pt, err := p.Provider.Decrypt(ctx, ct, ec)
	if err != nil {
		return nil, err
	}
	return p.Provider.Encrypt(ctx, pt, ec)
}

var _ providers.Rewrapper = (*rewrapping)(nil)

// TestRewrapUsesTheKMSForTheSameKey: rotating from version 1 to 2 of the
// same master key lets the KMS rewrap; from another key it unwraps and
// wraps, as it must.
func TestRewrapUsesTheKMSForTheSameKey(t *testing.T) {
	key := make([]byte, 32)
	lp, err := local.New(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &rewrapping{Provider: lp}
	ec := Context{"table": "users"}
	ctx := context.Background()

	v1, err := NewKeyring(KeyringConfig{Current: p, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	dk, w1, err := v1.Wrap(ctx, ec)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := NewKeyring(KeyringConfig{Current: p, Version: 2, Previous: map[int]providers.Provider{1: p}})
	if err != nil {
		t.Fatal(err)
	}
	lp.ResetCounts()
	w2, err := v2.Rewrap(ctx, w1, ec)
	if err != nil {
		t.Fatal(err)
	}
	if p.rewraps != 1 {
		t.Errorf("%d KMS rewraps, want 1", p.rewraps)
	}
	if version, _, err := ParseWrappedKey(w2); err != nil || version != 2 {
		t.Errorf("rewrapped key %q: version %d, %v", w2, version, err)
	}
	got, err := v2.Unwrap(ctx, w2, ec)
	if err != nil {
		t.Fatal(err)
	}
	if sealed := dk.Seal("t.c", []byte("x")); func() bool { _, err := got.Open("t.c", sealed); return err != nil }() {
		t.Error("the rewrapped key is not the same data key")
	}

	// Another master key for version 2: unwrap with 1, wrap with 2.
	other, err := local.New(append([]byte{1}, key[1:]...))
	if err != nil {
		t.Fatal(err)
	}
	v2other, err := NewKeyring(KeyringConfig{Current: other, Version: 2, Previous: map[int]providers.Provider{1: p}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2other.Rewrap(ctx, w1, ec); err != nil {
		t.Fatal(err)
	}
	if p.rewraps != 1 {
		t.Errorf("a rewrap to another key used the KMS rewrap (%d)", p.rewraps)
	}
}
