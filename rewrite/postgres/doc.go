// Package postgres plans PostgreSQL statements for kmsenc: for each SQL
// text it decides whether the statement touches encrypted data and, if it
// does, rewrites it so that encrypted columns are written as ciphertext and
// read back with the key (and context) columns needed to decrypt them — or
// refuses it (ARCHITECTURE.md §5: exact, or refuse).
//
// [New] returns a [Rewriter] for a schema; wrap it in [rewrite.NewCache].
//
// How a text is planned:
//
//  1. One pass of an exact PostgreSQL lexer ([Lex]) finds the identifiers
//     and the highest $n. If no identifier names a declared table, encrypted
//     column or key column ([Touches]), the statement passes through
//     unparsed: this is the common case, and it costs about a microsecond.
//  2. Otherwise its leading keywords classify it: DDL and session commands
//     pass through; COPY, MERGE, EXPLAIN, views and the like are refused.
//  3. SELECT, INSERT, UPDATE and DELETE are parsed with cockroachdb-parser,
//     whose scanner must agree with our lexer token for token, so that the
//     AST and the text describe the same statement.
//  4. The converter (convert*.go) turns the tree into the dialect-neutral
//     statement model of rewrite/internal/model: names as PostgreSQL reads
//     them, every expression with all of its operands, EXCLUDED.c as the
//     proposed row's value, a node kind it doesn't know refused. The parser
//     gives no offsets: the converter follows the tree in the token stream
//     (locate.go) to find the parts kmsenc edits (select lists, FROM items,
//     VALUES rows and values, SET lists, the end of WHERE, RETURNING). A
//     part it can't follow gets no span and a Lost error, and the planner
//     refuses the statement if it needs that part. Constants of VALUES and
//     SET are decoded from their tokens (literal.go).
//  5. The planner (rewrite/internal/planner), shared with MySQL, applies
//     every rule of ARCHITECTURE.md §5 and edits the original text at the
//     model's spans: placeholders renumbered, constants of encrypted columns
//     turned into parameters, key and context columns added under
//     __kmsenc_<n> aliases. What is PostgreSQL's own is the dialect
//     (dialect.go): names quoted only where needed, $n placeholders shared
//     per caller argument, EXCLUDED, bytea input for bytes columns, whole-row
//     references. The AST is never printed: the database receives its own
//     dialect.
package postgres
