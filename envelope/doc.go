// Package envelope holds kmsenc's cryptography, apart from any SQL: data keys
// and the sealing of values with them ([DataKey]), the plaintext codec of the
// declared column types ([Encode], [Decode]), the wire formats of the key
// column and of stored values ([FormatWrappedKey], [StoreValue]), the
// [Keyring] that wraps and unwraps data keys with versioned master keys
// behind a cache, and the [Box] for single values outside SQL.
//
// Envelope encryption: each row gets a fresh 32-byte data key. The data key
// encrypts the row's declared values with AES-256-GCM, under associated data
// "<table>.<column>" so a value can't be moved to another column; a KMS
// ([providers.Provider]) wraps the data key under a master key, bound to the
// row's encryption [Context], and the wrapped key is stored in the row as
// "v<version>:<base64>", the format of the Ruby gem kms_encrypted.
//
// Plaintext data keys never appear in errors, events or formatted output.
package envelope
