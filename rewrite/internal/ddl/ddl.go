// Package ddl holds the dialect-neutral checks of ARCHITECTURE.md §5 on
// statements kmsenc does not parse: DDL that would change an encrypted
// table behind the connector's back, link another table to one, or install
// server-side code over one. Each dialect turns its tokens into Words and
// asks; the answer is the index of the word to show and the reason, or -1.
package ddl

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// Kind is what a Word is.
type Kind int

const (
	Keyword Kind = iota // an unquoted identifier (a keyword or a name)
	Quoted              // a quoted identifier
	Op                  // an operator or punctuation
	Other               // a constant or a placeholder
)

// Word is one significant token of a statement.
type Word struct {
	Kind Kind
	// Text: an unquoted identifier in lower case, a quoted one's value, an
	// operator as written; "" otherwise.
	Text string
	// Touch: the word names a declared table, an encrypted column or a
	// key column (cfg.Touches); Table: it names a declared table.
	Touch, Table bool
}

// NewWord returns the Word of an identifier (quoted or not) with its
// Touch and Table set from cfg.
func NewWord(cfg *schema.Config, kind Kind, text string) Word {
	if kind == Keyword {
		text = strings.ToLower(text)
	}
	w := Word{Kind: kind, Text: text}
	if kind == Keyword || kind == Quoted {
		w.Touch = cfg.Touches(text)
		w.Table = cfg.Table(text) != nil
	}
	return w
}

func (w Word) is(kw ...string) bool {
	if w.Kind != Keyword {
		return false
	}
	for _, k := range kw {
		if w.Text == k {
			return true
		}
	}
	return false
}

func (w Word) isName() bool { return w.Kind == Keyword || w.Kind == Quoted }

// Reopen is the advice every refusal of DDL on encrypted tables ends with.
const Reopen = "run this DDL with the plain driver (updating the schema file if names change), then reopen the kmsenc connector"

// AlterTable checks ALTER TABLE; ws[i] is the word after TABLE. It is
// called only for a statement that names a declared table, encrypted column
// or key column somewhere. Allowed are the actions that can't store
// plaintext, expose ciphertext or change what the connector read when it
// opened:
//
//   - ADD [COLUMN] of a column whose definition names no encrypted or key
//     column (a REFERENCES to a declared table is fine); when the new column
//     is itself an encrypted or key column (adopting kmsenc, declaring a new
//     column), without DEFAULT, GENERATED, AS, IDENTITY, ON UPDATE or
//     AUTO_INCREMENT: a new column is empty, unless the database fills it;
//   - ADD of a constraint or an index (CONSTRAINT, PRIMARY KEY, UNIQUE,
//     FOREIGN KEY, CHECK, INDEX, KEY, FULLTEXT, SPATIAL);
//   - ALTER [COLUMN] / MODIFY [COLUMN] of a column that is not an encrypted
//     or key column (type, default, NOT NULL), naming none (USING email);
//   - DROP of a constraint or an index;
//   - table options: OWNER TO, SET/RESET (storage parameters, tablespace,
//     access method, logged), CLUSTER ON, REPLICA IDENTITY, VALIDATE
//     CONSTRAINT, ROW LEVEL SECURITY, MySQL's ENGINE, AUTO_INCREMENT,
//     COMMENT, ROW_FORMAT, character set, ALGORITHM, LOCK, FORCE.
//
// Everything else is refused: RENAME (table, column, constraint), SET
// SCHEMA, DROP COLUMN, MySQL's CHANGE, INHERIT and NO INHERIT, ATTACH and
// DETACH PARTITION, EXCHANGE PARTITION, ENABLE/DISABLE TRIGGER or RULE,
// OF type, DISCARD/IMPORT TABLESPACE and any action not listed.
func AlterTable(ws []Word, i int) (at int, reason string) {
	for i < len(ws) && ws[i].is("if", "exists", "only") {
		i++
	}
	// The table's name, maybe qualified, maybe followed by *.
	for i < len(ws) && ws[i].isName() {
		i++
		if i+1 < len(ws) && ws[i].Kind == Op && ws[i].Text == "." {
			i++
			continue
		}
		break
	}
	if i < len(ws) && ws[i].Kind == Op && ws[i].Text == "*" {
		i++
	}
	if i >= len(ws) {
		return -1, ""
	}
	for _, a := range actions(ws, i) {
		if at, reason := alterAction(ws, a[0], a[1]); at >= 0 {
			return at, reason
		}
	}
	return -1, ""
}

// actions splits ws[i:] at the commas outside parentheses.
func actions(ws []Word, i int) [][2]int {
	var out [][2]int
	depth, start := 0, i
	for j := i; j < len(ws); j++ {
		if ws[j].Kind != Op {
			continue
		}
		switch ws[j].Text {
		case "(":
			depth++
		case ")":
			depth--
		case ",":
			if depth == 0 {
				out = append(out, [2]int{start, j})
				start = j + 1
			}
		}
	}
	return append(out, [2]int{start, len(ws)})
}

