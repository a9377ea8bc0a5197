package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/mysql"
)

// The forms of issue 10 §5 that kmsenc once refused and now reads exactly
// (ARCHITECTURE.md §5, "Casts"): each runs through kmsenc, reads back
// equal through kmsenc, and leaves no plaintext in the database (read
// through the plain driver); the nearest forms that stay refused are
// refused before anything is sent.

// TestRelaxedCasts: casts around values and context and pin values, and
// parenthesised values, in INSERT and UPDATE.
func TestRelaxedCasts(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		a, b, c := canary("cast"), canary("cast"), canary("cast")
		e.exec(e.pick(
			`INSERT INTO users (id, email, ssn) VALUES ($1::bigint, $2::text, (CAST($3 AS varchar)))`,
			`INSERT INTO users (id, email, ssn) VALUES (CAST(? AS SIGNED), CAST(? AS CHAR), (CAST(? AS CHAR)))`),
			1, a, b)
		e.exec(e.pick(
			`INSERT INTO users (id, email, ssn) VALUES (($1), ($2), NULL::text)`,
			`INSERT INTO users (id, email, ssn) VALUES ((?), (?), CAST(NULL AS CHAR))`),
			2, c)
		avatar := []byte(canary("avatar"))
		e.exec(e.pick(
			`INSERT INTO profiles (id, note, avatar) VALUES ($1, 'n'::text, $2::bytea)`,
			`INSERT INTO profiles (id, note, avatar) VALUES (?, CAST('n' AS CHAR), CAST(? AS BINARY))`),
			1, avatar)
		got := e.users(`SELECT id, name, email, ssn FROM users ORDER BY id`)
		want := []user{{id: 1, email: ns(a), ssn: ns(b)}, {id: 2, email: ns(c)}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after INSERT with casts: %v, want %v", got, want)
		}
		var gotAvatar []byte
		if err := e.queryRow(`SELECT avatar FROM profiles WHERE id = 1`).Scan(&gotAvatar); err != nil || string(gotAvatar) != string(avatar) {
			t.Fatalf("avatar %q, %v; want %q", gotAvatar, err, avatar)
		}

		d, f := canary("cast"), canary("cast")
		res := e.exec(e.pick(
			`UPDATE users SET email = CAST($1 AS text), ssn = ($2) WHERE id = $3::bigint`,
			`UPDATE users SET email = (CAST(? AS CHAR)), ssn = (?) WHERE id = CAST(? AS SIGNED)`),
			d, f, 2)
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("UPDATE with a cast pin changed %d rows, want 1", n)
		}
		got = e.users(`SELECT id, name, email, ssn FROM users WHERE id = 2`)
		if want := []user{{id: 2, email: ns(d), ssn: ns(f)}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("after UPDATE with casts: %v, want %v", got, want)
		}
		e.assertStored("users", []string{"email", "ssn"}, a, b, c, d, f)
		e.assertStored("profiles", []string{"note", "avatar"}, string(avatar))

		// Casts that could change the value, or that kmsenc would have to
		// apply to ciphertext, stay refused.
		for _, q := range []string{
			e.pick(`INSERT INTO users (id, email) VALUES ($1, $2::varchar(3))`, `INSERT INTO users (id, email) VALUES (?, CAST(? AS CHAR(3)))`),
			e.pick(`INSERT INTO profiles (id, avatar) VALUES ($1, $2::text)`, `INSERT INTO profiles (id, avatar) VALUES (?, CAST(? AS CHAR))`),
			e.pick(`INSERT INTO users (id, email) VALUES ($1::numeric, $2)`, `INSERT INTO users (id, email) VALUES (CAST(? AS DECIMAL), ?)`),
		} {
			if _, err := e.execErr(q, 3, canary("refused")); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: %v, want ErrUnsupportedStatement", q, err)
			}
		}
		if n := e.count("users"); n != 2 {
			t.Errorf("users holds %d rows after the refusals, want 2", n)
		}
	})
}

