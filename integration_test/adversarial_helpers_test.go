package integration_test

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/kmsenc/kmsenc"
)

// Helpers that build the cases of adversarial_test.go and
// adversarial_pending_test.go.

// The payloads that turn a lexer disagreement into plaintext. Each is an
// INSERT into users (name, email, id) that kmsenc reads as a row whose email
// is NULL, with the canary inside a comment, while a server that reads one
// quote differently reads the canary as the email; kmsenc's key goes after
// the last value, which both read as code, so the server's row has a value
// for every column.

// payloadCloses is for a string opener that kmsenc reads as a complete
// string and the server as a string that goes on (PostgreSQL with
// standard_conforming_strings off: '\').
func payloadCloses(c string) string {
	return "INSERT INTO users (name, email, id) VALUES ('\\', NULL /* ', '" + c + "' -- */\n, 7)"
}

// payloadGoesOn is for an opener that kmsenc reads as a string that goes on
// (a backslash escaping the quote) and the server as complete: MySQL with
// NO_BACKSLASH_ESCAPES ('\'), a multibyte character set whose second byte is
// a backslash, ANSI_QUOTES ("\"). closeQuote is the quote that ends
// kmsenc's string.
func payloadGoesOn(opener, closeQuote, c string) string {
	return "INSERT INTO users (name, email, id) VALUES (" + opener + " /* " + closeQuote + ", NULL -- */, '" + c + "'\n, 7)"
}

// tryPayload runs a payload and checks what kmsenc said it wrote: email NULL.
func (a *attack) tryPayload(q string) {
	a.textOK = true
	a.write([]cell{{"users", "email", 7, nil}}, q)
}

// stateCase is a session change (steps, through kmsenc on the attacker's
// session), then the payload that exploits it.
func stateCase(name, on string, payload func(a *attack, c string) string, steps ...string) advCase {
	return advCase{name: name, on: on, run: func(a *attack) {
		a.textOK = true
		c := a.canary()
		for _, s := range steps {
			a.exec(s)
		}
		a.tryPayload(payload(a, c))
	}}
}

// scsOff is the PostgreSQL payload for standard_conforming_strings off.
func scsOff(_ *attack, c string) string { return payloadCloses(c) }

// noBackslashEscapes is the MySQL payload for NO_BACKSLASH_ESCAPES.
func noBackslashEscapes(_ *attack, c string) string { return payloadGoesOn(`'\'`, `'`, c) }

// multibyte returns the payload for a client character set that reads the
// UTF-8 text chars followed by a backslash as characters whose last one
// ends with the backslash: kmsenc reads the backslash as an escape of the
// quote after it, the server as part of a character. Valid UTF-8 all the
// way, so kmsenc's lexer takes it. sjisChars suits Shift-JIS and cp932 (C3
// is a one-byte katakana, then 81 5C), gbkChars GBK (E4 B8, then 81 5C),
// big5Chars Big5 (E4 A1, then A1 5C).
func multibyte(chars string, escape bool) func(*attack, string) string {
	return func(_ *attack, c string) string {
		opener := "'" + chars + `\'`
		if escape {
			opener = "E" + opener
		}
		return payloadGoesOn(opener, "'", c)
	}
}

const (
	sjisChars = "\u00c1" // UTF-8 C3 81
	gbkChars  = "\u4e01" // UTF-8 E4 B8 81
	big5Chars = "\u4861" // UTF-8 E4 A1 A1
)

// ansiQuotes is the MySQL payload for ANSI_QUOTES: "\" is an identifier
// there (the column named \ of ddlBackslashColumn), a string to kmsenc.
func ansiQuotes(_ *attack, c string) string { return payloadGoesOn(`"\"`, `"`, c) }

// ddlBackslashColumn is advDDL with a plain column named \ in users.
func ddlBackslashColumn(d *dialect) []string {
	return []string{
		"CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text, `\\` text)",
		`CREATE TABLE notes (id bigint PRIMARY KEY, body text)`,
	}
}

