package integration_test

import (
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kmsenc/kmsenc"
)

// Context values are canonical (ARCHITECTURE.md §4.4): the text kmsenc
// wraps a row's key under is the text it computes later from the value the
// database returns, whatever form the application gave the value in. Each
// form below either round-trips — read back through kmsenc, through the same
// connector and through a new one with a cold key cache, with no plaintext
// in the table — or is refused with nothing written.

const contextSchema = `
tables:
  ctx_rows:
    context:
      table: ctx_rows
      id: $id
    columns:
      secret: text
`

// ctxForm is one way of giving a context value.
type ctxForm struct {
	name string
	// insert is the INSERT, with $1 the secret and, when arg is set, $2
	// the id.
	insert string
	arg    any
	// lookup finds the row ($1 the id).
	lookup any
	// driverMay: the base driver may refuse the value in some modes
	// (pgx can't encode a [16]byte without the parameter's type); then
	// nothing may be written.
	driverMay bool
}

// ctxRow is one row written in the test: its secret and how to find it.
type ctxRow struct {
	secret string
	lookup any
}

// checkContextForms writes every form, checks refusals, then reads every
// row back through e and through a new connector.
func checkContextForms(t *testing.T, e *env, forms []ctxForm, refused ...ctxForm) {
	t.Helper()
	var rows []ctxRow
	var names []string
	var canaries []string
	for _, f := range forms {
		secret := canary("ctx")
		canaries = append(canaries, secret)
		args := []any{secret}
		if f.arg != nil {
			args = append(args, f.arg)
		}
		before := e.count("ctx_rows")
		if _, err := e.execErr(f.insert, args...); err != nil {
			if f.driverMay && !errors.Is(err, kmsenc.ErrUnsupportedStatement) && e.count("ctx_rows") == before {
				continue
			}
			t.Fatalf("%s: %s: %v", f.name, f.insert, err)
		}
		rows = append(rows, ctxRow{secret, f.lookup})
		names = append(names, f.name)
	}
	before := e.count("ctx_rows")
	for _, f := range refused {
		secret := canary("ctx-refused")
		canaries = append(canaries, secret)
		args := []any{secret}
		if f.arg != nil {
			args = append(args, f.arg)
		}
		_, err := e.execErr(f.insert, args...)
		// A constant the planner can't read as a value is refused by
		// the rewriter ("context column id must be given ... as a
		// constant"), one it reads by the column's type.
		if !errors.Is(err, kmsenc.ErrUnsupportedStatement) || !strings.Contains(err.Error(), "context column") {
			t.Errorf("%s: %v; want ErrUnsupportedStatement naming the context column", f.name, err)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error holds the plaintext: %v", f.name, err)
		}
	}
	if n := e.count("ctx_rows"); n != before {
		t.Errorf("refused writes left %d rows, want %d", n, before)
	}
	readBack := func(e *env, how string) {
		t.Helper()
		for i, r := range rows {
			var got string
			if err := e.queryRow(`SELECT secret FROM ctx_rows WHERE id = $1`, r.lookup).Scan(&got); err != nil || got != r.secret {
				t.Errorf("%s: read through the %s: %q, %v; want its secret", names[i], how, got, err)
			}
		}
		// All at once, through the read-ahead window.
		n := 0
		all, err := e.query(`SELECT id, secret FROM ctx_rows`)
		if err != nil {
			t.Fatal(err)
		}
		defer all.Close()
		for all.Next() {
			var id any
			var s string
			if err := all.Scan(&id, &s); err != nil {
				t.Errorf("%s: SELECT *: %v", how, err)
			}
			n++
		}
		if err := all.Err(); err != nil {
			t.Errorf("%s: SELECT: %v", how, err)
		}
		if n != len(rows) {
			t.Errorf("%s: %d rows, want %d", how, n, len(rows))
		}
	}
	readBack(e, "same connector")
	readBack(reopen(t, e, nil), "new connector")
	e.assertStored("ctx_rows", []string{"secret"}, canaries...)
}

