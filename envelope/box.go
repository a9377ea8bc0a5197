package envelope

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
)

// boxAAD is the associated data of a boxed value, so that a value sealed
// for a column can't be passed off as a box and the reverse.
const boxAAD = "kmsenc.box"

// Box encrypts single values outside SQL with a fresh data key each, the
// counterpart of kms_encrypted's KmsEncrypted::Box. A boxed value is one
// string holding everything but the master key:
//
//	v<version>:<base64 wrapped data key>:<base64 sealed value>
type Box struct {
	keyring *Keyring
}

// NewBox returns a Box that wraps its data keys with k.
func NewBox(k *Keyring) *Box { return &Box{keyring: k} }

// Encrypt seals plaintext under a new data key wrapped under ec.
func (b *Box) Encrypt(ctx context.Context, plaintext []byte, ec Context) (string, error) {
	dk, wrapped, err := b.keyring.Wrap(ctx, ec)
	if err != nil {
		return "", err
	}
	sealed := dk.Seal(boxAAD, plaintext)
	var s strings.Builder
	s.Grow(len(wrapped) + 1 + base64.StdEncoding.EncodedLen(len(sealed)))
	s.WriteString(wrapped)
	s.WriteByte(':')
	s.WriteString(base64.StdEncoding.EncodeToString(sealed))
	return s.String(), nil
}

// Decrypt opens a value of Encrypt; ec must be the context it was encrypted
// under. Tampering fails with an error wrapping [ErrDecrypt].
func (b *Box) Decrypt(ctx context.Context, boxed string, ec Context) ([]byte, error) {
	i := strings.LastIndexByte(boxed, ':')
	if i < 0 || strings.IndexByte(boxed, ':') == i {
		return nil, fmt.Errorf("%w: not a kmsenc box: want v<version>:<wrapped key>:<value>", ErrDecrypt)
	}
	sealed, err := base64.StdEncoding.DecodeString(boxed[i+1:])
	if err != nil {
		return nil, fmt.Errorf("%w: the value part of the box is not base64", ErrDecrypt)
	}
	dk, err := b.keyring.Unwrap(ctx, boxed[:i], ec)
	if err != nil {
		return nil, err
	}
	return dk.Open(boxAAD, sealed)
}