// TestRelaxedSelect: parenthesised columns, WITH RECURSIVE over plain
// columns, and (PostgreSQL) DISTINCT ON and a -- comment ended by \r.
func TestRelaxedSelect(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		a, b, c := canary("sel"), canary("sel"), canary("sel")
		e.exec(`INSERT INTO users (id, email, ssn) VALUES ($1, $2, $3), ($4, $5, NULL)`, 1, a, b, 2, c)

		rows, err := e.query(`SELECT (email), (u.ssn) AS s, ((u.id)) FROM users u WHERE u.id = $1`, 1)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var email, ssn string
		var id int64
		if !rows.Next() {
			t.Fatalf("no row: %v", rows.Err())
		}
		if err := rows.Scan(&email, &ssn, &id); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if email != a || ssn != b || id != 1 || len(cols) != 3 || cols[0] != "email" || cols[1] != "s" {
			t.Errorf("SELECT (email), (u.ssn) AS s: %v %q %q %d, want [email s ...] %q %q 1", cols, email, ssn, id, a, b)
		}

		got := e.users(`WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5)
			SELECT u.id, u.name, u.email, u.ssn FROM t JOIN users u ON u.id = t.n ORDER BY u.id`)
		if want := []user{{id: 1, email: ns(a), ssn: ns(b)}, {id: 2, email: ns(c)}}; !reflect.DeepEqual(got, want) {
			t.Errorf("WITH RECURSIVE: %v, want %v", got, want)
		}
		if _, err := e.query(`WITH RECURSIVE r AS (SELECT email FROM users) SELECT * FROM r`); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
			t.Errorf("WITH RECURSIVE of an encrypted column: %v, want ErrUnsupportedStatement", err)
		}

		if e.d.name != "postgres" {
			return
		}
		got = e.users(`SELECT DISTINCT ON (u.id) u.id, u.name, u.email, u.ssn FROM users u JOIN users v ON v.id >= u.id ORDER BY u.id`)
		if want := []user{{id: 1, email: ns(a), ssn: ns(b)}, {id: 2, email: ns(c)}}; !reflect.DeepEqual(got, want) {
			t.Errorf("DISTINCT ON: %v, want %v", got, want)
		}
		// PostgreSQL ends a -- comment at \r: the WHERE below is read, and
		// the select list before the comment is rewritten.
		got = e.users("SELECT id, name, email, ssn -- the user\rFROM users WHERE id = $1", 2)
		if want := []user{{id: 2, email: ns(c)}}; !reflect.DeepEqual(got, want) {
			t.Errorf("-- comment ended by \\r: %v, want %v", got, want)
		}
	})
}

// TestRelaxedOverriding: INSERT ... OVERRIDING SYSTEM VALUE into a table
// whose context column is an identity column; OVERRIDING USER VALUE there
// stays refused (the database would replace the context value).
func TestRelaxedOverriding(t *testing.T) {
	t.Parallel()
	for _, mode := range execModes {
		t.Run(mode, func(t *testing.T) {
			e := setup(t, mode, suiteSchema,
				`DROP TABLE IF EXISTS profiles, users`,
				`CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text)`,
				`CREATE TABLE profiles (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint, note text, avatar bytea,
				  age text, score text, active text, birthday text, seen_at text, settings text, encrypted_kms_key text)`)
			a := canary("over")
			e.exec(`INSERT INTO users (id, email) OVERRIDING SYSTEM VALUE VALUES ($1, $2)`, 41, a)
			if got, want := e.users(`SELECT id, name, email, ssn FROM users`), []user{{id: 41, email: ns(a)}}; !reflect.DeepEqual(got, want) {
				t.Errorf("OVERRIDING SYSTEM VALUE: %v, want %v", got, want)
			}
			if _, err := e.execErr(`INSERT INTO users (id, email) OVERRIDING USER VALUE VALUES ($1, $2)`, 42, canary("over")); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("OVERRIDING USER VALUE with a context column: %v, want ErrUnsupportedStatement", err)
			}
			// profiles has the default context: the generated id is no part
			// of it.
			n := canary("over")
			e.exec(`INSERT INTO profiles (user_id, note) OVERRIDING USER VALUE VALUES ($1, $2)`, 41, n)
			var note string
			if err := e.queryRow(`SELECT note FROM profiles WHERE user_id = $1`, 41).Scan(&note); err != nil || note != n {
				t.Errorf("OVERRIDING USER VALUE, default context: %q, %v; want %q", note, err, n)
			}
			e.assertStored("users", []string{"email"}, a)
			e.assertStored("profiles", []string{"note"}, n)
		})
	}
}

// TestRelaxedNamedArgs: pgx.NamedArgs reach kmsenc through database/sql;
// kmsenc applies them as pgx does before planning.
func TestRelaxedNamedArgs(t *testing.T) {
	t.Parallel()
	for _, mode := range execModes {
		t.Run(mode, func(t *testing.T) {
			e := setup(t, mode, suiteSchema, pgDDL...)
			a, b := canary("named"), canary("named")
			e.exec(`INSERT INTO users (id, email, ssn) VALUES (@id, @email, @ssn)`, pgx.NamedArgs{"id": 1, "email": a, "ssn": b})
			e.exec(`UPDATE users SET ssn = @ssn WHERE id = @id`, pgx.StrictNamedArgs{"id": 1, "ssn": nil})
			got := e.users(`SELECT id, name, email, ssn FROM users WHERE id = @id`, pgx.NamedArgs{"id": 1})
			if want := []user{{id: 1, email: ns(a)}}; !reflect.DeepEqual(got, want) {
				t.Errorf("NamedArgs: %v, want %v", got, want)
			}
			e.assertStored("users", []string{"email", "ssn"}, a, b)
			stmt, err := e.prepare(`SELECT email FROM users WHERE id = $1`)
			if err != nil {
				t.Fatal(err)
			}
			defer stmt.Close()
			if err := stmt.QueryRow(pgx.NamedArgs{"id": 1}).Scan(new(string)); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("NamedArgs with a prepared statement: %v, want ErrUnsupportedStatement", err)
			}
		})
	}
}

