package integration_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kmsenc/kmsenc"
)

// The schema of the suite: users has $id in its context (so a key moved to
// another row fails), profiles every plaintext type.
const suiteSchema = `
tables:
  users:
    context:
      table: users
      id: $id
    columns:
      email: text
      ssn: text
  profiles:
    columns:
      note: text
      avatar: bytes
      age: int
      score: float
      active: bool
      birthday: date
      seen_at: timestamp
      settings: json
`

// suiteDDL creates the suite's tables in a dialect.
func suiteDDL(d *dialect) []string {
	binary, serial := "bytea", "bigserial PRIMARY KEY"
	if d.name == "mysql" {
		binary, serial = "blob", "bigint AUTO_INCREMENT PRIMARY KEY"
	}
	return []string{
		`DROP TABLE IF EXISTS profiles, users`,
		`CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text)`,
		`CREATE TABLE profiles (id ` + serial + `, user_id bigint, note text, avatar ` + binary + `,
		  age text, score text, active text, birthday text, seen_at text, settings text, encrypted_kms_key text)`,
	}
}

// pgDDL is suiteDDL for PostgreSQL, for tests that run there only.
var pgDDL = suiteDDL(postgresDialect)

type user struct {
	id    int64
	name  sql.NullString
	email sql.NullString
	ssn   sql.NullString
}

