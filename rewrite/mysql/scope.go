package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// An instance is one occurrence of a declared table whose rows a query
// reads: a FROM item naming the table, or, one level up, a derived table or
// CTE through which that occurrence's columns flow. Each instance has its
// own key column (and context columns) in the result.
type instance struct {
	table *schema.Table
	rel   *relation // the FROM item it is read through
	inner *instance // set when rel is a derived table: the instance inside it
}

// A relation is one FROM item: a table, a derived table or CTE.
type relation struct {
	alias  string // the name it is referred to by (alias, or table name)
	schema string // for a table without alias: the database qualifier written, if any
	ref    string // how kmsenc writes it in "ref.col" (backtick-quoted); "" when it has no name
	bare   bool   // the target of a RETURNING list: its columns are written unqualified
	from   string // a statement's target table as written after FROM (name [AS alias])

	base    bool          // a table (declared or not), not a derived table
	aliased bool          // it has an alias (so its table name no longer names it)
	table   *schema.Table // a declared table
	inst    *instance     // the instance of a declared table
	derived *result       // a derived table or CTE
	insts   map[*instance]*instance
	opaque  bool // columns unknown and never declared (a plain table, a VALUES list)
	merged  bool // a side of a USING or NATURAL join
}

// result describes the output columns of a query: what the caller (or an
// outer query) gets.
type result struct {
	cols   []outCol
	opaque bool // nothing declared; columns unknown
}

// declared reports whether the result carries declared data.
func (r *result) declared() bool { return firstDeclared(r) != nil }

type outKind int

const (
	outPlain outKind = iota
	outEnc           // an encrypted column of inst
	outKey           // the key column of inst
	outCtx           // context column ctxName of inst
	outRun           // the columns of "*" or "t.*" over one relation; inst nil: no declared data
)

// outCol is one output column, or a run of them.
type outCol struct {
	kind    outKind
	inst    *instance
	col     *schema.Column
	ctxName string
	name    string // the output column's name; "" unknown
	hidden  bool
	end     string // outRun: the name of the column right after the run, if known
}

// A scope is one query level: its FROM items and the CTEs it defines. Names
// not found in a scope are looked up in its parent (correlated subqueries).
type scope struct {
	parent *scope
	rels   []*relation
	ctes   map[string]*cte
	// outputs: the select list's columns, which ORDER BY, GROUP BY and
	// HAVING may name by their aliases.
	outputs *result
}

// cte is a WITH query.
type cte struct {
	res  *result
	cols []string // WITH s(a, b) AS ...
}

func (sc *scope) findCTE(name string) *cte {
	for ; sc != nil; sc = sc.parent {
		if c, ok := sc.ctes[strings.ToLower(name)]; ok {
			return c
		}
	}
	return nil
}

// refKind is what a column reference resolves to.
type refKind int

const (
	refPlain refKind = iota
	refEnc           // an encrypted column of inst
	refKey           // the key column of inst
)

type ref struct {
	kind  refKind
	inst  *instance
	col   *schema.Column
	outer bool // found in an enclosing query level
}

