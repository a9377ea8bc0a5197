package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"log/slog"
)

// DataKeySize is the size of a data key: AES-256.
const DataKeySize = 32

// sealOverhead is what Seal adds to a plaintext: nonce(12) and tag(16).
const sealOverhead = 12 + 16

// DataKey is a 32-byte AES-256-GCM key that encrypts the values of one row.
// It is safe for concurrent use. Formatting it with fmt or slog never shows
// the key.
type DataKey struct {
	// Two pointers deep, so that even a reflective printer that bypasses the
	// methods below prints addresses, not the key or its AES key schedule:
	// fmt dereferences one pointer of an unexported field for a verb that
	// doesn't fit it (%s of a struct holding a DataKey), never two.
	s *dataKeyState
}

type dataKeyState struct {
	key  *[DataKeySize]byte
	aead cipher.AEAD
}

// NewDataKey returns a fresh random data key from crypto/rand.
func NewDataKey() (*DataKey, error) {
	var key [DataKeySize]byte
	rand.Read(key[:]) // never fails: it crashes the program instead
	return newDataKey(&key)
}

// DataKeyFromBytes returns the data key b, which must be 32 bytes. b is copied.
func DataKeyFromBytes(b []byte) (*DataKey, error) {
	if len(b) != DataKeySize {
		return nil, fmt.Errorf("%w: a data key is %d bytes, got %d: the KMS returned something that isn't a kmsenc data key", ErrDecrypt, DataKeySize, len(b))
	}
	key := new([DataKeySize]byte)
	copy(key[:], b)
	return newDataKey(key)
}

func newDataKey(key *[DataKeySize]byte) (*DataKey, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	// The random-nonce GCM writes nonce(12) || ciphertext || tag(16), the
	// layout of Lockbox, and keeps nonce handling out of our code.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &DataKey{s: &dataKeyState{key: key, aead: aead}}, nil
}

// bytes returns the plaintext key, to be wrapped by a KMS. Callers must not
// modify or keep it.
func (k *DataKey) bytes() []byte { return k.s.key[:] }

// Seal encrypts plaintext with associated data aad and returns
// nonce(12) || ciphertext || tag(16), with a random nonce. An empty aad is no
// associated data.
func (k *DataKey) Seal(aad string, plaintext []byte) []byte {
	out := make([]byte, 0, len(plaintext)+sealOverhead)
	return k.s.aead.Seal(out, nil, plaintext, aadBytes(aad))
}

// Open decrypts the output of Seal made with the same key and aad. An error
// wraps [ErrDecrypt] and names aad (the table.column the value belongs to).
func (k *DataKey) Open(aad string, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead {
		return nil, fmt.Errorf("%w: the value%s is %d bytes, too short to be a kmsenc ciphertext (nonce and tag alone are %d)", ErrDecrypt, forAAD(aad), len(sealed), sealOverhead)
	}
	plaintext, err := k.s.aead.Open(nil, nil, sealed, aadBytes(aad))
	if err != nil {
		return nil, fmt.Errorf("%w: the value%s was tampered with, or moved from another column or row", ErrDecrypt, forAAD(aad))
	}
	return plaintext, nil
}

func aadBytes(aad string) []byte {
	if aad == "" {
		return nil
	}
	return []byte(aad)
}

func forAAD(aad string) string {
	if aad == "" {
		return ""
	}
	return " of " + aad
}

const redacted = "envelope.DataKey(redacted)"

// String returns a placeholder, never the key.
func (k DataKey) String() string { return redacted }

// GoString returns a placeholder, never the key.
func (k DataKey) GoString() string { return redacted }

// Format prints a placeholder for every verb, never the key.
func (k DataKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue returns a placeholder for log/slog, never the key.
func (k DataKey) LogValue() slog.Value { return slog.StringValue(redacted) }
