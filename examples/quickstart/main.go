// Command quickstart runs kmsenc end to end against a PostgreSQL database: it
// creates a table, writes a row through kmsenc, and prints the row as the
// application sees it and as it lies in the database.
//
//	go run ./examples/quickstart
//
// It reads KMSENC_TEST_POSTGRES_DSN (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and uses a fresh
// development key (base64key://), never for production.
package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx": the plain driver, to show the raw row

	_ "github.com/kmsenc/kmsenc/postgres" // "kmsenc+postgres"
	_ "github.com/kmsenc/kmsenc/providers/local"
)

const schemaFile = `key:
  url: base64key://${KMSENC_DEV_KEY}
tables:
  quickstart_users:
    columns:
      email: text
      ssn: text
`

func main() {
	log.SetFlags(0)
	dsn := os.Getenv("KMSENC_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}

	// A development master key, read by the schema file from the environment.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		log.Fatal(err)
	}
	os.Setenv("KMSENC_DEV_KEY", base64.URLEncoding.EncodeToString(key))
	dir, err := os.MkdirTemp("", "kmsenc-quickstart")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "kmsenc.yaml")
	if err := os.WriteFile(cfg, []byte(schemaFile), 0o600); err != nil {
		log.Fatal(err)
	}

	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer raw.Close()
	for _, ddl := range []string{
		`DROP TABLE IF EXISTS quickstart_users`,
		`CREATE TABLE quickstart_users (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text)`,
	} {
		if _, err := raw.Exec(ddl); err != nil {
			log.Fatalf("%v (is PostgreSQL running at %s? set KMSENC_TEST_POSTGRES_DSN)", err, dsn)
		}
	}

	// The application's side: the same SQL as with plain pgx.
	u, err := url.Parse(dsn)
	if err != nil {
		log.Fatal(err)
	}
	q := u.Query()
	q.Set("kmsenc_config", cfg)
	u.RawQuery = q.Encode()
	db, err := sql.Open("kmsenc+postgres", u.String())
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO quickstart_users (id, name, email, ssn) VALUES ($1, $2, $3, $4)`,
		1, "Ada", "ada@example.com", "123-45-6789"); err != nil {
		log.Fatal(err)
	}

	var name, email, ssn string
	if err := db.QueryRow(`SELECT name, email, ssn FROM quickstart_users WHERE id = $1`, 1).Scan(&name, &email, &ssn); err != nil {
		log.Fatal(err)
	}
	fmt.Println("as the application sees it (kmsenc+postgres):")
	fmt.Printf("  name=%s email=%s ssn=%s\n\n", name, email, ssn)

	var rawEmail, rawSSN, rawKey string
	if err := raw.QueryRow(`SELECT email, ssn, encrypted_kms_key FROM quickstart_users WHERE id = 1`).Scan(&rawEmail, &rawSSN, &rawKey); err != nil {
		log.Fatal(err)
	}
	fmt.Println("as it lies in the database (plain pgx):")
	fmt.Printf("  name=%s\n  email=%s\n  ssn=%s\n  encrypted_kms_key=%s\n", name, rawEmail, rawSSN, rawKey)
}
