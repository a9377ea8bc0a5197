// Package vault provides master keys in HashiCorp Vault's Transit secrets
// engine: the hashivault:// scheme, with the URL conventions of
// gocloud.dev/secrets.
//
//	hashivault://app                          # key "app" on the mount "transit"
//	hashivault://app?mount=transit            # the same, with the mount spelled out
//	hashivault://app?mount=secrets/transit    # a Transit engine mounted elsewhere
//
// The Vault address, token, namespace and TLS settings come from the
// environment, as the Vault client reads them (VAULT_ADDR, VAULT_TOKEN,
// VAULT_NAMESPACE, VAULT_CACERT, ...): a key URL never holds a token.
//
// A data key is wrapped with POST <mount>/encrypt/<key> and unwrapped with
// POST <mount>/decrypt/<key>, the calls of the Ruby gem kms_encrypted, so both
// read each other's rows. The encryption context goes to Vault as the
// "context" parameter, base64 of [providers.CanonicalContext]
// ({"id":"123","table":"users"}). The stored ciphertext is the bytes of
// Vault's ASCII "vault:v1:..." string.
//
// The Transit key must be created with derived=true:
//
//	vault write -f transit/keys/app derived=true
//
// Only a derived key binds a ciphertext to its context: Vault ignores the
// context of a key that isn't derived, and then a wrapped key moved to another
// row would still decrypt. Derivation can't be turned on after the key is
// made. (Vault creates a missing key on the first encrypt when the token has
// the "create" capability; it makes such a key derived, because kmsenc always
// sends a context.)
//
// The service's token needs the "update" capability on
// <mount>/encrypt/<key> to write rows and on <mount>/decrypt/<key> to read
// them; an encrypt-only service gets the first alone:
//
//	path "transit/encrypt/app" { capabilities = ["update"] }
//	path "transit/decrypt/app" { capabilities = ["update"] }
//
// Decryption is cut off by removing the decrypt capability, or, for older
// key versions only, by raising the key's min_decryption_version after a
// rotation (vault write transit/keys/app/config min_decryption_version=2):
// both are reported as [providers.ErrAccessDenied]. After rotating the key
// (vault write -f transit/keys/app/rotate), [Provider.Rewrap] moves a wrapped
// key to the newest key version without the data key leaving Vault.
//
// A read of many rows unwraps their keys with one decrypt call (Transit's
// batch_input) through [Provider.DecryptBatch]. Transient failures (network
// errors, HTTP 429, 412 and 5xx, a sealed Vault) are retried under a
// [providers.RetryPolicy]; the Vault client's own retries are turned off so
// that the policy's bound holds.
package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/kmsenc/kmsenc/providers"
)

// Scheme is the URL scheme this package registers.
const Scheme = "hashivault"

// DefaultMount is the path of the Transit engine when a key URL or [New]
// names none.
const DefaultMount = "transit"

// maxBatchItems bounds the items of one decrypt call. Vault itself bounds a
// request by its size (max_request_size, 32 MiB by default); a thousand
// items of about 200 bytes each keep a request small, and a read-ahead
// window of the default 256 rows goes in one call.
const maxBatchItems = 1000

func init() {
	providers.Register(Scheme, open)
}

// Provider is a [providers.Provider] for one key of a Vault Transit engine.
type Provider struct {
	client   *api.Client
	key      string // the Transit key's name
	mount    string // the engine's mount path, without slashes at either end
	url      string
	retry    providers.RetryPolicy
	maxBatch int
	close    func() // releases what open made; nil for a provider made by New
}

var (
	_ providers.Provider       = (*Provider)(nil)
	_ providers.BatchDecrypter = (*Provider)(nil)
)

// Option configures a [Provider] made by [New].
type Option func(*Provider)

// WithMount names the path where the Transit engine is mounted
// (default [DefaultMount]).
func WithMount(mount string) Option {
	return func(p *Provider) { p.mount = strings.Trim(mount, "/") }
}

// WithRetryPolicy replaces [providers.DefaultRetryPolicy].
func WithRetryPolicy(policy providers.RetryPolicy) Option {
	return func(p *Provider) { p.retry = policy }
}

// New returns a provider for the Transit key keyName through client, for
// applications that build their own Vault client; the provider reads the
// client's address, token and namespace at every call, so a token the
// application renews or replaces is used from then on.
//
// New turns off the client's own retries (client.SetMaxRetries(0)): the
// provider makes one request per attempt and retries under its own
// [providers.RetryPolicy] instead. Give the provider a client of its own
// (client.Clone) if other code relies on the client's retries.
func New(client *api.Client, keyName string, opts ...Option) *Provider {
	client.SetMaxRetries(0)
	p := &Provider{
		client:   client,
		key:      keyName,
		mount:    DefaultMount,
		retry:    providers.DefaultRetryPolicy(),
		maxBatch: maxBatchItems,
	}
	for _, opt := range opts {
		opt(p)
	}
	if p.mount == "" {
		p.mount = DefaultMount
	}
	p.url = Scheme + "://" + p.key + "?mount=" + p.mount
	return p
}

const (
	opEncrypt = "encrypt"
	opDecrypt = "decrypt"
	opRewrap  = "rewrap"
)

