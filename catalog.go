package kmsenc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// catalogState is what the connector learned from the database's catalog
// on its first connection (ARCHITECTURE.md §5, "Found at open").
type catalogState struct {
	mu   sync.Mutex
	done bool
	// refused: the names statements may not use, with why.
	refused map[string]string
}

// readDependents finds, once per connector and before any statement is
// planned, the objects through which a declared table can be read or
// written without kmsenc: views, rules, triggers, routines, children,
// parents and partitions (dialect.Dialect.DependentsQuery). Their names become
// refused names: the connector's rewriter is replaced by one whose schema
// refuses statements naming them (schema.Config.WithRefused), with a fresh
// plan cache. A failure refuses the connection; the next one tries again.
func (c *Connector) readDependents(ctx context.Context, cn *conn) error {
	c.catalog.mu.Lock()
	defer c.catalog.mu.Unlock()
	if c.catalog.done || c.dialect.DependentsQuery == "" {
		return nil
	}
	objs, err := cn.catalogObjects(ctx, c.dialect.DependentsQuery)
	if err != nil {
		return fmt.Errorf("kmsenc: reading the catalog for views, rules, triggers, routines and inheritance over encrypted tables: %w", err)
	}
	refused := refusedObjects(c.cfg, objs)
	if len(refused) > 0 {
		c.rewriter = rewrite.NewCache(c.dialect.NewRewriter(c.cfg.WithRefused(refused)), c.opts.planCacheSize)
	}
	c.catalog.refused = refused
	c.catalog.done = true
	return nil
}

// catalogObject is one row of dialect.Dialect.DependentsQuery.
type catalogObject struct {
	// kind: "path" (schema is one where unqualified names are found),
	// "depends" (the relation schema.name has a view or rule, detail,
	// reading or writing onSchema.onTable), "rule" (a rule named detail on
	// schema.name), "inherits" (schema.name is a detail, "child" or
	// "partition", of onSchema.onTable), "trigger" (a trigger named detail
	// on schema.name runs the function onSchema.onTable, body), "routine"
	// (detail "function" or "procedure"), "view" (body is its query).
	kind, schema, name, detail, onSchema, onTable string
	body                                          string // the code, or "" where it can't be read
	lang                                          string // the code's language, lower case
}

func (cn *conn) catalogObjects(ctx context.Context, query string) ([]catalogObject, error) {
	rows, err := cn.baseQuery(ctx, query, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if n := len(rows.Columns()); n != 8 {
		return nil, fmt.Errorf("the catalog query returned %d columns; want 8", n)
	}
	var objs []catalogObject
	dest := make([]driver.Value, 8)
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		s := make([]string, 8)
		for i, v := range dest {
			s[i] = asString(v)
		}
		objs = append(objs, catalogObject{kind: s[0], schema: s[1], name: s[2], detail: s[3],
			onSchema: s[4], onTable: s[5], body: s[6], lang: strings.ToLower(s[7])})
	}
}

// The advice of every refusal of a name found at open.
const (
	reopenAdvice = "then reopen the kmsenc connector"
	viewAdvice   = "declare it in the schema file (tables:) if it exposes the key and context columns, list it under reviewed: if it exposes no encrypted column, or drop it; " + reopenAdvice
	reviewAdvice = "list %s under reviewed: in the schema file once you have checked that it can't store plaintext or return ciphertext, or drop it; " + reopenAdvice
)