func (e *env) users(query string, args ...any) []user {
	e.t.Helper()
	rows, err := e.query(query, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []user
	for rows.Next() {
		var u user
		if err := rows.Scan(&u.id, &u.name, &u.email, &u.ssn); err != nil {
			e.t.Fatalf("%s: %v", query, err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return out
}

func ns(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

func TestInsertReturningAndSelect(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		em1, em2, ssn1 := canary("email"), canary("email"), canary("ssn")
		rows, err := e.query(`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8) RETURNING id, email, ssn`,
			1, "Ann", em1, ssn1, 2, "Bob", em2, nil)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		if !reflect.DeepEqual(cols, []string{"id", "email", "ssn"}) {
			t.Errorf("RETURNING columns = %v", cols)
		}
		var got []user
		for rows.Next() {
			var u user
			if err := rows.Scan(&u.id, &u.email, &u.ssn); err != nil {
				t.Fatal(err)
			}
			got = append(got, u)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		want := []user{{id: 1, email: ns(em1), ssn: ns(ssn1)}, {id: 2, email: ns(em2)}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("RETURNING = %+v, want %+v", got, want)
		}
		e.assertStored("users", []string{"email", "ssn"}, em1, em2, ssn1)

		all := e.users(`SELECT id, name, email, ssn FROM users ORDER BY id`)
		wantAll := []user{{1, ns("Ann"), ns(em1), ns(ssn1)}, {2, ns("Bob"), ns(em2), sql.NullString{}}}
		if !reflect.DeepEqual(all, wantAll) {
			t.Errorf("SELECT = %+v, want %+v", all, wantAll)
		}
		// The two rows were written by one statement: one wrap each, and
		// reading them back costs no unwrap (the keys are cached).
		if n := e.events.count(kmsenc.EventWrap); n != 2 {
			t.Errorf("%d wraps for two rows, want 2", n)
		}
	})
}

func TestEveryPlaintextType(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		note, avatar := canary("note"), []byte(canary("avatar"))
		birthday := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
		seen := time.Date(2026, 11, 28, 4, 5, 6, 123456789, time.UTC)
		settings := []byte(`{"theme":"` + canary("json") + `"}`)
		e.exec(`INSERT INTO profiles (user_id, note, avatar, age, score, active, birthday, seen_at, settings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			7, note, avatar, int64(-42), 3.25, true, birthday, seen, settings)
		e.assertStored("profiles", []string{"note", "avatar", "age"}, note, string(avatar), string(settings))

		var (
			gotNote                string
			gotAvatar, gotSettings []byte
			gotAge                 int64
			gotScore               float64
			gotActive              bool
			gotBirthday, gotSeen   time.Time
		)
		err := e.queryRow(`SELECT note, avatar, age, score, active, birthday, seen_at, settings FROM profiles WHERE user_id = $1`, 7).
			Scan(&gotNote, &gotAvatar, &gotAge, &gotScore, &gotActive, &gotBirthday, &gotSeen, &gotSettings)
		if err != nil {
			t.Fatal(err)
		}
		if gotNote != note || !bytes.Equal(gotAvatar, avatar) || gotAge != -42 || gotScore != 3.25 || !gotActive ||
			!gotBirthday.Equal(birthday) || !gotSeen.Equal(seen) || !bytes.Equal(gotSettings, settings) {
			t.Errorf("round trip: %q %q %d %v %v %v %v %s", gotNote, gotAvatar, gotAge, gotScore, gotActive, gotBirthday, gotSeen, gotSettings)
		}

		// Column types report the plaintext's type, and the key column is
		// hidden from SELECT *.
		rows, err := e.query(`SELECT * FROM profiles`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		types, err := rows.ColumnTypes()
		if err != nil {
			t.Fatal(err)
		}
		scan := map[string]reflect.Type{}
		for _, ct := range types {
			scan[ct.Name()] = ct.ScanType()
		}
		if _, ok := scan["encrypted_kms_key"]; ok {
			t.Errorf("SELECT * shows the key column: %v", scan)
		}
		wantScan := map[string]any{"note": "", "avatar": []byte(nil), "age": int64(0), "score": 0.0, "active": false, "birthday": time.Time{}, "settings": []byte(nil)}
		for c, v := range wantScan {
			if scan[c] != reflect.TypeOf(v) {
				t.Errorf("ScanType(%s) = %v, want %T", c, scan[c], v)
			}
		}
	})
}

func TestInsertLiterals(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		em1, em2 := canary("lit"), canary("lit")
		e.exec(fmt.Sprintf(`INSERT INTO users (id, name, email, ssn) VALUES (1, 'Ann', '%s', NULL), (2, 'O''Brien', '%s', 'it''s')`, em1, em2))
		e.assertStored("users", []string{"email", "ssn"}, em1, em2, "it's")
		got := e.users(`SELECT id, name, email, ssn FROM users ORDER BY id`)
		want := []user{{1, ns("Ann"), ns(em1), sql.NullString{}}, {2, ns("O'Brien"), ns(em2), ns("it's")}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
}

func TestUpserts(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		first, second := canary("first"), canary("second")
		e.exec(`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4)`, 1, "Ann", first, "1")

		e.exec(e.pick(`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
			`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4) ON DUPLICATE KEY UPDATE id = id`), 1, "X", canary("ignored"), "2")
		if got := e.users(`SELECT id, name, email, ssn FROM users`); got[0].email.String != first {
			t.Errorf("DO NOTHING changed the row: %+v", got)
		}

		e.exec(e.pick(`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, ssn = EXCLUDED.ssn, name = EXCLUDED.name`,
			`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4) ON DUPLICATE KEY UPDATE email = VALUES(email), ssn = VALUES(ssn), name = VALUES(name)`), 1, "Ann2", second, "3")
		got := e.users(`SELECT id, name, email, ssn FROM users`)
		if want := []user{{1, ns("Ann2"), ns(second), ns("3")}}; !reflect.DeepEqual(got, want) {
			t.Errorf("DO UPDATE: got %+v, want %+v", got, want)
		}
		e.exec(e.pick(`INSERT INTO users (id, name, email) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`,
			`INSERT INTO users (id, name, email) VALUES ($1, $2, $3) ON DUPLICATE KEY UPDATE name = VALUES(name)`), 1, "Ann3", canary("ignored"))
		if got := e.users(`SELECT id, name, email, ssn FROM users`); got[0].name.String != "Ann3" || got[0].email.String != second {
			t.Errorf("DO UPDATE of a plain column: %+v", got)
		}
		e.assertStored("users", []string{"email", "ssn"}, first, second)

		// Setting one encrypted column but not the other would leave the row
		// under two keys.
		_, err := e.execErr(e.pick(`INSERT INTO users (id, email, ssn) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email`,
			`INSERT INTO users (id, email, ssn) VALUES ($1, $2, $3) ON DUPLICATE KEY UPDATE email = VALUES(email)`), 1, "x", "y")
		if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
			t.Errorf("partial DO UPDATE: err = %v, want ErrUnsupportedStatement", err)
		}
		if got := e.users(`SELECT id, name, email, ssn FROM users`); got[0].email.String != second {
			t.Errorf("refused upsert changed the row: %+v", got)
		}
	})
}

