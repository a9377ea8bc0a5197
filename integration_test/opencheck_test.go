package integration_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc"
	_ "github.com/kmsenc/kmsenc/mysql"    // registers kmsenc+mysql
	_ "github.com/kmsenc/kmsenc/postgres" // registers kmsenc+postgres
)

// The check of the schema file against the database at open
// (ARCHITECTURE.md §4.2): db.Ping fails on every problem, with file:line,
// before the first statement.

// openCheck is one test's database, opened the way the README shows: by
// driver name, with the schema file named in the DSN.
type openCheck struct {
	d    *dialect
	raw  *sql.DB // the plain driver, in the test's namespace
	path string  // the schema file
	db   *sql.DB // through kmsenc
}

// forEachOpenCheck runs fn on each dialect and connection mode with the
// tables of ddl(d) created and schemaYAML written to kmsenc.yaml ("%s" is
// the key URL), and a kmsenc database opened over them, not yet pinged.
func forEachOpenCheck(t *testing.T, schemaYAML string, ddl func(d *dialect) []string, fn func(t *testing.T, oc *openCheck)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			for _, mode := range d.modes {
				t.Run(mode, func(t *testing.T) {
					fn(t, newOpenCheck(t, d, mode, schemaYAML, ddl(d)...))
				})
			}
		})
	}
}

func newOpenCheck(t *testing.T, d *dialect, mode, schemaYAML string, ddl ...string) *openCheck {
	t.Helper()
	d.require(t)
	raw, err := d.srv.raw(d.srv.ns(t), d.raw)
	if err != nil {
		t.Fatal(err)
	}
	// The namespace is the top-level test's: start from no tables, since
	// any name in it could be a near miss.
	list := `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	if d.name == "mysql" {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`
	}
	var tables []string
	rows, err := raw.Query(list)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, name := range tables {
		ddl = append([]string{"DROP TABLE " + quoteIdent(d, name)}, ddl...)
	}
	for _, stmt := range ddl {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	path := filepath.Join(t.TempDir(), "kmsenc.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(schemaYAML, "%s", newKey(t), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{"kmsenc_config": path}
	if k, v, ok := strings.Cut(mode, "="); ok {
		params[k] = v
	} else {
		params["default_query_exec_mode"] = mode
	}
	db, err := sql.Open("kmsenc+"+d.name, d.dsn(t, params))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &openCheck{d: d, raw: raw, path: path, db: db}
}

// pingFails checks that Ping fails with ErrConfig and says each of want,
// where "@N" stands for the schema file's path and ":N".
func (oc *openCheck) pingFails(t *testing.T, want ...string) error {
	t.Helper()
	err := oc.db.Ping()
	if !errors.Is(err, kmsenc.ErrConfig) {
		t.Fatalf("Ping = %v; want ErrConfig", err)
	}
	var ce *kmsenc.ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("Ping = %T; want a *kmsenc.ConfigError", err)
	}
	for _, w := range want {
		w = strings.ReplaceAll(w, "@", oc.path+":")
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Ping = %v\nwant it to say %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "kmsenc: kmsenc:") {
		t.Errorf("Ping = %v: doubled prefix", err)
	}
	return err
}

// binaryType is a binary column type of the dialect with room for n bytes.
func binaryType(d *dialect, n int) string {
	if d.name == "mysql" {
		return fmt.Sprintf("varbinary(%d)", n)
	}
	return "bytea"
}

