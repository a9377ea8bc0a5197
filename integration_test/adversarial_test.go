package integration_test

// The adversarial suite (issue 10, "Proof"): statements and session changes
// an attacker who controls some SQL text or session state would try, each
// run on every dialect it applies to and under every connection mode, each
// with canaries of its own. After a case's steps the checker reads every
// table of the case's namespace through the plain driver, each row cast to
// text, and looks for the canaries as written and hex- or base64-decoded;
// it checks that what kmsenc returned never looks like ciphertext, that
// every write kmsenc accepted reads back equal through kmsenc, and that a
// refused statement wrote nothing.
//
// Cases that pass today are listed here and run in CI. Cases that fail
// today (the product doesn't yet prevent what they do) are in
// adversarial_pending_test.go behind the build tag adversarial_pending,
// each naming what fails:
//
//	go test -tags adversarial_pending -run TestAdversarial .

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/providers"
)

// advSchema is the schema of every case unless it brings its own: users as
// in the suite, with $id in its context; notes is a plain table.
const advSchema = `
tables:
  users:
    context:
      table: users
      id: $id
    columns:
      email: text
      ssn: text
`

// advDDL creates the tables of advSchema, through the plain driver.
func advDDL(d *dialect) []string {
	return []string{
		`CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text)`,
		`CREATE TABLE notes (id bigint PRIMARY KEY, body text)`,
	}
}

// advCase is one attack.
type advCase struct {
	name string
	// on: "pg", "my", or "" for both dialects.
	on string
	// schema is the schema file's tables section (advSchema if empty), ddl
	// the tables made through the plain driver first (advDDL if nil).
	schema string
	ddl    func(d *dialect) []string
	// dsn holds extra parameters of the base driver's DSN.
	dsn map[string]string
	// modes limits the connection modes (all of the dialect's if nil).
	modes []string
	run   func(a *attack)
	// pending says what fails today (adversarial_pending_test.go only).
	pending string
}

// adversarialCases are the cases TestAdversarial runs: those below, which
// pass today, and under the build tag adversarial_pending those of
// adversarial_pending_test.go.
var adversarialCases = passingCases()

// outcome is what became of one run of a case (a case on one dialect in
// one mode); the worse outcomes come later.
type outcome int

const (
	outRefused    outcome = iota // every attack step was refused (by kmsenc, or by the server after kmsenc)
	outCorrect                   // some step was accepted, and it did exactly what the server says it should
	outPartial                   // a refused statement changed rows
	outUnreadable                // a write kmsenc accepted doesn't read back equal
	outUnsafe                    // the session reached a state kmsenc refuses at connect, and kmsenc kept running statements
	outWrong                     // kmsenc returned ciphertext (or another wrong value) as plaintext
	outLeak                      // a canary lies in the database, or was sent, in plaintext
)

var outcomeNames = []string{"refused", "accepted-correct", "PARTIAL WRITE", "UNREADABLE WRITE", "UNSAFE SESSION", "WRONG RESULT", "LEAK"}

func (o outcome) String() string { return outcomeNames[o] }

// advTally counts the outcomes of every run, for the summary.
var advTally struct {
	sync.Mutex
	runs    map[string]outcome // "case/dialect/mode" -> outcome
	notes   map[string][]string
	quoted  map[string]int
	pending map[string]string // case -> what fails today
}

// attack is one run of a case.
type attack struct {
	t       *testing.T
	c       *advCase
	d       *dialect
	mode    string
	ns      string
	db      *sql.DB   // through kmsenc
	conn    *sql.Conn // the attacker's session, through kmsenc
	raw     *sql.DB   // the plain driver, in ns
	rec     *recorder
	cfgPath string
	keyURL  string
	extra   []string // other namespaces the case made (scanned too)
	mine    []string // this run's canaries

	accepted, refused int
	quoted            int // refusals whose message quotes a canary
	// textOK: the case puts canaries in SQL text where kmsenc reads them
	// as a comment or a plain column's string (the payloads of lexer
	// disagreements): sent there, they are not a leak by themselves; the
	// scan of the tables tells whether the server stored them.
	textOK bool
	worst  outcome
	notes  []string
}

// TestAdversarial runs every case on its dialects under every mode, then
// logs a summary of the outcomes.
func TestAdversarial(t *testing.T) {
	t.Parallel()
	advTally.Lock()
	advTally.runs, advTally.notes, advTally.quoted, advTally.pending = map[string]outcome{}, map[string][]string{}, map[string]int{}, map[string]string{}
	advTally.Unlock()
	t.Cleanup(func() { logAdvSummary(t) })
	names := map[string]bool{}
	for i := range adversarialCases {
		c := &adversarialCases[i]
		if names[c.name] {
			t.Fatalf("two cases named %s", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, d := range dialects {
				if c.on != "" && c.on != map[string]string{"postgres": "pg", "mysql": "my"}[d.name] {
					continue
				}
				t.Run(d.name, func(t *testing.T) {
					d.require(t)
					modes := d.modes
					if c.modes != nil {
						modes = c.modes
					}
					for _, mode := range modes {
						t.Run(mode, func(t *testing.T) { runAttack(t, c, d, mode) })
					}
				})
			}
		})
	}
}