// TestRelaxedMySQLSelectInto: SELECT ... INTO @v of plain columns passes;
// of encrypted columns it stays refused.
func TestRelaxedMySQLSelectInto(t *testing.T) {
	t.Parallel()
	forEachMySQLMode(t, func(t *testing.T, e *env) {
		a := canary("into")
		e.exec(`INSERT INTO users (id, name, email) VALUES (?, ?, ?)`, 7, "seven", a)
		ctx := context.Background()
		conn, err := e.db.Conn(ctx) // user variables belong to the session
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT id, name INTO @i, @n FROM users WHERE id = ?`, 7); err != nil {
			t.Fatal(err)
		}
		var id int64
		var name string
		if err := conn.QueryRowContext(ctx, `SELECT @i, @n`).Scan(&id, &name); err != nil || id != 7 || name != "seven" {
			t.Errorf("SELECT ... INTO @i, @n: %d %q %v", id, name, err)
		}
		for _, q := range []string{
			`SELECT email INTO @e FROM users WHERE id = ?`,
			`SELECT id, email FROM users WHERE id = ? INTO @i, @e`,
		} {
			if _, err := conn.ExecContext(ctx, q, 7); !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: %v, want ErrUnsupportedStatement", q, err)
			}
		}
		e.assertStored("users", []string{"email"}, a)
	})
}

// TestRelaxedMySQLColumnsWithAlias: with go-sql-driver's
// columnsWithAlias=true the result's columns are named "table.column";
// kmsenc decrypts them and names them as the plain driver does.
func TestRelaxedMySQLColumnsWithAlias(t *testing.T) {
	t.Parallel()
	for _, mode := range mysqlDialect.modes {
		t.Run(mode, func(t *testing.T) {
			e := setupDialect(t, mysqlDialect, mode, suiteSchema, nil, suiteDDL(mysqlDialect)...)
			a, b := canary("alias"), canary("alias")
			e.exec(`INSERT INTO users (id, email, ssn) VALUES (?, ?, ?)`, 1, a, b)

			open := func(wrap bool) *sql.DB {
				cfg, err := gomysql.ParseDSN(mysqlWith(t, nil))
				if err != nil {
					t.Fatal(err)
				}
				cfg.ColumnsWithAlias, cfg.InterpolateParams = true, mode == "interpolateParams=true"
				base, err := gomysql.NewConnector(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if !wrap {
					return sql.OpenDB(base)
				}
				kcfg, err := kmsenc.LoadConfig(e.cfg)
				if err != nil {
					t.Fatal(err)
				}
				c, err := mysql.NewConnector(&recorder{base: base}, kcfg, kmsenc.WithProvider(e.keyURL, e.key))
				if err != nil {
					t.Fatal(err)
				}
				return sql.OpenDB(c)
			}
			enc, plain := open(true), open(false)
			defer enc.Close()
			defer plain.Close()
			for _, q := range []string{
				`SELECT * FROM users WHERE id = 1`,
				`SELECT u.*, v.id FROM users u JOIN users v ON v.id = u.id`,
				`SELECT u.id, u.email, ssn FROM users u`,
			} {
				got, gotCols := readAll(t, enc, q)
				_, plainCols := readAll(t, plain, q)
				// The key column that * brings is hidden (ARCHITECTURE.md §5
				// rule 3): that it is shows kmsenc read "u.encrypted_kms_key"
				// as the key column.
				var wantCols []string
				for _, c := range plainCols {
					if !strings.HasSuffix(c, ".encrypted_kms_key") {
						wantCols = append(wantCols, c)
					}
				}
				if !reflect.DeepEqual(gotCols, wantCols) {
					t.Errorf("%s: columns %v, want the plain driver's %v without the key column", q, gotCols, wantCols)
				}
				row := got[0]
				if row["u.email"] != a && row["users.email"] != a {
					t.Errorf("%s: %v, want email %q", q, row, a)
				}
				if _, ok := row["users.ssn"]; ok && row["users.ssn"] != b {
					t.Errorf("%s: ssn %v, want %q", q, row["users.ssn"], b)
				}
				if _, ok := row["u.ssn"]; ok && row["u.ssn"] != b {
					t.Errorf("%s: ssn %v, want %q", q, row["u.ssn"], b)
				}
			}
			e.assertStored("users", []string{"email", "ssn"}, a, b)
		})
	}
}

// readAll reads every row of q as column name -> value (text as string).
func readAll(t *testing.T, db *sql.DB, q string) ([]map[string]any, []string) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		m := map[string]any{}
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				vals[i] = string(b)
			}
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rows", q)
	}
	return out, cols
}
