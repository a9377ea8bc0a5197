package envelope

import (
	"errors"

	"github.com/kmsenc/kmsenc/providers"
)

// ErrDecrypt is the error of a value or wrapped key that fails
// authentication: tampered with, moved to another column or row, or under
// another key or context. It is [providers.ErrDecrypt], so one errors.Is
// check covers failures of both the KMS and the data key.
var ErrDecrypt = providers.ErrDecrypt

// ErrNull is returned by [Encode] for nil: SQL NULL stays NULL and is never
// encrypted, so callers must keep it out of the codec.
var ErrNull = errors.New("kmsenc: NULL is stored as NULL, not encrypted")

// ErrUnknownVersion is the error of a wrapped key whose version prefix names
// no master key of the [Keyring].
var ErrUnknownVersion = errors.New("kmsenc: unknown master key version")
