package kmsenc

import (
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/schema"
)

func TestNearMiss(t *testing.T) {
	for _, tt := range []struct {
		name  string
		names []string
		want  string
	}{
		{"users", []string{"Users"}, "Users"},
		{"Users", []string{"users"}, "users"},
		{"custmers", []string{"orders", "customers"}, "customers"},
		{"user", []string{"users"}, "users"},
		{"users", []string{"user"}, "user"},
		{"users", []string{"usrs"}, "usrs"},
		{"users", []string{"uzers"}, "uzers"},
		{"users", []string{"orders", "accounts"}, ""},
		{"users", []string{"user_emails"}, ""},
		{"users", []string{"sures"}, ""},               // two edits
		{"t1", []string{"t2"}, ""},                     // too short
		{"log1", []string{"log2"}, ""},                 // a digit changed: another table on purpose
		{"events", []string{"events2"}, ""},            // a digit added
		{"events2", []string{"events"}, ""},            // a digit removed
		{"users", []string{"usera", "USERS"}, "USERS"}, // case first
		{"users", []string{"users"}, ""},               // the same name is no miss
	} {
		if got := nearMiss(tt.name, tt.names); got != tt.want {
			t.Errorf("nearMiss(%q, %q) = %q, want %q", tt.name, tt.names, got, tt.want)
		}
	}
}

// openCheckSchema declares tables with every kind of problem the check at
// open reports; the lines matter to the test.
const openCheckSchema = `key:
  url: base64key://%s
tables:
  people:
    key_column: kms_key
    context:
      table: people
      id: $idd
    columns:
      email: text
      age: int
      born: { type: date }
  custmers:
    columns:
      ssn: text
  orders:
    columns:
      note: text
  cards:
    columns:
      pan: bytes
`

func TestCatalogProblems(t *testing.T) {
	master := make([]byte, 32)
	rand.Read(master)
	cfg, err := schema.Parse(fmt.Appendf(nil, openCheckSchema, base64.StdEncoding.EncodeToString(master)), "kmsenc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := &Connector{cfg: cfg, dialect: testDialect(nil)}
	cat := &catalog{
		names: []string{"people", "customers", "Cards", "other"},
		columns: map[string]map[string]dbColumn{
			"people": {
				"id":    {dataType: "bigint"},
				"email": {dataType: "varchar", maxLen: 30, hasDef: true},
				"age":   {dataType: "varchar", maxLen: 47},
				"born":  {dataType: "varchar", maxLen: 52},
			},
		},
	}
	err = newConfigError(mismatch, c.catalogProblems(cat))
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v; want ErrConfig", err)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %T; want *ConfigError", err)
	}
	// orders doesn't exist and nothing is near it: an ORM may create it.
	want := []string{
		`kmsenc.yaml:5: tables.people.key_column: table people has no key column kms_key: add it as a text column (ALTER TABLE people ADD COLUMN kms_key text)`,
		`kmsenc.yaml:8: tables.people.context.id: $idd names no column of table people; did you mean $id? (a context column is a plain column of the table whose value goes into each row's encryption context)`,
		`kmsenc.yaml:10: tables.people.columns.email: encrypted column people.email has a database default, which would be stored as plaintext: drop the default`,
		`kmsenc.yaml:10: tables.people.columns.email: encrypted column people.email is varchar(30), too short for any ciphertext: even an empty text value takes 40 characters of base64 (encryption adds 28 bytes, base64 a third more): widen it, or make it text`,
		`kmsenc.yaml:11: tables.people.columns.age: encrypted column people.age is varchar(47), too short for the ciphertext of its largest int value, which takes 48 characters of base64: widen it to at least 48`,
		`kmsenc.yaml:13: tables.custmers: the database has no table custmers, but has customers, one letter away: if that is the table meant, correct the name in the schema file (statements on customers don't touch a declared table, so its columns would be stored in plaintext)`,
		`kmsenc.yaml:19: tables.cards: the database has no table cards, but has Cards, which differs only in case: write the table's name in the schema file as the database spells it`,
	}
	var got []string
	for _, p := range ce.Problems {
		got = append(got, p.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "kmsenc: the schema file doesn't fit the database (7 problems):\n\tkmsenc.yaml:5: ") {
		t.Errorf("Error() = %q", msg)
	}
}

