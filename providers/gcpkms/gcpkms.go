// Package gcpkms provides master keys in Google Cloud KMS: the gcpkms://
// scheme, with the URL conventions of gocloud.dev/secrets.
//
//	gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k
//	gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k?endpoint=127.0.0.1:9010
//
// The URL names a CryptoKey, never one of its CryptoKeyVersions: Cloud KMS
// encrypts with the key's primary version and finds the version that a
// ciphertext needs by itself, so keys rotate without a change of URL.
//
// The endpoint parameter (host:port) replaces cloudkms.googleapis.com:443: a
// regional or private endpoint, reached over TLS with Application Default
// Credentials, or on a loopback address (127.0.0.1, ::1, localhost) an
// emulator or test server, reached in plaintext without credentials.
// Otherwise credentials come from Application Default Credentials
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login,
// or the metadata server).
//
// A data key is wrapped with Encrypt on the CryptoKey with the encryption
// context as additional_authenticated_data, in the canonical JSON of
// [providers.CanonicalContext], as the Ruby gem kms_encrypted does, so both
// read each other's rows. Every request carries CRC32C checksums of its data
// and every response's checksums are verified, as Google asks of clients: a
// mismatch is treated as corruption in transit and retried. The service needs
// cloudkms.cryptoKeyVersions.useToEncrypt (roles/cloudkms.cryptoKeyEncrypter)
// to write rows and cloudkms.cryptoKeyVersions.useToDecrypt
// (roles/cloudkms.cryptoKeyDecrypter) to read them.
//
// Transient failures (UNAVAILABLE, RESOURCE_EXHAUSTED, a DEADLINE_EXCEEDED of
// the server, INTERNAL, ABORTED) are retried under a
// [providers.RetryPolicy]; the client library's own retries are turned off
// for these calls so that the policy's bound holds.
package gcpkms

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	kms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/googleapis/gax-go/v2"

	"github.com/kmsenc/kmsenc/providers"
)

// Scheme is the URL scheme this package registers.
const Scheme = "gcpkms"

func init() {
	providers.Register(Scheme, open)
}

// Provider is a [providers.Provider] for one Cloud KMS CryptoKey.
type Provider struct {
	client     *kms.KeyManagementClient
	ownsClient bool // opened from a URL: Close closes the client
	name       string
	badName    error // from New: every call fails with it
	retry      providers.RetryPolicy
}

var _ providers.Provider = (*Provider)(nil)

// Option configures a [Provider] made by [New].
type Option func(*Provider)

// WithRetryPolicy replaces [providers.DefaultRetryPolicy].
func WithRetryPolicy(policy providers.RetryPolicy) Option {
	return func(p *Provider) { p.retry = policy }
}

// New returns a provider for the CryptoKey name
// ("projects/p/locations/l/keyRings/r/cryptoKeys/k") through client, for
// applications that build their own client. The provider turns off the
// client's retries for its calls and retries under its own
// [providers.RetryPolicy]. Close does not close client. A name that is not a
// CryptoKey's makes every call fail with an error that says so.
//
// The client library logs requests, data keys included, when its logging is
// turned on at debug level (GOOGLE_SDK_GO_LOGGING_LEVEL=debug): give client
// option.WithLogger with a quiet logger, as key URLs do.
func New(client *kms.KeyManagementClient, name string, opts ...Option) *Provider {
	p := &Provider{client: client, name: name, badName: checkName(name), retry: providers.DefaultRetryPolicy()}
	for _, opt := range opts {
		opt(p)
	}
	return p
}

var (
	cryptoKeyName        = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)
	cryptoKeyVersionName = regexp.MustCompile(`^(projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+)/cryptoKeyVersions/[^/]+$`)
)

