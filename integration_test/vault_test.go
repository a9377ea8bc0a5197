package integration_test

// Tests of providers/vault against Vault's own Transit engine, served
// in-process (vaultengine_test.go). Run them with go test -run Vault.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/providers/vault"
)

// vaultTestEnv points the Vault client of key URLs at the engine, with the
// engine's token, and clears the rest of the developer's Vault settings. It
// sets them with t.Setenv, for the process: tests that call it (these, and
// the Provider tests) don't run in parallel.
func vaultTestEnv(t *testing.T, addr string) {
	for _, k := range []string{
		"VAULT_AGENT_ADDR", "VAULT_NAMESPACE", "VAULT_MAX_RETRIES", "VAULT_CACERT", "VAULT_CAPATH",
		"VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY", "VAULT_CLIENT_TIMEOUT", "VAULT_RATE_LIMIT",
		"VAULT_HTTP_PROXY", "VAULT_PROXY_ADDR", "VAULT_HEADERS", "VAULT_SRV_LOOKUP",
	} {
		t.Setenv(k, "")
	}
	t.Setenv("VAULT_ADDR", addr)
	t.Setenv("VAULT_TOKEN", vaultTestToken)
}

// openVault opens a key URL as an application does, from VAULT_ADDR and
// VAULT_TOKEN.
func openVault(t *testing.T, keyURL string) *vault.Provider {
	t.Helper()
	p, err := providers.Open(context.Background(), keyURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(*vault.Provider)
}

// newVault is an engine with the derived key "app", and a provider for it.
func newVault(t *testing.T) (*vaultEngine, *vault.Provider) {
	t.Helper()
	v := startVaultEngine(t)
	v.createKey(t, "app", true)
	vaultTestEnv(t, v.URL)
	return v, openVault(t, "hashivault://app?mount=transit")
}

func TestVaultRoundTrip(t *testing.T) {
	v, p := newVault(t)
	ctx := context.Background()
	dataKey := bytes.Repeat([]byte{0x5a}, 32)
	ct, err := p.Encrypt(ctx, dataKey, gemContext)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(ct), "vault:v1:") {
		t.Errorf("ciphertext %q, want Vault's vault:v1:... string", ct)
	}
	pt, err := p.Decrypt(ctx, ct, map[string]string{"model_id": "123", "model_name": "User"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pt, dataKey) {
		t.Errorf("Decrypt = %x, want %x", pt, dataKey)
	}
	if got := p.URL(); got != "hashivault://app?mount=transit" {
		t.Errorf("URL() = %q", got)
	}

	// kms_encrypted decrypts with transit/decrypt/<key>, the ciphertext
	// string and its base64 context: the ciphertext must need nothing else.
	s := v.write(t, "decrypt/app", map[string]any{
		"ciphertext": string(ct),
		"context":    base64.StdEncoding.EncodeToString([]byte(`{"model_id":"123","model_name":"User"}`)),
	})
	if got, _ := s.Data["plaintext"].(string); got != base64.StdEncoding.EncodeToString(dataKey) {
		t.Errorf("decrypt as kms_encrypted calls it = %q", got)
	}
}

// TestVaultRequests: the context that reaches Vault for kms_encrypted's
// default context is base64 of {"model_id":"123","model_name":"User"}, the
// compatibility vector of KMS_ENCRYPTED_FORMATS.md (Vault's row: context =
// base64 of the canonical JSON), on encrypt and on decrypt.
func TestVaultRequests(t *testing.T) {
	v, p := newVault(t)
	ct, err := p.Encrypt(context.Background(), []byte("data key"), gemContext)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Decrypt(context.Background(), ct, gemContext); err != nil {
		t.Fatal(err)
	}
	const want = "eyJtb2RlbF9pZCI6IjEyMyIsIm1vZGVsX25hbWUiOiJVc2VyIn0="
	if want != base64.StdEncoding.EncodeToString([]byte(`{"model_id":"123","model_name":"User"}`)) {
		t.Fatal("the vector is not base64 of the gem's canonical context")
	}
	for _, path := range []string{"transit/encrypt/app", "transit/decrypt/app"} {
		req := v.last(t, path)
		if req.Method != http.MethodPost && req.Method != http.MethodPut {
			t.Errorf("%s method %s", path, req.Method)
		}
		if got := req.Body["context"]; got != want {
			t.Errorf("%s context = %v, want %s", path, got, want)
		}
	}
	if got := v.last(t, "transit/decrypt/app").Body["ciphertext"]; got != string(ct) {
		t.Errorf("decrypt ciphertext = %v, want %q", got, ct)
	}
}

func TestVaultDecryptFailures(t *testing.T) {
	v, p := newVault(t)
	v.createKey(t, "other", true)
	other := openVault(t, "hashivault://other?mount=transit")
	ctx := context.Background()
	ec := map[string]string{"table": "users", "id": "1"}
	ct, err := p.Encrypt(ctx, []byte("data key"), ec)
	if err != nil {
		t.Fatal(err)
	}
	otherCT, err := other.Encrypt(ctx, []byte("data key"), ec)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		ciphertext []byte
		ec         map[string]string
	}{
		{"wrong context", ct, map[string]string{"table": "users", "id": "2"}},
		{"no context", ct, nil},
		{"tampered", tamper(ct), ec},
		{"another key's ciphertext", otherCT, ec},
		{"not a ciphertext", []byte("v1:not-vault"), ec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Decrypt(ctx, tt.ciphertext, tt.ec)
			var pe *providers.Error
			if !errors.Is(err, providers.ErrDecrypt) || !errors.As(err, &pe) || pe.Op != "decrypt" {
				t.Errorf("Decrypt = %v, want ErrDecrypt", err)
			}
		})
	}
}