// A bounded type's column is checked against its largest ciphertext, an
// unbounded one's against the smallest.
func TestTooShort(t *testing.T) {
	for _, tt := range []struct {
		typ    schema.Type
		binary bool
		maxLen int64
		short  bool
	}{
		{schema.Int, false, 48, false}, {schema.Int, false, 47, true},
		{schema.Int, true, 36, false}, {schema.Int, true, 35, true},
		{schema.Bool, false, 40, false}, {schema.Bool, false, 39, true},
		{schema.Date, false, 52, false}, {schema.Date, false, 51, true},
		{schema.Timestamp, false, 80, false}, {schema.Timestamp, false, 79, true},
		{schema.Timestamp, true, 58, false}, {schema.Timestamp, true, 57, true},
		{schema.Text, false, 40, false}, {schema.Text, false, 39, true},
		{schema.JSON, true, 28, false}, {schema.JSON, true, 27, true},
		{schema.Text, false, 0, false}, // unbounded column
	} {
		col := &schema.Column{Table: "t", Name: "c", Type: tt.typ}
		msg := tooShort(col, dbColumn{dataType: "varchar", maxLen: tt.maxLen}, tt.binary)
		if (msg != "") != tt.short {
			t.Errorf("tooShort(%s, binary %v, %d) = %q; want short %v", tt.typ, tt.binary, tt.maxLen, msg, tt.short)
		}
	}
}

// The check at open runs one catalog query on the first connection; its
// verdict fails db.Ping and every later connection without another query.
func TestCheckOpenRemembered(t *testing.T) {
	f := newFixture(t)
	d := testDialect(f.rw)
	const catalogSQL = "CATALOG"
	d.CatalogQuery = func(n int) string { return catalogSQL }
	var queries int
	f.base.on(catalogSQL, func(args []driver.NamedValue) (*fakeResult, error) {
		queries++
		if len(args) != 2 || args[0].Value != "accounts" || args[1].Value != "users" {
			t.Errorf("catalog query args %v; want the declared tables in lower case", args)
		}
		rows := [][]driver.Value{{"users", nil, nil, nil, nil}, {"accounts", nil, nil, nil, nil}}
		for _, c := range dbColumns["users"] {
			if c[0] != "email" { // a missing encrypted column
				rows = append(rows, append([]driver.Value{"users"}, c...))
			}
		}
		for _, c := range dbColumns["accounts"] {
			rows = append(rows, append([]driver.Value{"accounts"}, c...))
		}
		return &fakeResult{cols: []string{"table_name", "column_name", "data_type", "column_default", "max_len"}, rows: rows}, nil
	})
	keyURL := "base64key://" + base64.StdEncoding.EncodeToString(f.master)
	c, err := NewConnector(f.base, d, f.cfg, WithProvider(keyURL, f.prov))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	for range 2 {
		err := db.Ping()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "test.yaml:7: tables.users.columns.email: table users has no column email") {
			t.Errorf("Ping = %v; want ErrConfig naming users.email at test.yaml:7", err)
		}
	}
	if queries != 1 {
		t.Errorf("the catalog was queried %d times; want 1", queries)
	}
}

// A key URL that can't be opened fails at open, as a problem of the schema
// file at its line, and every such URL is reported.
func TestBadKeyURLs(t *testing.T) {
	cfg, err := schema.Parse([]byte(`key:
  url: nosuchkms://alias/app
tables:
  users:
    columns:
      email: text
  audit:
    key:
      url: base64key://notbase64!
    columns:
      detail: text
`), "kmsenc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewConnector(newFakeBase(), testDialect(nil), cfg)
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("NewConnector = %v; want ErrConfig", err)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 2 {
		t.Fatalf("NewConnector = %v; want a *ConfigError with 2 problems", err)
	}
	if p := ce.Problems[0]; p.Line != 2 || p.Field != "key.url" || !strings.Contains(p.Msg, `no provider for key URL scheme "nosuchkms"`) {
		t.Errorf("first problem = %v", p)
	}
	if p := ce.Problems[1]; p.Line != 9 || p.Field != "tables.audit.key.url" {
		t.Errorf("second problem = %v", p)
	}
	if strings.Contains(err.Error(), "notbase64") {
		t.Errorf("the error %q quotes a key URL", err)
	}
}

// kmsenc's sentinels start with "kmsenc: "; wrapping one must not say it twice.
func TestNoDoubledPrefix(t *testing.T) {
	for _, err := range []error{
		wrapErr(ErrDecrypt, "row of users (id=1, key v1)"),
		wrapErr(fmt.Errorf("%w: more", ErrUnknownKeyVersion), "row of users"),
		wrapErr(&providers.Error{Op: "decrypt", KeyURL: "x://y", Err: ErrKeyAccessDenied}, "rotating the key of the users row id=1"),
		wrapErr(errors.New("ERROR: relation does not exist"), "reading the columns of table users"),
		newConfigError(mismatch, []*schema.FieldError{{File: "f.yaml", Line: 2, Field: "tables.t", Msg: "m"}}),
	} {
		if msg := err.Error(); strings.Count(msg, "kmsenc:") != 1 || !strings.HasPrefix(msg, "kmsenc: ") {
			t.Errorf("%q: want one kmsenc: prefix, at the start", msg)
		}
	}
	if err := wrapErr(ErrDecrypt, "x"); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrapErr loses the cause")
	}
}
