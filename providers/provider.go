package providers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Provider wraps and unwraps data keys under one master key.
//
// Encrypt returns the KMS's ciphertext of plaintext (a data key) bound to the
// encryption context ec; Decrypt reverses it and must fail unless ec is the
// context given to Encrypt. The returned ciphertext is what kmsenc stores (in
// base64) in a row's key column, so it must be self-contained: a provider
// later opened from the same key URL must decrypt it.
//
// A failure is a [*Error] whose Err matches [ErrAccessDenied] (the KMS
// refused), [ErrUnavailable] (the KMS could not be reached or throttled the
// call after the provider's retries) or [ErrDecrypt] (the ciphertext or the
// context is wrong), or the context's error when ctx ends first. Neither the
// error nor anything the provider logs may contain plaintext key material.
//
// The caller owns plaintext and ciphertext; a provider must not keep or modify
// them after returning. ec must not be modified. A nil ec is an empty context.
//
// A Provider is safe for concurrent use. Close releases its resources; no
// method may be called after Close.
type Provider interface {
	Encrypt(ctx context.Context, plaintext []byte, ec map[string]string) ([]byte, error)
	Decrypt(ctx context.Context, ciphertext []byte, ec map[string]string) ([]byte, error)
	// URL returns the key URL with any secret removed, for errors and events:
	// a base64key:// URL shows as "base64key://(redacted)".
	URL() string
	Close() error
}

// BatchDecrypter is implemented by a [Provider] whose KMS can decrypt many
// ciphertexts in one call (Vault Transit's batch_input). kmsenc uses it to
// unwrap the keys of a window of rows with one round trip.
//
// DecryptBatch returns exactly one result per item, in the order of items.
// Each result carries its own error, with the same meaning as an error from
// Decrypt; a failure of the whole call is reported on every item. The
// provider splits items into as many calls as its KMS's limits require.
type BatchDecrypter interface {
	DecryptBatch(ctx context.Context, items []DecryptItem) []DecryptResult
}

// Rewrapper is implemented by providers whose KMS can re-encrypt a
// ciphertext under the newest version of the same key without returning
// the plaintext (Vault Transit's rewrap). Key rotation uses it when a row's
// old key version and the current one name the same key, so the data key
// never leaves the KMS.
type Rewrapper interface {
	Rewrap(ctx context.Context, ciphertext []byte, ec map[string]string) ([]byte, error)
}

// DecryptItem is one ciphertext of a [BatchDecrypter] call, with the
// encryption context it was wrapped under.
type DecryptItem struct {
	Ciphertext []byte
	Context    map[string]string
}

// DecryptResult is the outcome of one [DecryptItem]: Plaintext, or Err.
type DecryptResult struct {
	Plaintext []byte
	Err       error
}

// Opener opens a [Provider] for a key URL of its scheme. It must not echo a
// secret part of the URL in its errors.
type Opener func(ctx context.Context, u *url.URL) (Provider, error)

var (
	registryMu sync.RWMutex
	registry   = make(map[string]Opener)
)

// knownPackages names the kmsenc package that registers each scheme, so that
// an unknown-scheme error can say what to import.
var knownPackages = map[string]string{
	"awskms":     "github.com/kmsenc/kmsenc/providers/awskms",
	"gcpkms":     "github.com/kmsenc/kmsenc/providers/gcpkms",
	"hashivault": "github.com/kmsenc/kmsenc/providers/vault",
	"base64key":  "github.com/kmsenc/kmsenc/providers/local",
}

// Register makes an [Opener] available for key URLs with the given scheme
// (lower case, without "://"). It is meant to be called from a provider
// package's init function. Like database/sql.Register, it panics if open is
// nil or the scheme is already registered.
func Register(scheme string, open Opener) {
	if !validScheme(scheme) || strings.ToLower(scheme) != scheme {
		panic(fmt.Sprintf("providers: Register: invalid scheme %q (want lower-case letters, digits, '+', '-', '.')", scheme))
	}
	if open == nil {
		panic("providers: Register opener is nil for scheme " + scheme)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("providers: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	s := make([]string, 0, len(registry))
	for k := range registry {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Open opens the [Provider] for keyURL with the [Opener] registered for its
// scheme. The errors of Open never contain the URL itself, which may hold a
// secret; they name its scheme.
func Open(ctx context.Context, keyURL string) (Provider, error) {
	keyURL = strings.TrimSpace(keyURL)
	scheme, _, ok := strings.Cut(keyURL, "://")
	if !ok || !validScheme(scheme) {
		return nil, fmt.Errorf("providers: a key URL must look like <scheme>://..., e.g. awskms://alias/app?region=us-east-1; registered schemes: %s", schemeList())
	}
	scheme = strings.ToLower(scheme)
	registryMu.RLock()
	open := registry[scheme]
	registryMu.RUnlock()
	if open == nil {
		return nil, unknownScheme(scheme)
	}
	u, err := url.Parse(keyURL)
	if err != nil {
		return nil, fmt.Errorf("providers: the %s:// key URL is not a valid URL (%s); percent-encode reserved characters and remove spaces", scheme, parseProblem(err))
	}
	p, err := open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("providers: opening %s:// key: %w", scheme, err)
	}
	return p, nil
}

func unknownScheme(scheme string) error {
	pkg := knownPackages[scheme]
	if pkg == "" {
		pkg = "github.com/kmsenc/kmsenc/providers/awskms"
		return fmt.Errorf("providers: no provider for key URL scheme %q; registered schemes: %s; kmsenc's providers are awskms://, gcpkms://, hashivault:// and base64key://, each registered by importing its package, e.g. import _ %q", scheme, schemeList(), pkg)
	}
	return fmt.Errorf("providers: no provider for key URL scheme %q (registered: %s); add import _ %q to your program", scheme, schemeList(), pkg)
}

func schemeList() string {
	s := Schemes()
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// parseProblem describes a url.Parse error without the URL or the offending
// characters, which may be part of a secret.
func parseProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var hostErr url.InvalidHostError
	var escErr url.EscapeError
	switch {
	case errors.As(err, &hostErr):
		return "invalid character in host"
	case errors.As(err, &escErr):
		return "invalid percent-escape"
	}
	return strings.TrimPrefix(err.Error(), "net/url: ")
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// Scheme returns the scheme of a key URL ("awskms" for "awskms://alias/app"),
// or "" when it has none.
func Scheme(keyURL string) string {
	s, _, ok := strings.Cut(keyURL, "://")
	if !ok || !validScheme(s) {
		return ""
	}
	return strings.ToLower(s)
}