func TestSelectShapes(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		em1, em2, note := canary("email"), canary("email"), canary("note")
		e.exec(`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)`, 1, "Ann", em1, "s1", 2, "Bob", em2, "s2")
		e.exec(`INSERT INTO profiles (user_id, note, age) VALUES ($1, $2, $3)`, 1, note, 30)

		strs := func(query string, args ...any) [][]string {
			t.Helper()
			rows, err := e.query(query, args...)
			if err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			for _, c := range cols {
				if c == "encrypted_kms_key" || strings.HasPrefix(c, "__kmsenc") {
					t.Errorf("%s: hidden column %s shows", query, c)
				}
			}
			var out [][]string
			for rows.Next() {
				vals := make([]sql.NullString, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
				row := make([]string, len(cols))
				for i, v := range vals {
					row[i] = v.String
				}
				out = append(out, row)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return out
		}
		cases := []struct {
			query string
			want  [][]string
		}{
			{`SELECT u.email AS e, name FROM users u WHERE id = 1`, [][]string{{em1, "Ann"}}},
			{`SELECT * FROM users WHERE id = 2`, [][]string{{"2", "Bob", em2, "s2"}}},
			{`SELECT u.* FROM users u WHERE u.id = 1`, [][]string{{"1", "Ann", em1, "s1"}}},
			{`SELECT u.email, p.note, p.age FROM users u JOIN profiles p ON p.user_id = u.id`, [][]string{{em1, note, "30"}}},
			{`WITH x AS (SELECT id, email FROM users) SELECT email FROM x ORDER BY id`, [][]string{{em1}, {em2}}},
			{`SELECT s.email FROM (SELECT * FROM users WHERE id = 2) AS s`, [][]string{{em2}}},
			{`SELECT count(email), count(*) FROM users WHERE ssn IS NOT NULL`, [][]string{{"2", "2"}}},
		}
		for _, c := range cases {
			if got := strs(c.query); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s:\n got %q\nwant %q", c.query, got, c.want)
			}
		}
		// Naming the key column explicitly returns it, for tools.
		var key string
		if err := e.queryRow(`SELECT encrypted_kms_key FROM users WHERE id = 1`).Scan(&key); err != nil || !wrappedKeyRE.MatchString(key) {
			t.Errorf("explicit key column: %q, %v", key, err)
		}
	})
}

func TestUpdateByPrimaryKey(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		e.exec(`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4)`, 1, "Ann", canary("old"), "s")
		// A row written before kmsenc: no key yet.
		e.rawExec(`INSERT INTO users (id, name) VALUES (2, 'Keyless')`)

		em1, em2, em3 := canary("upd"), canary("upd"), canary("upd")
		e.exec(`UPDATE users SET email = $1 WHERE id = $2`, em1, 1)
		e.exec(`UPDATE users SET email = $1, name = $2 WHERE id = $3`, em2, "K", 2)

		tx, err := e.db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(e.q(`UPDATE users SET ssn = $1 WHERE id = $2 AND name = $3`), em3, 2, "K"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		res := e.exec(`UPDATE users SET email = $1 WHERE id = $2`, "x", 99)
		if n, _ := res.RowsAffected(); n != 0 {
			t.Errorf("UPDATE of a missing row affected %d rows", n)
		}
		got := e.users(`SELECT id, name, email, ssn FROM users ORDER BY id`)
		want := []user{{1, ns("Ann"), ns(em1), ns("s")}, {2, ns("K"), ns(em2), ns(em3)}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		e.assertStored("users", []string{"email", "ssn"}, em1, em2, em3)
		if e.count("users") != 2 {
			t.Errorf("UPDATE of a missing row inserted one")
		}
	})
}

