// Package local provides a master key held in the process, for development
// and tests: the base64key:// scheme. Never use it in production: the point of
// kmsenc is that master keys stay in a KMS.
//
// The URL holds the key itself, 32 bytes in standard or URL-safe base64,
// padded or not:
//
//	base64key://${KMSENC_DEV_KEY}              # openssl rand -base64 32
//	base64key://${KMSENC_DEV_KEY}?decrypt=deny # encrypt-only, for tests of split permissions
//
// A data key is wrapped with AES-256-GCM under the master key, with the
// canonical encryption context ([providers.CanonicalContext]) as associated
// data; the ciphertext is nonce(12) || ciphertext || tag(16).
package local

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"

	"github.com/kmsenc/kmsenc/providers"
)

// Scheme is the URL scheme this package registers.
const Scheme = "base64key"

// KeySize is the size of a master key in bytes.
const KeySize = 32

func init() {
	providers.Register(Scheme, open)
}

// Provider is a [providers.Provider] with the master key in memory. It counts
// its calls (see [Calls]) so that tests can tell how often a real KMS would
// have been called.
type Provider struct {
	Calls

	aead        cipher.AEAD
	encryptOnly bool
}

var _ providers.Provider = (*Provider)(nil)

// Option configures a [Provider] made by [New].
type Option func(*Provider)

// EncryptOnly makes a provider that can wrap data keys but refuses to unwrap
// them with [providers.ErrAccessDenied], like a KMS key on which the service
// has only Encrypt permission. It is the ?decrypt=deny of a key URL.
func EncryptOnly() Option {
	return func(p *Provider) { p.encryptOnly = true }
}

// Calls counts the calls made to a [Provider], failed ones included. It is
// safe for concurrent use.
type Calls struct {
	encrypts, decrypts atomic.Int64
}

// Counts returns the number of Encrypt and Decrypt calls so far.
func (c *Calls) Counts() (encrypts, decrypts int64) {
	return c.encrypts.Load(), c.decrypts.Load()
}

// ResetCounts sets both counts to zero.
func (c *Calls) ResetCounts() {
	c.encrypts.Store(0)
	c.decrypts.Store(0)
}

// New returns a provider for a 32-byte master key. The key is copied.
func New(key []byte, opts ...Option) (*Provider, error) {
	if len(key) != KeySize {
		return nil, badKey(fmt.Sprintf("got %d bytes", len(key)))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err // not reached: the length is right
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	p := &Provider{aead: aead}
	for _, opt := range opts {
		opt(p)
	}
	return p, nil
}

// open is the [providers.Opener] of base64key:// URLs.
func open(_ context.Context, u *url.URL) (providers.Provider, error) {
	var opts []Option
	for name, values := range u.Query() {
		switch {
		case name == "decrypt" && len(values) == 1 && values[0] == "deny":
			opts = append(opts, EncryptOnly())
		case name == "decrypt":
			return nil, errors.New("local: the decrypt parameter takes one value, deny (base64key://<key>?decrypt=deny makes an encrypt-only key)")
		default:
			return nil, fmt.Errorf("local: unknown parameter %q in a base64key:// URL; the only parameter is decrypt=deny", name)
		}
	}
	key, err := decodeKey(rawKey(u))
	if err != nil {
		return nil, err
	}
	return New(key, opts...)
}

// rawKey returns the text between "base64key://" and the query. A standard
// base64 key holds '/' and '+', so it is split by url.Parse into host and
// path; neither is unescaped, since base64 has no '%'.
func rawKey(u *url.URL) string {
	if u.Opaque != "" { // base64key:<key>, without the slashes
		return u.Opaque
	}
	return u.Host + u.Path
}

// decodeKey accepts the four base64 alphabets and paddings that people use.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, badKey("the URL has no key")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.Strict().DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, badKey(fmt.Sprintf("it decodes to %d bytes", len(key)))
		}
		return key, nil
	}
	return nil, badKey("it is not valid base64")
}

// badKey never includes the key, not even a wrong one: it may be a real key
// pasted in the wrong place.
func badKey(problem string) error {
	return fmt.Errorf("local: a base64key:// master key must be 32 bytes in base64 (%s); make one with: openssl rand -base64 32", problem)
}

// Encrypt wraps plaintext under the master key, bound to ec.
func (p *Provider) Encrypt(ctx context.Context, plaintext []byte, ec map[string]string) ([]byte, error) {
	p.encrypts.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, &providers.Error{Op: "encrypt", KeyURL: p.URL(), Err: err}
	}
	return p.aead.Seal(nil, nil, plaintext, providers.CanonicalContext(ec)), nil
}

// Decrypt unwraps a ciphertext of Encrypt made with the same master key and
// context. An encrypt-only provider fails with [providers.ErrAccessDenied].
func (p *Provider) Decrypt(ctx context.Context, ciphertext []byte, ec map[string]string) ([]byte, error) {
	p.decrypts.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, &providers.Error{Op: "decrypt", KeyURL: p.URL(), Err: err}
	}
	if p.encryptOnly {
		return nil, &providers.Error{Op: "decrypt", KeyURL: p.URL(),
			Err: fmt.Errorf("%w: this key may only encrypt (decrypt=deny)", providers.ErrAccessDenied)}
	}
	if len(ciphertext) < p.aead.Overhead() {
		return nil, &providers.Error{Op: "decrypt", KeyURL: p.URL(),
			Err: fmt.Errorf("%w: the wrapped key is %d bytes, too short for a base64key:// ciphertext", providers.ErrDecrypt, len(ciphertext))}
	}
	plaintext, err := p.aead.Open(nil, nil, ciphertext, providers.CanonicalContext(ec))
	if err != nil {
		return nil, &providers.Error{Op: "decrypt", KeyURL: p.URL(),
			Err: fmt.Errorf("%w: the wrapped key failed authentication (altered, another master key, or another encryption context)", providers.ErrDecrypt)}
	}
	return plaintext, nil
}

// URL returns "base64key://(redacted)", with "?decrypt=deny" for an
// encrypt-only provider.
func (p *Provider) URL() string {
	if p.encryptOnly {
		return Scheme + "://(redacted)?decrypt=deny"
	}
	return Scheme + "://(redacted)"
}

// Close does nothing: the key is garbage collected with the provider.
func (p *Provider) Close() error { return nil }
