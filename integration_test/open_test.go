package integration_test

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kmsenc/kmsenc"
	_ "github.com/kmsenc/kmsenc/postgres" // registers kmsenc+postgres
)

// TestOpenByDriverName opens kmsenc the way the README shows, with
// sql.Open and the schema file named by the DSN (URL and keyword forms) or
// by KMSENC_CONFIG, and refuses to open without a schema file.
//
// Not parallel: it sets KMSENC_CONFIG for the process (t.Setenv).
func TestOpenByDriverName(t *testing.T) {
	e := setup(t, "cache_statement", suiteSchema, pgDDL...)
	dsn := postgresTestDSN(t) // the test's schema
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	keyword := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable search_path=%s", u.Hostname(), u.Port(), u.User.Username(), u.Path[1:], u.Query().Get("search_path"))

	dsns := map[string]string{
		"url":     withParams(t, dsn, map[string]string{"kmsenc_config": e.cfg}),
		"keyword": keyword + " kmsenc_config='" + e.cfg + "'",
	}
	id := 0
	check := func(name string, db *sql.DB) {
		t.Helper()
		id++
		em := canary("open")
		if _, err := db.Exec(`INSERT INTO users (id, email) VALUES ($1, $2)`, id, em); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got string
		if err := db.QueryRow(`SELECT email FROM users WHERE id = $1`, id).Scan(&got); err != nil || got != em {
			t.Errorf("%s: read %q, %v", name, got, err)
		}
		e.assertStored("users", []string{"email"}, em)
	}
	for name, dsn := range dsns {
		db, err := sql.Open("kmsenc+postgres", dsn)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		check(name, db)
		db.Close()
	}

	t.Setenv(kmsenc.ConfigEnv, e.cfg)
	db, err := sql.Open("kmsenc+postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	check("KMSENC_CONFIG", db)
	db.Close()

	t.Setenv(kmsenc.ConfigEnv, "")
	db, err = sql.Open("kmsenc+postgres", dsn)
	if err == nil {
		err = db.Ping()
		db.Close()
	}
	if !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("opening without a schema file: err = %v, want ErrConfig", err)
	}
}

// TestPgxLeadingOptions passes pgx's option arguments before the values,
// as pgx allows: they choose the exec mode and are not statement values.
func TestPgxLeadingOptions(t *testing.T) {
	t.Parallel()
	e := setup(t, "cache_statement", suiteSchema, pgDDL...)
	em, ssn := canary("opt"), canary("opt")
	e.exec(`INSERT INTO users (id, email, ssn) VALUES ($1, $2, $3)`, pgx.QueryExecModeSimpleProtocol, 1, em, ssn)
	e.exec(`UPDATE users SET ssn = $1 WHERE id = $2`, pgx.QueryExecModeExec, ssn+"2", 1)
	var gotEm, gotSSN string
	err := e.queryRow(`SELECT email, ssn FROM users WHERE id = $1`, pgx.QueryExecModeDescribeExec, 1).Scan(&gotEm, &gotSSN)
	if err != nil || gotEm != em || gotSSN != ssn+"2" {
		t.Errorf("read %q %q, %v", gotEm, gotSSN, err)
	}
	e.assertStored("users", []string{"email", "ssn"}, em, ssn)
}

// TestStandardConformingStringsRequired: kmsenc reads PostgreSQL string
// literals as standard_conforming_strings on says; a connection with it off
// is refused, and so is a statement that would turn it off.
func TestStandardConformingStringsRequired(t *testing.T) {
	t.Parallel()
	e := setup(t, "cache_statement", suiteSchema, pgDDL...)
	off := withParams(t, postgresTestDSN(t), map[string]string{"kmsenc_config": e.cfg, "standard_conforming_strings": "off"})
	db, err := sql.Open("kmsenc+postgres", off)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("connection with standard_conforming_strings off: err = %v, want ErrConfig", err)
	}
	if _, err := e.execErr(`SET standard_conforming_strings = off`); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
		t.Errorf("SET standard_conforming_strings = off: err = %v, want ErrUnsupportedStatement", err)
	}
	// With it on, a backslash before a quote is an ordinary character.
	em := canary("scs")
	e.exec(`INSERT INTO users (id, name, email) VALUES (1, 'it\''s \', '` + em + `')`)
	var name, email string
	if err := e.queryRow(`SELECT name, email FROM users WHERE id = 1`).Scan(&name, &email); err != nil || name != `it\'s \` || email != em {
		t.Errorf("read %q %q, %v", name, email, err)
	}
	e.assertStored("users", []string{"email"}, em)
}
