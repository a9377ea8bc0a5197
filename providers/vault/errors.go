package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/kmsenc/kmsenc/providers"
)

// Transit's messages that classify a failure, from Vault's keysutil and
// crypto/cipher.
const (
	msgTooOld         = "disallowed by policy (too old)" // the key's min_decryption_version
	msgAuthentication = "message authentication failed"  // wrong context, tampered ciphertext
	msgBadCiphertext  = "invalid ciphertext"             // not a ciphertext of this key
	msgNoCiphertext   = "missing ciphertext"
	msgKeyNotFound    = "encryption key not found"
	msgNoDecryption   = "decryption not supported for key type"
	msgNoEncryption   = "encryption not supported for key type"
)

// vaultError is a failed call in kmsenc's terms: it matches kind (one of the
// providers errors, or nil when none fits) and the client's error, and reads

// vaultError is the providers package's CallError under a local name.
type vaultError = providers.CallError

// capability names what the token needs for an operation, for the advice of
// an access-denied error.
func (p *Provider) capability(op string) string {
	return fmt.Sprintf(`give this service's Vault token a policy with the "update" capability on %s/%s/%s`, p.mount, op, p.key)
}

// classify turns the client's error of one request into kmsenc's terms.
func (p *Provider) classify(op string, a answer) error {
	var re *api.ResponseError
	if !errors.As(a.err, &re) {
		return p.transportError(op, a.err)
	}
	var detail string
	if !re.RawError { // a raw body is a proxy's page, not Vault's message
		detail = vaultMessage(re.Errors)
	}
	return p.classifyMessage(op, re.StatusCode, detail, re)
}

// vaultMessage is Vault's errors on one line: Vault often sends a
// multierror's text ("1 error occurred:\n\t* permission denied\n\n").
func vaultMessage(errs []string) string {
	var parts []string
	for _, e := range errs {
		for line := range strings.Lines(e) {
			line = strings.TrimSpace(line)
			line = strings.TrimSpace(strings.TrimPrefix(line, "* "))
			if line == "" || strings.HasSuffix(line, "error occurred:") || strings.HasSuffix(line, "errors occurred:") {
				continue
			}
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

// classifyMessage classifies Vault's refusal of op with an HTTP status and
// message; a failed item of a batch comes here with status 400.
func (p *Provider) classifyMessage(op string, status int, detail string, cause error) error {
	fail := func(kind error, format string, args ...any) error {
		return &vaultError{Kind: kind, Msg: fmt.Sprintf(format, args...), Cause: cause}
	}
	shown := fmt.Sprintf("HTTP %d", status)
	if detail != "" {
		shown += ": " + detail
	}
	switch {
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		hint := ""
		if p.client.Token() == "" {
			hint = "; the Vault client has no token: set VAULT_TOKEN"
		}
		return fail(providers.ErrAccessDenied, "Vault denied %s with key %s (%s); %s%s", op, p.key, shown, p.capability(op), hint)
	case strings.Contains(detail, msgTooOld):
		return fail(providers.ErrAccessDenied, "Vault refused to %s: the wrapped key was made with a version of key %s below its min_decryption_version (%s); lower min_decryption_version on %s/keys/%[2]s/config to read it again", op, p.key, shown, p.mount)
	case strings.Contains(detail, msgKeyNotFound):
		return fail(providers.ErrAccessDenied, "Vault refused %s: the Transit engine at %s has no key %s (%s); create it with vault write -f %[2]s/keys/%[3]s derived=true, or check the key URL", op, p.mount, p.key, shown)
	case strings.Contains(detail, msgNoDecryption) || strings.Contains(detail, msgNoEncryption):
		return fail(providers.ErrAccessDenied, "Vault refused %s: key %s is not an encryption key (%s); use a key of type aes256-gcm96, the default", op, p.key, shown)
	case status == http.StatusNotFound:
		return fail(providers.ErrAccessDenied, "Vault has no Transit engine for %s/%s/%s (%s); check the key URL's mount parameter (default %s)", p.mount, op, p.key, shown, DefaultMount)
	case op != opEncrypt && (strings.Contains(detail, msgAuthentication) || strings.Contains(detail, msgBadCiphertext) || strings.Contains(detail, msgNoCiphertext)):
		return fail(providers.ErrDecrypt, "Vault could not decrypt the wrapped key with key %s and this encryption context (%s)", p.key, shown)
	case retryableStatus(status):
		return fail(providers.ErrUnavailable, "Vault did not complete %s with key %s (%s)", op, p.key, shown)
	}
	return fail(nil, "Vault %s with key %s failed (%s)", op, p.key, shown)
}

// retryableStatus is what the Vault client itself retries: 429 (a rate
// limit quota), 412 (a performance standby not yet caught up) and 5xx but
// 501; a sealed Vault answers 503.
func retryableStatus(status int) bool {
	retry, _ := api.DefaultRetryPolicy(context.Background(), &http.Response{StatusCode: status}, nil)
	return retry
}

// transportError classifies a request that got no answer.
func (p *Provider) transportError(op string, err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		// The client refused before sending: a token it can't send, or a
		// request it can't build.
		if strings.Contains(err.Error(), "token") {
			return &vaultError{Kind: providers.ErrAccessDenied, Msg: fmt.Sprintf("the Vault client can't send its token for %s with key %s: %v; check VAULT_TOKEN", op, p.key, err), Cause: err}
		}
		return &vaultError{Kind: nil, Msg: fmt.Sprintf("Vault %s with key %s failed: %v", op, p.key, err), Cause: err}
	}
	// What the Vault client would retry: connection errors, timeouts; not a
	// TLS certificate that fails verification.
	if retry, _ := api.DefaultRetryPolicy(context.Background(), nil, err); retry {
		return &vaultError{Kind: providers.ErrUnavailable, Msg: fmt.Sprintf("could not reach Vault at %s for %s with key %s: %v", p.address(), op, p.key, ue.Err), Cause: err}
	}
	return &vaultError{Kind: nil, Msg: fmt.Sprintf("Vault at %s could not be used for %s with key %s: %v", p.address(), op, p.key, ue.Err), Cause: err}
}

// address is the client's Vault address without user information.
func (p *Provider) address() string {
	u, err := url.Parse(p.client.Address())
	if err != nil {
		return "(unparsable address)"
	}
	u.User = nil
	return u.String()
}