func TestDeleteReturning(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		em := canary("del")
		e.exec(`INSERT INTO users (id, name, email) VALUES ($1, $2, $3)`, 1, "Ann", em)
		var id int64
		var email string
		if err := e.queryRow(`DELETE FROM users WHERE id = $1 RETURNING id, email`, 1).Scan(&id, &email); err != nil {
			t.Fatal(err)
		}
		if id != 1 || email != em {
			t.Errorf("DELETE RETURNING = %d %q", id, email)
		}
		if e.count("users") != 0 {
			t.Error("row not deleted")
		}
	})
}

func TestPreparedStatements(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		ins, err := e.prepare(`INSERT INTO users (id, name, email) VALUES ($1, $2, $3)`)
		if err != nil {
			t.Fatal(err)
		}
		defer ins.Close()
		ems := []string{canary("prep"), canary("prep"), canary("prep")}
		for i, em := range ems {
			if _, err := ins.Exec(i+1, "n", em); err != nil {
				t.Fatal(err)
			}
		}
		sel, err := e.prepare(`SELECT email FROM users WHERE id = $1`)
		if err != nil {
			t.Fatal(err)
		}
		defer sel.Close()
		for i, em := range ems {
			var got string
			if err := sel.QueryRow(i + 1).Scan(&got); err != nil || got != em {
				t.Errorf("prepared select %d: %q, %v", i+1, got, err)
			}
		}
		// NumInput is the caller's count: a wrong count is database/sql's error.
		if _, err := ins.Exec(9, "n"); err == nil {
			t.Error("prepared insert with too few arguments succeeded")
		}
		e.assertStored("users", []string{"email"}, ems...)
	})
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		e.exec(`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4)`, 1, "Ann", "a@example.com", "s")
		leak := canary("refused")
		cases := []struct {
			query string
			args  []any
		}{
			{`UPDATE users SET email = $1 WHERE name = $2`, []any{leak, "Ann"}},
			{`UPDATE users SET email = lower($1) WHERE id = $2`, []any{leak, 1}},
			{`SELECT id FROM users WHERE email = $1`, []any{leak}},
			{`SELECT id FROM users ORDER BY email`, nil},
			{`SELECT upper(email) FROM users`, nil},
			{`SELECT email FROM users UNION SELECT name FROM users`, nil},
			{`INSERT INTO users (id, email) SELECT id + 10, name FROM users`, nil},
			{`INSERT INTO users (id, email, encrypted_kms_key) VALUES ($1, $2, $3)`, []any{5, leak, "v1:AAAA"}},
			{`INSERT INTO users (id, email) VALUES ($1, lower($2))`, []any{5, leak}},
			{`INSERT INTO users (name, email) VALUES ($1, $2)`, []any{"no id", leak}},
			{`INSERT INTO users (id, email) VALUES (5, '` + leak + `'); DELETE FROM users`, nil},
			{`INSERT INTO users VALUES (5, 'x', '` + leak + `', NULL, NULL)`, nil},
			{e.pick(`COPY users (id, email) FROM STDIN`, `LOAD DATA LOCAL INFILE '/dev/null' INTO TABLE users (id, email)`), nil},
		}
		for _, c := range cases {
			_, err := e.execErr(c.query, c.args...)
			if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: err = %v, want ErrUnsupportedStatement", c.query, err)
			} else if strings.Contains(err.Error(), leak) {
				t.Errorf("%s: the error shows the plaintext: %v", c.query, err)
			}
		}
		if n := e.count("users"); n != 1 {
			t.Errorf("refused statements wrote rows: %d", n)
		}
		e.assertStored("users", []string{"email", "ssn"}, leak, "a@example.com")
		if n := e.events.count(kmsenc.EventRefused); n < len(cases) {
			t.Errorf("%d refusal events for %d refusals", n, len(cases))
		}
	})
}

