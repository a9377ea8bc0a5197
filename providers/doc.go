// Package providers defines how kmsenc talks to a key management service: the
// [Provider] interface that wraps and unwraps data keys under one master key,
// and the registry that opens a [Provider] from a key URL.
//
// Each KMS lives in its own sub-package that registers a URL scheme in its
// init function, so a program links only the SDKs it uses:
//
//	import _ "github.com/kmsenc/kmsenc/providers/awskms"     // awskms://
//	import _ "github.com/kmsenc/kmsenc/providers/gcpkms"     // gcpkms://
//	import _ "github.com/kmsenc/kmsenc/providers/vault"      // hashivault://
//	import _ "github.com/kmsenc/kmsenc/providers/local"      // base64key://
//
// Failures are reported as [*Error], which matches [ErrAccessDenied],
// [ErrUnavailable] or [ErrDecrypt] with errors.Is. The encryption context is
// serialized for KMSs that take bytes by [CanonicalContext], in the format of
// the Ruby gem kms_encrypted.
package providers