var constraintWords = []string{"constraint", "primary", "unique", "foreign", "check", "index", "key",
	"fulltext", "spatial", "exclude"}

var optionWords = []string{"owner", "set", "reset", "cluster", "replica", "validate", "enable", "disable",
	"force", "no", "engine", "auto_increment", "comment", "row_format", "character", "charset", "default",
	"convert", "collate", "algorithm", "lock", "stats_persistent", "stats_auto_recalc", "stats_sample_pages",
	"key_block_size", "pack_keys", "checksum", "avg_row_length", "max_rows", "min_rows", "delay_key_write"}

func alterAction(ws []Word, i, j int) (int, string) {
	if i >= j {
		return -1, ""
	}
	w := ws[i]
	refuse := func(what string) (int, string) {
		return i, "ALTER TABLE ... " + what + " is refused on tables with encrypted columns: kmsenc knows them by name and read their layout when the connector opened, and a change behind its back could store plaintext or expose ciphertext; " + Reopen
	}
	switch {
	case w.is("add"), w.is("alter", "modify"):
		k := i + 1
		if k < j && ws[k].is(constraintWords...) {
			if w.is("add") {
				return -1, ""
			}
			// ALTER CONSTRAINT, ALTER INDEX (visibility).
			return namesColumn(ws, k+1, j, refuse, strings.ToUpper(w.Text)+" "+strings.ToUpper(ws[k].Text))
		}
		if k < j && ws[k].is("column") {
			k++
		}
		if w.is("add") && k+2 < j && ws[k].is("if") && ws[k+1].is("not") && ws[k+2].is("exists") {
			k += 3
		}
		if k >= j || !ws[k].isName() {
			return refuse(strings.ToUpper(w.Text))
		}
		if ws[k].Touch && w.is("add") {
			// A new column is empty: adding a declared one (the key column
			// when adopting kmsenc, a newly declared encrypted column) is
			// fine unless the database would fill it.
			for n := k + 1; n < j; n++ {
				if ws[n].is("default", "generated", "as", "identity", "on", "auto_increment") {
					return refuse("ADD COLUMN " + ws[k].Text + " ... " + strings.ToUpper(ws[n].Text) + " (the database would fill an encrypted or key column)")
				}
			}
		} else if ws[k].Touch {
			return refuse(strings.ToUpper(w.Text) + " COLUMN " + ws[k].Text + " (an encrypted or key column)")
		}
		return namesColumn(ws, k+1, j, refuse, strings.ToUpper(w.Text)+" COLUMN "+ws[k].Text)
	case w.is("drop"):
		if i+1 < j && ws[i+1].is(constraintWords...) {
			return -1, ""
		}
		return refuse("DROP COLUMN")
	case w.is("set") && i+1 < j && ws[i+1].is("schema"):
		return refuse("SET SCHEMA")
	case w.is("enable", "disable") && i+1 < j && ws[i+1].is("trigger", "rule"):
		return refuse(strings.ToUpper(w.Text) + " " + strings.ToUpper(ws[i+1].Text))
	case w.is("no") && i+1 < j && ws[i+1].is("inherit"):
		return refuse("NO INHERIT")
	case w.is(optionWords...):
		for k := i; k < j; k++ {
			if ws[k].Touch {
				return refuse(strings.ToUpper(w.Text) + " naming " + ws[k].Text)
			}
		}
		return -1, ""
	case w.Kind == Keyword:
		return refuse(strings.ToUpper(w.Text))
	}
	return refuse("this action")
}

// namesColumn refuses when ws[i:j] names an encrypted or key column (a
// generated column or a USING expression reading one would copy its
// ciphertext into a plain column). A declared table's name is fine: a
// column definition can only name a table in REFERENCES.
func namesColumn(ws []Word, i, j int, refuse func(string) (int, string), what string) (int, string) {
	for k := i; k < j; k++ {
		if ws[k].Touch && !ws[k].Table {
			_, reason := refuse(what + " naming " + ws[k].Text)
			return k, reason
		}
	}
	return -1, ""
}

// CreateTableLink checks CREATE TABLE (ws[i] is the word after TABLE) for
// what would tie the new table to a declared one: PARTITION OF t,
// INHERITS (t), LIKE t (PostgreSQL's (LIKE t INCLUDING ...), MySQL's
// CREATE TABLE n LIKE t). Rows read through the new table would come back
// as ciphertext, and rows written through it would be stored in plaintext.
func CreateTableLink(ws []Word, i int) (at int, reason string) {
	for k := i; k < len(ws); k++ {
		var what string
		switch {
		case ws[k].is("partition") && k+1 < len(ws) && ws[k+1].is("of"):
			what, k = "PARTITION OF", k+1
		case ws[k].is("inherits"):
			what = "INHERITS"
		case ws[k].is("like"):
			what = "LIKE"
		default:
			continue
		}
		for n := k + 1; n < len(ws) && n <= k+6; n++ {
			if ws[n].Kind == Op && ws[n].Text != "(" && ws[n].Text != "." && ws[n].Text != "," {
				break
			}
			if ws[n].Table {
				return n, "CREATE TABLE ... " + what + " " + ws[n].Text + " is refused: the new table would share or copy the layout of a table with encrypted columns, and kmsenc would not encrypt rows written through it or decrypt rows read through it; declare the new table in the schema file and create it plainly, or " + Reopen
			}
		}
	}
	return -1, ""
}