// tamper flips a bit of the AES-GCM ciphertext inside Vault's string.
func tamper(ct []byte) []byte {
	s := string(ct)
	i := strings.LastIndex(s, ":") + 1
	raw, err := base64.StdEncoding.DecodeString(s[i:])
	if err != nil {
		panic(err)
	}
	raw[len(raw)/2] ^= 1
	return []byte(s[:i] + base64.StdEncoding.EncodeToString(raw))
}

// TestVaultNotDerived shows why the key must be derived: Vault ignores the
// context of a key that isn't, so a wrapped key moved to another row still
// decrypts there.
func TestVaultNotDerived(t *testing.T) {
	v := startVaultEngine(t)
	v.createKey(t, "plain", false)
	vaultTestEnv(t, v.URL)
	p := openVault(t, "hashivault://plain")
	ct, err := p.Encrypt(context.Background(), []byte("data key"), map[string]string{"id": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Decrypt(context.Background(), ct, map[string]string{"id": "2"}); err != nil {
		t.Errorf("Decrypt under another context = %v; Vault should ignore the context of a key that is not derived", err)
	}
}

// TestVaultDecryptBatch: a batch of 5 wrapped keys, one of them tampered,
// is one HTTP request; the 4 good keys unwrap and the tampered one fails
// alone with ErrDecrypt.
func TestVaultDecryptBatch(t *testing.T) {
	v, p := newVault(t)
	ctx := context.Background()
	items := make([]providers.DecryptItem, 5)
	for i := range items {
		ec := map[string]string{"table": "users", "id": fmt.Sprint(i)}
		ct, err := p.Encrypt(ctx, []byte(fmt.Sprint("data key ", i)), ec)
		if err != nil {
			t.Fatal(err)
		}
		items[i] = providers.DecryptItem{Ciphertext: ct, Context: ec}
	}
	items[3].Ciphertext = tamper(items[3].Ciphertext)

	before := v.count("transit/decrypt/app")
	results := p.DecryptBatch(ctx, items)
	if n := v.count("transit/decrypt/app") - before; n != 1 {
		t.Errorf("%d decrypt requests, want 1", n)
	}
	if input, _ := v.last(t, "transit/decrypt/app").Body["batch_input"].([]any); len(input) != 5 {
		t.Errorf("batch_input of %d items, want 5", len(input))
	}
	if len(results) != 5 {
		t.Fatalf("%d results, want 5", len(results))
	}
	for i, r := range results {
		if i == 3 {
			if !errors.Is(r.Err, providers.ErrDecrypt) || r.Plaintext != nil {
				t.Errorf("tampered item = %q, %v, want ErrDecrypt", r.Plaintext, r.Err)
			}
			continue
		}
		if r.Err != nil || string(r.Plaintext) != fmt.Sprint("data key ", i) {
			t.Errorf("item %d = %q, %v", i, r.Plaintext, r.Err)
		}
	}
}

// TestVaultKeyringBatch: a keyring on Vault unwraps a window of rows with
// one Transit call, and its key column values are kms_encrypted's: "v1:" and
// base64 of Vault's string.
func TestVaultKeyringBatch(t *testing.T) {
	v, p := newVault(t)
	kr, err := envelope.NewKeyring(envelope.KeyringConfig{Current: p, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	ctx := context.Background()
	ecs := make([]envelope.Context, 8)
	for i := range ecs {
		ecs[i] = envelope.Context{"table": "users", "id": fmt.Sprint(i)}
	}
	_, wrapped, err := kr.WrapMany(ctx, ecs)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(wrapped[0], "v1:"))
	if !strings.HasPrefix(wrapped[0], "v1:") || err != nil || !strings.HasPrefix(string(raw), "vault:v1:") {
		t.Errorf("key column %q, want v1: and base64 of vault:v1:...", wrapped[0])
	}
	reqs := make([]envelope.UnwrapRequest, len(ecs))
	for i := range reqs {
		reqs[i] = envelope.UnwrapRequest{Wrapped: wrapped[i], Context: ecs[i]}
	}
	before := v.count("transit/decrypt/app")
	_, errs := kr.UnwrapMany(ctx, reqs)
	for i, err := range errs {
		if err != nil {
			t.Errorf("row %d: %v", i, err)
		}
	}
	if n := v.count("transit/decrypt/app") - before; n != 1 {
		t.Errorf("%d decrypt requests for %d rows, want 1", n, len(reqs))
	}
}

// TestVaultMinDecryptionVersion: raising the key's min_decryption_version
// after a rotation cuts off the older rows with ErrAccessDenied, alone in a
// batch; lowering it again restores them.
func TestVaultMinDecryptionVersion(t *testing.T) {
	v, p := newVault(t)
	ctx := context.Background()
	ec := map[string]string{"table": "users", "id": "1"}
	old, err := p.Encrypt(ctx, []byte("old data key"), ec)
	if err != nil {
		t.Fatal(err)
	}
	v.write(t, "keys/app/rotate", nil)
	current, err := p.Encrypt(ctx, []byte("new data key"), ec)
	if err != nil || !strings.HasPrefix(string(current), "vault:v2:") {
		t.Fatalf("Encrypt after rotate = %q, %v", current, err)
	}
	v.write(t, "keys/app/config", map[string]any{"min_decryption_version": 2})

	_, err = p.Decrypt(ctx, old, ec)
	wantVaultDenied(t, err, "decrypt", "min_decryption_version", "transit/keys/app/config")
	_, err = p.Rewrap(ctx, old, ec)
	wantVaultDenied(t, err, "rewrap", "min_decryption_version")
	results := p.DecryptBatch(ctx, []providers.DecryptItem{{Ciphertext: old, Context: ec}, {Ciphertext: current, Context: ec}})
	wantVaultDenied(t, results[0].Err, "decrypt", "min_decryption_version")
	if results[1].Err != nil || string(results[1].Plaintext) != "new data key" {
		t.Errorf("current item = %q, %v", results[1].Plaintext, results[1].Err)
	}

	v.write(t, "keys/app/config", map[string]any{"min_decryption_version": 1})
	if pt, err := p.Decrypt(ctx, old, ec); err != nil || string(pt) != "old data key" {
		t.Errorf("Decrypt after lowering min_decryption_version = %q, %v", pt, err)
	}
}

// TestVaultAccessDenied: Vault's 403 (a policy without the capability, or a
// token it doesn't know) is ErrAccessDenied naming the capability, not
// retried; in a batch every item gets it.
func TestVaultAccessDenied(t *testing.T) {
	v, p := newVault(t)
	ctx := context.Background()
	ec := map[string]string{"table": "users"}
	ct, err := p.Encrypt(ctx, []byte("data key"), ec)
	if err != nil {
		t.Fatal(err)
	}

	v.fail(http.StatusForbidden)
	before := v.total()
	_, err = p.Decrypt(ctx, ct, ec)
	wantVaultDenied(t, err, "decrypt", `"update" capability on transit/decrypt/app`, "permission denied")
	_, err = p.Encrypt(ctx, []byte("data key"), ec)
	wantVaultDenied(t, err, "encrypt", `"update" capability on transit/encrypt/app`)
	for _, r := range p.DecryptBatch(ctx, []providers.DecryptItem{{Ciphertext: ct, Context: ec}, {Ciphertext: ct, Context: ec}}) {
		wantVaultDenied(t, r.Err, "decrypt", `"update" capability on transit/decrypt/app`)
	}
	if n := v.total() - before; n != 3 {
		t.Errorf("%d requests, want 3 (a refusal is not retried)", n)
	}
	v.fail(0)

	t.Setenv("VAULT_TOKEN", "hvs.unknown-token")
	stranger := openVault(t, "hashivault://app?mount=transit")
	_, err = stranger.Decrypt(ctx, ct, ec)
	wantVaultDenied(t, err, "decrypt", "permission denied")
	if strings.Contains(err.Error(), "unknown-token") || strings.Contains(stranger.URL(), "unknown-token") {
		t.Errorf("the token shows in %q or %q", err, stranger.URL())
	}
}

func wantVaultDenied(t *testing.T, err error, op string, want ...string) {
	t.Helper()
	var pe *providers.Error
	if !errors.Is(err, providers.ErrAccessDenied) || !errors.As(err, &pe) || pe.Op != op {
		t.Fatalf("%s = %v, want a *providers.Error of %s matching ErrAccessDenied", op, err, op)
	}
	if pe.KeyURL != "hashivault://app?mount=transit" {
		t.Errorf("KeyURL = %q", pe.KeyURL)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), vaultTestToken) {
		t.Errorf("error %q shows the token", err)
	}
}

// TestVaultUnavailable: a Vault that answers 503 (sealed, or a proxy in
// front of a restarting one) is retried as many times as
// providers.DefaultRetryPolicy allows, one request per attempt (the Vault
// client's own retries are off), then reported as ErrUnavailable.
func TestVaultUnavailable(t *testing.T) {
	v, p := newVault(t)
	attempts := providers.DefaultRetryPolicy().MaxAttempts
	v.fail(http.StatusServiceUnavailable)
	_, err := p.Decrypt(context.Background(), []byte("vault:v1:YQ=="), gemContext)
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Decrypt = %v, want ErrUnavailable", err)
	}
	if n := v.count("transit/decrypt/app"); n != attempts {
		t.Errorf("%d requests, want %d", n, attempts)
	}
	for _, w := range []string{"HTTP 503: Vault is sealed", fmt.Sprintf("gave up after %d attempts", attempts), "decrypt with key app"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}

	t.Run("closed port", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		vaultTestEnv(t, "http://"+addr)
		p := openVault(t, "hashivault://app?mount=transit")
		_, err = p.Encrypt(context.Background(), []byte("data key"), gemContext)
		if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("Encrypt = %v, want ErrUnavailable saying the connection was refused", err)
		}
	})
}