// findRel returns the relation a qualifier (table, or database.table)
// names, searching from sc out. MySQL may compare table names and aliases
// with or without case, depending on the server; kmsenc compares without,
// and refuses a qualifier that could name two relations of one level of
// which one carries declared data.
func findRel(sc *scope, qual []string) (*relation, bool, error) {
	outer := false
	for ; sc != nil; sc = sc.parent {
		var found []*relation
		for _, r := range sc.rels {
			if r.named(qual) {
				found = append(found, r)
			}
		}
		if len(found) > 1 {
			for _, r := range found {
				if r.hasDeclared() {
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

// named reports whether a qualifier (table, or database.table) names r.
func (r *relation) named(qual []string) bool {
	if r.alias == "" || len(qual) == 0 || !strings.EqualFold(qual[len(qual)-1], r.alias) {
		return false
	}
	if len(qual) == 1 {
		return true
	}
	return r.base && !r.aliased && (r.schema == "" || strings.EqualFold(qual[0], r.schema))
}

// column resolves column c of r.
func (s *stmt) column(r *relation, c string) (ref, error) {
	switch {
	case r.table != nil:
		if col := r.table.Column(c); col != nil {
			return ref{kind: refEnc, inst: r.inst, col: col}, nil
		}
		if r.table.IsKeyColumn(c) {
			return ref{kind: refKey, inst: r.inst}, nil
		}
	case r.derived != nil:
		return s.derivedColumn(r, c)
	}
	return ref{}, nil
}

// derivedColumn resolves column c of a derived table or CTE: a named output
// column of the inner query, or a column of a run from "*" there.
func (s *stmt) derivedColumn(r *relation, c string) (ref, error) {
	var found []outCol
	for _, oc := range r.derived.cols {
		if oc.kind != outRun && strings.EqualFold(oc.name, c) {
			found = append(found, oc)
		}
	}
	for _, oc := range r.derived.cols {
		if oc.kind == outRun && oc.inst != nil {
			if col := oc.inst.table.Column(c); col != nil {
				found = append(found, outCol{kind: outEnc, inst: oc.inst, col: col})
			} else if oc.inst.table.IsKeyColumn(c) {
				found = append(found, outCol{kind: outKey, inst: oc.inst})
			}
		}
	}
	if len(found) == 0 {
		return ref{}, nil
	}
	oc := found[0]
	for _, f := range found[1:] {
		if f.kind != outPlain || oc.kind != outPlain {
			return ref{}, rewrite.Refuse(r.alias+"."+c, "column %s of %s is ambiguous; give the inner query's columns distinct names", c, r.alias)
		}
	}
	switch oc.kind {
	case outEnc:
		return ref{kind: refEnc, inst: s.through(r, oc.inst), col: oc.col}, nil
	case outKey:
		return ref{kind: refKey, inst: s.through(r, oc.inst)}, nil
	}
	return ref{}, nil
}

// through returns the instance, one level up, of inner read through r.
func (s *stmt) through(r *relation, inner *instance) *instance {
	if in, ok := r.insts[inner]; ok {
		return in
	}
	if r.insts == nil {
		r.insts = map[*instance]*instance{}
	}
	in := &instance{table: inner.table, rel: r, inner: inner}
	r.insts[inner] = in
	return in
}

// hasDeclared reports whether r carries declared data.
func (r *relation) hasDeclared() bool {
	return r.table != nil || r.derived != nil && r.derived.declared()
}

// candidate returns the declared column c of r if r has one by that name.
func (s *stmt) candidate(r *relation, c string) (ref, bool, error) {
	if r.table == nil && r.derived == nil {
		return ref{}, false, nil
	}
	rf, err := s.column(r, c)
	if err != nil {
		return ref{}, false, err
	}
	return rf, rf.kind != refPlain, nil
}

// mayHave reports whether r might have a column named c that kmsenc can't
// see (any table, a run of "*").
func (r *relation) mayHave(c string) bool {
	if r.derived == nil || r.derived.opaque {
		return true
	}
	for _, oc := range r.derived.cols {
		if oc.kind == outRun || strings.EqualFold(oc.name, c) {
			return true
		}
	}
	return false
}

// resolve resolves a column reference in scope sc.
func (s *stmt) resolve(sc *scope, n *ast.ColumnName) (ref, error) {
	if n.Table.O == "" {
		return s.resolveBare(sc, n.Name.O)
	}
	qual := []string{n.Table.O}
	if n.Schema.O != "" {
		qual = []string{n.Schema.O, n.Table.O}
	}
	r, outer, err := findRel(sc, qual)
	if err != nil || r == nil {
		return ref{}, err
	}
	rf, err := s.column(r, n.Name.O)
	rf.outer = outer
	return rf, err
}

// resolveBare resolves an unqualified column name the way MySQL does: at
// the innermost query level that has a column by that name. Columns of
// plain tables are unknown to kmsenc, so a name that a declared table of an
// outer level has, but that an inner level might also have, is refused.
func (s *stmt) resolveBare(sc *scope, c string) (ref, error) {
	outer := false
	for level := sc; level != nil; level = level.parent {
		var found []ref
		for _, r := range level.rels {
			rf, ok, err := s.candidate(r, c)
			if err != nil {
				return ref{}, err
			}
			if ok {
				found = append(found, rf)
			}
		}
		switch {
		case len(found) > 1:
			return ref{}, rewrite.Refuse(c, "column %s is ambiguous between two tables with encrypted columns; qualify it (t.%s)", c, c)
		case len(found) == 1:
			found[0].outer = outer
			return found[0], nil
		}
		for _, r := range level.rels {
			if r.mayHave(c) {
				if rf, err := s.resolveBare(level.parent, c); err != nil || rf.kind != refPlain {
					return ref{}, rewrite.Refuse(c, "kmsenc can't tell whether %s is a column of this subquery's tables or the encrypted column of an enclosing query; qualify it", c)
				}
				return ref{}, nil
			}
		}
		outer = true
	}
	return ref{}, nil
}

// outputRef resolves a bare name against the select list's aliases (ORDER
// BY, GROUP BY and HAVING may use them); ok is false when no output column
// has that name.
func outputRef(sc *scope, c string) (ref, bool) {
	if sc == nil || sc.outputs == nil {
		return ref{}, false
	}
	for _, oc := range sc.outputs.cols {
		if oc.hidden || !strings.EqualFold(oc.name, c) {
			continue
		}
		switch oc.kind {
		case outEnc:
			return ref{kind: refEnc, inst: oc.inst, col: oc.col}, true
		case outKey:
			return ref{kind: refKey, inst: oc.inst}, true
		}
	}
	return ref{}, false
}
