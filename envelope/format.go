package envelope

import (
	"bytes"
	"database/sql/driver"
	"encoding/base64"
	"fmt"
	"strconv"
)

// StoreValue returns what is stored in a declared column for a sealed value:
// standard base64 text (a string) in a text-family column, the raw bytes
// ([]byte) in a binary one (bytea, blob, varbinary).
func StoreValue(sealed []byte, binary bool) driver.Value {
	if binary {
		return sealed
	}
	return base64.StdEncoding.EncodeToString(sealed)
}

// LoadValue is the inverse of [StoreValue] for what a driver returns (string
// or []byte): base64 is decoded for a text column, raw bytes are taken as they
// are for a binary one. The result never aliases v, which a driver may reuse
// on its next row. A value that can't be a kmsenc ciphertext, such as
// plaintext written without kmsenc, fails with an error wrapping
// [ErrDecrypt]. NULL is the caller's to handle: nil fails with [ErrNull].
func LoadValue(v driver.Value, binary bool) ([]byte, error) {
	var raw []byte
	switch v := v.(type) {
	case nil:
		return nil, ErrNull
	case []byte:
		raw = v
	case string:
		if binary {
			raw = []byte(v)
			break
		}
		return decodeStored([]byte(v))
	default:
		return nil, fmt.Errorf("%w: an encrypted column must come back as text or bytes, got %T: is the column's SQL type right?", ErrDecrypt, v)
	}
	if binary {
		if len(raw) < sealOverhead {
			return nil, notCiphertext()
		}
		return clone(raw), nil
	}
	return decodeStored(raw)
}

func decodeStored(text []byte) ([]byte, error) {
	text = bytes.TrimRight(text, " ") // blank padding of CHAR(n)
	sealed := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(sealed, text)
	if err != nil || n < sealOverhead {
		return nil, notCiphertext()
	}
	return sealed[:n], nil
}

func notCiphertext() error {
	return fmt.Errorf("%w: not a kmsenc ciphertext: the column holds plaintext or was written without kmsenc", ErrDecrypt)
}

// FormatWrappedKey returns the key column value of a provider ciphertext:
// "v<version>:" and the ciphertext in padded standard base64, the format of
// kms_encrypted 1.x.
func FormatWrappedKey(version int, ciphertext []byte) string {
	b := make([]byte, 0, 2+20+base64.StdEncoding.EncodedLen(len(ciphertext)))
	b = append(b, 'v')
	b = strconv.AppendInt(b, int64(version), 10)
	b = append(b, ':')
	b = base64.StdEncoding.AppendEncode(b, ciphertext)
	return string(b)
}

// ParseWrappedKey splits a key column value into its version and the
// provider ciphertext. Like kms_encrypted it accepts /\Av(\d+):/ followed by
// base64; values without the prefix, from kms_encrypted before 1.0, are not
// supported. Errors wrap [ErrDecrypt] and never echo the value.
func ParseWrappedKey(s string) (version int, ciphertext []byte, err error) {
	i := 1
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if len(s) == 0 || s[0] != 'v' || i == 1 || i == len(s) || s[i] != ':' {
		return 0, nil, fmt.Errorf("%w: the key column value doesn't start with a version prefix like v1: (values written by kms_encrypted before 1.0 are not supported: rotate them with the gem first)", ErrDecrypt)
	}
	version, err = strconv.Atoi(s[1:i])
	if err != nil {
		return 0, nil, fmt.Errorf("%w: the key column's version prefix is out of range", ErrDecrypt)
	}
	ciphertext, err = base64.StdEncoding.DecodeString(s[i+1:])
	if err != nil || len(ciphertext) == 0 {
		return 0, nil, fmt.Errorf("%w: the key column value v%d: is not followed by base64 of a wrapped key", ErrDecrypt, version)
	}
	return version, ciphertext, nil
}

// StoredSize returns the length of what [StoreValue] stores for a plaintext
// of n encoded bytes: characters of base64 in a text column, bytes in a
// binary one.
func StoredSize(n int, binary bool) int {
	if binary {
		return n + sealOverhead
	}
	return base64.StdEncoding.EncodedLen(n + sealOverhead)
}
