// Package postgres plans PostgreSQL statements for kmsenc: for each SQL
// text it decides whether the statement touches encrypted data and, if it
// does, rewrites it so that encrypted columns are written as ciphertext and
// read back with the key (and context) columns needed to decrypt them — or
// refuses it (DESIGN §5: exact, or refuse).
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
//  4. The AST says what the statement means: names are resolved through
//     scopes (FROM items, derived tables, CTEs, enclosing queries) to
//     instances of declared tables, and every rule of DESIGN §5 is checked.
//     The token stream says where each part is: items of a select list,
//     VALUES tuples, the end of WHERE. Every such finding is checked against
//     the AST; when they disagree the statement is refused.
//  5. The original text is edited at token offsets — placeholders
//     renumbered, literals of encrypted columns turned into parameters, key
//     and context columns added under __kmsenc_<n> aliases. The AST is never
//     printed: the database receives its own dialect.
package postgres
