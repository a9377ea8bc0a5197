package kmsenc

import (
	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// The errors kmsenc returns, matchable with errors.Is. Each is the sentinel of
// the package that detects the condition, so a test of any layer and an
// application see the same value.
var (
	// ErrUnsupportedStatement: a statement touches encrypted data in a way
	// kmsenc can't rewrite exactly. Nothing was sent to the database. The
	// error says why and what to do instead (a *rewrite.RefusalError).
	ErrUnsupportedStatement = rewrite.ErrUnsupported
	// ErrDecrypt: a value or key failed authentication: it was tampered with,
	// moved to another row or column, or written without kmsenc.
	ErrDecrypt = providers.ErrDecrypt
	// ErrKeyAccessDenied: the key management service refused (decrypt
	// permission revoked, key disabled, encrypt-only identity).
	ErrKeyAccessDenied = providers.ErrAccessDenied
	// ErrKeyUnavailable: the key management service could not be reached, or
	// throttled, after retries.
	ErrKeyUnavailable = providers.ErrUnavailable
	// ErrConfig: the schema file or options are wrong; the message names the
	// file, line and field.
	ErrConfig = schema.ErrConfig
)
