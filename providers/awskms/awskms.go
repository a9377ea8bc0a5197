// Package awskms provides master keys in AWS KMS: the awskms:// scheme, with
// the URL conventions of gocloud.dev/secrets.
//
//	awskms://alias/app?region=us-east-1                                 # an alias
//	awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=us-east-1      # a key id
//	awskms:///arn:aws:kms:us-east-1:111122223333:key/1234abcd-...        # a key ARN, in the path
//	awskms://alias/app?region=us-east-1&endpoint=http://127.0.0.1:4566  # an emulator
//
// Parameters: region (else the ARN's region, else the SDK's: AWS_REGION or the
// profile), profile (a shared-config profile), endpoint (the base URL of a
// KMS-compatible server, for local-kms and other emulators). Credentials come
// from the SDK's default chain (environment, shared files, SSO, web identity,
// container and instance roles).
//
// A data key is wrapped with KMS Encrypt (KeyId, Plaintext, EncryptionContext)
// and unwrapped with Decrypt (CiphertextBlob, EncryptionContext, KeyId), the
// calls of the Ruby gem kms_encrypted, so both read each other's rows. The
// encryption context goes to KMS as its EncryptionContext map, which KMS binds
// to the ciphertext and writes to CloudTrail with every call. The service
// needs kms:Encrypt on the key to write rows and kms:Decrypt to read them.
//
// Because Decrypt names the URL's key, KMS refuses a ciphertext of another
// key (IncorrectKeyException, reported as [providers.ErrDecrypt]). Rotate to a
// new key with a new key version in the schema file, keeping the old URL in
// previous_versions, rather than by moving an alias to the new key. AWS's
// automatic rotation of a key's material keeps the key and needs nothing.
//
// Transient failures (network errors, throttling, KMS internal errors) are
// retried under a [providers.RetryPolicy]; the SDK's own retries are turned
// off so that the policy's bound holds.
package awskms

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kmsenc/kmsenc/providers"
)

// Scheme is the URL scheme this package registers.
const Scheme = "awskms"

func init() {
	providers.Register(Scheme, open)
}

// Provider is a [providers.Provider] for one AWS KMS key.
type Provider struct {
	client *kms.Client
	keyID  string // key id, key ARN, alias name or alias ARN
	url    string
	retry  providers.RetryPolicy
	creds  *aws.CredentialsCache // nil unless the client caches its credentials
}

var _ providers.Provider = (*Provider)(nil)

// Option configures a [Provider] made by [New].
type Option func(*Provider)

// WithRetryPolicy replaces [providers.DefaultRetryPolicy].
func WithRetryPolicy(policy providers.RetryPolicy) Option {
	return func(p *Provider) { p.retry = policy }
}

// New returns a provider for the KMS key keyID (a key id, key ARN, alias name
// such as "alias/app", or alias ARN) through client, for applications that
// build their own client. The provider makes one request per attempt: it
// turns off the client's retries for its calls and retries under its own
// [providers.RetryPolicy] instead.
func New(client *kms.Client, keyID string, opts ...Option) *Provider {
	o := client.Options()
	p := &Provider{
		client: client,
		keyID:  keyID,
		url:    keyURL(keyID, o.Region),
		retry:  providers.DefaultRetryPolicy(),
	}
	p.creds, _ = o.Credentials.(*aws.CredentialsCache)
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// keyURL is the URL that names the key in errors and events: its key and
// region, nothing else.
func keyURL(keyID, region string) string {
	var b strings.Builder
	b.WriteString(Scheme + "://")
	if strings.HasPrefix(keyID, "arn:") {
		b.WriteString("/")
	}
	b.WriteString(keyID)
	if region != "" {
		b.WriteString("?region=")
		b.WriteString(region)
	}
	return b.String()
}

// oneAttempt turns off the SDK's retries for one call, whatever the client's
// configuration: [providers.Retry] retries instead.
func oneAttempt(o *kms.Options) {
	o.Retryer = aws.NopRetryer{}
}

// encryptionContext passes no map for an empty context, as the gem does.
func encryptionContext(ec map[string]string) map[string]string {
	if len(ec) == 0 {
		return nil
	}
	return ec
}

// Encrypt wraps plaintext with KMS Encrypt under the provider's key, with ec
// as the EncryptionContext.
func (p *Provider) Encrypt(ctx context.Context, plaintext []byte, ec map[string]string) ([]byte, error) {
	in := &kms.EncryptInput{
		KeyId:             aws.String(p.keyID),
		Plaintext:         plaintext,
		EncryptionContext: encryptionContext(ec),
	}
	var out *kms.EncryptOutput
	err := p.call(ctx, opEncrypt, func(ctx context.Context) (err error) {
		out, err = p.client.Encrypt(ctx, in, oneAttempt)
		return err
	})
	if err != nil {
		return nil, &providers.Error{Op: opEncrypt, KeyURL: p.url, Err: err}
	}
	return out.CiphertextBlob, nil
}

// Decrypt unwraps ciphertext with KMS Decrypt, naming the provider's key so
// that KMS refuses a ciphertext of another key, with ec as the
// EncryptionContext.
func (p *Provider) Decrypt(ctx context.Context, ciphertext []byte, ec map[string]string) ([]byte, error) {
	in := &kms.DecryptInput{
		CiphertextBlob:    ciphertext,
		EncryptionContext: encryptionContext(ec),
		KeyId:             aws.String(p.keyID),
	}
	var out *kms.DecryptOutput
	err := p.call(ctx, opDecrypt, func(ctx context.Context) (err error) {
		out, err = p.client.Decrypt(ctx, in, oneAttempt)
		return err
	})
	if err != nil {
		return nil, &providers.Error{Op: opDecrypt, KeyURL: p.url, Err: err}
	}
	return out.Plaintext, nil
}

// call runs one KMS operation under the retry policy and returns its error
// classified. Cached credentials (as
// config.LoadDefaultConfig makes them) are resolved first, outside the
// retries: a missing or broken credential chain is a configuration error,
// which the SDK would report as a network error when the chain ends at the
// instance metadata service. Once resolved, this costs a cache lookup.
func (p *Provider) call(ctx context.Context, op string, do func(context.Context) error) error {
	if p.creds != nil {
		if _, err := p.creds.Retrieve(ctx); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return p.classify(op, &credentialsError{err})
		}
	}
	return providers.Retry(ctx, p.retry, providers.Transient, func(ctx context.Context) error {
		err := do(ctx)
		if err == nil || ctx.Err() != nil {
			return err // the SDK's error of an ended context matches ctx.Err()
		}
		return p.classify(op, err)
	})
}

// URL returns "awskms://<key>?region=<region>"; the endpoint and credentials
// are left out.
func (p *Provider) URL() string { return p.url }

// Close does nothing: the SDK's client holds no resources that need release.
func (p *Provider) Close() error { return nil }
