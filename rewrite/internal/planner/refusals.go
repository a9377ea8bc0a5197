package planner

import (
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// The refusals that both dialects make for the same rule of ARCHITECTURE.md §5, in
// the same words: each says what is wrong and what to do instead. near is
// the part of the statement at fault, as the dialect renders it.

// RefuseSeveralStatements refuses a string that holds several statements.
func RefuseSeveralStatements() error {
	return rewrite.Refuse("", "several statements in one string touch encrypted tables; send them one at a time")
}

// RefuseLost refuses a statement whose text kmsenc could not match to its
// AST: what names the part it looked for.
func RefuseLost(near, what string) error {
	return rewrite.Refuse(near, "kmsenc could not find %s in the text of this statement; write it more plainly", what)
}

// RefuseFromItem refuses a FROM item of a kind kmsenc doesn't analyse.
func RefuseFromItem() error {
	return rewrite.Refuse("", "this kind of FROM item is not supported in statements on encrypted tables")
}

// RefuseWith refuses WITH ... INSERT, UPDATE or DELETE (verb).
func RefuseWith(verb string) error {
	return rewrite.Refuse("WITH", "WITH ... %s is not supported on tables with encrypted columns; run the queries separately", verb)
}

// RefuseRecursive refuses a query of WITH RECURSIVE (named name) that
// outputs declared data (what): a CTE of WITH RECURSIVE may read itself
// and its siblings, which kmsenc only follows when they carry plain data.
func RefuseRecursive(name, what string) error {
	return rewrite.Refuse(name, "the WITH RECURSIVE query %s can't return encrypted data (%s): kmsenc follows recursive queries only over plain columns; select the encrypted columns in the outer query, joined by key", name, what)
}

// Rule 1: INSERT ... VALUES.

// RefuseUnnamedColumns refuses an INSERT into t without a column list.
func RefuseUnnamedColumns(near string, t *schema.Table) error {
	return rewrite.Refuse(near, "an INSERT into %s must name the columns: INSERT INTO %s (col, ...) VALUES (...)", t.Name, t.Name)
}

// RefuseInsertKeyColumn refuses an INSERT that names t's key column.
func RefuseInsertKeyColumn(near string, t *schema.Table) error {
	return rewrite.Refuse(near, "the INSERT names the key column %s, which kmsenc sets; leave it out", t.KeyColumn)
}

// RefuseDefault refuses DEFAULT as the value of an encrypted column.
func RefuseDefault(near, column string) error {
	return rewrite.Refuse(near, "DEFAULT for encrypted column %s would store the database's plaintext default; pass a value or NULL", column)
}

// RefuseContextValue refuses a context column whose value in an INSERT is
// not a parameter or a constant.
func RefuseContextValue(near, column string) error {
	return rewrite.Refuse(near, "context column %s must be given in the INSERT as a parameter or a constant: server-generated values (DEFAULT, NULL, expressions) can't be in the encryption context", column)
}

// Rules 2 and 4: upserts and UPDATE.

// RefuseSetKeyColumn refuses an assignment to t's key column by clause
// ("the UPDATE", "ON CONFLICT DO UPDATE", ...).
func RefuseSetKeyColumn(near, clause string, t *schema.Table) error {
	return rewrite.Refuse(near, "%s sets the key column %s, which kmsenc manages; leave it out", clause, t.KeyColumn)
}

// RefusePrimaryKeyChange refuses an UPDATE of encrypted columns that also
// sets primary key column col.
func RefusePrimaryKeyChange(col string) error {
	return rewrite.Refuse(col, "an UPDATE of encrypted columns can't also change primary key column %s; change it in a separate UPDATE", col)
}

// Rule 3: SELECT.

// RefuseEquality refuses an equality test on the encrypted column text.
func RefuseEquality(text string) error {
	return rewrite.Refuse(text, "%s is an encrypted column: equality search on encrypted columns needs a blind index (planned); filter by a plain column", text)
}

// RefuseKeyColumnUse refuses the key column text in clause what.
func RefuseKeyColumnUse(text, what string) error {
	return rewrite.Refuse(text, "%s is the key column kmsenc manages; %s can only test it with IS [NOT] NULL (or LIKE in WHERE)", text, what)
}

// RefuseOuter refuses a subquery that outputs declared data (text) of an
// enclosing query.
func RefuseOuter(text string) error {
	return rewrite.Refuse(text, "a subquery can't return %s of an enclosing query; select it in the outer query", text)
}

// RefuseDistinct refuses DISTINCT over the declared output column c.
func RefuseDistinct(c *ResultColumn) error {
	return rewrite.Refuse(c.Describe(), "DISTINCT over encrypted columns (%s) compares ciphertext, which differs for equal values; deduplicate in the application", c.Describe())
}

// RefuseSort refuses ORDER BY, GROUP BY and the like (what) on the
// encrypted output column c.
func RefuseSort(near, what string, c *ResultColumn) error {
	return rewrite.Refuse(near, "%s on an encrypted column (%s) would sort or group ciphertext; do it in the application", what, c.Describe())
}

// RefuseTableStatement refuses "TABLE t" on the declared table t.
func RefuseTableStatement(t string) error {
	return rewrite.Refuse("TABLE "+t, "TABLE %s reads encrypted columns; write SELECT * FROM %s", t, t)
}

// RefuseOverridingUser refuses INSERT ... OVERRIDING USER VALUE into a
// table whose encryption context has columns: the database replaces the
// values given for identity columns, which can be context columns, and
// the rows' keys would be wrapped for values the rows don't hold.
func RefuseOverridingUser(table string) error {
	return rewrite.Refuse("OVERRIDING USER VALUE", "OVERRIDING USER VALUE lets the database replace the values given for identity columns, which can be context columns of %s: its rows' keys would be wrapped for values the rows don't hold; leave it out, or give the values with OVERRIDING SYSTEM VALUE", table)
}