// quoteIdent quotes a name as the dialect does.
func quoteIdent(d *dialect, name string) string {
	if d.name == "mysql" {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

const openCheckUsers = `key:
  url: %s
tables:
  users:
    context:
      table: users
      id: $id
    columns:
      email: text
      age: int
`

// TestOpenCheckProblems: each kind of mismatch between the schema file and
// the database fails db.Ping with ErrConfig, naming the file, line and field.
func TestOpenCheckProblems(t *testing.T) {
	t.Parallel()
	usersDDL := func(cols string) func(d *dialect) []string {
		return func(d *dialect) []string { return []string{"CREATE TABLE users (" + cols + ")"} }
	}
	for _, tt := range []struct {
		name   string
		schema string
		ddl    func(d *dialect) []string
		want   []string
	}{
		{"missing encrypted column", openCheckUsers,
			usersDDL("id bigint PRIMARY KEY, age text, encrypted_kms_key text"),
			[]string{"@9: tables.users.columns.email: table users has no column email: add it (ALTER TABLE users ADD COLUMN email text), or remove it from the schema file"}},
		{"missing key column", openCheckUsers,
			usersDDL("id bigint PRIMARY KEY, email text, age text"),
			[]string{"@4: tables.users: table users has no key column encrypted_kms_key: add it as a text column"}},
		{"key column of a non-text type", strings.Replace(openCheckUsers, "    context:", "    key_column: kms_key\n    context:", 1),
			usersDDL("id bigint PRIMARY KEY, email text, age text, kms_key bigint"),
			[]string{"@5: tables.users.key_column: key column users.kms_key is bigint: it must be a text column"}},
		{"missing context column", strings.Replace(openCheckUsers, "      id: $id", "      id: $id\n      tenant: $tenant_id", 1),
			usersDDL("id bigint PRIMARY KEY, email text, age text, encrypted_kms_key text"),
			[]string{"@8: tables.users.context.tenant: $tenant_id names no column of table users"}},
		{"unknown context placeholder", strings.Replace(openCheckUsers, "$id", "$idd", 1),
			usersDDL("id bigint PRIMARY KEY, email text, age text, encrypted_kms_key text"),
			[]string{"@7: tables.users.context.id: $idd names no column of table users; did you mean $id?"}},
		{"varchar too short for an int's ciphertext", openCheckUsers,
			usersDDL("id bigint PRIMARY KEY, email text, age varchar(47), encrypted_kms_key text"),
			[]string{"@10: tables.users.columns.age: encrypted column users.age is ", "(47), too short for the ciphertext of its largest int value, which takes 48 characters of base64: widen it to at least 48"}},
		{"varchar too short for any ciphertext", openCheckUsers,
			usersDDL("id bigint PRIMARY KEY, email varchar(39), age text, encrypted_kms_key text"),
			[]string{"@9: tables.users.columns.email: encrypted column users.email is ", "(39), too short for any ciphertext: even an empty text value takes 40 characters of base64"}},
		{"binary column too short", strings.Replace(openCheckUsers, "age: int", "age: timestamp", 1),
			func(d *dialect) []string {
				return []string{"CREATE TABLE users (id bigint PRIMARY KEY, email text, age " + binaryType(d, 57) + ", encrypted_kms_key text)"}
			},
			nil}, // bytea has no length: PostgreSQL passes; see below
		{"default on an encrypted column", openCheckUsers,
			usersDDL("id bigint PRIMARY KEY, email varchar(200) DEFAULT 'none', age text, encrypted_kms_key text"),
			[]string{"@9: tables.users.columns.email: encrypted column users.email has a database default, which would be stored as plaintext: drop the default"}},
	} {
		t.Run(tt.name, func(t *testing.T) { // one after another: they share the namespace
			forEachOpenCheck(t, tt.schema, tt.ddl, func(t *testing.T, oc *openCheck) {
				want := tt.want
				if tt.name == "binary column too short" {
					if oc.d.name != "mysql" {
						if err := oc.db.Ping(); err != nil {
							t.Errorf("Ping = %v; bytea has no length to check", err)
						}
						return
					}
					want = []string{"@10: tables.users.columns.age: encrypted column users.age is varbinary(57), too short for the ciphertext of its largest timestamp value, which takes 58 bytes: widen it to at least 58"}
				}
				oc.pingFails(t, want...)
			})
		})
	}
}

// TestOpenCheckNearMissTable: a declared table that doesn't exist while a
// table one letter away, or differing only in case, does is a likely typo:
// statements on the table that exists would store plaintext. Ping fails,
// and so does every statement; nothing reaches the table.
func TestOpenCheckNearMissTable(t *testing.T) {
	t.Parallel()
	const schemaYAML = `key:
  url: %s
tables:
  custmers:
    columns:
      ssn: text
`
	t.Run("one letter away", func(t *testing.T) {
		forEachOpenCheck(t, schemaYAML, func(d *dialect) []string {
			return []string{"CREATE TABLE customers (id bigint PRIMARY KEY, ssn text, encrypted_kms_key text)"}
		}, func(t *testing.T, oc *openCheck) {
			oc.pingFails(t, "@4: tables.custmers: the database has no table custmers, but has customers, one letter away")
			ssn := canary("nearmiss")
			if _, err := oc.db.Exec(oc.d.placeholders(`INSERT INTO customers (id, ssn) VALUES ($1, $2)`), 1, ssn); !errors.Is(err, kmsenc.ErrConfig) {
				t.Errorf("INSERT = %v; want ErrConfig", err)
			}
			var n int
			if err := oc.raw.QueryRow(`SELECT count(*) FROM customers`).Scan(&n); err != nil || n != 0 {
				t.Errorf("customers holds %d rows (%v); want none", n, err)
			}
		})
	})
	t.Run("differs only in case", func(t *testing.T) {
		forEachOpenCheck(t, strings.Replace(schemaYAML, "custmers", "customers", 1), func(d *dialect) []string {
			return []string{"CREATE TABLE " + quoteIdent(d, "Customers") + " (id bigint PRIMARY KEY, ssn text, encrypted_kms_key text)"}
		}, func(t *testing.T, oc *openCheck) {
			if oc.d.name == "mysql" {
				var lower int
				if err := oc.raw.QueryRow(`SELECT @@lower_case_table_names`).Scan(&lower); err != nil {
					t.Fatal(err)
				}
				if lower != 0 {
					t.Skipf("lower_case_table_names=%d: the server folds table names, so no name differs only in case", lower)
				}
			}
			oc.pingFails(t, "@4: tables.customers: the database has no table customers, but has Customers, which differs only in case: write the table's name in the schema file as the database spells it")
		})
	})
}

// TestOpenCheckSorted: several problems, in several tables, come in one
// error, sorted by line, each with file:line.
func TestOpenCheckSorted(t *testing.T) {
	t.Parallel()
	const schemaYAML = `key:
  url: %s
tables:
  users:
    columns:
      email: text
      age: int
  accounts:
    context:
      table: accounts
      id: $idd
    columns:
      note: text
`
	forEachOpenCheck(t, schemaYAML, func(d *dialect) []string {
		return []string{
			"CREATE TABLE users (id bigint PRIMARY KEY, age varchar(20), encrypted_kms_key text)",
			"CREATE TABLE accounts (id bigint PRIMARY KEY, note varchar(200) DEFAULT 'x')",
		}
	}, func(t *testing.T, oc *openCheck) {
		err := oc.pingFails(t, "kmsenc: the schema file doesn't fit the database (5 problems):")
		var ce *kmsenc.ConfigError
		if !errors.As(err, &ce) {
			return
		}
		want := []string{
			"6 tables.users.columns.email",
			"7 tables.users.columns.age",
			"8 tables.accounts",
			"11 tables.accounts.context.id",
			"13 tables.accounts.columns.note",
		}
		var got []string
		for _, p := range ce.Problems {
			if p.File != oc.path {
				t.Errorf("problem %v names file %q", p, p.File)
			}
			got = append(got, fmt.Sprintf("%d %s", p.Line, p.Field))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("problems at\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The verdict is kept: a second Ping (a new connection) says the
		// same, even after the tables are fixed; reopen to check again.
		if _, err := oc.raw.Exec("ALTER TABLE users ADD COLUMN email text"); err != nil {
			t.Fatal(err)
		}
		oc.db.SetMaxIdleConns(0)
		if err2 := oc.db.Ping(); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("second Ping = %v; want the first verdict", err2)
		}
	})
}

// TestOpenCheckBadKeyURL: a key URL no provider can open fails sql.Open
// with ErrConfig at the URL's line, without quoting the URL.
func TestOpenCheckBadKeyURL(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			d.require(t)
			path := filepath.Join(t.TempDir(), "kmsenc.yaml")
			yaml := "key:\n  url: nosuchkms://alias/secret-name\ntables:\n  users:\n    columns:\n      email: text\n"
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			db, err := sql.Open("kmsenc+"+d.name, d.dsn(t, map[string]string{"kmsenc_config": path}))
			if err == nil {
				err = db.Ping()
				db.Close()
			}
			if !errors.Is(err, kmsenc.ErrConfig) {
				t.Fatalf("open = %v; want ErrConfig", err)
			}
			if want := path + `:2: key.url: can't open the master key: no provider for key URL scheme "nosuchkms"`; !strings.Contains(err.Error(), want) {
				t.Errorf("open = %v\nwant it to say %q", err, want)
			}
			if strings.Contains(err.Error(), "secret-name") {
				t.Errorf("open = %v: quotes the key URL", err)
			}
		})
	}
}

