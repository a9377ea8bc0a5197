package gcpkms

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kmsenc/kmsenc/providers"
)

const (
	opEncrypt = "encrypt"
	opDecrypt = "decrypt"
)

// permission is the IAM permission an operation needs on the key, and role
// the predefined role that grants it.
func permission(op string) string {
	if op == opDecrypt {
		return "cloudkms.cryptoKeyVersions.useToDecrypt"
	}
	return "cloudkms.cryptoKeyVersions.useToEncrypt"
}

func role(op string) string {
	if op == opDecrypt {
		return "roles/cloudkms.cryptoKeyDecrypter"
	}
	return "roles/cloudkms.cryptoKeyEncrypter"
}

// kmsError is a failed call in kmsenc's terms: it matches kind (one of the
// providers errors, or nil when none fits) and the client library's error,

// kmsError is the providers package's CallError under a local name.
type kmsError = providers.CallError

// classify turns a gRPC status of a Cloud KMS operation into kmsenc's terms.
// An error already classified (an integrity check) is returned as it is.
func (p *Provider) classify(op string, err error) error {
	var ke *kmsError
	if errors.As(err, &ke) {
		return err
	}
	perm, key := permission(op), p.name
	st := status.Convert(err)
	detail := st.Code().String()
	if m := st.Message(); m != "" {
		detail += ": " + m
	}
	classified := func(kind error, format string, args ...any) error {
		return &kmsError{Kind: kind, Msg: fmt.Sprintf(format, args...), Cause: err}
	}
	switch st.Code() {
	case codes.PermissionDenied:
		return classified(providers.ErrAccessDenied, "Cloud KMS denied %s on %s (%s); grant this service's account %s on the key, e.g. with %s", perm, key, detail, perm, role(op))
	case codes.Unauthenticated:
		return classified(providers.ErrAccessDenied, "Cloud KMS rejected this service's credentials for %s on %s (%s); check Application Default Credentials", perm, key, detail)
	case codes.FailedPrecondition:
		return classified(providers.ErrAccessDenied, "Cloud KMS refused %s on %s: the key version is not enabled, for example disabled or destroyed (%s)", perm, key, detail)
	case codes.NotFound:
		return classified(providers.ErrAccessDenied, "Cloud KMS refused %s: no key %s (%s); check the key URL", perm, key, detail)
	case codes.InvalidArgument:
		if op == opDecrypt {
			return classified(providers.ErrDecrypt, "Cloud KMS could not decrypt the wrapped key with %s and this encryption context (%s)", key, detail)
		}
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Internal, codes.Aborted:
		return classified(providers.ErrUnavailable, "Cloud KMS did not complete %s on %s (%s)", perm, key, detail)
	}
	return classified(nil, "Cloud KMS %s on %s failed (%s)", perm, key, detail)
}