// transitContext is the context parameter of Transit: base64 of the
// canonical JSON, as kms_encrypted sends it. An empty context is "{}", so
// that a derived key always gets one.
func transitContext(ec map[string]string) string {
	return base64.StdEncoding.EncodeToString(providers.CanonicalContext(ec))
}

// Encrypt wraps plaintext with <mount>/encrypt/<key>, with ec as the
// derivation context. The result is Vault's "vault:vN:..." string.
func (p *Provider) Encrypt(ctx context.Context, plaintext []byte, ec map[string]string) ([]byte, error) {
	body := map[string]any{
		"plaintext": base64.StdEncoding.EncodeToString(plaintext),
		"context":   transitContext(ec),
	}
	out, err := p.call(ctx, opEncrypt, body)
	if err == nil && !strings.HasPrefix(out.Data.Ciphertext, "vault:") {
		err = fmt.Errorf("the Vault server answered %s/%s/%s without a vault:v... ciphertext", p.mount, opEncrypt, p.key)
	}
	if err != nil {
		return nil, &providers.Error{Op: opEncrypt, KeyURL: p.url, Err: err}
	}
	return []byte(out.Data.Ciphertext), nil
}

// Decrypt unwraps ciphertext, a "vault:vN:..." string, with
// <mount>/decrypt/<key> and ec as the derivation context.
func (p *Provider) Decrypt(ctx context.Context, ciphertext []byte, ec map[string]string) ([]byte, error) {
	plaintext, err := p.decrypt(ctx, ciphertext, ec)
	if err != nil {
		return nil, &providers.Error{Op: opDecrypt, KeyURL: p.url, Err: err}
	}
	return plaintext, nil
}

func (p *Provider) decrypt(ctx context.Context, ciphertext []byte, ec map[string]string) ([]byte, error) {
	if err := p.checkCiphertext(ciphertext); err != nil {
		return nil, err
	}
	out, err := p.call(ctx, opDecrypt, map[string]any{
		"ciphertext": string(ciphertext),
		"context":    transitContext(ec),
	})
	if err != nil {
		return nil, err
	}
	return p.plaintext(out.Data.Plaintext)
}

// Rewrap re-encrypts ciphertext under the newest version of the key with
// <mount>/rewrap/<key>, with ec as the derivation context, for rotating
// rows after the key was rotated: the data key never leaves Vault. The token
// needs the "update" capability on <mount>/rewrap/<key>. A failure is a
// [*providers.Error] of Op "rewrap", matching the same kinds as Decrypt's.
func (p *Provider) Rewrap(ctx context.Context, ciphertext []byte, ec map[string]string) ([]byte, error) {
	err := p.checkCiphertext(ciphertext)
	var out *transitResponse
	if err == nil {
		out, err = p.call(ctx, opRewrap, map[string]any{
			"ciphertext": string(ciphertext),
			"context":    transitContext(ec),
		})
	}
	if err == nil && !strings.HasPrefix(out.Data.Ciphertext, "vault:") {
		err = fmt.Errorf("the Vault server answered %s/%s/%s without a vault:v... ciphertext", p.mount, opRewrap, p.key)
	}
	if err != nil {
		return nil, &providers.Error{Op: opRewrap, KeyURL: p.url, Err: err}
	}
	return []byte(out.Data.Ciphertext), nil
}

// checkCiphertext refuses, without a call, what can't be a Transit
// ciphertext: Vault's are printable ASCII, and anything else would not even
// survive the JSON request intact.
func (p *Provider) checkCiphertext(ciphertext []byte) error {
	ok := len(ciphertext) > 0
	for _, c := range ciphertext {
		ok = ok && c > ' ' && c < 0x7f
	}
	if !ok {
		return &vaultError{Kind: providers.ErrDecrypt, Msg: fmt.Sprintf("the wrapped key is not a Vault Transit ciphertext (vault:v<n>:<base64>) of key %s", p.key), Cause: nil}
	}
	return nil
}

// plaintext decodes Transit's base64 plaintext.
func (p *Provider) plaintext(b64 string) ([]byte, error) {
	pt, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("the Vault server answered a plaintext that is not base64")
	}
	return pt, nil
}

// call runs one Transit operation on the key under the retry policy and
// returns Vault's answer, or its error classified.
func (p *Provider) call(ctx context.Context, op string, body map[string]any) (*transitResponse, error) {
	var out *transitResponse
	err := providers.Retry(ctx, p.retry, providers.Transient, func(ctx context.Context) error {
		a := p.send(ctx, op, body)
		switch {
		case a.err == nil && a.body != nil:
			out = a.body
			return nil
		case a.err == nil:
			return fmt.Errorf("the Vault server answered %s/%s/%s with HTTP %d and a body that is not Vault's JSON", p.mount, op, p.key, a.status)
		case ctx.Err() != nil:
			return a.err // the client's error of an ended context is ctx.Err()
		}
		return p.classify(op, a)
	})
	return out, err
}

// URL returns "hashivault://<key>?mount=<mount>"; the Vault address and
// token are left out.
func (p *Provider) URL() string { return p.url }

// Close releases the idle connections of a provider opened from a key URL.
// It leaves the client of [New] alone: the application owns it.
func (p *Provider) Close() error {
	if p.close != nil {
		p.close()
	}
	return nil
}