// refusedObjects decides which names found in the catalog statements may
// not use, and why. What is dangerous:
//
//   - a view, materialized view or rule that reads or writes a declared
//     table (or, in turn, such a view): reading through it returns
//     ciphertext as plaintext, writing through it stores plaintext. A view
//     declared in the schema file is read through like a table; one listed
//     under reviewed: is trusted.
//   - a child, partition or parent (PostgreSQL inheritance) of a declared
//     table, at any depth: a second way to write or read its rows.
//   - a rule on a declared table: the server rewrites kmsenc's statements.
//   - a trigger on another table whose function names a declared table or
//     such an object, or runs SQL text: writing to that table writes into
//     the encrypted one. The table is refused.
//   - a trigger on a declared table, unless it provably only moves
//     ciphertext: its function is SQL or PL/pgSQL, names no declared table
//     or object above (not even its own table), runs no SQL text, assigns
//     no declared column of NEW (encrypted, key, context or primary key)
//     and returns only NEW, OLD or NULL. Such a trigger sees only what
//     kmsenc sent, so a copy it makes (an audit table) holds ciphertext.
//     Otherwise the declared table itself is refused.
//   - a function or procedure whose code names a declared table or such
//     an object, or runs SQL text, or is in a language kmsenc can't read
//     (anything but SQL, PL/pgSQL, C and internal): calling it runs SQL
//     kmsenc can't see.
//
// Objects outside the connection's own schemas (the search path, the
// current database) count only if their code names one of those schemas:
// tables are found by name there. Listing an object's name (a trigger's or
// rule's own name) under reviewed: lifts its refusal.
func refusedObjects(cfg *schema.Config, objs []catalogObject) map[string]string {
	f := &catalogFinder{cfg: cfg, path: map[string]bool{}, hotRel: map[string]string{},
		hotWord: map[string]string{}, down: map[string]bool{}, up: map[string]bool{}, refused: map[string]string{}}
	for _, o := range objs {
		if o.kind == "path" {
			f.path[strings.ToLower(o.schema)] = true
		}
	}
	for lower, t := range cfg.Tables {
		f.hotWord[lower] = "table " + t.Name
		for s := range f.path {
			key := s + "." + lower
			f.hotRel[key] = "table " + t.Name
			f.down[key], f.up[key] = true, true
		}
	}
	// Each pass may make more relations and names dangerous; stop when one
	// adds nothing. Every pass adds at least one, so this ends.
	for changed := true; changed; {
		changed = false
		for _, o := range objs {
			if f.visit(o) {
				changed = true
			}
		}
	}
	return f.refused
}

type catalogFinder struct {
	cfg  *schema.Config
	path map[string]bool // the connection's schemas, lower case
	// hotRel: "schema.name" (lower case) of the relations whose reads or
	// writes reach a declared table, with what they are; hotWord: the
	// bare names of those and of dangerous routines.
	hotRel, hotWord map[string]string
	// down, up: declared tables with their descendants, and with their
	// ancestors (a sibling shares no rows).
	down, up map[string]bool
	refused  map[string]string
}

func relKey(s, n string) string { return strings.ToLower(s) + "." + strings.ToLower(n) }