func TestTamperingFailsClosed(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		reset := func() {
			e.rawExec(`DELETE FROM users`)
			e.exec(`INSERT INTO users (id, name, email, ssn) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)`, 1, "Ann", canary("t"), canary("t"), 2, "Bob", canary("t"), canary("t"))
		}
		rawValue := func(col string, id int) string {
			t.Helper()
			var v string
			if err := e.raw.QueryRow(e.q(`SELECT `+col+` FROM users WHERE id = $1`), id).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		set := func(col string, id int, v string) { e.rawExec(`UPDATE users SET `+col+` = $1 WHERE id = $2`, v, id) }
		tampers := map[string]func(){
			"flipped byte": func() {
				v := []byte(rawValue("email", 1))
				v[20] ^= 'A' ^ 'B' // still base64, no longer the ciphertext
				if v[20] != 'A' && v[20] != 'B' {
					v[20] = 'A'
				}
				set("email", 1, string(v))
			},
			"moved to another column":  func() { set("ssn", 1, rawValue("email", 1)) },
			"moved to another row":     func() { set("email", 1, rawValue("email", 2)) },
			"key swapped between rows": func() { set("encrypted_kms_key", 1, rawValue("encrypted_kms_key", 2)) },
		}
		for name, tamper := range tampers {
			reset()
			tamper()
			rows, err := e.query(`SELECT id, name, email, ssn FROM users WHERE id = 1`)
			if err == nil {
				for rows.Next() {
					var u user
					if err = rows.Scan(&u.id, &u.name, &u.email, &u.ssn); err == nil {
						t.Errorf("%s: read %+v, want ErrDecrypt", name, u)
					}
				}
				if rows.Err() != nil {
					err = rows.Err()
				}
				rows.Close()
			}
			if !errors.Is(err, kmsenc.ErrDecrypt) {
				t.Errorf("%s: err = %v, want ErrDecrypt", name, err)
			}
		}
	})
}

func TestConcurrentUpdatesOfKeylessRows(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		const rows, workers = 4, 64
		for id := 1; id <= rows; id++ {
			e.rawExec(`INSERT INTO users (id, name) VALUES ($1, 'keyless')`, id)
		}
		e.db.SetMaxOpenConns(16)
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for g := 0; g < workers; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				_, err := e.execErr(`UPDATE users SET email = $1 WHERE id = $2`, fmt.Sprintf("w%d", g), g%rows+1)
				errs <- err
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		got := e.users(`SELECT id, name, email, ssn FROM users ORDER BY id`)
		if len(got) != rows {
			t.Fatalf("%d rows", len(got))
		}
		for _, u := range got {
			if !strings.HasPrefix(u.email.String, "w") {
				t.Errorf("row %d: email %q", u.id, u.email.String)
			}
		}
	})
}

// TestByteaLiterals: drivers that interpolate values (bun) write []byte as
// PostgreSQL's bytea text; kmsenc must encrypt the bytes, not the text.
func TestByteaLiterals(t *testing.T) {
	t.Parallel()
	e := setup(t, "cache_statement", suiteSchema, pgDDL...)
	e.exec(`INSERT INTO profiles (user_id, avatar) VALUES (1, '\x0102ff'), (2, 'a\\b\000')`)
	for id, want := range map[int][]byte{1: {1, 2, 0xff}, 2: []byte("a\\b\x00")} {
		var got []byte
		if err := e.queryRow(`SELECT avatar FROM profiles WHERE user_id = $1`, id).Scan(&got); err != nil || !bytes.Equal(got, want) {
			t.Errorf("user %d: avatar %x, %v; want %x", id, got, err, want)
		}
	}
}

// TestEncryptedColumnWithDefaultRefused: a database default on an encrypted
// column would be stored as plaintext (and would make DEFAULT unsafe), so
// kmsenc refuses to use the table until the default is dropped.
func TestEncryptedColumnWithDefaultRefused(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, func(d *dialect) []string {
		ddl := suiteDDL(d)
		return append(ddl, `ALTER TABLE users ALTER COLUMN ssn SET DEFAULT 'plain'`)
	}, func(t *testing.T, e *env) {
		for _, q := range []string{
			`INSERT INTO users (id, email) VALUES ($1, $2)`,
			`INSERT INTO users (id, email, ssn) VALUES ($1, $2, DEFAULT)`,
		} {
			_, err := e.execErr(q, 1, canary("def"))
			if !errors.Is(err, kmsenc.ErrConfig) || !strings.Contains(err.Error(), "default") {
				t.Errorf("%s: err = %v, want ErrConfig about the default", q, err)
			}
		}
		if n := e.count("users"); n != 0 {
			t.Errorf("%d rows written", n)
		}
	})
}