// TestOpenCheckAbsentTable: an ORM pings before it creates its tables, so
// a declared table that doesn't exist, with nothing near its name, doesn't
// fail Ping. Created afterwards, it is checked on first use and encrypted.
func TestOpenCheckAbsentTable(t *testing.T) {
	t.Parallel()
	const schemaYAML = `key:
  url: %s
tables:
  users:
    columns:
      email: text
  notes:
    columns:
      body: text
`
	forEachOpenCheck(t, schemaYAML, func(d *dialect) []string {
		return []string{"CREATE TABLE unrelated (id bigint PRIMARY KEY)"}
	}, func(t *testing.T, oc *openCheck) {
		if err := oc.db.Ping(); err != nil {
			t.Fatalf("Ping = %v; want nil: the tables don't exist yet", err)
		}
		if _, err := oc.raw.Exec("CREATE TABLE users (id bigint PRIMARY KEY, email text, encrypted_kms_key text)"); err != nil {
			t.Fatal(err)
		}
		email := canary("absent")
		if _, err := oc.db.Exec(oc.d.placeholders(`INSERT INTO users (id, email) VALUES ($1, $2)`), 1, email); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := oc.db.QueryRow(oc.d.placeholders(`SELECT email FROM users WHERE id = $1`), 1).Scan(&got); err != nil || got != email {
			t.Errorf("read %q, %v", got, err)
		}
		e := &env{t: t, d: oc.d, raw: oc.raw}
		e.assertStored("users", []string{"email"}, email)
		// notes is still missing: its first use says so.
		_, err := oc.db.Exec(oc.d.placeholders(`INSERT INTO notes (id, body) VALUES ($1, $2)`), 1, canary("absent"))
		if !errors.Is(err, kmsenc.ErrConfig) || !strings.Contains(err.Error(), oc.path+":7: tables.notes: the database has no table notes") {
			t.Errorf("INSERT into a missing table = %v; want ErrConfig at line 7", err)
		}
	})
}