func TestContextCanonicalInteger(t *testing.T) {
	forEachDialect(t, contextSchema, func(d *dialect) []string {
		return []string{`DROP TABLE IF EXISTS ctx_rows`, `CREATE TABLE ctx_rows (id bigint PRIMARY KEY, secret text, encrypted_kms_key text)`}
	}, func(t *testing.T, e *env) {
		checkContextForms(t, e, []ctxForm{
			{"int64", `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, int64(100034), int64(100034), false},
			{"string with leading zeros", `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, "000100035", int64(100035), false},
			{"int as string", `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, "100036", int64(100036), false},
			{"string with a plus sign", `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, "+100037", int64(100037), false},
			{"uint32", `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, uint32(100038), int64(100038), false},
			{"negative", `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, "-0042", int64(-42), false},
			{"quoted literal with leading zeros", `INSERT INTO ctx_rows (id, secret) VALUES ('000100149', $1)`, nil, int64(100149), false},
			{"number literal with leading zeros", `INSERT INTO ctx_rows (id, secret) VALUES (000100150, $1)`, nil, int64(100150), false},
		},
			ctxForm{name: "not an integer", insert: `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, arg: "12abc"},
			ctxForm{name: "a decimal string", insert: `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, arg: "7.0"},
			ctxForm{name: "blank before", insert: `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, arg: " 8"},
			ctxForm{name: "a float", insert: `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, arg: 9.5},
			ctxForm{name: "a float literal", insert: `INSERT INTO ctx_rows (id, secret) VALUES (10.0, $1)`},
			ctxForm{name: "a quoted non-integer literal", insert: `INSERT INTO ctx_rows (id, secret) VALUES ('11x', $1)`},
			ctxForm{name: "out of range", insert: `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, arg: "9223372036854775808"},
		)
		// An UPDATE pinned by a non-canonical id finds the row's own key.
		secret := canary("ctx-update")
		e.exec(`UPDATE ctx_rows SET secret = $1 WHERE id = $2`, secret, "0100035")
		var got string
		if err := reopen(t, e, nil).queryRow(`SELECT secret FROM ctx_rows WHERE id = $1`, 100035).Scan(&got); err != nil || got != secret {
			t.Errorf("after UPDATE: %q, %v", got, err)
		}
		e.assertStored("ctx_rows", []string{"secret"}, secret)
	})
}

// uuidValue is a UUID type whose Value is its text, as github.com/google/uuid's.
type uuidValue [16]byte

func (u uuidValue) Value() (driver.Value, error) {
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

var testUUID = [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}

// uuidN is testUUID with its last byte n.
func uuidN(n byte) [16]byte {
	u := testUUID
	u[15] = n
	return u
}

func uuidText(u [16]byte) string { s, _ := uuidValue(u).Value(); return s.(string) }

func TestContextCanonicalUUID(t *testing.T) {
	const ins = `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`
	forEachDialect(t, contextSchema, func(d *dialect) []string {
		typ := "uuid"
		if d.name == "mysql" {
			typ = "binary(16)"
		}
		return []string{`DROP TABLE IF EXISTS ctx_rows`, `CREATE TABLE ctx_rows (id ` + typ + ` PRIMARY KEY, secret text, encrypted_kms_key text)`}
	}, func(t *testing.T, e *env) {
		if e.d.name == "mysql" {
			// binary(16): the 16 bytes; a UUID's text would be stored as
			// its first 16 characters.
			a, b := uuidN(1), uuidN(2)
			checkContextForms(t, e, []ctxForm{
				{"bytes", ins, a[:], a[:], false},
				{"bytes of a UUID type", ins, b[:], b[:], false},
			},
				ctxForm{name: "UUID text", insert: ins, arg: strings.ToUpper(uuidText(uuidN(4)))},
				ctxForm{name: "UUID valuer", insert: ins, arg: uuidValue(uuidN(5))},
				ctxForm{name: "too short", insert: ins, arg: []byte{1, 2, 3}},
			)
			return
		}
		checkContextForms(t, e, []ctxForm{
			{"upper-case parameter", ins, strings.ToUpper(uuidText(uuidN(1))), uuidText(uuidN(1)), false},
			{"upper-case literal", `INSERT INTO ctx_rows (id, secret) VALUES ('` + strings.ToUpper(uuidText(uuidN(2))) + `', $1)`, nil, uuidText(uuidN(2)), false},
			{"braces", ins, "{" + uuidText(uuidN(3)) + "}", uuidText(uuidN(3)), false},
			{"without hyphens", ins, strings.ReplaceAll(uuidText(uuidN(4)), "-", ""), uuidText(uuidN(4)), false},
			{"[16]byte", ins, uuidN(5), uuidText(uuidN(5)), true},
			{"UUID type", ins, uuidValue(uuidN(6)), uuidText(uuidN(6)), false},
		},
			ctxForm{name: "not a UUID", insert: ins, arg: "a0eebc99-9c0b"},
			ctxForm{name: "an integer", insert: ins, arg: 7},
		)
	})
}

func TestContextCanonicalChar(t *testing.T) {
	const ins = `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`
	forEachDialect(t, contextSchema, func(d *dialect) []string {
		return []string{`DROP TABLE IF EXISTS ctx_rows`, `CREATE TABLE ctx_rows (id char(8) PRIMARY KEY, secret text, encrypted_kms_key text)`}
	}, func(t *testing.T, e *env) {
		// PostgreSQL pads char(8) with blanks, MySQL drops them: either
		// way the context is what the database returns.
		checkContextForms(t, e, []ctxForm{
			{"short", ins, "ab", "ab", false},
			{"trailing blanks", ins, "cd  ", "cd", false},
			{"upper case", ins, "EF", "EF", false},
			{"full", ins, "12345678", "12345678", false},
			{"literal with blanks", `INSERT INTO ctx_rows (id, secret) VALUES ('gh ', $1)`, nil, "gh", false},
		},
			ctxForm{name: "too long", insert: ins, arg: "123456789"},
			ctxForm{name: "an integer", insert: ins, arg: 42},
			ctxForm{name: "invalid UTF-8", insert: ins, arg: "\xff"},
		)
	})
}

func TestContextCanonicalVarchar(t *testing.T) {
	const ins = `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`
	forEachDialect(t, contextSchema, func(d *dialect) []string {
		return []string{`DROP TABLE IF EXISTS ctx_rows`, `CREATE TABLE ctx_rows (id varchar(6) PRIMARY KEY, secret text, encrypted_kms_key text)`}
	}, func(t *testing.T, e *env) {
		forms := []ctxForm{
			{"trailing blanks kept", ins, "ij  ", "ij  ", false},
			{"leading zeros kept", ins, "000149", "000149", false},
		}
		var refused []ctxForm
		if e.d.name == "postgres" {
			// PostgreSQL drops blanks beyond varchar(6); MySQL would cut
			// or refuse them by its sql_mode, so kmsenc refuses them.
			forms = append(forms, ctxForm{"blanks beyond the length", ins, "klmnop   ", "klmnop", false})
		} else {
			refused = append(refused, ctxForm{name: "blanks beyond the length", insert: ins, arg: "klmnop   "})
		}
		checkContextForms(t, e, forms, refused...)
	})
}

func TestContextCanonicalDate(t *testing.T) {
	const ins = `INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`
	forEachDialect(t, contextSchema, func(d *dialect) []string {
		return []string{`DROP TABLE IF EXISTS ctx_rows`, `CREATE TABLE ctx_rows (id date PRIMARY KEY, secret text, encrypted_kms_key text)`}
	}, func(t *testing.T, e *env) {
		forms := []ctxForm{
			{"text", ins, "2024-02-29", "2024-02-29", false},
			{"literal", `INSERT INTO ctx_rows (id, secret) VALUES ('2024-03-01', $1)`, nil, "2024-03-01", false},
		}
		refused := []ctxForm{
			{name: "not a day", insert: ins, arg: "2023-02-29"},
			{name: "a time of day", insert: ins, arg: "2024-03-02 10:00:00"},
		}
		midnight := time.Date(2024, 3, 3, 0, 0, 0, 0, time.UTC)
		if e.d.name == "postgres" {
			forms = append(forms, ctxForm{"time.Time at midnight UTC", ins, midnight, "2024-03-03", false})
		} else {
			// go-sql-driver/mysql moves a time.Time to the connection's
			// zone first, which kmsenc doesn't know.
			refused = append(refused, ctxForm{name: "time.Time", insert: ins, arg: midnight})
		}
		refused = append(refused, ctxForm{name: "time.Time not at midnight", insert: ins, arg: midnight.Add(time.Hour)})
		checkContextForms(t, e, forms, refused...)
	})
}

// TestContextCanonicalRefusedTypes: a context column whose returned text
// kmsenc can't predict is refused when the table is first used.
func TestContextCanonicalRefusedTypes(t *testing.T) {
	forEachDialect(t, contextSchema, func(d *dialect) []string {
		typ := "timestamptz"
		if d.name == "mysql" {
			typ = "datetime"
		}
		return []string{`DROP TABLE IF EXISTS ctx_rows`, `CREATE TABLE ctx_rows (id ` + typ + ` PRIMARY KEY, secret text, encrypted_kms_key text)`}
	}, func(t *testing.T, e *env) {
		_, err := e.execErr(`INSERT INTO ctx_rows (secret, id) VALUES ($1, $2)`, canary("ctx-type"), "2024-01-02 03:04:05")
		if !errors.Is(err, kmsenc.ErrConfig) || !strings.Contains(err.Error(), "context column ctx_rows.id is") {
			t.Errorf("INSERT: %v; want ErrConfig naming context column ctx_rows.id", err)
		}
		if _, err := e.query(`SELECT secret FROM ctx_rows`); !errors.Is(err, kmsenc.ErrConfig) {
			t.Errorf("SELECT: %v; want ErrConfig", err)
		}
		if n := e.count("ctx_rows"); n != 0 {
			t.Errorf("%d rows written", n)
		}
	})
}

// TestContextCanonicalUpsert: an upsert that would change a row's context
// without its key is refused; one that sets it from the inserted row, with
// every encrypted column, keeps the row readable.
func TestContextCanonicalUpsert(t *testing.T) {
	forEachDialect(t, contextSchema, func(d *dialect) []string {
		return []string{`DROP TABLE IF EXISTS ctx_rows`, `CREATE TABLE ctx_rows (id varchar(10) PRIMARY KEY, secret text, encrypted_kms_key text)`}
	}, func(t *testing.T, e *env) {
		first := canary("ctx-upsert")
		e.exec(`INSERT INTO ctx_rows (id, secret) VALUES ($1, $2)`, "abc", first)
		changing := e.pick(
			`INSERT INTO ctx_rows (id, secret) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id || 'x', secret = EXCLUDED.secret`,
			`INSERT INTO ctx_rows (id, secret) VALUES ($1, $2) ON DUPLICATE KEY UPDATE id = concat(VALUES(id), 'x'), secret = VALUES(secret)`)
		if _, err := e.execErr(changing, "abc", canary("ctx-upsert")); !errors.Is(err, kmsenc.ErrUnsupportedStatement) || !strings.Contains(err.Error(), "context column id") {
			t.Errorf("upsert changing id: %v; want ErrUnsupportedStatement", err)
		}
		alone := e.pick(
			`INSERT INTO ctx_rows (id, secret) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET id = 'other'`,
			`INSERT INTO ctx_rows (id, secret) VALUES ($1, $2) ON DUPLICATE KEY UPDATE id = 'other'`)
		if _, err := e.execErr(alone, "abc", canary("ctx-upsert")); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
			t.Errorf("upsert setting id alone: %v; want ErrUnsupportedStatement", err)
		}
		var id, got string
		if err := e.queryRow(`SELECT id, secret FROM ctx_rows`).Scan(&id, &got); err != nil || id != "abc" || got != first {
			t.Errorf("after refused upserts: %q %q, %v; want the first row unchanged", id, got, err)
		}

		if e.d.name == "mysql" {
			// MySQL's default collation calls 'ABC' a duplicate of 'abc':
			// keeping the existing id under a key made for 'ABC' would
			// lose the row, so that upsert is refused before it is sent.
			byKey := `INSERT INTO ctx_rows (id, secret) VALUES ($1, $2) ON DUPLICATE KEY UPDATE secret = VALUES(secret)`
			if _, err := e.execErr(byKey, "ABC", canary("ctx-upsert")); !errors.Is(err, kmsenc.ErrUnsupportedStatement) || !strings.Contains(err.Error(), "collation") {
				t.Errorf("upsert relying on a case-insensitive key: %v; want ErrUnsupportedStatement", err)
			}
			// Setting the id from the inserted row too is exact.
			second := canary("ctx-upsert")
			e.exec(`INSERT INTO ctx_rows (id, secret) VALUES ($1, $2) ON DUPLICATE KEY UPDATE secret = VALUES(secret), id = VALUES(id)`, "ABC", second)
			first = second
		} else {
			second := canary("ctx-upsert")
			e.exec(`INSERT INTO ctx_rows (id, secret) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id, secret = EXCLUDED.secret`, "abc", second)
			first = second
		}
		for _, db := range []*env{e, reopen(t, e, nil)} {
			if err := db.queryRow(`SELECT id, secret FROM ctx_rows`).Scan(&id, &got); err != nil || got != first {
				t.Errorf("after the upsert: %q %q, %v; want the new secret", id, got, err)
			}
		}
		e.assertStored("ctx_rows", []string{"secret"}, first)
	})
}