// visit applies the rules to one object and reports whether it added a
// dangerous relation or a refused name.
func (f *catalogFinder) visit(o catalogObject) bool {
	self := relKey(o.schema, o.name)
	qname := o.schema + "." + o.name
	switch o.kind {
	case "depends":
		on, ok := f.hotRel[relKey(o.onSchema, o.onTable)]
		if !ok || f.hotRel[self] != "" {
			return false
		}
		if rule, isRule := strings.CutPrefix(o.detail, "rule "); isRule {
			if f.cfg.IsReviewed(rule) {
				return false
			}
			f.markHot(self, o.name, "table "+qname)
			f.refuse(o.name, fmt.Sprintf("rule %s on table %s reads or writes %s, which has encrypted columns: a statement on %s makes the server store plaintext there or copy its ciphertext without kmsenc; "+reviewAdvice,
				rule, qname, on, o.name, rule))
			return true
		}
		if f.cfg.IsReviewed(o.name) {
			return false
		}
		f.markHot(self, o.name, o.detail+" "+qname)
		if f.cfg.Table(o.name) == nil {
			f.refuse(o.name, fmt.Sprintf("%s %s reads %s, which has encrypted columns: reading through it would return ciphertext as if it were plaintext, and writing through it would store plaintext; %s",
				o.detail, qname, on, viewAdvice))
		}
		return true
	case "inherits":
		child, parent := self, relKey(o.onSchema, o.onTable)
		var rel, name, what string
		switch {
		case f.down[parent] && !f.down[child]:
			f.down[child] = true
			rel, name = child, o.name
			what = fmt.Sprintf("table %s is a %s of %s, which has encrypted columns: its rows are read through %s, and rows written to it directly would be stored in plaintext", qname, o.detail, o.onTable, o.onTable)
		case f.up[child] && !f.up[parent]:
			f.up[parent] = true
			rel, name = parent, o.onTable
			what = fmt.Sprintf("table %s.%s is a parent of %s, which has encrypted columns: reading it returns their ciphertext as if it were plaintext, and rows written through it may land in %s in plaintext", o.onSchema, o.onTable, o.name, o.name)
		default:
			return false
		}
		if f.hotRel[rel] == "" {
			f.markHot(rel, name, "table "+rel)
		}
		if f.cfg.Table(name) == nil && !f.cfg.IsReviewed(name) {
			f.refuse(name, what+"; declare it in the schema file, or detach it (NO INHERIT, DETACH PARTITION); "+reopenAdvice)
		}
		return true
	case "rule":
		if !f.declared(o.schema, o.name) || f.cfg.IsReviewed(o.detail) {
			return false
		}
		return f.refuse(o.name, fmt.Sprintf("rule %s on table %s rewrites statements on a table with encrypted columns inside the server, where kmsenc can't see: it could store plaintext or copy ciphertext; copy ciphertext with a trigger instead, or "+reviewAdvice,
			o.detail, o.name, o.detail))
	case "trigger":
		if f.cfg.IsReviewed(o.detail) {
			return false
		}
		fn := o.onSchema + "." + o.onTable
		if f.declared(o.schema, o.name) {
			why := f.unsafeTrigger(o)
			if why == "" {
				return false // it only moves ciphertext
			}
			return f.refuse(o.name, fmt.Sprintf("trigger %s on table %s runs %s, which %s: kmsenc can't tell that it only copies ciphertext, so it could store plaintext or change what kmsenc wrote; "+reviewAdvice,
				o.detail, o.name, fn, why, o.detail))
		}
		why := f.unsafeCode(o)
		if why == "" {
			return false
		}
		added := f.hotRel[self] == ""
		if added {
			f.markHot(self, o.name, "table "+qname)
		}
		return f.refuse(o.name, fmt.Sprintf("trigger %s on table %s runs %s, which %s: writing to %s would make the server store plaintext in encrypted columns or copy their ciphertext as plaintext; "+reviewAdvice,
			o.detail, qname, fn, why, o.name, o.detail)) || added
	case "routine", "view":
		if f.hotWord[strings.ToLower(o.name)] != "" || f.cfg.Table(o.name) != nil || f.cfg.IsReviewed(o.name) {
			return false
		}
		why := f.unsafeCode(o)
		if why == "" {
			return false
		}
		if o.kind == "view" {
			f.markHot(self, o.name, "view "+qname)
			f.refuse(o.name, fmt.Sprintf("view %s %s, which has encrypted columns: reading through it would return ciphertext as if it were plaintext, and writing through it would store plaintext; %s",
				qname, why, viewAdvice))
			return true
		}
		f.hotWord[strings.ToLower(o.name)] = o.detail + " " + qname
		f.refuse(o.name, fmt.Sprintf("%s %s %s: calling it runs SQL kmsenc can't see, which could store plaintext or return ciphertext as if it were plaintext; "+reviewAdvice,
			o.detail, qname, why, o.name))
		return true
	}
	return false
}

// declared reports whether schema.name is a declared table where kmsenc
// finds it.
func (f *catalogFinder) declared(s, name string) bool {
	return f.path[strings.ToLower(s)] && f.cfg.Table(name) != nil
}

func (f *catalogFinder) markHot(key, name, what string) {
	f.hotRel[key] = what
	if f.hotWord[strings.ToLower(name)] == "" {
		f.hotWord[strings.ToLower(name)] = what
	}
}

// refuse records why statements naming name are refused. The first reason
// found for a name is kept. It reports whether the name is newly refused.
func (f *catalogFinder) refuse(name, why string) bool {
	lower := strings.ToLower(name)
	if f.refused[lower] != "" {
		return false
	}
	f.refused[lower] = why
	return true
}

