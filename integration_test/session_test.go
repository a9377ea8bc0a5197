package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc"
)

// The tests of this file change, in every way each server offers, the
// session settings that decide how the server reads text (PostgreSQL
// standard_conforming_strings and client_encoding; MySQL sql_mode and the
// connection's character set), and check that kmsenc either refuses the
// change or refuses every later statement on that connection, or that the
// change leaves the text read as kmsenc reads it. ARCHITECTURE.md §5,
// "Settings that change how text reads".

// sessionCase is one way of changing the session of a connection.
type sessionCase struct {
	name string
	// change changes the session of c (through kmsenc) and returns kmsenc's
	// refusal, if any; a server error fails the test.
	change func(t *testing.T, e *env, c *sql.Conn) error
	// harmless: the change leaves text read as kmsenc reads it, so the
	// writes that follow must succeed.
	harmless bool
}

// run is a change made by one statement with arguments.
func run(query string, args ...any) func(t *testing.T, e *env, c *sql.Conn) error {
	return func(t *testing.T, e *env, c *sql.Conn) error {
		_, err := c.ExecContext(context.Background(), e.q(query), args...)
		return refusedOrFatal(t, query, err)
	}
}

// refusedOrFatal returns err when it is kmsenc's (a refused statement or a
// session kmsenc can't read), and fails the test on any other error.
func refusedOrFatal(t *testing.T, what string, err error) error {
	t.Helper()
	if err != nil && !errors.Is(err, kmsenc.ErrUnsupportedStatement) && !errors.Is(err, kmsenc.ErrConfig) {
		t.Fatalf("%s: %v", what, err)
	}
	return err
}

// runSessionCases runs each case on a connection of its own: the change,
// then two writes of canaries to the encrypted column email on the same
// connection, one as an argument and one as a literal. Unless the change is
// harmless, kmsenc must have refused it or both writes. Then the pool's
// next connection must work, and no canary may lie in the database as
// plaintext.
func runSessionCases(t *testing.T, e *env, cases []sessionCase) {
	ctx := context.Background()
	// One connection at a time: the one a case spoiled must be discarded,
	// not handed to the next statement.
	e.db.SetMaxOpenConns(1)
	var written []string
	for i, sc := range cases {
		t.Run(sc.name, func(t *testing.T) {
			id := int64(100 * (i + 1))
			c, err := e.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			changeErr := sc.change(t, e, c)
			arg, lit := canary("session-arg"), canary("session-lit")
			_, argErr := c.ExecContext(ctx, e.q(`INSERT INTO users (id, name, email) VALUES ($1, 'arg', $2)`), id, arg)
			argErr = refusedOrFatal(t, "INSERT with an argument", argErr)
			_, litErr := c.ExecContext(ctx, fmt.Sprintf(`INSERT INTO users (id, name, email) VALUES (%d, 'lit', '%s')`, id+1, lit))
			litErr = refusedOrFatal(t, "INSERT with a literal", litErr)
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			switch {
			case sc.harmless:
				if changeErr != nil || argErr != nil || litErr != nil {
					t.Fatalf("a harmless change: change %v, writes %v, %v", changeErr, argErr, litErr)
				}
				assertEmail(t, e, id, arg)
				assertEmail(t, e, id+1, lit)
				written = append(written, arg, lit)
			case changeErr == nil && (argErr == nil || litErr == nil):
				t.Fatalf("the change went through and so did a write: %v, %v", argErr, litErr)
			case changeErr == nil && !strings.Contains(argErr.Error(), "no more statements on this connection"):
				t.Errorf("the refused write doesn't say the connection is unusable: %v", argErr)
			}
			// The pool's next connection reads text as kmsenc does.
			next := canary("session-next")
			e.exec(`INSERT INTO users (id, name, email) VALUES ($1, 'next', $2)`, id+2, next)
			assertEmail(t, e, id+2, next)
			written = append(written, next)
		})
	}
	e.assertStored("users", []string{"email", "ssn"}, written...)
}

// assertEmail reads user id's email through kmsenc.
func assertEmail(t *testing.T, e *env, id int64, want string) {
	t.Helper()
	var got string
	if err := e.queryRow(`SELECT email FROM users WHERE id = $1`, id).Scan(&got); err != nil || got != want {
		t.Errorf("user %d: email %q, %v; want %q", id, got, err, want)
	}
}