func checkName(name string) error {
	if cryptoKeyName.MatchString(name) {
		return nil
	}
	if m := cryptoKeyVersionName.FindStringSubmatch(name); m != nil {
		return fmt.Errorf("gcpkms: %s names a CryptoKeyVersion; name its CryptoKey %s instead: Cloud KMS encrypts with the key's primary version and decrypts with the version recorded in the ciphertext", name, m[1])
	}
	return fmt.Errorf("gcpkms: %q is not a CryptoKey name; want projects/<project>/locations/<location>/keyRings/<key ring>/cryptoKeys/<key>", name)
}

// noRetry turns off the client library's retries for one call:
// [providers.Retry] retries instead.
var noRetry = gax.WithRetry(func() gax.Retryer { return nil })

// Encrypt wraps plaintext with Encrypt on the CryptoKey, with the canonical
// JSON of ec as additional authenticated data.
func (p *Provider) Encrypt(ctx context.Context, plaintext []byte, ec map[string]string) ([]byte, error) {
	if p.badName != nil {
		return nil, &providers.Error{Op: opEncrypt, KeyURL: p.URL(), Err: p.badName}
	}
	aad := providers.CanonicalContext(ec)
	req := &kmspb.EncryptRequest{
		Name:                              p.name,
		Plaintext:                         plaintext,
		AdditionalAuthenticatedData:       aad,
		PlaintextCrc32C:                   checksum(plaintext),
		AdditionalAuthenticatedDataCrc32C: checksum(aad),
	}
	var ciphertext []byte
	err := p.call(ctx, opEncrypt, func(ctx context.Context) error {
		resp, err := p.client.Encrypt(ctx, req, noRetry)
		if err != nil {
			return err
		}
		if err := p.verifyEncrypt(resp); err != nil {
			return err
		}
		ciphertext = resp.Ciphertext
		return nil
	})
	if err != nil {
		return nil, &providers.Error{Op: opEncrypt, KeyURL: p.URL(), Err: err}
	}
	return ciphertext, nil
}

// Decrypt unwraps ciphertext with Decrypt on the CryptoKey, with the
// canonical JSON of ec as additional authenticated data.
func (p *Provider) Decrypt(ctx context.Context, ciphertext []byte, ec map[string]string) ([]byte, error) {
	if p.badName != nil {
		return nil, &providers.Error{Op: opDecrypt, KeyURL: p.URL(), Err: p.badName}
	}
	aad := providers.CanonicalContext(ec)
	req := &kmspb.DecryptRequest{
		Name:                              p.name,
		Ciphertext:                        ciphertext,
		AdditionalAuthenticatedData:       aad,
		CiphertextCrc32C:                  checksum(ciphertext),
		AdditionalAuthenticatedDataCrc32C: checksum(aad),
	}
	var plaintext []byte
	err := p.call(ctx, opDecrypt, func(ctx context.Context) error {
		resp, err := p.client.Decrypt(ctx, req, noRetry)
		if err != nil {
			return err
		}
		if err := verifyDecrypt(resp); err != nil {
			return err
		}
		plaintext = resp.Plaintext
		return nil
	})
	if err != nil {
		return nil, &providers.Error{Op: opDecrypt, KeyURL: p.URL(), Err: err}
	}
	return plaintext, nil
}

// call runs one Cloud KMS operation under the retry policy and returns its
// error classified. When ctx ends, the error matches ctx.Err(): gRPC reports
// the end of a context as a status of its own.
func (p *Provider) call(ctx context.Context, op string, do func(context.Context) error) error {
	return providers.Retry(ctx, p.retry, providers.Transient, func(ctx context.Context) error {
		err := do(ctx)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
			return fmt.Errorf("%w (Cloud KMS %s on %s: %v)", ctx.Err(), permission(op), p.name, err)
		case ctx.Err() != nil:
			return err
		}
		return p.classify(op, err)
	})
}

// URL returns "gcpkms://" and the CryptoKey name; the endpoint is left out.
func (p *Provider) URL() string { return Scheme + "://" + p.name }

// Close closes the client of a provider opened from a key URL; the client of
// a provider made by [New] belongs to the caller.
func (p *Provider) Close() error {
	if p.ownsClient {
		return p.client.Close()
	}
	return nil
}