// unsafeCode says why an object's code (a view's query, a routine, a
// trigger's function) may reach a declared table, or "". Code outside the
// connection's schemas counts only if it names one of them.
func (f *catalogFinder) unsafeCode(o catalogObject) string {
	ws := codeWords(o.body)
	local := f.path[strings.ToLower(o.schema)]
	for _, w := range ws {
		if f.path[w] {
			local = true
		}
	}
	if !local {
		return ""
	}
	switch o.lang {
	case "", "sql", "plpgsql":
	case "c", "internal":
		return "" // compiled code: its source is a symbol's name
	default:
		return "is written in " + o.lang + ", which can build table names at run time"
	}
	if strings.TrimSpace(o.body) == "" {
		return "has a definition kmsenc can't read (grant the user SHOW VIEW or make it the definer)"
	}
	return f.namesHot(ws, "")
}

// namesHot says which dangerous name, or SQL text runner, the words name,
// skipping the declared table skip; or "".
func (f *catalogFinder) namesHot(ws []string, skip string) string {
	for _, w := range ws {
		if w == skip {
			continue
		}
		if what := f.hotWord[w]; what != "" {
			return "names " + what
		}
		if w == "execute" || w == "prepare" || sqlTextRunner(w) {
			return "runs SQL text (" + w + ")"
		}
	}
	return ""
}

// sqlTextRunner reports the PostgreSQL functions that run SQL text or read
// tables by name (the rewriters refuse their calls too).
func sqlTextRunner(w string) bool {
	if strings.HasPrefix(w, "dblink") {
		return true
	}
	for _, p := range []string{"query_to_xml", "cursor_to_xml", "table_to_xml", "schema_to_xml", "database_to_xml"} {
		if strings.HasPrefix(w, p) {
			return true
		}
	}
	return false
}

// unsafeTrigger says why a trigger on a declared table may do more than
// copy ciphertext, or "".
func (f *catalogFinder) unsafeTrigger(o catalogObject) string {
	switch o.lang {
	case "sql", "plpgsql":
	default:
		return "is written in " + o.lang + ", which kmsenc can't read"
	}
	if strings.TrimSpace(o.body) == "" {
		return "has a definition kmsenc can't read"
	}
	ws := codeWords(o.body)
	if why := f.namesHot(ws, ""); why != "" {
		return why
	}
	t := f.cfg.Table(o.name)
	for i, w := range ws {
		switch {
		case w == "new" && i+1 < len(ws) && (ws[i+1] == ":" || ws[i+1] == "="):
			return "replaces NEW"
		case w == "new" && i+3 < len(ws) && ws[i+1] == "." && (ws[i+3] == "=" || ws[i+3] == ":") && declaredColumn(t, ws[i+2]):
			return "sets NEW." + ws[i+2] + ", a column kmsenc writes"
		case w == "return" && i+1 < len(ws) && ws[i+1] != "new" && ws[i+1] != "old" && ws[i+1] != "null" && ws[i+1] != ";":
			return "returns a row other than NEW, OLD or NULL"
		}
	}
	return ""
}

// declaredColumn reports whether col is a column kmsenc writes or relies on
// in t: encrypted, the key column, a context or primary key column.
func declaredColumn(t *schema.Table, col string) bool {
	return t.Column(col) != nil || t.IsKeyColumn(col) || t.IsContextColumn(col) || t.IsPrimaryKey(col)
}

// codeWords splits code into lower-case words (runs of letters, digits,
// '_' and bytes beyond ASCII) and single punctuation characters, wherever
// they stand (strings and comments too, so a name in a string is found).
// Identifier quotes are dropped: NEW."email" reads as new . email.
func codeWords(code string) []string {
	var ws []string
	for i := 0; i < len(code); {
		c := code[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '`':
			i++
		case isCodeWordByte(c):
			j := i
			for j < len(code) && isCodeWordByte(code[j]) {
				j++
			}
			ws = append(ws, strings.ToLower(code[i:j]))
			i = j
		default:
			ws = append(ws, code[i:i+1])
			i++
		}
	}
	return ws
}

func isCodeWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}