// sqlTextFunctions run a query or dump tables given as text or by name:
// kmsenc can't see which tables they read, and they would return
// ciphertext as if it were plaintext (dblink can also write).
var sqlTextFunctions = map[string]bool{
	"query_to_xml": true, "query_to_xmlschema": true, "query_to_xml_and_xmlschema": true,
	"cursor_to_xml": true, "cursor_to_xmlschema": true,
	"table_to_xml": true, "table_to_xmlschema": true, "table_to_xml_and_xmlschema": true,
	"schema_to_xml": true, "schema_to_xmlschema": true, "schema_to_xml_and_xmlschema": true,
	"database_to_xml": true, "database_to_xmlschema": true, "database_to_xml_and_xmlschema": true,
}

// SQLTextFunction reports whether name (any case) is a PostgreSQL function
// that runs SQL text or reads tables by name: the query_to_xml, cursor_to_xml,
// table_to_xml, schema_to_xml and database_to_xml families and dblink's
// functions (dblink, dblink_exec, dblink_open, dblink_send_query, ...).
func SQLTextFunction(name string) bool {
	if len(name) < 6 || len(name) > 40 {
		return false
	}
	switch name[0] | 0x20 {
	case 'q', 'c', 't', 's', 'd':
	default:
		return false
	}
	if strings.EqualFold(name[:6], "dblink") {
		return true
	}
	for f := range sqlTextFunctions {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

// RefuseCall refuses a CALL: a procedure can't be seen into. near is the
// statement's start as the dialect renders it.
func RefuseCall(near string) error {
	return rewrite.Refuse(near, "CALL is refused through kmsenc: it can't see what a procedure does, which could store plaintext in encrypted columns or return their ciphertext as plaintext; call procedures that touch no encrypted table with the plain driver")
}

// SQLTextFunctionReason is the refusal of a call of a SQLTextFunction.
func SQLTextFunctionReason(name string) string {
	return name + " runs SQL text or reads tables by name, which kmsenc can't see into: it could return encrypted columns as ciphertext, or write plaintext into them; it is refused through kmsenc whatever it reads (use the plain driver for tables without encrypted columns)"
}

// Body checks the text of server-side code kmsenc can't plan (a DO block,
// a function or procedure body, a trigger or event body, with all their
// strings): it must name no declared table, encrypted column or key column,
// nor an object found over one at open (schema.Config.Refused), run no
// dynamic SQL (EXECUTE, PREPARE) and call no SQLTextFunction. Any
// run of letters, digits and '_' in the text counts as a word, whatever
// quotes or comments it sits in, so a name inside a string inside the body
// is found too. It returns the offending word, or "".
func Body(cfg *schema.Config, text string) string {
	for i := 0; i < len(text); {
		if !isWordByte(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isWordByte(text[j]) {
			j++
		}
		w := text[i:j]
		i = j
		if cfg.Touches(w) || cfg.Refused(w) != "" || strings.EqualFold(w, "execute") || strings.EqualFold(w, "prepare") || SQLTextFunction(w) {
			return w
		}
	}
	return ""
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// BodyReason is the refusal of server-side code whose Body names word.
func BodyReason(what, word string) string {
	if strings.EqualFold(word, "execute") || strings.EqualFold(word, "prepare") || SQLTextFunction(word) {
		return what + " runs SQL text (" + word + "), which kmsenc can't see into: it could read or write encrypted tables unencrypted; run it with the plain driver if it touches no table with encrypted columns"
	}
	return what + " names " + word + " (a table with encrypted columns, an encrypted or key column, or an object found over such a table when kmsenc opened) in code the server runs without kmsenc: it would store plaintext or return ciphertext as if it were plaintext; keep server-side code away from encrypted tables"
}

// Language checks the LANGUAGE of a DO block or routine: only SQL and
// PL/pgSQL are read by Body; in any other language (plpython, plperl, plv8,
// C, JavaScript) a table name can be built at run time. It returns the
// index of the language's name, or -1.
func Language(ws []Word) int {
	for k := 0; k+1 < len(ws); k++ {
		if ws[k].is("language") {
			n := ws[k+1]
			v := strings.ToLower(n.Text)
			if v != "sql" && v != "plpgsql" {
				return k + 1
			}
		}
	}
	return -1
}

// LanguageReason is the refusal of a routine in another language.
func LanguageReason(what string) string {
	return what + " in a language other than SQL or PL/pgSQL can build table names at run time, so kmsenc can't tell whether it touches encrypted tables; create it with the plain driver, keeping it away from encrypted tables"
}
