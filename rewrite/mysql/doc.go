// Package mysql plans MySQL and MariaDB statements for kmsenc: for each SQL
// text it decides whether the statement touches encrypted data and, if it
// does, rewrites it so that encrypted columns are written as ciphertext and
// read back with the key (and context) columns needed to decrypt them — or
// refuses it (ARCHITECTURE.md §5: exact, or refuse).
//
// [New] returns a [Rewriter] for a schema; wrap it in [rewrite.NewCache].
//
// How a text is planned:
//
//  1. One pass of an exact MySQL lexer ([Lex]) finds the identifiers and
//     counts the '?' placeholders. If no identifier names a declared table,
//     encrypted column or key column ([Touches]), the statement passes
//     through unparsed: the common case, under a microsecond.
//  2. Otherwise its leading keywords classify it: DDL and session commands
//     pass through; REPLACE, LOAD DATA, EXPLAIN, HANDLER, views and stored
//     programs and the like are refused.
//  3. SELECT, INSERT, UPDATE and DELETE are parsed with the TiDB parser
//     (with its test_driver for constants). MariaDB's RETURNING clause and
//     MySQL's row alias (INSERT ... VALUES (...) AS new), which the parser
//     doesn't know, are blanked out of the text it reads — spaces keep
//     every offset — and analysed apart; a RETURNING list is parsed as
//     "SELECT <list> FROM <target>". The parser must find a placeholder
//     exactly where the lexer found each '?'.
//  4. The converter (convert*.go) turns the tree into the dialect-neutral
//     statement model of rewrite/internal/model: names as written, every
//     expression with all of its operands, a node kind it doesn't know
//     refused. The parser gives where expressions and select items start;
//     the token stream says where the parts kmsenc edits end (items of a
//     select list, VALUES rows and values, SET lists, the end of WHERE).
//     Every such finding is checked against the tree; where they disagree
//     the part gets no span and a Lost error, and the planner refuses the
//     statement if it needs that part. Constants are decoded from their
//     tokens, as MySQL reads them (literal.go).
//  5. The planner (rewrite/internal/planner), shared with PostgreSQL,
//     applies every rule of ARCHITECTURE.md §5 and edits the original text at the
//     model's spans: constants of encrypted columns become placeholders,
//     the key column and its placeholder are added to INSERTs, key and
//     context columns are added to select lists under __kmsenc_<n>
//     aliases, a key guard to pinned UPDATEs. What is MySQL's own is the
//     dialect (dialect.go): names in backticks, '?' placeholders whose
//     Params are in text order, VALUES(c) and row aliases, how MySQL
//     stores a constant, and refusals that never quote a constant. The
//     AST is never printed: the database receives its own dialect.
//
// kmsenc reads a text as a server with the default SQL mode does: backslash
// escapes in strings, "..." as a string, a UTF-8 connection. A statement
// that names a declared table or column in double quotes is refused, since
// a server running with ANSI_QUOTES reads it as an identifier (the check of
// step 1 also reads the text that way). Under NO_BACKSLASH_ESCAPES a server
// would split strings holding backslashes differently; kmsenc does not
// support that mode, as ORMs and go-sql-driver's interpolation (which checks
// for it) write such strings for the default mode.
//
// Executable comments (/*! ... */, MariaDB's /*M! ... */) are read as code
// by step 1, so that what they name counts; in a statement that touches
// declared names they are refused, since which of them run depends on the
// server and its version. So are TiDB's /*T! ... */, which MySQL ignores but
// the parser reads.
//
// SQL-level PREPARE and EXECUTE IMMEDIATE are checked even when they name
// nothing declared: the statement in their string constant is checked as
// if sent itself, and a statement held by a variable is refused, since
// kmsenc can't see it. EXECUTE runs only what such a PREPARE prepared.
package mysql