// TestSessionPostgresChanges: every way a PostgreSQL session can change
// standard_conforming_strings or client_encoding ends in a ParameterStatus
// message, which kmsenc checks before each statement.
func TestSessionPostgresChanges(t *testing.T) {
	t.Parallel()
	for _, mode := range postgresDialect.modes {
		t.Run(mode, func(t *testing.T) {
			e := setup(t, mode, suiteSchema, pgDDL...)
			// A function that turns standard_conforming_strings off for the
			// session, one whose SET clause holds only while it runs.
			e.rawExec(`CREATE OR REPLACE FUNCTION session_scs_off() RETURNS text LANGUAGE sql AS 'SELECT set_config(''standard_conforming_strings'', ''off'', false)'`)
			e.rawExec(`CREATE OR REPLACE FUNCTION session_sjis_inside() RETURNS int LANGUAGE sql SET client_encoding = 'SJIS' AS 'SELECT 1'`)
			runSessionCases(t, e, []sessionCase{
				{name: "SET client_encoding", change: run(`SET client_encoding = 'SJIS'`)},
				{name: "SET NAMES", change: run(`SET NAMES 'BIG5'`)},
				{name: "SET single-byte encoding", change: run(`SET client_encoding TO 'LATIN1'`)},
				{name: "SET standard_conforming_strings", change: run(`SET standard_conforming_strings = off`)},
				{name: "SET LOCAL in a transaction", change: func(t *testing.T, e *env, c *sql.Conn) error {
					ctx := context.Background()
					tx, err := c.BeginTx(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					defer tx.Rollback()
					if _, err := tx.Exec(`SET LOCAL client_encoding = 'GBK'`); err != nil {
						t.Fatal(err)
					}
					in := canary("session-tx")
					_, err = tx.Exec(`INSERT INTO users (id, name, email) VALUES (1, 'tx', $1)`, in)
					if !errors.Is(err, kmsenc.ErrConfig) {
						t.Errorf("INSERT after SET LOCAL: err = %v, want ErrConfig", err)
					}
					return nil // the transaction's end restores the setting; the connection stays refused
				}},
				{name: "set_config with a computed name", change: run(`SELECT set_config('client_' || 'encoding', 'EUC_TW', false)`)},
				{name: "set_config with parameters", change: run(`SELECT set_config($1, $2, false)`, "standard_conforming_strings", "off")},
				{name: "UPDATE pg_settings", change: run(`UPDATE pg_settings SET setting = $1 WHERE name = $2`, "off", "standard_conforming_strings")},
				{name: "a function that sets it", change: run(`SELECT session_scs_off()`)},
				{name: "a function's SET clause", change: run(`SELECT session_sjis_inside()`), harmless: true},
				{name: "SET client_encoding UTF8", change: run(`SET client_encoding = 'utf-8'`), harmless: true},
				{name: "RESET ALL", change: run(`RESET ALL`), harmless: true},
			})
		})
	}
}

// TestSessionPostgresConnect: a connection whose settings come from the DSN
// (a runtime parameter, options=-c) or the role is refused when it is made.
// (pgx reads no PGCLIENTENCODING; PGOPTIONS is options.)
func TestSessionPostgresConnect(t *testing.T) {
	t.Parallel()
	e := setup(t, "cache_statement", suiteSchema, pgDDL...)
	ping := func(name, dsn string, want string) {
		t.Helper()
		db, err := sql.Open("kmsenc+postgres", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ping(); !errors.Is(err, kmsenc.ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want ErrConfig naming %s", name, err, want)
		}
	}
	dsn := func(params map[string]string) string {
		params["kmsenc_config"] = e.cfg
		return withParams(t, postgresTestDSN(t), params)
	}
	ping("client_encoding parameter", dsn(map[string]string{"client_encoding": "LATIN1"}), "client_encoding")
	ping("options client_encoding", dsn(map[string]string{"options": "-cclient_encoding=SJIS"}), "client_encoding")
	ping("options standard_conforming_strings", dsn(map[string]string{"options": "-cstandard_conforming_strings=off"}), "standard_conforming_strings")

	// ALTER ROLE ... SET, on a role of the test's own.
	role := e.d.srv.ns(t) + "_role"
	e.rawExec(`CREATE ROLE "` + role + `" LOGIN`)
	t.Cleanup(func() {
		if _, err := e.raw.Exec(`DROP ROLE IF EXISTS "` + role + `"`); err != nil {
			t.Errorf("dropping the test's role: %v", err)
		}
	})
	e.rawExec(`ALTER ROLE "` + role + `" SET client_encoding = 'SJIS'`)
	u := withParams(t, postgresTestDSN(t), map[string]string{"kmsenc_config": e.cfg})
	at := strings.Index(u, "://") + 3
	ping("ALTER ROLE SET", u[:at]+role+u[strings.IndexByte(u, '@'):], "client_encoding")
	e.rawExec(`ALTER ROLE "` + role + `" SET client_encoding = 'UTF8'`)
	e.rawExec(`ALTER ROLE "` + role + `" SET standard_conforming_strings = off`)
	ping("ALTER ROLE SET standard_conforming_strings", u[:at]+role+u[strings.IndexByte(u, '@'):], "standard_conforming_strings")
}

// TestSessionMySQLChanges: every way a MySQL/MariaDB session can change its
// sql_mode or character set is a statement kmsenc either refuses or reads
// the settings again after, before the connection's next statement.
func TestSessionMySQLChanges(t *testing.T) {
	t.Parallel()
	forEachMySQLMode(t, func(t *testing.T, e *env) {
		// Stored functions run with the sql_mode and character set they
		// were created with, and the caller's come back when they return.
		e.rawExec("CREATE FUNCTION IF NOT EXISTS session_sets() RETURNS int BEGIN SET NAMES gbk; SET sql_mode = 'ANSI_QUOTES'; RETURN 1; END")
		runSessionCases(t, e, []sessionCase{
			{name: "SET NAMES", change: run(`SET NAMES gbk`)},
			{name: "SET CHARACTER SET", change: run(`SET CHARACTER SET big5`)},
			{name: "SET character_set_client parameter", change: run(`SET character_set_client = $1`, "sjis")},
			{name: "SET @@character_set_client CONCAT", change: run(`SET @@session.character_set_client = CONCAT('gb', 'k')`)},
			{name: "SET character_set_client number", change: run(`SET character_set_client = 28`)},
			{name: "SET collation_connection", change: run(`SET collation_connection = 'cp932_japanese_ci'`)},
			{name: "SET character_set_client latin1", change: run(`SET character_set_client = latin1`)},
			{name: "SET sql_mode ANSI", change: run(`SET sql_mode = 'ANSI'`)},
			{name: "SET sql_mode CONCAT", change: run(`SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')`)},
			{name: "SET @@sql_mode parameter", change: run(`SET @@sql_mode = $1`, "NO_BACKSLASH_ESCAPES")},
			{name: "SET sql_mode literal", change: run(`SET sql_mode = 'NO_BACKSLASH_ESCAPES'`)},
			{name: "SET STATEMENT", change: run(`SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR SELECT 1`)},
			{name: "PREPARE and EXECUTE", change: func(t *testing.T, e *env, c *sql.Conn) error {
				if err := run(`PREPARE session_stmt FROM 'SET NAMES sjis'`)(t, e, c); err != nil {
					t.Fatalf("PREPARE: %v", err)
				}
				return run(`EXECUTE session_stmt`)(t, e, c)
			}},
			{name: "EXECUTE IMMEDIATE", change: run(`EXECUTE IMMEDIATE 'SET NAMES big5'`)},
			{name: "EXECUTE IMMEDIATE CONCAT", change: run(`EXECUTE IMMEDIATE CONCAT('SET sql_mode = ''', 'ANSI', '''')`)},
			{name: "compound statement", change: run(`BEGIN NOT ATOMIC SET NAMES gbk; SELECT 1; END`)},
			{name: "a function that sets them", change: run(`SELECT session_sets()`), harmless: true},
			{name: "SET NAMES utf8mb4", change: run(`SET NAMES utf8mb4`), harmless: true},
			{name: "SET sql_mode", change: run(`SET sql_mode = 'STRICT_ALL_TABLES,PIPES_AS_CONCAT'`), harmless: true},
		})
	})
}

// TestSessionMySQLGlobal: SET GLOBAL changes the settings of the
// connections made after it, which kmsenc checks when they are made. The
// global value is restored at once (other tests share the server).
// (go-sql-driver sets the character set of every connection it makes, so a
// global character set never reaches it.)
func TestSessionMySQLGlobal(t *testing.T) {
	e := setupDialect(t, mysqlDialect, "interpolateParams=true", suiteSchema, nil, suiteDDL(mysqlDialect)...)
	for _, c := range []struct{ variable, value, want string }{
		{"sql_mode", "CONCAT(@@GLOBAL.sql_mode, ',ANSI_QUOTES')", "ANSI_QUOTES"},
	} {
		var old string
		if err := e.raw.QueryRow(`SELECT @@GLOBAL.` + c.variable).Scan(&old); err != nil {
			t.Fatal(err)
		}
		restore := func() {
			if _, err := e.raw.Exec(`SET GLOBAL `+c.variable+` = ?`, old); err != nil {
				t.Errorf("restoring the global %s: %v", c.variable, err)
			}
		}
		t.Cleanup(restore)
		db, err := sql.Open("kmsenc+mysql", mysqlWith(t, map[string]string{"kmsenc_config": e.cfg}))
		if err != nil {
			t.Fatal(err)
		}
		e.rawExec(`SET GLOBAL ` + c.variable + ` = ` + c.value)
		err = db.Ping()
		restore()
		db.Close()
		if !errors.Is(err, kmsenc.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SET GLOBAL %s: err = %v, want ErrConfig naming %s", c.variable, err, c.want)
		}
	}
}

// TestSessionLiterals: a literal written to an encrypted column is
// encrypted as exactly the value the server would store from it: the same
// literal written to a plain column in the same statement reads back, through
// the plain driver, as the encrypted one does through kmsenc. Literals kmsenc
// can't decode exactly are refused.
func TestSessionLiterals(t *testing.T) {
	t.Parallel()
	forEachDialect(t, suiteSchema, suiteDDL, func(t *testing.T, e *env) {
		exact := []string{`'it''s é😀'`, `'a\b'`, "'a'\n'b'", `12`, `-7`}
		// Numbers with a fraction keep the server's own spelling in a text
		// column.
		refused := []string{`-1.50`, `0.0`, `1e3`}
		if e.d.name == "postgres" {
			exact = append(exact, `E'a\nb\tc'`, `E'\x41\101\u00e9\U0001F600'`, `E'it\'s \\ done'`, `$$a'b\c$$`, `$t$x$$y$t$`)
			refused = append(refused, `U&'d\0061t'`, `B'101'`, `X'41'`, `N'x'`)
		} else {
			exact = append(exact, `'a\nb\tc\Z\0'`, `'it\'s \\ done'`, `'a\%\_'`, `"dq'x"`, `'a' "b"`, `_utf8mb4'é😀'`, `_binary'bin'`,
				`N'é'`, `X'C3A9'`, `0x41`, `B'1000001'`, `0b01000010`)
			refused = append(refused, `_latin1'é'`, `_ascii'x'`, `N'😀'`, `_utf8'😀'`)
		}
		for i, lit := range exact {
			id := int64(i + 1)
			e.exec(fmt.Sprintf(`INSERT INTO users (id, name, email) VALUES (%d, %s, %s)`, id, lit, lit))
			var plain, dec sql.NullString
			if err := e.raw.QueryRow(e.q(`SELECT name FROM users WHERE id = $1`), id).Scan(&plain); err != nil {
				t.Fatal(err)
			}
			if err := e.queryRow(`SELECT email FROM users WHERE id = $1`, id).Scan(&dec); err != nil {
				t.Fatalf("%s: %v", lit, err)
			}
			if plain != dec {
				t.Errorf("%s: the server stores %q, kmsenc encrypted %q", lit, plain.String, dec.String)
			}
			// And the same through UPDATE.
			e.exec(fmt.Sprintf(`UPDATE users SET email = %s WHERE id = %d`, lit, id))
			if err := e.queryRow(`SELECT email FROM users WHERE id = $1`, id).Scan(&dec); err != nil || plain != dec {
				t.Errorf("UPDATE %s: kmsenc encrypted %q (%v), the server stores %q", lit, dec.String, err, plain.String)
			}
		}
		for i, lit := range refused {
			id := int64(100 + i)
			_, err := e.execErr(fmt.Sprintf(`INSERT INTO users (id, name, email) VALUES (%d, 'x', %s)`, id, lit))
			if !errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				t.Errorf("%s: err = %v, want ErrUnsupportedStatement", lit, err)
			}
		}
		if n := e.count("users"); n != len(exact) {
			t.Errorf("%d rows, want %d: a refused statement wrote", n, len(exact))
		}
	})
}