// literalCase writes a literal form to an encrypted column: kmsenc must
// refuse it or store exactly what the server reads the literal as (asked of
// the server through the plain driver).
func literalCase(name, on string, form func(c string) string) advCase {
	return advCase{name: name, on: on, run: func(a *attack) {
		c := a.canary()
		lit := form(c)
		var want sql.NullString
		q := a.pick(`SELECT CAST(`+lit+` AS text)`, `SELECT CAST(`+lit+` AS CHAR)`)
		if err := a.raw.QueryRow(q).Scan(&want); err != nil {
			a.t.Fatalf("the server can't read %s: %v", lit, err)
		}
		a.write([]cell{{"users", "email", 7, want.String}}, `INSERT INTO users (id, email) VALUES (7, `+lit+`)`)
	}}
}

// refusedCase runs statements that must be refused (or fail on the
// server), with the canary in them where %[1]s stands; setup statements run
// through the plain driver first. The steps stop at the first refusal:
// later ones use what it would have made.
func refusedCase(name, on string, setup []string, stmts ...string) advCase {
	return advCase{name: name, on: on, run: func(a *attack) {
		c := a.canary()
		for _, s := range setup {
			a.plain(s)
		}
		for _, s := range stmts {
			if strings.Contains(s, "%[1]s") {
				s = fmt.Sprintf(s, c)
			}
			err := a.exec(s)
			if errors.Is(err, kmsenc.ErrUnsupportedStatement) {
				return // the later steps use what this one would have made
			}
			if err == nil {
				// Accepted: whatever it did is checked by the scan; a
				// write to row 7 must read back.
				a.readsBack("users", "email", 7, nil)
			}
		}
	}}
}

// oobCase creates objects through the plain driver (out of band), then
// runs a statement through kmsenc that uses them with the canary (%[1]s).
func oobCase(name, on string, setup []string, stmt string) advCase {
	return advCase{name: name, on: on, run: func(a *attack) {
		c := a.canary()
		for _, s := range setup {
			a.plain(a.expand(s))
		}
		a.exec(fmt.Sprintf(a.expand(stmt), c))
	}}
}

// expand replaces {ns} with the run's namespace.
func (a *attack) expand(s string) string { return strings.ReplaceAll(s, "{ns}", a.ns) }

// readCase writes a row through kmsenc (email = the canary), then reads it
// back with each query: kmsenc must refuse it or return the canary, never
// ciphertext; setup runs through the plain driver first.
func readCase(name, on string, setup []string, queries ...string) advCase {
	return advCase{name: name, on: on, run: func(a *attack) {
		c := a.canary()
		a.setupExec(`INSERT INTO users (id, name, email) VALUES (7, 'Ann', $1)`, c)
		for _, s := range setup {
			a.plain(a.expand(s))
		}
		for _, q := range queries {
			rows, err := a.query(a.expand(q))
			if err != nil {
				continue
			}
			found, values := false, false
			for _, r := range rows {
				for _, v := range r {
					values = values || v != "NULL"
					found = found || strings.Contains(v, c)
				}
			}
			if values && !found {
				a.flag(outWrong, "%q returned %q, not the plaintext", q, rows)
			}
		}
	}}
}

// hexOf is the canary in hex.
func hexOf(c string) string { return hex.EncodeToString([]byte(c)) }

// extraNamespace creates one more namespace for the run (a schema a
// search_path points to), scanned like the run's own.
func (a *attack) extraNamespace() string {
	ns := newAdvNamespace(a.t, a.d, a.t.Name()+"/extra")
	a.extra = append(a.extra, ns)
	return ns
}

// copyCase writes a row through kmsenc (email = the canary), then tries to
// copy declared data elsewhere with copy; where kmsenc accepts it, reading
// what it made through kmsenc (read) must never return ciphertext.
func copyCase(name, on, copy, read string) advCase {
	return advCase{name: name, on: on, run: func(a *attack) {
		c := a.canary()
		a.setupExec(`INSERT INTO users (id, name, email) VALUES (7, 'Ann', $1)`, c)
		if a.exec(copy) == nil {
			a.query(read)
		}
	}}
}