func runAttack(t *testing.T, c *advCase, d *dialect, mode string) {
	a := &attack{t: t, c: c, d: d, mode: mode}
	a.ns = newAdvNamespace(t, d, t.Name())
	raw, err := d.raw(a.ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	a.raw = raw
	ddl := advDDL(d)
	if c.ddl != nil {
		ddl = c.ddl(d)
	}
	for _, s := range ddl {
		a.plain(s)
	}
	schemaYAML := advSchema
	if c.schema != "" {
		schemaYAML = c.schema
	}
	a.keyURL = newKey(t)
	a.cfgPath = filepath.Join(t.TempDir(), "kmsenc.yaml")
	if err := os.WriteFile(a.cfgPath, []byte(fmt.Sprintf("key:\n  url: %s\n%s", a.keyURL, schemaYAML)), 0o600); err != nil {
		t.Fatal(err)
	}
	if a.open() && a.connect() {
		c.run(a)
	}
	a.finish()
}

// newAdvNamespace creates a namespace of the run for one case run: its
// name starts with the run's id, so TestMain scans and drops it.
func newAdvNamespace(t *testing.T, d *dialect, key string) string {
	t.Helper()
	if err := d.srv.start(); err != nil {
		t.Fatal(err)
	}
	name := namespaceName(key)
	q := `CREATE SCHEMA "` + name + `"`
	if d.name == "mysql" {
		q = "CREATE DATABASE `" + name + "`" + d.srv.mysqlOpts
	}
	if _, err := d.srv.admin.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return name
}

// baseConnector returns the plain driver's connector for the run's mode
// and the case's DSN parameters, working in ns.
func (a *attack) baseConnector(ns string) (driver.Connector, error) {
	if a.d.name == "mysql" {
		cfg, err := mysqlDSNIn(ns)
		if err != nil {
			return nil, err
		}
		cfg.InterpolateParams = a.mode == "interpolateParams=true"
		dsn := cfg.FormatDSN()
		for k, v := range a.c.dsn {
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			dsn += sep + k + "=" + v
		}
		cfg, err = gomysql.ParseDSN(dsn)
		if err != nil {
			return nil, err
		}
		return gomysql.NewConnector(cfg)
	}
	dsn, err := postgresDSNIn(ns)
	if err != nil {
		return nil, err
	}
	params := map[string]string{"default_query_exec_mode": a.mode}
	for k, v := range a.c.dsn {
		params[k] = v
	}
	dsn, err = withParamsErr(dsn, params)
	if err != nil {
		return nil, err
	}
	return postgresBase(a.t, dsn)
}

// open opens kmsenc over the plain driver, with a recorder between them.
// It reports whether kmsenc opened.
func (a *attack) open() bool {
	t := a.t
	cfg, err := kmsenc.LoadConfig(a.cfgPath)
	if err != nil {
		a.refusedAt("loading the schema file", err)
		return false
	}
	key, err := providers.Open(context.Background(), a.keyURL)
	if err != nil {
		t.Fatal(err)
	}
	base, err := a.baseConnector(a.ns)
	if err != nil {
		a.refusedAt("opening the base connector", err)
		return false
	}
	a.rec = &recorder{base: base}
	c, err := a.d.connector(a.rec, cfg, kmsenc.WithProvider(a.keyURL, key))
	if err != nil {
		a.refusedAt("opening kmsenc", err)
		return false
	}
	a.db = sql.OpenDB(c)
	t.Cleanup(func() { a.db.Close() })
	return true
}

// refusedAt records that kmsenc (or the base driver) refused to open or
// connect: the run's steps end there.
func (a *attack) refusedAt(what string, err error) {
	a.refused++
	a.note("%s: refused: %v", what, err)
}

// connect opens the attacker's session (a new one after reconnect). It
// reports whether it got one; without one, every later step fails with
// errNoSession.
func (a *attack) connect() bool {
	conn, err := a.db.Conn(context.Background())
	if err != nil {
		a.conn = nil
		a.refusedAt("connecting", err)
		return false
	}
	a.conn = conn
	a.t.Cleanup(func() { conn.Close() })
	return true
}

var errNoSession = errors.New("no session: kmsenc refused to connect")

// reconnect closes the attacker's session and opens a new one, throwing
// away the connector's idle connections: a new session reads settings made
// by ALTER ROLE or the DSN again.
func (a *attack) reconnect() bool {
	if a.conn != nil {
		a.conn.Close()
	}
	a.db.SetMaxIdleConns(0)
	a.db.SetMaxIdleConns(2)
	return a.connect()
}

func (a *attack) q(s string) string { return a.d.placeholders(s) }

// pick returns the PostgreSQL or the MySQL text.
func (a *attack) pick(pg, my string) string {
	if a.d.name == "mysql" {
		return my
	}
	return pg
}

// canary returns a plaintext of this run that must never lie in the
// database: only ever given to an encrypted column.
func (a *attack) canary() string {
	c := canary("adv")
	a.mine = append(a.mine, c)
	return c
}

// plain runs a statement through the plain driver (setup, or what an
// attacker does out of band); it must work.
func (a *attack) plain(query string, args ...any) {
	a.t.Helper()
	if _, err := a.raw.Exec(query, args...); err != nil {
		a.t.Fatalf("plain driver: %s: %v", query, err)
	}
}

// setupExec runs a statement through kmsenc that the case needs to work
// (a legitimate write before the attack).
func (a *attack) setupExec(query string, args ...any) {
	a.t.Helper()
	if a.conn == nil {
		a.t.Fatalf("setup through kmsenc: %s: %v", query, errNoSession)
	}
	if _, err := a.conn.ExecContext(context.Background(), a.q(query), args...); err != nil {
		a.t.Fatalf("setup through kmsenc: %s: %v", query, err)
	}
}

func (a *attack) note(format string, args ...any) {
	a.notes = append(a.notes, fmt.Sprintf(format, args...))
}

func (a *attack) flag(o outcome, format string, args ...any) {
	if o > a.worst {
		a.worst = o
	}
	msg := fmt.Sprintf(format, args...)
	a.note("%s: %s", o, msg)
	a.t.Errorf("%s: %s", o, msg)
}

// counts returns the rows of every table of the run's namespaces.
func (a *attack) counts() map[string]int {
	out := map[string]int{}
	for _, ns := range append([]string{a.ns}, a.extra...) {
		for _, tbl := range a.tables(ns) {
			var n int
			if err := a.raw.QueryRow(`SELECT count(*) FROM ` + a.quote(ns) + "." + a.quote(tbl)).Scan(&n); err != nil {
				a.t.Fatalf("counting %s.%s: %v", ns, tbl, err)
			}
			out[ns+"."+tbl] = n
		}
	}
	return out
}

func (a *attack) quote(s string) string {
	if a.d.name == "mysql" {
		return "`" + strings.ReplaceAll(s, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// tables lists the tables of a namespace that hold rows.
func (a *attack) tables(ns string) []string {
	list := `SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'm', 'p') ORDER BY 1`
	if a.d.name == "mysql" {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type <> 'VIEW' ORDER BY 1`
	}
	rows, err := a.raw.Query(list, ns)
	if err != nil {
		a.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			a.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// exec is an attack step: a statement through kmsenc on the attacker's
// session. A refusal must leave every table as it was.
func (a *attack) exec(query string, args ...any) error {
	a.t.Helper()
	if a.conn == nil {
		return errNoSession
	}
	before := a.counts()
	_, err := a.conn.ExecContext(context.Background(), a.q(query), args...)
	a.judge(query, err, before)
	return err
}

func (a *attack) judge(query string, err error, before map[string]int) {
	a.t.Helper()
	short := query
	if len(short) > 120 {
		short = short[:120] + "..."
	}
	if err == nil {
		a.accepted++
		a.note("accepted: %q", short)
		return
	}
	a.refused++
	if errors.Is(err, kmsenc.ErrUnsupportedStatement) {
		a.note("refused by kmsenc: %q: %v", short, err)
		for _, c := range a.mine {
			if strings.Contains(err.Error(), c) {
				// ARCHITECTURE.md §8: the PostgreSQL rewriter quotes the
				// text as written, literals included. Counted, not failed.
				a.quoted++
				a.note("the refusal quotes the canary %q", c)
			}
		}
	} else {
		a.note("failed on the server: %q: %v", short, err)
	}
	after := a.counts()
	for tbl, n := range after {
		if before[tbl] != n {
			a.flag(outPartial, "%q failed (%v) but %s went from %d to %d rows", short, err, tbl, before[tbl], n)
		}
	}
}

// query is an attack step that reads: every value kmsenc returns must not
// look like ciphertext or a wrapped key.
func (a *attack) query(query string, args ...any) ([][]string, error) {
	a.t.Helper()
	if a.conn == nil {
		return nil, errNoSession
	}
	before := a.counts()
	rows, err := a.conn.QueryContext(context.Background(), a.q(query), args...)
	if err != nil {
		a.judge(query, err, before)
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			a.judge(query, err, before)
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				row[i] = "NULL"
			case []byte:
				row[i] = string(v)
			default:
				row[i] = fmt.Sprint(v)
			}
			if looksEncrypted(row[i]) {
				a.flag(outWrong, "%q returned %s = %q, which is ciphertext", query, cols[i], row[i])
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		a.judge(query, err, before)
		return nil, err
	}
	a.judge(query, nil, before)
	return out, nil
}

var (
	keyColumnRE = regexp.MustCompile(`v[0-9]+:[A-Za-z0-9+/]{16,}={0,2}`)
	base64RE    = regexp.MustCompile(`[A-Za-z0-9+/]{36,}={0,2}`)
)

// looksEncrypted reports whether s holds a wrapped key (v<n>:<base64>) or
// base64 of 28 bytes or more (a sealed value: nonce and tag alone are 28).
func looksEncrypted(s string) bool {
	if keyColumnRE.MatchString(s) {
		return true
	}
	for _, m := range base64RE.FindAllString(s, -1) {
		if b, err := base64.StdEncoding.DecodeString(m); err == nil && len(b) >= 28 {
			return true
		}
	}
	return false
}

// readsBack checks, after a write kmsenc accepted, that the row reads back
// through kmsenc on the attacker's session as want (nil: NULL, or no row).
func (a *attack) readsBack(table, col string, id any, want any) {
	a.t.Helper()
	var got sql.NullString
	conn := a.conn // the attacker's session: its search_path, database and temporary tables
	if conn == nil {
		c, err := a.db.Conn(context.Background())
		if err != nil {
			a.flag(outUnreadable, "reading %s.%s of row %v back: %v", table, col, id, err)
			return
		}
		defer c.Close()
		conn = c
	}
	err := conn.QueryRowContext(context.Background(), a.q(`SELECT `+col+` FROM `+table+` WHERE id = $1`), id).Scan(&got)
	switch {
	case errors.Is(err, sql.ErrNoRows) && want == nil: // nothing written there
	case err != nil:
		a.flag(outUnreadable, "reading %s.%s of row %v back: %v", table, col, id, err)
	case want == nil && got.Valid:
		a.flag(outUnreadable, "%s.%s of row %v reads back %q, want NULL", table, col, id, got.String)
	case want != nil && (!got.Valid || got.String != fmt.Sprint(want)):
		a.flag(outUnreadable, "%s.%s of row %v reads back %q (valid %v), want %q", table, col, id, got.String, got.Valid, want)
	}
}

// write is an attack step that writes: if kmsenc accepts it, every cell of
// want must read back through kmsenc as given.
func (a *attack) write(want []cell, query string, args ...any) error {
	a.t.Helper()
	err := a.exec(query, args...)
	if err == nil {
		for _, c := range want {
			a.readsBack(c.table, c.col, c.id, c.want)
		}
	}
	return err
}

// cell is one value a write must leave: table.col of the row id.
type cell struct {
	table, col string
	id         any
	want       any
}

// session reads a session setting through kmsenc on the attacker's session
// (SHOW and @@ pass through). It returns "" when it can't be read.
func (a *attack) session(name string) string {
	if a.conn == nil {
		return ""
	}
	q := a.pick(`SHOW `+name, `SELECT @@SESSION.`+name)
	var v sql.NullString
	if err := a.conn.QueryRowContext(context.Background(), q).Scan(&v); err != nil {
		return ""
	}
	return v.String
}

// checkSession flags a session kmsenc would have refused at connect:
// PostgreSQL with standard_conforming_strings off or a client encoding other
// than UTF8, MySQL with NO_BACKSLASH_ESCAPES or ANSI_QUOTES in sql_mode or a
// client character set other than utf8/utf8mb4, while kmsenc still runs
// statements on it.
func (a *attack) checkSession() {
	a.t.Helper()
	if a.conn == nil {
		return
	}
	if a.d.name == "mysql" {
		mode := a.session("sql_mode")
		for _, m := range []string{"NO_BACKSLASH_ESCAPES", "ANSI_QUOTES"} {
			if strings.Contains(mode, m) {
				a.flag(outUnsafe, "sql_mode is %q and kmsenc still runs statements", mode)
			}
		}
		if cs := a.session("character_set_client"); cs != "" && cs != "utf8mb4" && cs != "utf8mb3" && cs != "utf8" {
			a.flag(outUnsafe, "character_set_client is %q and kmsenc still runs statements", cs)
		}
		return
	}
	if v := a.session("standard_conforming_strings"); v == "off" {
		a.flag(outUnsafe, "standard_conforming_strings is off and kmsenc still runs statements")
	}
	if v := a.session("client_encoding"); v != "" && v != "UTF8" {
		a.flag(outUnsafe, "client_encoding is %q and kmsenc still runs statements", v)
	}
}

// probe reads through kmsenc on the attacker's session with a statement
// meant to reveal what a session-local object holds (a temporary table's
// rows): a canary in the result lies in the database in plaintext.
func (a *attack) probe(query string, args ...any) {
	a.t.Helper()
	if a.conn == nil {
		return
	}
	rows, err := a.conn.QueryContext(context.Background(), a.q(query), args...)
	if err != nil {
		a.note("probe %q: %v", query, err)
		return
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return
		}
		for _, v := range vals {
			for _, c := range a.canariesIn(string(v)) {
				a.flag(outLeak, "a session-local table holds %q in plaintext (%q)", c, query)
			}
		}
	}
}

// canariesIn returns this run's canaries in s, as written or in hex or
// base64 runs decoded.
func (a *attack) canariesIn(s string) []string {
	var found []string
	forms := []string{s, strings.ToLower(s)}
	for _, m := range hexRunRE.FindAllString(s, -1) {
		if len(m)%2 == 1 {
			m = m[1:]
		}
		if b, err := hex.DecodeString(m); err == nil {
			forms = append(forms, string(b))
		}
	}
	for _, m := range b64RunRE.FindAllString(s, -1) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(m); err == nil {
				forms = append(forms, string(b))
			}
		}
	}
	for _, c := range a.mine {
		for _, f := range forms {
			if strings.Contains(f, c) || strings.Contains(f, strings.ToLower(c)) {
				found = append(found, c)
				break
			}
		}
	}
	return found
}

var (
	hexRunRE = regexp.MustCompile(`[0-9A-Fa-f]{16,}`)
	b64RunRE = regexp.MustCompile(`[A-Za-z0-9+/_-]{12,}={0,2}`)
)

// finish checks what the run left and records its outcome: every table of
// its namespaces, each row as text, holds no canary; kmsenc sent none.
func (a *attack) finish() {
	t := a.t
	t.Helper()
	a.checkSession()
	for _, ns := range append([]string{a.ns}, a.extra...) {
		for _, tbl := range a.tables(ns) {
			for _, row := range a.rowsAsText(ns, tbl) {
				for _, c := range a.canariesIn(row) {
					a.flag(outLeak, "%s.%s holds %q in plaintext: %q", ns, tbl, c, clip(row))
				}
			}
		}
	}
	if a.rec != nil {
		a.rec.mu.Lock()
		sent := append([]string(nil), a.rec.sent...)
		a.rec.mu.Unlock()
		a.rec.mu.Lock()
		a.rec.sent = nil // reported here, once
		a.rec.mu.Unlock()
		for _, s := range sent {
			text, args, _ := strings.Cut(s, "\x00")
			for _, c := range a.canariesIn(args) {
				a.flag(outLeak, "kmsenc sent %q to the database as an argument: %q", c, clip(strings.ReplaceAll(s, "\x00", " | ")))
			}
			for _, c := range a.canariesIn(text) {
				if a.textOK {
					a.note("sent %q in SQL text, where kmsenc reads a comment or a plain string", c)
					continue
				}
				a.flag(outLeak, "kmsenc sent %q to the database: %q", c, clip(strings.ReplaceAll(s, "\x00", " | ")))
			}
		}
	}
	if a.worst < outPartial && a.accepted > 0 {
		a.worst = outCorrect
	}
	key := a.c.name + "/" + a.d.name + "/" + a.mode
	advTally.Lock()
	advTally.runs[key] = a.worst
	advTally.notes[key] = a.notes
	advTally.quoted[key] = a.quoted
	advTally.pending[a.c.name] = a.c.pending
	advTally.Unlock()
	if a.c.pending == "" || testing.Verbose() {
		for _, n := range a.notes {
			t.Log(n)
		}
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// rowsAsText reads a table through the plain driver, each row as one text:
// PostgreSQL's row cast to text, MySQL's CONCAT_WS over every column.
func (a *attack) rowsAsText(ns, tbl string) []string {
	q := `SELECT t::text FROM ` + a.quote(ns) + "." + a.quote(tbl) + ` AS t`
	if a.d.name == "mysql" {
		rows, err := a.raw.Query(`SELECT column_name FROM information_schema.columns
			WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`, ns, tbl)
		if err != nil {
			a.t.Fatal(err)
		}
		var cols []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				a.t.Fatal(err)
			}
			cols = append(cols, a.quote(c))
		}
		rows.Close()
		q = `SELECT CONCAT_WS(' | ', ` + strings.Join(cols, ", ") + `) FROM ` + a.quote(ns) + "." + a.quote(tbl)
	}
	rows, err := a.raw.Query(q)
	if err != nil {
		a.t.Fatalf("reading %s.%s: %v", ns, tbl, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			a.t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// logAdvSummary logs the outcome of every run and the totals.
func logAdvSummary(t *testing.T) {
	advTally.Lock()
	defer advTally.Unlock()
	if len(advTally.runs) == 0 {
		return
	}
	var keys []string
	for k := range advTally.runs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	quoted := 0
	for _, n := range advTally.quoted {
		quoted += n
	}
	totals := make([]int, len(outcomeNames))
	cases := map[string]outcome{}
	var b strings.Builder
	for _, k := range keys {
		o := advTally.runs[k]
		totals[o]++
		name, _, _ := strings.Cut(k, "/")
		cases[name] = max(cases[name], o)
		if o > outCorrect {
			fmt.Fprintf(&b, "  %-16s %s\n", o, k)
		}
	}
	caseTotals := make([]int, len(outcomeNames))
	var names []string
	for name, o := range cases {
		caseTotals[o]++
		names = append(names, name)
	}
	sort.Strings(names)
	b.WriteString("cases by their worst run:\n")
	for _, name := range names {
		if advTally.pending[name] != "" && cases[name] <= outCorrect {
			t.Errorf("pending case %s passes on every dialect and mode it ran: move it to adversarial_test.go (it was pending because: %s)", name, advTally.pending[name])
		}
		fmt.Fprintf(&b, "  %-16s %s", cases[name], name)
		if p := advTally.pending[name]; p != "" {
			fmt.Fprintf(&b, " (pending: %s)", p)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d cases, %d runs (case x dialect x mode)\n", len(cases), len(keys))
	for o, n := range totals {
		fmt.Fprintf(&b, "  %-16s %4d runs  %3d cases (by their worst run)\n", outcome(o), n, caseTotals[o])
	}
	fmt.Fprintf(&b, "  refusals whose message quotes a canary (PostgreSQL quotes the text as written, ARCHITECTURE.md §8): %d\n", quoted)
	t.Logf("adversarial summary:\n%s", b.String())
}

// passingCases are the attacks kmsenc withstands today: it refuses them, or
// does exactly what the server would.
func passingCases() []advCase {
	var cs []advCase
	add := func(c ...advCase) { cs = append(cs, c...) }

	// §1 PostgreSQL session state.
	add(
		stateCase("pg-scs-set", "pg", scsOff, `SET standard_conforming_strings = off`),
		stateCase("pg-scs-set-local", "pg", scsOff, `BEGIN`, `SET LOCAL standard_conforming_strings TO off`),
		stateCase("pg-scs-set-config-literal", "pg", scsOff, `SELECT set_config('standard_conforming_strings', 'off', false)`),
		stateCase("pg-scs-update-pg-settings", "pg", scsOff, `UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'`),
		stateCase("pg-scs-function-set-clause", "pg", scsOff,
			`CREATE FUNCTION adv_f() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS 'SELECT 1'`),
		stateCase("pg-scs-reset-all", "pg", scsOff, `RESET ALL`),
	)
	add(advCase{name: "pg-scs-dsn-options", on: "pg", dsn: map[string]string{"options": "-cstandard_conforming_strings=off"}, run: func(a *attack) {
		a.tryPayload(payloadCloses(a.canary()))
	}})
	add(advCase{name: "pg-alter-role-set-reconnect", on: "pg", run: func(a *attack) {
		c := a.canary()
		role := a.ns
		a.plain(`CREATE ROLE "` + role + `" LOGIN SUPERUSER`)
		a.t.Cleanup(func() { a.d.srv.admin.Exec(`DROP ROLE IF EXISTS "` + role + `"`) })
		// The attacker's kmsenc works as that role.
		a.c = &advCase{name: a.c.name, dsn: map[string]string{"user": role}}
		if !a.open() || !a.connect() {
			return
		}
		a.exec(`ALTER ROLE CURRENT_USER SET client_encoding = 'SJIS'`)
		a.exec(`ALTER ROLE CURRENT_USER SET standard_conforming_strings = off`)
		a.plain(`ALTER ROLE "` + role + `" SET standard_conforming_strings = off`)
		if !a.reconnect() {
			return
		}
		a.tryPayload(payloadCloses(c))
	}})

	// §1 MySQL session state.
	add(
		stateCase("my-nbe-set", "my", noBackslashEscapes, `SET sql_mode = 'NO_BACKSLASH_ESCAPES'`),
		stateCase("my-nbe-numeric", "my", noBackslashEscapes, `SET @@sql_mode = 2097152`),
		stateCase("my-nbe-numeric-expr", "my", noBackslashEscapes, `SET sql_mode = 1 << 21`),
		stateCase("my-nbe-prepare-concat", "my", noBackslashEscapes, `PREPARE s FROM CONCAT('SET sql_mode = ''NO_BACKSLASH', '_ESCAPES''')`, `EXECUTE s`),
		stateCase("my-nbe-execute-immediate", "my", noBackslashEscapes, `EXECUTE IMMEDIATE CONCAT('SET sql_mode = ''NO_BACKSLASH', '_ESCAPES''')`),
		stateCase("my-nbe-begin-not-atomic", "my", noBackslashEscapes, `BEGIN NOT ATOMIC SET sql_mode = CONCAT('NO_BACKSLASH', '_ESCAPES'); END`),
		stateCase("my-set-names-gb18030", "my", multibyte(gbkChars, false), `SET NAMES gb18030`),
	)
	for _, s := range []string{`SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR `, `SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR `} {
		add(advCase{name: "my-set-statement-" + map[bool]string{true: "nbe", false: "ansi-quotes"}[strings.Contains(s, "BACKSLASH")], on: "my",
			ddl: ddlBackslashColumn, run: func(a *attack) {
				c := a.canary()
				p := noBackslashEscapes(a, c)
				if strings.Contains(s, "ANSI") {
					p = ansiQuotes(a, c)
				}
				a.tryPayload(s + p)
			}})
	}
	add(advCase{name: "my-nbe-dsn", on: "my", dsn: map[string]string{"sql_mode": "'NO_BACKSLASH_ESCAPES'"}, run: func(a *attack) {
		a.tryPayload(noBackslashEscapes(a, a.canary()))
	}})
	add(advCase{name: "my-nbe-oob-procedure", on: "my", run: func(a *attack) {
		c := a.canary()
		a.plain(`CREATE PROCEDURE adv_mode() SET sql_mode = 'NO_BACKSLASH_ESCAPES'`)
		a.exec(`CALL adv_mode()`)
		a.tryPayload(noBackslashEscapes(a, c))
	}})
	// The driver's own interpolation escapes a quote with a backslash,
	// which gbk reads as the second byte of a character: an argument
	// meant for a plain column then writes the email.

	// §1 literal forms where an encrypted value goes.
	add(
		literalCase("pg-literal-e-string", "pg", func(c string) string { return `E'` + c + `\x41\101\u0041\\'` }),
		literalCase("pg-literal-u-amp", "pg", func(c string) string { return `U&'\0063` + c[1:] + `'` }),
		literalCase("pg-literal-u-amp-uescape", "pg", func(c string) string { return `U&'!0063` + c[1:] + `' UESCAPE '!'` }),
		literalCase("pg-literal-dollar", "pg", func(c string) string { return `$$` + c + `$$` }),
		literalCase("pg-literal-dollar-tag", "pg", func(c string) string { return `$t$ ' $$ ` + c + `$t$` }),
		literalCase("pg-literal-national", "pg", func(c string) string { return `N'` + c + `'` }),
		literalCase("pg-literal-bit-hex", "pg", func(c string) string { return `X'` + hexOf(c) + `'` }),
		literalCase("pg-literal-bit-binary", "pg", func(c string) string { return `B'0110'` }),
		literalCase("pg-literal-continued", "pg", func(c string) string { return `'` + c[:7] + "'\n'" + c[7:] + `'` }),
		literalCase("pg-literal-continued-comment", "pg", func(c string) string { return `'` + c[:7] + "' -- x\n'" + c[7:] + `'` }),
		literalCase("pg-literal-typed", "pg", func(c string) string { return `text '` + c + `'` }),
		literalCase("pg-literal-cast", "pg", func(c string) string { return `'` + c + `'::text` }),
		literalCase("pg-literal-backslash", "pg", func(c string) string { return `'` + c + `\'` }),
		literalCase("my-literal-latin1", "my", func(c string) string { return `_latin1'` + c + `\xe9'` }),
		literalCase("my-literal-utf8mb4", "my", func(c string) string { return `_utf8mb4'` + c + `'` }),
		literalCase("my-literal-binary", "my", func(c string) string { return `_binary'` + c + `'` }),
		literalCase("my-literal-national", "my", func(c string) string { return `N'` + c + `'` }),
		literalCase("my-literal-hex", "my", func(c string) string { return `X'` + hexOf(c) + `'` }),
		literalCase("my-literal-0x", "my", func(c string) string { return `0x` + hexOf(c) }),
		literalCase("my-literal-introducer-hex", "my", func(c string) string { return `_utf8mb4 X'` + hexOf(c) + `'` }),
		literalCase("my-literal-bit", "my", func(c string) string { return `B'0110000101100010'` }),
		literalCase("my-literal-adjacent", "my", func(c string) string { return `'` + c[:7] + `' '` + c[7:] + `'` }),
		literalCase("my-literal-adjacent-double", "my", func(c string) string { return `'` + c[:7] + `' "` + c[7:] + `"` }),
		literalCase("my-literal-double-quoted", "my", func(c string) string { return `"` + c + `"` }),
		literalCase("my-literal-escapes", "my", func(c string) string { return `'` + c + `\%\_\Z\0\q\'\\'` }),
		literalCase("my-literal-backslash-newline", "my", func(c string) string { return `'` + c + "\\\nx'" }),
		literalCase("my-literal-collate", "my", func(c string) string { return `'` + c + `' COLLATE utf8mb4_bin` }),
		literalCase("both-literal-plain", "", func(c string) string { return `'` + c + `'` }),
	)

	// §2 SQL kmsenc can't see through: PostgreSQL.
	add(
		refusedCase("pg-do-insert", "pg", nil, `DO $$BEGIN INSERT INTO users (id, email) VALUES (7, '%[1]s'); END$$`),
		refusedCase("pg-do-execute-computed", "pg", nil, `DO $$BEGIN EXECUTE 'INSERT INTO us' || 'ers (id, email) VALUES (7, ''%[1]s'')'; END$$`),
		refusedCase("pg-do-format-execute", "pg", nil, `DO $$BEGIN EXECUTE format('INSERT INTO %%I (id, email) VALUES (7, %%L)', 'us' || 'ers', '%[1]s'); END$$`),
		refusedCase("pg-do-language-sql-dollar-tag", "pg", nil, `DO $x$BEGIN INSERT INTO "users" (id, email) VALUES (7, '%[1]s'); END$x$`),
		refusedCase("pg-prepare-execute", "pg", nil, `PREPARE adv_p (bigint, text) AS INSERT INTO users (id, email) VALUES ($1, $2)`, `EXECUTE adv_p(7, '%[1]s')`),
		refusedCase("pg-call-oob-procedure", "pg", []string{`CREATE PROCEDURE adv_proc(i bigint, e text) LANGUAGE sql AS 'INSERT INTO users (id, email) VALUES (i, e)'`}, `CALL adv_proc(7, '%[1]s')`),
		refusedCase("pg-query-to-xml", "pg", nil, `SELECT query_to_xml('INSERT INTO users (id, email) VALUES (7, ''%[1]s'') RETURNING id', true, true, '')`),
		refusedCase("pg-query-to-xml-computed", "pg", nil, `SELECT query_to_xml('INSERT INTO us' || 'ers (id, email) VALUES (7, ''%[1]s'') RETURNING id', true, true, '')`),
		refusedCase("pg-cte-insert", "pg", nil, `WITH x AS (INSERT INTO users (id, email) VALUES (7, '%[1]s') RETURNING id) SELECT id FROM x`),
		refusedCase("pg-cte-insert-into-cte-select", "pg", nil, `WITH x AS (SELECT 7 AS id, '%[1]s' AS e) INSERT INTO users (id, email) SELECT id, e FROM x`),
		refusedCase("both-insert-select", "", nil, `INSERT INTO users (id, email) SELECT 7, '%[1]s'`),
		refusedCase("pg-copy-from-stdin", "pg", nil, `COPY users (id, email) FROM STDIN`),
		refusedCase("pg-copy-from-program", "pg", nil, `COPY users (id, email) FROM PROGRAM 'echo 7,%[1]s' WITH (FORMAT csv)`),
		refusedCase("pg-create-view", "pg", nil, `CREATE VIEW adv_v AS SELECT * FROM users`, `INSERT INTO adv_v (id, email) VALUES (7, '%[1]s')`),
		refusedCase("pg-create-view-in-tx", "pg", nil, `BEGIN`, `CREATE VIEW adv_v AS SELECT * FROM users`, `INSERT INTO adv_v (id, email) VALUES (7, '%[1]s')`, `COMMIT`),
		refusedCase("pg-create-rule", "pg", nil, `CREATE RULE adv_r AS ON INSERT TO notes DO INSTEAD INSERT INTO users (id, email) VALUES (NEW.id, NEW.body)`, `INSERT INTO notes (id, body) VALUES (7, '%[1]s')`),
		refusedCase("pg-create-function", "pg", nil, `CREATE FUNCTION adv_put(i bigint, e text) RETURNS void LANGUAGE sql AS 'INSERT INTO users (id, email) VALUES (i, e)'`, `SELECT adv_put(7, '%[1]s')`),
		refusedCase("pg-create-function-computed", "pg", nil, `CREATE FUNCTION adv_put(i bigint, e text) RETURNS void LANGUAGE plpgsql AS $$BEGIN EXECUTE format('INSERT INTO %%I (id, email) VALUES ($1, $2)', 'us' || 'ers') USING i, e; END$$`, `SELECT adv_put(7, '%[1]s')`),
		refusedCase("pg-create-trigger", "pg", nil,
			`CREATE FUNCTION adv_tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO users (id, email) VALUES (NEW.id, NEW.body); RETURN NULL; END$$`,
			`CREATE TRIGGER adv_t BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION adv_tf()`, `INSERT INTO notes (id, body) VALUES (7, '%[1]s')`),
		refusedCase("pg-create-table-inherits", "pg", nil, `CREATE TABLE adv_kid () INHERITS (users)`, `INSERT INTO adv_kid (id, email) VALUES (7, '%[1]s')`),
		refusedCase("pg-create-table-like", "pg", nil, `CREATE TABLE adv_copy (LIKE users INCLUDING ALL)`, `INSERT INTO adv_copy (id, email) VALUES (7, '%[1]s')`),
		refusedCase("pg-alter-table-inherit", "pg", []string{`CREATE TABLE adv_kid (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text)`}, `ALTER TABLE adv_kid INHERIT users`, `INSERT INTO adv_kid (id, email) VALUES (7, '%[1]s')`),
		refusedCase("pg-create-table-as", "pg", nil, `CREATE TABLE adv_copy AS SELECT * FROM users`),
		refusedCase("pg-alter-set-default", "pg", nil, `ALTER TABLE users ALTER COLUMN email SET DEFAULT '%[1]s'`, `INSERT INTO users (id, name) VALUES (7, 'x')`),
		refusedCase("pg-alter-add-column-default", "pg", nil, `ALTER TABLE users ADD COLUMN ssn2 text DEFAULT 'x'`, `ALTER TABLE users DROP COLUMN ssn`, `ALTER TABLE users RENAME COLUMN email TO mail`, `ALTER TABLE users RENAME TO people`),
		refusedCase("pg-declare-cursor", "pg", nil, `BEGIN`, `DECLARE adv_c CURSOR FOR SELECT email FROM users`),
	)
	// Objects made out of band, used through kmsenc: the product is to find
	// them in the catalogs and refuse statements that use them.
	add(
		oobCase("pg-oob-call", "pg", []string{`CREATE PROCEDURE adv_proc(i bigint, e text) LANGUAGE sql AS 'INSERT INTO users (id, email) VALUES (i, e)'`}, `CALL adv_proc(7, '%[1]s')`),
	)
	// Reads that would return ciphertext as plaintext.
	add(
		readCase("pg-read-shapes", "pg", nil,
			`SELECT (u).email FROM users u`,
			`SELECT (SELECT email FROM users WHERE id = 7)`,
			`SELECT ARRAY(SELECT email FROM users)`,
			`SELECT x.e FROM (SELECT email AS e FROM users) x`,
			`WITH x AS MATERIALIZED (SELECT email FROM users) SELECT email FROM x`,
			`SELECT l.email FROM users u, LATERAL (SELECT u.email) l`,
			`SELECT (SELECT u.email) FROM users u`,
			`SELECT email FROM ONLY users`,
			`SELECT email FROM "{ns}".users`,
			`SELECT email FROM {ns} . /**/ users`,
			`SELECT "email" FROM "users"`,
			`SELECT name AS email, email AS name FROM users`,
			`SELECT email FROM users WHERE id = 7 FOR UPDATE`,
			`SELECT DISTINCT ON (id) email FROM users`,
			`SELECT email FROM users FETCH FIRST 1 ROW ONLY`,
			`SELECT U&"\0065mail" FROM users`,
			`SELECT * FROM users NATURAL JOIN (SELECT 7 AS id) x`,
			`SELECT email FROM users JOIN users u2 USING (id)`,
			`SELECT t.email FROM users t(a, b, email)`,
			`SELECT row_to_json(u) FROM users u`,
			`SELECT json_agg(u.email) FROM users u`,
			`SELECT email FROM users UNION ALL SELECT 'x' WHERE false`,
			`SELECT min(email) FROM users`,
			`SELECT string_agg(email, ',') FROM users`,
			`SELECT CASE WHEN true THEN email END FROM users`,
			`SELECT email COLLATE "C" FROM users`,
			`SELECT (email) FROM users`,
			`SELECT ((users.email)) FROM users`,
		),
		readCase("pg-read-unicode-ident-table", "pg", nil, `SELECT U&"\0065mail" FROM U&"us\0065rs"`, `SELECT * FROM U&"us\0065rs"`),
		readCase("my-read-shapes", "my", nil,
			`SELECT (SELECT email FROM users WHERE id = 7)`,
			`SELECT x.e FROM (SELECT email AS e FROM users) x`,
			`SELECT EMAIL FROM users`,
			"SELECT `email` FROM `users`",
			"SELECT email FROM `{ns}`.users",
			`SELECT users.EMAIL FROM users`,
			`SELECT email FROM users WHERE id = 7 FOR UPDATE`,
			`SELECT email FROM users LOCK IN SHARE MODE`,
			`SELECT CONCAT(email) FROM users`,
			`SELECT email FROM users UNION ALL SELECT 'x' FROM DUAL WHERE false`,
			`SELECT JSON_OBJECT('e', email) FROM users`,
			`SELECT email FROM users HAVING 1`,
			`SELECT (email) FROM users`,
			`SELECT email FROM users /*! WHERE 1 */`,
			`SELECT email FROM users -- x`,
			`SELECT email FROM users # x`,
			"SELECT email FROM users\x00",
			`SELECT name AS email, email AS name FROM users`,
			`SELECT MIN(email) FROM users`,
			`SELECT GROUP_CONCAT(email) FROM users`,
		),
		readCase("my-read-user-variable", "my", nil, `SELECT @adv := email FROM users WHERE id = 7`, `SELECT @adv`),
		readCase("my-read-select-into", "my", nil, `SELECT email FROM users WHERE id = 7 INTO @adv`, `SELECT @adv`),
		readCase("my-read-set-subquery", "my", nil, `SET @adv = (SELECT email FROM users WHERE id = 7)`, `SELECT @adv`),
	)
	add(advCase{name: "both-returning-subquery", run: func(a *attack) {
		c := a.canary()
		a.setupExec(`INSERT INTO users (id, name, email) VALUES (7, 'Ann', $1)`, c)
		a.query(`INSERT INTO notes (id, body) VALUES (1, 'x') RETURNING (SELECT email FROM users WHERE id = 7)`)
		a.query(`DELETE FROM notes WHERE id = 1 RETURNING (SELECT email FROM users WHERE id = 7)`)
		a.query(`INSERT INTO users (id, name, email) VALUES (8, 'Bob', $1) RETURNING email, (SELECT email FROM users u WHERE u.id = 7)`, c)
	}})

	// §2 MySQL.
	add(
		refusedCase("my-prepare-from-string", "my", nil, `PREPARE s FROM 'INSERT INTO users (id, email) VALUES (7, ''%[1]s'')'`, `EXECUTE s`),
		refusedCase("my-prepare-from-concat", "my", nil, `PREPARE s FROM CONCAT('INSERT INTO us', 'ers (id, email) VALUES (7, ''%[1]s'')')`, `EXECUTE s`),
		refusedCase("my-execute-immediate", "my", nil, `EXECUTE IMMEDIATE 'INSERT INTO users (id, email) VALUES (7, ''%[1]s'')'`),
		refusedCase("my-execute-immediate-concat", "my", nil, `EXECUTE IMMEDIATE CONCAT('INSERT INTO us', 'ers (id, email) VALUES (7, ''%[1]s'')')`),
		refusedCase("my-execute-immediate-hex", "my", nil, `EXECUTE IMMEDIATE 0x`+hex.EncodeToString([]byte(`INSERT INTO users (id, email) VALUES (7, 'x')`))),
		refusedCase("my-begin-not-atomic", "my", nil, `BEGIN NOT ATOMIC INSERT INTO users (id, email) VALUES (7, '%[1]s'); END`),
		refusedCase("my-call-oob-procedure", "my", []string{`CREATE PROCEDURE adv_proc(i bigint, e text) INSERT INTO users (id, email) VALUES (i, e)`}, `CALL adv_proc(7, '%[1]s')`),
		refusedCase("my-handler", "my", nil, `HANDLER users OPEN`, `HANDLER users READ FIRST`),
		refusedCase("my-load-data", "my", nil, `LOAD DATA LOCAL INFILE '/dev/null' INTO TABLE users (id, email)`),
		refusedCase("my-load-xml", "my", nil, `LOAD XML LOCAL INFILE '/dev/null' INTO TABLE users`),
		refusedCase("my-replace", "my", nil, `REPLACE INTO users (id, email) VALUES (7, '%[1]s')`),
		refusedCase("my-create-view", "my", nil, `CREATE VIEW adv_v AS SELECT * FROM users`, `INSERT INTO adv_v (id, email) VALUES (7, '%[1]s')`),
		refusedCase("my-create-trigger", "my", nil, `CREATE TRIGGER adv_t AFTER INSERT ON notes FOR EACH ROW INSERT INTO users (id, email) VALUES (NEW.id, REVERSE(NEW.body))`, `INSERT INTO notes (id, body) VALUES (7, REVERSE('%[1]s'))`),
		refusedCase("my-create-procedure", "my", nil, `CREATE PROCEDURE adv_proc(i bigint, e text) INSERT INTO users (id, email) VALUES (i, e)`),
		refusedCase("my-create-function", "my", nil, `CREATE FUNCTION adv_put(i bigint, e text) RETURNS int MODIFIES SQL DATA BEGIN INSERT INTO users (id, email) VALUES (i, e); RETURN 1; END`),
		refusedCase("my-create-event", "my", nil, `CREATE EVENT adv_e ON SCHEDULE AT CURRENT_TIMESTAMP DO INSERT INTO users (id, email) VALUES (7, '%[1]s')`),
		refusedCase("my-create-table-like", "my", nil, `CREATE TABLE adv_copy LIKE users`, `INSERT INTO adv_copy (id, email) VALUES (7, '%[1]s')`),
		refusedCase("my-create-table-select", "my", nil, `CREATE TABLE adv_copy SELECT * FROM users`, `CREATE TABLE adv_copy2 AS SELECT 7 AS id, '%[1]s' AS email`),
		refusedCase("my-alter-set-default", "my", nil, `ALTER TABLE users ALTER COLUMN email SET DEFAULT '%[1]s'`, `INSERT INTO users (id, name) VALUES (7, 'x')`),
		refusedCase("my-alter-modify-default", "my", nil, `ALTER TABLE users MODIFY email varchar(200) DEFAULT '%[1]s'`, `INSERT INTO users (id, name) VALUES (7, 'x')`),
		refusedCase("my-alter-change-rename", "my", nil, `ALTER TABLE users CHANGE email mail text`, `ALTER TABLE users RENAME TO people`, `RENAME TABLE users TO people`, `ALTER TABLE users DROP COLUMN ssn`, `ALTER TABLE users RENAME COLUMN email TO mail`),
		refusedCase("my-upsert-literal", "my", []string{}, `INSERT INTO users (id, email) VALUES (7, NULL) ON DUPLICATE KEY UPDATE email = '%[1]s'`),
		refusedCase("my-multi-statement", "my", nil, `INSERT INTO notes (id, body) VALUES (1, 'x'); INSERT INTO users (id, email) VALUES (7, '%[1]s')`),
		refusedCase("my-executable-comment", "my", nil, `INSERT INTO users (id, name, email) VALUES (7, /*!50000 '%[1]s', */ 'x', NULL)`),
		refusedCase("my-executable-comment-mariadb", "my", nil, `INSERT INTO users (id, name, email) VALUES (7, /*M!100000 '%[1]s', */ 'x', NULL)`),
		refusedCase("my-executable-comment-future", "my", nil, `INSERT INTO users (id, name, email) VALUES (7, /*!99999 'x', */ '%[1]s', NULL)`),
		refusedCase("my-executable-comment-hides-table", "my", nil, `INSERT INTO /*!50000 users */ (id, email) VALUES (7, '%[1]s')`),
	)

	// Comments, quoting and names.
	add(
		advCase{name: "pg-nested-comment", on: "pg", run: func(a *attack) {
			a.textOK = true // canaries in comments
			c := a.canary()
			a.write([]cell{{"users", "email", 7, nil}, {"users", "name", 7, "x"}}, `INSERT INTO users (id, name, email) VALUES (7, /* /* */ '`+c+`', */ 'x', NULL)`)
		}},
		advCase{name: "pg-e-string-quote", on: "pg", run: func(a *attack) {
			c := a.canary()
			a.write([]cell{{"users", "email", 7, c}, {"users", "name", 7, "it's"}}, `INSERT INTO users (id, name, email) VALUES (7, E'it\'s', '`+c+`')`)
		}},
		advCase{name: "pg-dollar-quote-nesting", on: "pg", run: func(a *attack) {
			c := a.canary()
			a.write([]cell{{"users", "email", 7, c}, {"users", "name", 7, "$b$ ' $$"}}, `INSERT INTO users (id, name, email) VALUES (7, $a$$b$ ' $$$a$, '`+c+`')`)
		}},
		advCase{name: "pg-unicode-identifiers", on: "pg", run: func(a *attack) {
			c := a.canary()
			a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO U&"us\0065rs" (id, U&"\0065mail") VALUES (7, '`+c+`')`)
			a.write([]cell{{"users", "email", 8, c}}, `INSERT INTO U&"us!0065rs" UESCAPE '!' (id, email) VALUES (8, '`+c+`')`)
		}},
		advCase{name: "pg-schema-qualified", on: "pg", run: func(a *attack) {
			c := a.canary()
			a.write([]cell{{"users", "email", 7, c}}, a.expand(`INSERT INTO "{ns}".users (id, email) VALUES (7, '`+c+`')`))
			a.write([]cell{{"users", "email", 8, c}}, a.expand(`INSERT INTO {ns} /**/ . /**/ "users" (id, email) VALUES (8, '`+c+`')`))
		}},
		advCase{name: "my-schema-qualified", on: "my", run: func(a *attack) {
			c := a.canary()
			a.write([]cell{{"users", "email", 7, c}}, a.expand("INSERT INTO `{ns}`.users (id, email) VALUES (7, '"+c+"')"))
			a.write([]cell{{"users", "email", 8, c}}, a.expand("INSERT INTO {ns} . `users` (id, email) VALUES (8, '"+c+"')"))
		}},
		advCase{name: "both-comments-and-case", run: func(a *attack) {
			a.textOK = true // canaries in comments
			c := a.canary()
			a.write([]cell{{"users", "email", 7, c}}, `INSERT/**/INTO/**/users(id,EMAIL)VALUES(7,'`+c+`')--`)
			a.write([]cell{{"users", "email", 8, c}}, "INSERT INTO users (id, email) VALUES (8, '"+c+"') -- ', 'x')\n")
			a.write([]cell{{"users", "email", 9, nil}}, "INSERT INTO users (id, name, email) VALUES (9, /* '"+c+"', */ 'x', NULL)")
		}},
		advCase{name: "my-comment-forms", on: "my", run: func(a *attack) {
			a.textOK = true // canaries in comments
			c := a.canary()
			a.write([]cell{{"users", "email", 7, nil}, {"users", "name", 7, "2"}}, "INSERT INTO users (id, name, email) VALUES (7, 1 --1, NULL)")
			a.write([]cell{{"users", "email", 8, nil}}, "INSERT INTO users (id, name, email) VALUES (8, 'x', NULL) # ', '"+c+"')")
			a.write([]cell{{"users", "email", 9, nil}}, "INSERT INTO users (id, name, email) VALUES (9, 'x', NULL) -- ', '"+c+"')")
			a.write([]cell{{"users", "email", 10, c}}, "INSERT INTO users (id, name, email) VALUES (10, 'x'--'\n, '"+c+"')")
			a.write([]cell{{"users", "email", 11, nil}}, "INSERT INTO users (id, name, email) VALUES (11, 'x', NULL) #\r, '"+c+"')")
		}},
		advCase{name: "both-nul-byte", run: func(a *attack) {
			a.textOK = true // canaries in comments
			c := a.canary()
			a.write([]cell{{"users", "email", 7, c}}, "INSERT INTO users (id, name, email) VALUES (7, 'x\x00', '"+c+"')")
			a.write([]cell{{"users", "email", 8, nil}}, "INSERT INTO users (id, name, email) VALUES (8, 'x', NULL) \x00, '"+c+"')")
		}},
		advCase{name: "my-double-quoted-identifier-string", on: "my", run: func(a *attack) {
			c := a.canary()
			a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO users (id, name, email) VALUES (7, "email", '`+c+`')`)
			a.write([]cell{{"users", "email", 8, c}}, `INSERT INTO users (id, name, email) VALUES (8, "x\"y", '`+c+`')`)
		}},
	)

	// search_path and temporary tables.
	add(advCase{name: "pg-search-path-shadow-schema", on: "pg", run: func(a *attack) {
		c := a.canary()
		a.setupExec(`INSERT INTO users (id, email) VALUES (1, 'first')`) // the connector checks users now
		other := a.extraNamespace()
		a.plain(`CREATE TABLE "` + other + `".users (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text)`)
		a.exec(`SET search_path = "` + other + `"`)
		a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO users (id, email) VALUES (7, '`+c+`')`)
	}})
	add(advCase{name: "pg-search-path-shadow-no-key-column", on: "pg", run: func(a *attack) {
		c := a.canary()
		a.setupExec(`INSERT INTO users (id, email) VALUES (1, 'first')`)
		other := a.extraNamespace()
		a.plain(`CREATE TABLE "` + other + `".users (id bigint PRIMARY KEY, email text, encrypted_kms_key text DEFAULT NULL, note text)`)
		a.exec(`SELECT set_config('search_path', '"` + other + `"', false)`)
		a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO users (id, email) VALUES (7, '`+c+`')`)
	}})
	add(advCase{name: "pg-temp-table-shadow", on: "pg", run: func(a *attack) {
		c := a.canary()
		a.plain(`CREATE FUNCTION adv_dump() RETURNS SETOF text LANGUAGE plpgsql AS $$BEGIN RETURN QUERY EXECUTE 'SELECT t::text FROM pg_temp.users t'; END$$`)
		a.setupExec(`INSERT INTO users (id, email) VALUES (1, 'first')`)
		a.exec(`CREATE TEMP TABLE users (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text)`)
		a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO users (id, email) VALUES (7, '`+c+`')`)
		a.probe(`SELECT adv_dump()`)
	}})
	add(advCase{name: "pg-temp-table-shadow-other-columns", on: "pg", run: func(a *attack) {
		c := a.canary()
		a.plain(`CREATE FUNCTION adv_dump() RETURNS SETOF text LANGUAGE plpgsql AS $$BEGIN RETURN QUERY EXECUTE 'SELECT t::text FROM pg_temp.users t'; END$$`)
		a.setupExec(`INSERT INTO users (id, email) VALUES (1, 'first')`)
		a.exec(`CREATE TEMPORARY TABLE users (id bigint, email text, encrypted_kms_key text DEFAULT 'v1:AAAA')`)
		a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO users (id, email) VALUES (7, '`+c+`')`)
		a.probe(`SELECT adv_dump()`)
	}})
	add(advCase{name: "my-temp-table-shadow", on: "my", run: func(a *attack) {
		c := a.canary()
		a.plain(`CREATE FUNCTION adv_dump() RETURNS text READS SQL DATA RETURN (SELECT GROUP_CONCAT(CONCAT_WS('|', id, email)) FROM users)`)
		a.setupExec(`INSERT INTO users (id, email) VALUES (1, 'first')`)
		a.exec(`CREATE TEMPORARY TABLE users (id bigint PRIMARY KEY, email text, encrypted_kms_key text)`)
		a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO users (id, email) VALUES (7, '`+c+`')`)
		a.probe(`SELECT adv_dump()`)
	}})
	add(advCase{name: "my-use-other-database", on: "my", run: func(a *attack) {
		c := a.canary()
		a.setupExec(`INSERT INTO users (id, email) VALUES (1, 'first')`)
		other := a.extraNamespace()
		a.plain("CREATE TABLE `" + other + "`.users (id bigint PRIMARY KEY, name text, email text, ssn text, encrypted_kms_key text)")
		a.exec("USE `" + other + "`")
		a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO users (id, email) VALUES (7, '`+c+`')`)
	}})

	// §3 context values.
	for name, lit := range map[string]string{"decimal": `7.0`, "plus": `+7`, "leading-zero": `07`, "exponent": `7e0`, "hex": `0x7`} {
		add(advCase{name: "both-context-id-form-" + name, run: func(a *attack) {
			c := a.canary()
			if lit == `0x7` && a.d.name != "mysql" {
				return
			}
			a.write([]cell{{"users", "email", 7, c}}, `INSERT INTO users (id, email) VALUES (`+lit+`, '`+c+`')`)
		}})
	}
	add(advCase{name: "both-context-update-id", run: func(a *attack) {
		c := a.canary()
		a.setupExec(`INSERT INTO users (id, email) VALUES (7, $1)`, c)
		if a.exec(`UPDATE users SET id = 8 WHERE id = 7`) == nil {
			a.readsBack("users", "email", 8, c)
		}
		if a.exec(`UPDATE users SET id = id + 1, name = 'x' WHERE name IS NULL`) == nil {
			a.readsBack("users", "email", 8, c)
		}
	}})

	add(advCase{name: "my-context-upsert-id", on: "my", run: func(a *attack) {
		c := a.canary()
		a.setupExec(`INSERT INTO users (id, email) VALUES (7, $1)`, c)
		q := a.pick(`INSERT INTO users (id, email) VALUES (7, $1) ON CONFLICT (id) DO UPDATE SET id = 8`,
			`INSERT INTO users (id, email) VALUES (7, $1) ON DUPLICATE KEY UPDATE id = 8`)
		if a.exec(q, "other") == nil {
			a.readsBack("users", "email", 8, c)
		}
		q = a.pick(`INSERT INTO users (id, email) VALUES (7, $1) ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, id = EXCLUDED.id + 10`,
			`INSERT INTO users (id, email) VALUES (7, $1) ON DUPLICATE KEY UPDATE email = VALUES(email), id = VALUES(id) + 10`)
		if a.exec(q, c) == nil {
			a.readsBack("users", "email", 17, c)
		}
	}})

	// §4 schema mistakes: a column the file names that the table lacks.
	add(advCase{name: "both-schema-column-typo",
		schema: `
tables:
  users:
    context:
      table: users
      id: $id
    columns:
      emial: text
`,
		run: func(a *attack) {
			c := a.canary()
			a.exec(`INSERT INTO users (id, email) VALUES (7, $1)`, c)
		}})
	// Declared data copied where kmsenc would read it as plaintext.
	add(
		copyCase("both-copy-insert-select-into-plain", "", `INSERT INTO notes (id, body) SELECT id, email FROM users`, `SELECT body FROM notes`),
		copyCase("both-copy-update-plain-from-encrypted", "", `UPDATE users SET name = email WHERE id = 7`, `SELECT name FROM users`),
		copyCase("both-copy-update-encrypted-from-encrypted", "", `UPDATE users SET ssn = email WHERE id = 7`, `SELECT ssn FROM users`),
		copyCase("both-copy-update-subquery", "", `UPDATE notes SET body = (SELECT email FROM users WHERE id = 7)`, `SELECT body FROM notes`),
		copyCase("pg-copy-cte-delete-returning", "pg", `WITH d AS (DELETE FROM users RETURNING email) INSERT INTO notes (id, body) SELECT 1, email FROM d`, `SELECT body FROM notes`),
		copyCase("pg-copy-cte-select-into-plain", "pg", `WITH x AS (SELECT email FROM users) INSERT INTO notes (id, body) SELECT 1, email FROM x`, `SELECT body FROM notes`),
		copyCase("pg-copy-create-temp-view", "pg", `CREATE TEMP VIEW adv_v AS SELECT * FROM users`, `SELECT email FROM adv_v`),
		copyCase("pg-copy-alter-type", "pg", `ALTER TABLE users ALTER COLUMN email TYPE bytea USING email::bytea`, `SELECT email FROM users`),
		copyCase("my-copy-insert-select-into-plain-set", "my", `INSERT INTO notes SET id = 1, body = (SELECT email FROM users WHERE id = 7)`, `SELECT body FROM notes`),
		copyCase("my-copy-multi-table-update", "my", `UPDATE notes, users SET notes.body = users.email WHERE users.id = 7`, `SELECT body FROM notes`),
		copyCase("my-copy-select-into-outfile", "my", `SELECT email FROM users INTO OUTFILE '/tmp/kmsenc-adv-outfile'`, `SELECT 1`),
	)
	return cs
}
