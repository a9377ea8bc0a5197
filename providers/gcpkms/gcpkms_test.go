package gcpkms

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/providers/gcpkms/gcpkmstest"
)

const testKey = gcpkmstest.Key

var fastRetry = providers.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// gemContext is kms_encrypted's default context, the compatibility vector of
// KMS_ENCRYPTED_FORMATS.md.
var gemContext = map[string]string{"model_name": "User", "model_id": "123"}

func newTestProvider(t *testing.T) (*gcpkmstest.Server, *Provider) {
	t.Helper()
	f := gcpkmstest.NewServer(t)
	return f, New(newClient(t, f.Addr), testKey, WithRetryPolicy(fastRetry))
}

func TestRoundTrip(t *testing.T) {
	f, p := newTestProvider(t)
	ctx := context.Background()
	dataKey := bytes.Repeat([]byte{0xa5}, 32)
	ct, err := p.Encrypt(ctx, dataKey, gemContext)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := p.Decrypt(ctx, ct, map[string]string{"model_id": "123", "model_name": "User"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pt, dataKey) {
		t.Errorf("Decrypt = %x, want %x", pt, dataKey)
	}
	if p.URL() != "gcpkms://"+testKey {
		t.Errorf("URL() = %q", p.URL())
	}

	// What reached the server: the CryptoKey name, the gem's AAD bytes, and
	// correct checksums of everything sent.
	enc, dec := f.EncryptRequests()[0], f.DecryptRequests()[0]
	const wantAAD = `{"model_id":"123","model_name":"User"}`
	for _, got := range []struct {
		rpc, name string
		aad       []byte
	}{{"Encrypt", enc.Name, enc.AdditionalAuthenticatedData}, {"Decrypt", dec.Name, dec.AdditionalAuthenticatedData}} {
		if got.name != testKey {
			t.Errorf("%s name = %q, want the CryptoKey %q", got.rpc, got.name, testKey)
		}
		if string(got.aad) != wantAAD {
			t.Errorf("%s additional_authenticated_data = %s, want %s", got.rpc, got.aad, wantAAD)
		}
	}
	if enc.PlaintextCrc32C.GetValue() != crc32c(dataKey) || enc.AdditionalAuthenticatedDataCrc32C.GetValue() != crc32c([]byte(wantAAD)) {
		t.Errorf("Encrypt checksums = %v, %v", enc.PlaintextCrc32C, enc.AdditionalAuthenticatedDataCrc32C)
	}
	if dec.CiphertextCrc32C.GetValue() != crc32c(ct) || dec.AdditionalAuthenticatedDataCrc32C.GetValue() != crc32c([]byte(wantAAD)) {
		t.Errorf("Decrypt checksums = %v, %v", dec.CiphertextCrc32C, dec.AdditionalAuthenticatedDataCrc32C)
	}
	// CRC32C, not the IEEE CRC-32: the known check value of "123456789".
	if got := crc32c([]byte("123456789")); got != 0xe3069283 {
		t.Errorf("crc32c(123456789) = %#x, want 0xe3069283", got)
	}
}

func TestEmptyContext(t *testing.T) {
	f, p := newTestProvider(t)
	ct, err := p.Encrypt(context.Background(), []byte("k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Decrypt(context.Background(), ct, map[string]string{}); err != nil {
		t.Errorf("a nil and an empty context differ: %v", err)
	}
	if got := string(f.EncryptRequests()[0].AdditionalAuthenticatedData); got != "{}" {
		t.Errorf("AAD of an empty context = %q, want {}", got)
	}
}

func TestDecryptFailures(t *testing.T) {
	f, p := newTestProvider(t)
	ctx := context.Background()
	ct, err := p.Encrypt(ctx, []byte("PLAINTEXT-CANARY"), map[string]string{"table": "users", "id": "1"})
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(ct)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name       string
		ciphertext []byte
		ec         map[string]string
	}{
		{"wrong context", ct, map[string]string{"table": "users", "id": "2"}},
		{"no context", ct, nil},
		{"tampered ciphertext", tampered, map[string]string{"table": "users", "id": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, before := f.Calls()
			_, err := p.Decrypt(ctx, tt.ciphertext, tt.ec)
			if !errors.Is(err, providers.ErrDecrypt) {
				t.Fatalf("Decrypt = %v, want ErrDecrypt", err)
			}
			if _, after := f.Calls(); after-before != 1 {
				t.Errorf("%d calls, want 1: a wrong context is not retried", after-before)
			}
			if !strings.Contains(err.Error(), "could not decrypt the wrapped key with "+testKey) {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name      string
		op        string
		set       func(f *gcpkmstest.Server)
		kind      error
		wantCalls int
		want      []string
	}{
		{"revoked decrypt", opDecrypt, func(f *gcpkmstest.Server) { f.Deny(gcpkmstest.Everyone) }, providers.ErrAccessDenied, 1,
			[]string{"decrypt with master key gcpkms://" + testKey, "denied cloudkms.cryptoKeyVersions.useToDecrypt on " + testKey, "roles/cloudkms.cryptoKeyDecrypter", "encrypt-only"}},
		{"revoked encrypt", opEncrypt, func(f *gcpkmstest.Server) { f.Deny(gcpkmstest.Everyone) }, providers.ErrAccessDenied, 1,
			[]string{"denied cloudkms.cryptoKeyVersions.useToEncrypt on " + testKey, "roles/cloudkms.cryptoKeyEncrypter"}},
		{"disabled version", opDecrypt, func(f *gcpkmstest.Server) { f.Fail(codes.FailedPrecondition) }, providers.ErrAccessDenied, 1,
			[]string{"refused cloudkms.cryptoKeyVersions.useToDecrypt on " + testKey + ": the key version is not enabled"}},
		{"unauthenticated", opEncrypt, func(f *gcpkmstest.Server) { f.Fail(codes.Unauthenticated) }, providers.ErrAccessDenied, 1,
			[]string{"rejected this service's credentials", "Application Default Credentials"}},
		{"not found", opEncrypt, func(f *gcpkmstest.Server) { f.Fail(codes.NotFound) }, providers.ErrAccessDenied, 1,
			[]string{"no key " + testKey}},
		{"unavailable", opDecrypt, func(f *gcpkmstest.Server) { f.Fail(codes.Unavailable) }, providers.ErrUnavailable, 4,
			[]string{"did not complete cloudkms.cryptoKeyVersions.useToDecrypt on " + testKey + " (Unavailable: fake failure Unavailable) (gave up after 4 attempts)", "retry"}},
		{"quota", opEncrypt, func(f *gcpkmstest.Server) { f.Fail(codes.ResourceExhausted) }, providers.ErrUnavailable, 4, nil},
		{"server deadline", opEncrypt, func(f *gcpkmstest.Server) { f.Fail(codes.DeadlineExceeded) }, providers.ErrUnavailable, 4, nil},
		{"internal", opDecrypt, func(f *gcpkmstest.Server) { f.Fail(codes.Internal) }, providers.ErrUnavailable, 4, nil},
		{"invalid argument on encrypt", opEncrypt, func(f *gcpkmstest.Server) { f.Fail(codes.InvalidArgument) }, nil, 1,
			[]string{"Cloud KMS cloudkms.cryptoKeyVersions.useToEncrypt on " + testKey + " failed (InvalidArgument"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := newTestProvider(t)
			ct, err := p.Encrypt(context.Background(), []byte("PLAINTEXT-CANARY"), gemContext)
			if err != nil {
				t.Fatal(err)
			}
			tt.set(f)
			e0, d0 := f.Calls()
			if tt.op == opEncrypt {
				_, err = p.Encrypt(context.Background(), []byte("PLAINTEXT-CANARY"), gemContext)
			} else {
				_, err = p.Decrypt(context.Background(), ct, gemContext)
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Op != tt.op || pe.KeyURL != "gcpkms://"+testKey {
				t.Fatalf("error %#v, want a *providers.Error of %s on the key", err, tt.op)
			}
			for _, kind := range []error{providers.ErrAccessDenied, providers.ErrDecrypt, providers.ErrUnavailable} {
				if got := errors.Is(err, kind); got != (kind == tt.kind) {
					t.Errorf("errors.Is(%v, %v) = %v", err, kind, got)
				}
			}
			e1, d1 := f.Calls()
			if calls := e1 - e0 + d1 - d0; calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "PLAINTEXT-CANARY") {
				t.Errorf("error %q shows the plaintext", err)
			}
		})
	}
}

// TestIntegrityChecks: a response whose checksums don't match, or that
// doesn't confirm the request's, is never accepted; it is retried and then
// reported as ErrUnavailable.
func TestIntegrityChecks(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		tamper func(proto.Message)
		want   string
	}{
		{"ciphertext_crc32c", opEncrypt, func(m proto.Message) {
			r := m.(*kmspb.EncryptResponse)
			r.CiphertextCrc32C.Value ^= 1
		}, "ciphertext of Cloud KMS's Encrypt response does not match its ciphertext_crc32c"},
		{"corrupted ciphertext", opEncrypt, func(m proto.Message) {
			r := m.(*kmspb.EncryptResponse)
			r.Ciphertext[0] ^= 1
		}, "does not match its ciphertext_crc32c"},
		{"no ciphertext_crc32c", opEncrypt, func(m proto.Message) {
			m.(*kmspb.EncryptResponse).CiphertextCrc32C = nil
		}, "does not match its ciphertext_crc32c"},
		{"plaintext not verified", opEncrypt, func(m proto.Message) {
			m.(*kmspb.EncryptResponse).VerifiedPlaintextCrc32C = false
		}, "did not verify the plaintext_crc32c"},
		{"AAD not verified", opEncrypt, func(m proto.Message) {
			m.(*kmspb.EncryptResponse).VerifiedAdditionalAuthenticatedDataCrc32C = false
		}, "did not verify the additional_authenticated_data_crc32c"},
		{"another key's version", opEncrypt, func(m proto.Message) {
			m.(*kmspb.EncryptResponse).Name = "projects/p/locations/global/keyRings/r/cryptoKeys/other/cryptoKeyVersions/1"
		}, "with a ciphertext of projects/p/locations/global/keyRings/r/cryptoKeys/other/cryptoKeyVersions/1"},
		{"plaintext_crc32c", opDecrypt, func(m proto.Message) {
			m.(*kmspb.DecryptResponse).PlaintextCrc32C.Value ^= 1
		}, "plaintext of Cloud KMS's Decrypt response does not match its plaintext_crc32c"},
		{"corrupted plaintext", opDecrypt, func(m proto.Message) {
			m.(*kmspb.DecryptResponse).Plaintext[0] ^= 1
		}, "does not match its plaintext_crc32c"},
		{"no plaintext_crc32c", opDecrypt, func(m proto.Message) {
			m.(*kmspb.DecryptResponse).PlaintextCrc32C = nil
		}, "does not match its plaintext_crc32c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := newTestProvider(t)
			ct, err := p.Encrypt(context.Background(), []byte("PLAINTEXT-CANARY"), gemContext)
			if err != nil {
				t.Fatal(err)
			}
			f.Tamper(tt.tamper)
			e0, d0 := f.Calls()
			var got []byte
			if tt.op == opEncrypt {
				got, err = p.Encrypt(context.Background(), []byte("PLAINTEXT-CANARY"), gemContext)
			} else {
				got, err = p.Decrypt(context.Background(), ct, gemContext)
			}
			if err == nil {
				t.Fatalf("%s accepted a response that fails its integrity check: %x", tt.op, got)
			}
			if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want ErrUnavailable saying %q", err, tt.want)
			}
			e1, d1 := f.Calls()
			if calls := e1 - e0 + d1 - d0; calls != fastRetry.MaxAttempts {
				t.Errorf("%d calls, want %d: corruption in transit is retried", calls, fastRetry.MaxAttempts)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now
	p := New(newClient(t, addr), testKey, WithRetryPolicy(fastRetry))
	_, err = p.Encrypt(context.Background(), []byte("k"), gemContext)
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Errorf("Encrypt = %v, want ErrUnavailable after 4 attempts", err)
	}
}

func TestContextEnded(t *testing.T) {
	f, p := newTestProvider(t)
	f.Fail(codes.Unavailable)
	p.retry = providers.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := p.Decrypt(ctx, []byte("ciphertext"), nil)
	var pe *providers.Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &pe) {
		t.Errorf("Decrypt = %v, want a *providers.Error matching context.Canceled", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := p.Encrypt(ctx, []byte("k"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Encrypt after the deadline = %v, want it to match context.DeadlineExceeded", err)
	}
}

func TestNewRefusesVersionName(t *testing.T) {
	f := gcpkmstest.NewServer(t)
	client := newClient(t, f.Addr)
	for name, want := range map[string]string{
		testKey + "/cryptoKeyVersions/3": "names a CryptoKeyVersion; name its CryptoKey " + testKey + " instead",
		"projects/p/keyRings/r":          "is not a CryptoKey name",
	} {
		p := New(client, name)
		_, errE := p.Encrypt(context.Background(), []byte("k"), nil)
		_, errD := p.Decrypt(context.Background(), []byte("c"), nil)
		for _, err := range []error{errE, errD} {
			var pe *providers.Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), want) {
				t.Errorf("New(%q): %v, want a *providers.Error saying %q", name, err, want)
			}
		}
	}
	if e, d := f.Calls(); e+d != 0 {
		t.Errorf("%d calls reached the server with a wrong name", e+d)
	}
}

func TestOpenURL(t *testing.T) {
	addr := gcpkmstest.NewServer(t).Addr
	p, err := providers.Open(context.Background(), "gcpkms://"+testKey+"?endpoint="+addr)
	if err != nil {
		t.Fatal(err)
	}
	if p.URL() != "gcpkms://"+testKey {
		t.Errorf("URL() = %q, want the key name without the endpoint", p.URL())
	}
	ct, err := p.Encrypt(context.Background(), []byte("data key"), gemContext)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := p.Decrypt(context.Background(), ct, gemContext)
	if err != nil || string(pt) != "data key" {
		t.Errorf("Decrypt = %q, %v", pt, err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	// A three-slash form names the same key.
	p, err = providers.Open(context.Background(), "gcpkms:///"+testKey+"?endpoint="+addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.URL() != "gcpkms://"+testKey {
		t.Errorf("URL() = %q", p.URL())
	}
}

// TestOpenURLErrors: refusals happen before any client is made, so these
// URLs reach no server and no credential lookup.
func TestOpenURLErrors(t *testing.T) {
	tests := []struct{ url, want string }{
		{"gcpkms://" + testKey + "/cryptoKeyVersions/1", "names a CryptoKeyVersion; name its CryptoKey " + testKey},
		{"gcpkms://projects/p/locations/global/keyRings/r", "is not a CryptoKey name"},
		{"gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/", "is not a CryptoKey name"},
		{"gcpkms://" + testKey + "?region=x", `unknown parameter "region"`},
		{"gcpkms://" + testKey + "?endpoint=127.0.0.1", "endpoint parameter is host:port"},
		{"gcpkms://" + testKey + "?endpoint=a:1&endpoint=b:2", "takes one value"},
		{"gcpkms://user:secret@" + testKey, "without credentials"},
	}
	for _, tt := range tests {
		_, err := providers.Open(context.Background(), tt.url)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) = %v, want an error saying %q", tt.url, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error shows the password: %v", tt.url, err)
		}
	}
}

// TestPrincipals: Cloud KMS decides by the caller. A principal denied
// useToDecrypt encrypts, and gets ErrAccessDenied on Decrypt while the owner
// decrypts its ciphertext; another CryptoKey's ciphertext is ErrDecrypt; a
// server that is gone is ErrUnavailable.
func TestPrincipals(t *testing.T) {
	const otherKey = "projects/p/locations/global/keyRings/r/cryptoKeys/other"
	s := gcpkmstest.NewServer(t)
	s.CreateKey(t, otherKey)
	ownerClient := newClient(t, s.Addr)
	owner := New(ownerClient, testKey, WithRetryPolicy(fastRetry))
	writer := New(newClient(t, s.Listen(t, "writer")), testKey, WithRetryPolicy(fastRetry))
	s.Deny("writer", gcpkmstest.PermDecrypt)
	ctx := context.Background()

	ct, err := writer.Encrypt(ctx, []byte("data key"), gemContext)
	if err != nil {
		t.Fatalf("the writer may encrypt: %v", err)
	}
	if _, err := writer.Decrypt(ctx, ct, gemContext); !errors.Is(err, providers.ErrAccessDenied) {
		t.Errorf("writer Decrypt = %v, want ErrAccessDenied", err)
	}
	if pt, err := owner.Decrypt(ctx, ct, gemContext); err != nil || string(pt) != "data key" {
		t.Errorf("owner Decrypt = %q, %v", pt, err)
	}
	s.Allow("writer", gcpkmstest.PermDecrypt)
	if _, err := writer.Decrypt(ctx, ct, gemContext); err != nil {
		t.Errorf("writer Decrypt after Allow = %v", err)
	}

	otherCT, err := New(ownerClient, otherKey).Encrypt(ctx, []byte("data key"), gemContext)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Decrypt(ctx, otherCT, gemContext); !errors.Is(err, providers.ErrDecrypt) {
		t.Errorf("Decrypt of another key's ciphertext = %v, want ErrDecrypt", err)
	}

	s.Close()
	if _, err := owner.Encrypt(ctx, []byte("data key"), gemContext); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Encrypt after Close = %v, want ErrUnavailable", err)
	}
}
