package awskms

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kmsenc/kmsenc/providers"
)

const (
	opEncrypt = "encrypt"
	opDecrypt = "decrypt"
)

// permission is the IAM action an operation needs on the key.
func permission(op string) string {
	if op == opDecrypt {
		return "kms:Decrypt"
	}
	return "kms:Encrypt"
}

// transientCodes are the KMS errors worth another attempt, besides the
// SDK's throttling codes and HTTP 5xx.
var transientCodes = map[string]bool{
	"ThrottlingException":         true,
	"LimitExceededException":      true, // the request rate quota of the account
	"KMSInternalException":        true,
	"DependencyTimeoutException":  true,
	"KeyUnavailableException":     true, // a custom key store's backend is briefly unavailable
	"ServiceUnavailable":          true,
	"ServiceUnavailableException": true,
	"InternalFailure":             true,
}

// retryable is the classification of [providers.Retry]: a KMS error code
// listed in transientCodes, or what the SDK itself would retry (connection
// errors, throttling codes, HTTP 500, 502, 503, 504).
func retryable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && transientCodes[api.ErrorCode()] {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// credentialsError is a failure of the SDK's credential chain, before any
// request to KMS.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// kmsError is a failed call in kmsenc's terms: it matches kind (one of the
// providers errors, or nil when none fits) and the SDK's error, and reads as

// kmsError is the providers package's CallError under a local name.
type kmsError = providers.CallError

// classify turns the SDK's error of a KMS operation into kmsenc's terms.
func (p *Provider) classify(op string, err error) error {
	perm, key := permission(op), p.keyID
	denied := func(format string, args ...any) error {
		return &kmsError{Kind: providers.ErrAccessDenied, Msg: fmt.Sprintf(format, args...), Cause: err}
	}
	var ce *credentialsError
	if errors.As(err, &ce) {
		return denied("no AWS credentials for %s on key %s: %v; give the SDK's default chain credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role)", perm, key, ce.err)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		detail := api.ErrorCode()
		if m := api.ErrorMessage(); m != "" {
			detail += ": " + m
		}
		switch api.ErrorCode() {
		case "AccessDeniedException":
			return denied("AWS KMS denied %s on key %s (%s); grant %[1]s on the key to this service's IAM principal in the key policy or an IAM policy", perm, key, detail)
		case "DisabledException":
			return denied("AWS KMS refused %s: key %s is disabled (%s)", perm, key, detail)
		case "KMSInvalidStateException":
			return denied("AWS KMS refused %s: key %s is not usable, for example pending deletion (%s); cancel its deletion and enable it", perm, key, detail)
		case "NotFoundException":
			return denied("AWS KMS refused %s: no key %s in region %s (%s); check the key URL's key and region", perm, key, p.client.Options().Region, detail)
		case "InvalidKeyUsageException":
			return denied("AWS KMS refused %s: key %s is not a symmetric ENCRYPT_DECRYPT key (%s)", perm, key, detail)
		case "InvalidGrantTokenException":
			return denied("AWS KMS refused %s on key %s: the grant token is invalid (%s)", perm, key, detail)
		case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
			"IncompleteSignature", "MissingAuthenticationToken", "ExpiredTokenException":
			return denied("AWS rejected this service's credentials for %s on key %s (%s); check the credentials that the SDK's default chain finds", perm, key, detail)
		case "InvalidCiphertextException":
			return &kmsError{Kind: providers.ErrDecrypt, Msg: fmt.Sprintf("AWS KMS could not decrypt the wrapped key with key %s and this encryption context (%s)", key, detail), Cause: err}
		case "IncorrectKeyException":
			return &kmsError{Kind: providers.ErrDecrypt, Msg: fmt.Sprintf("the wrapped key was encrypted under another KMS key than %s (%s)", key, detail), Cause: err}
		}
		if retryable(err) {
			return &kmsError{Kind: providers.ErrUnavailable, Msg: fmt.Sprintf("AWS KMS did not complete %s on key %s (%s%s)", perm, key, httpStatus(err), detail), Cause: err}
		}
		return &kmsError{Kind: nil, Msg: fmt.Sprintf("AWS KMS %s on key %s failed (%s%s)", perm, key, httpStatus(err), detail), Cause: err}
	}
	if status := httpStatus(err); status != "" && retryable(err) {
		// A response that isn't KMS's JSON: a proxy or load balancer in between.
		return &kmsError{Kind: providers.ErrUnavailable, Msg: fmt.Sprintf("AWS KMS answered %s on key %s with %s", perm, key, strings.TrimSuffix(status, ", ")), Cause: err}
	}
	if retryable(err) {
		return &kmsError{Kind: providers.ErrUnavailable, Msg: fmt.Sprintf("could not reach AWS KMS for %s on key %s: %v", perm, key, transportError(err)), Cause: err}
	}
	return &kmsError{Kind: nil, Msg: fmt.Sprintf("AWS KMS %s on key %s failed: %v", perm, key, err), Cause: err}
}

func httpStatus(err error) string {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		return fmt.Sprintf("HTTP %d, ", re.HTTPStatusCode())
	}
	return ""
}

// transportError is the error of the HTTP client, without the SDK's
// operation wrapping.
func transportError(err error) error {
	var rse *smithyhttp.RequestSendError
	if errors.As(err, &rse) && rse.Err != nil {
		return rse.Err
	}
	return err
}
