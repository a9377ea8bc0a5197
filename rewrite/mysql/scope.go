package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
)

// Names are resolved through the scopes of package rewrite: the relations
// of each query level, built from the AST by fromClause. What is MySQL's
// own here is how table names compare, and the select list's aliases that
// ORDER BY, GROUP BY and HAVING may name.

// findRel returns the relation a qualifier (table, or database.table)
// names, searching from sc out. MySQL may compare table names and aliases
// with or without case, depending on the server; kmsenc compares without,
// and refuses a qualifier that could name two relations of one level of
// which one carries declared data.
func findRel(sc *rewrite.Scope, qual []string) (*rewrite.Relation, bool, error) {
	outer := false
	for ; sc != nil; sc = sc.Parent {
		var found []*rewrite.Relation
		for _, r := range sc.Rels {
			if named(r, qual) {
				found = append(found, r)
			}
		}
		if len(found) > 1 {
			for _, r := range found {
				if r.HasDeclared() {
					return nil, false, rewrite.Refuse(strings.Join(qual, "."), "%s could name two tables of this query (names compared without case); give them distinct aliases", strings.Join(qual, "."))
				}
			}
		}
		if len(found) > 0 {
			return found[0], outer, nil
		}
		outer = true
	}
	return nil, false, nil
}

// named reports whether a qualifier (table, or database.table, in text
// order) names r.
func named(r *rewrite.Relation, qual []string) bool {
	if len(qual) == 0 {
		return false
	}
	schema := ""
	if len(qual) > 1 {
		schema = qual[0]
	}
	return r.Named(qual[len(qual)-1], schema)
}

// resolve resolves a column reference in scope sc.
func resolve(sc *rewrite.Scope, n *ast.ColumnName) (rewrite.Ref, error) {
	if n.Table.O == "" {
		return sc.ResolveBare(n.Name.O, nil)
	}
	r, outer, err := findRel(sc, qualifier(n))
	if err != nil || r == nil {
		return rewrite.Ref{}, err
	}
	rf, err := r.Column(n.Name.O)
	rf.Outer = outer
	return rf, err
}

// qualifier returns the table qualifier of a column name, in text order.
func qualifier(c *ast.ColumnName) []string {
	if c.Schema.O != "" {
		return []string{c.Schema.O, c.Table.O}
	}
	return []string{c.Table.O}
}

// outputRef resolves a bare name against the select list's aliases (ORDER
// BY, GROUP BY and HAVING may use them); ok is false when no output column
// has that name.
func outputRef(sc *rewrite.Scope, c string) (rewrite.Ref, bool) {
	if sc == nil || sc.Outputs == nil {
		return rewrite.Ref{}, false
	}
	for _, oc := range sc.Outputs.Cols {
		if oc.Hidden || !strings.EqualFold(oc.Name, c) {
			continue
		}
		switch oc.Kind {
		case rewrite.ColEncrypted:
			return rewrite.Ref{Kind: rewrite.RefEncrypted, Instance: oc.Instance, Col: oc.Col}, true
		case rewrite.ColKey:
			return rewrite.Ref{Kind: rewrite.RefKey, Instance: oc.Instance}, true
		}
	}
	return rewrite.Ref{}, false
}
