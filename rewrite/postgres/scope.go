package postgres

import (
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
)

// Names are resolved through the scopes of package rewrite: the relations
// of each query level, built from the AST by fromClause. What is
// PostgreSQL's own here is how a qualifier is spelled (the parser gives the
// parts of a name last first) and the whole-row reference.

// findRel returns the relation a qualifier names, searching from sc out;
// parts are the table, then the schema, as the parser gives them.
func findRel(sc *rewrite.Scope, parts []string) (*rewrite.Relation, bool) {
	outer := false
	for ; sc != nil; sc = sc.Parent {
		for _, r := range sc.Rels {
			if named(r, parts) {
				return r, outer
			}
		}
		outer = true
	}
	return nil, false
}

// named reports whether a qualifier (table, or table and schema, as the
// parser gives them) names r.
func named(r *rewrite.Relation, parts []string) bool {
	schema := ""
	if len(parts) > 1 {
		schema = parts[1]
	}
	return r.Named(parts[0], schema)
}

// resolve resolves a column reference (not a star) in scope sc.
func resolve(sc *rewrite.Scope, n *tree.UnresolvedName) (rewrite.Ref, error) {
	if n.NumParts == 1 {
		return sc.ResolveBare(n.Parts[0], wholeRow)
	}
	r, outer := findRel(sc, n.Parts[1:n.NumParts])
	if r == nil {
		return rewrite.Ref{}, nil
	}
	rf, err := r.Column(n.Parts[0])
	rf.Outer = outer
	return rf, err
}

// wholeRow reports whether c, which names no column at level, names a
// relation with declared data: PostgreSQL reads it as a whole-row
// reference ("SELECT u FROM users u").
func wholeRow(level *rewrite.Scope, c string) bool {
	r, _ := findRel(level, []string{c})
	return r != nil && r.HasDeclared()
}