// TestVaultRewrap: after a rotation, Rewrap moves a wrapped key to the newest
// key version; it still unwraps to the same data key.
func TestVaultRewrap(t *testing.T) {
	v, p := newVault(t)
	ctx := context.Background()
	ec := map[string]string{"table": "users", "id": "7"}
	dataKey := bytes.Repeat([]byte{0xa5}, 32)
	ct, err := p.Encrypt(ctx, dataKey, ec)
	if err != nil {
		t.Fatal(err)
	}
	v.write(t, "keys/app/rotate", nil)
	rewrapped, err := p.Rewrap(ctx, ct, ec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(rewrapped), "vault:v2:") {
		t.Errorf("Rewrap = %q, want a vault:v2: ciphertext", rewrapped)
	}
	if got := v.last(t, "transit/rewrap/app").Body["context"]; got != base64.StdEncoding.EncodeToString(providers.CanonicalContext(ec)) {
		t.Errorf("rewrap context = %v", got)
	}
	pt, err := p.Decrypt(ctx, rewrapped, ec)
	if err != nil || !bytes.Equal(pt, dataKey) {
		t.Errorf("Decrypt(rewrapped) = %x, %v, want %x", pt, err, dataKey)
	}
	if _, err := p.Rewrap(ctx, rewrapped, map[string]string{"table": "users", "id": "8"}); !errors.Is(err, providers.ErrDecrypt) {
		t.Errorf("Rewrap under another context = %v, want ErrDecrypt", err)
	}
}
