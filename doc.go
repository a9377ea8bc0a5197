// Package kmsenc is a database/sql driver that wraps a real driver (pgx for
// PostgreSQL, go-sql-driver/mysql for MySQL and MariaDB) and transparently
// encrypts the columns that a schema file declares.
//
// Each row gets its own 256-bit data key. The data key is wrapped by a key
// management service (AWS KMS, Google Cloud KMS, HashiCorp Vault Transit, or
// a local key for development) and stored in the row's key column,
// encrypted_kms_key by default. Declared columns hold AES-256-GCM ciphertext
// whose associated data names the table and column. Master keys never reach
// the application; the KMS audit log records one unwrap per row read.
//
// Open a database through a dialect package, which registers the driver:
//
//	import _ "github.com/kmsenc/kmsenc/postgres" // registers "kmsenc+postgres"
//
//	db, err := sql.Open("kmsenc+postgres",
//		"postgres://app@db:5432/app?kmsenc_config=/etc/app/kmsenc.yaml")
//
// Statements that touch encrypted tables are rewritten exactly, or refused
// with an error matching [ErrUnsupportedStatement] before anything is sent:
// no plaintext of a declared column ever reaches the database, and no
// ciphertext ever reaches the application as if it were plaintext.
package kmsenc
