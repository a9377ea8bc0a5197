package planner

import (
	"strings"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// This file holds what the dialect packages know of a query's names once
// they have read them from their AST: the relations of each query level,
// and what a column name resolves to. It knows no SQL syntax.

// A TableInstance is one occurrence of a declared table whose rows a query
// reads: a FROM item naming the table, or, one level up, a derived table or
// CTE through which that occurrence's columns flow. Each instance has its
// own key column (and context columns) in the result, and becomes one of
// Output.Instances.
type TableInstance struct {
	Table    *schema.Table
	Relation *Relation      // the FROM item it is read through
	Inner    *TableInstance // set when Relation is a derived table: the instance inside it
}

// A Relation is one FROM item of a query (a table, a derived table or CTE,
// a function), or the target of a statement that writes.
type Relation struct {
	Alias  string // the name it is referred to by (its alias, or the table name); "" if none
	Schema string // for a table without alias: the schema (database) qualifier written, if any
	// Ref is how the SQL kmsenc adds writes it, as in "Ref.col"; "" when it
	// has no name. Bare: kmsenc writes its columns unqualified instead (the
	// target of a MariaDB RETURNING list).
	Ref  string
	Bare bool

	Base     bool           // a table (declared or not), not a derived table or function
	Aliased  bool           // it has an alias (so its table name no longer names it)
	Table    *schema.Table  // a declared table
	Instance *TableInstance // the instance of a declared table
	Derived  *Result        // a derived table or CTE: what its query outputs
	Opaque   bool           // columns unknown and never declared (a plain table, a function, VALUES)
	Merged   bool           // a side of a USING or NATURAL join

	// readThrough holds the instances read through a derived table, by the
	// instance inside it.
	readThrough map[*TableInstance]*TableInstance
}

// TableRelation returns the relation of a table named name: a declared table,
// with its instance, or an opaque one.
func TableRelation(cfg *schema.Config, name string) *Relation {
	r := &Relation{Base: true, Alias: name}
	if t := cfg.Table(name); t != nil {
		r.Table = t
		r.Instance = &TableInstance{Table: t, Relation: r}
	} else {
		r.Opaque = true
	}
	return r
}

// A Scope is one query level: its FROM items and the CTEs it defines. Names
// not found in a scope are looked up in its parent (correlated subqueries).
type Scope struct {
	Parent *Scope
	Rels   []*Relation
	CTEs   map[string]*CTE // by lower-case name
	// Outputs: the select list's columns, where clauses may name them by
	// their aliases (MySQL's ORDER BY, GROUP BY and HAVING).
	Outputs *Result
}

// A CTE is a WITH query: its output, and the column names the WITH gives it
// (WITH s(a, b) AS ...) when they are applied where it is used.
type CTE struct {
	Result *Result
	Cols   []string
}

// FindCTE returns the CTE named name in sc or an enclosing scope, or nil.
func (sc *Scope) FindCTE(name string) *CTE {
	for ; sc != nil; sc = sc.Parent {
		if c, ok := sc.CTEs[strings.ToLower(name)]; ok {
			return c
		}
	}
	return nil
}

// RefKind is what a column reference resolves to.
type RefKind int

const (
	RefPlain     RefKind = iota // nothing declared, or unknown to kmsenc
	RefEncrypted                // an encrypted column of rewrite.Instance
	RefKey                      // the key column of rewrite.Instance
	RefWholeRow                 // PostgreSQL: a whole-row reference to a relation with declared data
)

// A Ref is a resolved column reference.
type Ref struct {
	Kind     RefKind
	Instance *TableInstance
	Col      *schema.Column
	Outer    bool // found in an enclosing query level
}

// Output returns the output column of a select-list item that names rf
// under name.
func (rf Ref) Output(name string) ResultColumn {
	switch rf.Kind {
	case RefEncrypted:
		return ResultColumn{Kind: ColEncrypted, Instance: rf.Instance, Col: rf.Col, Name: name}
	case RefKey:
		return ResultColumn{Kind: ColKey, Instance: rf.Instance, Name: name}
	}
	return ResultColumn{Kind: ColPlain, Name: name}
}

// Named reports whether a qualifier (table, or schema.table; schema is ""
// when not written) names r.
func (r *Relation) Named(table, schema string) bool {
	if r.Alias == "" || !strings.EqualFold(table, r.Alias) {
		return false
	}
	if schema == "" {
		return true
	}
	return r.Base && !r.Aliased && (r.Schema == "" || strings.EqualFold(schema, r.Schema))
}

// Column resolves column c of r.
func (r *Relation) Column(c string) (Ref, error) {
	switch {
	case r.Table != nil:
		if col := r.Table.Column(c); col != nil {
			return Ref{Kind: RefEncrypted, Instance: r.Instance, Col: col}, nil
		}
		if r.Table.IsKeyColumn(c) {
			return Ref{Kind: RefKey, Instance: r.Instance}, nil
		}
	case r.Derived != nil:
		return r.derivedColumn(c)
	}
	return Ref{}, nil
}

// derivedColumn resolves column c of a derived table or CTE: a named output
// column of the inner query, or a column of a run from "*" there.
func (r *Relation) derivedColumn(c string) (Ref, error) {
	var found []ResultColumn
	for _, oc := range r.Derived.Cols {
		if oc.Kind != ColRun && strings.EqualFold(oc.Name, c) {
			found = append(found, oc)
		}
	}
	for _, oc := range r.Derived.Cols {
		if oc.Kind == ColRun && oc.Instance != nil {
			if col := oc.Instance.Table.Column(c); col != nil {
				found = append(found, ResultColumn{Kind: ColEncrypted, Instance: oc.Instance, Col: col})
			} else if oc.Instance.Table.IsKeyColumn(c) {
				found = append(found, ResultColumn{Kind: ColKey, Instance: oc.Instance})
			}
		}
	}
	if len(found) == 0 {
		return Ref{}, nil
	}
	oc := found[0]
	for _, f := range found[1:] {
		if f.Kind != ColPlain || oc.Kind != ColPlain {
			return Ref{}, rewrite.Refuse(r.Alias+"."+c, "column %s of %s is ambiguous; give the inner query's columns distinct names", c, r.Alias)
		}
	}
	switch oc.Kind {
	case ColEncrypted:
		return Ref{Kind: RefEncrypted, Instance: r.Through(oc.Instance), Col: oc.Col}, nil
	case ColKey:
		return Ref{Kind: RefKey, Instance: r.Through(oc.Instance)}, nil
	}
	return Ref{}, nil
}

// Through returns the instance, one level up, of inner read through the
// derived table r: the same one each time.
func (r *Relation) Through(inner *TableInstance) *TableInstance {
	if in, ok := r.readThrough[inner]; ok {
		return in
	}
	if r.readThrough == nil {
		r.readThrough = map[*TableInstance]*TableInstance{}
	}
	in := &TableInstance{Table: inner.Table, Relation: r, Inner: inner}
	r.readThrough[inner] = in
	return in
}

// HasDeclared reports whether r carries declared data (so a whole-row
// reference or a USING join over it would expose ciphertext).
func (r *Relation) HasDeclared() bool {
	return r.Table != nil || r.Derived != nil && r.Derived.Declared()
}

// Candidate returns the declared column c of r if r has one by that name.
func (r *Relation) Candidate(c string) (Ref, bool, error) {
	if r.Table == nil && r.Derived == nil {
		return Ref{}, false, nil
	}
	rf, err := r.Column(c)
	if err != nil {
		return Ref{}, false, err
	}
	return rf, rf.Kind != RefPlain, nil
}

// MayHave reports whether r might have a column named c that kmsenc can't
// see (any table, a function, a run of "*").
func (r *Relation) MayHave(c string) bool {
	if r.Derived == nil || r.Derived.Opaque {
		return true
	}
	for _, oc := range r.Derived.Cols {
		if oc.Kind == ColRun || strings.EqualFold(oc.Name, c) {
			return true
		}
	}
	return false
}

// ResolveBare resolves an unqualified column name the way the databases do:
// at the innermost query level that has a column by that name. Columns of
// plain tables are unknown to kmsenc, so a name that a declared table of an
// outer level has, but that an inner level might also have, is refused.
//
// wholeRow, when not nil, reports whether c names a relation with declared
// data seen from a level (PostgreSQL reads a name that is no column there
// as a whole-row reference); such a name resolves to RefWholeRow.
func (sc *Scope) ResolveBare(c string, wholeRow func(level *Scope, c string) bool) (Ref, error) {
	outer := false
	for level := sc; level != nil; level = level.Parent {
		var found []Ref
		for _, r := range level.Rels {
			rf, ok, err := r.Candidate(c)
			if err != nil {
				return Ref{}, err
			}
			if ok {
				found = append(found, rf)
			}
		}
		switch {
		case len(found) > 1:
			return Ref{}, rewrite.Refuse(c, "column %s is ambiguous between two tables with encrypted columns; qualify it (t.%s)", c, c)
		case len(found) == 1:
			found[0].Outer = outer
			return found[0], nil
		}
		may := false
		for _, r := range level.Rels {
			if r.MayHave(c) {
				may = true
				break
			}
		}
		if may {
			if rf, err := level.Parent.ResolveBare(c, wholeRow); err != nil || rf.Kind != RefPlain {
				return Ref{}, rewrite.Refuse(c, "kmsenc can't tell whether %s is a column of this subquery's tables or the encrypted column of an enclosing query; qualify it", c)
			}
		}
		if wholeRow != nil && wholeRow(level, c) {
			// "SELECT u FROM users u".
			return Ref{Kind: RefWholeRow}, nil
		}
		if may {
			return Ref{}, nil
		}
		outer = true
	}
	return Ref{}, nil
}

// RenameColumns applies a column alias list ("AS s(a, b)", "WITH s(a, b)
// AS") to a derived table or CTE, renaming its output columns in order.
// The caller refuses a list on a declared table: kmsenc can't tell which
// column each would rename.
func (r *Relation) RenameColumns(names []string) error {
	if r.Derived == nil || !r.Derived.Declared() {
		return nil
	}
	res := &Result{}
	i := 0
	for _, c := range r.Derived.Cols {
		if !c.Hidden && i < len(names) {
			if c.Kind == ColRun {
				return rewrite.Refuse(r.Alias, "column aliases over * of a table with encrypted columns are not supported; name the columns in the subquery")
			}
			c.Name = names[i]
			i++
		}
		res.Cols = append(res.Cols, c)
	}
	r.Derived = res
	return nil
}

// UsingJoin checks the columns of a join's USING list against the
// relations of both sides, and marks them merged; refuse says why a
// declared column can't be joined on.
func UsingJoin(rels []*Relation, cols []string, refuse func(rf Ref, col string) error) error {
	for _, col := range cols {
		for _, r := range rels {
			rf, ok, err := r.Candidate(col)
			if err != nil {
				return err
			}
			if ok {
				return refuse(rf, col)
			}
		}
	}
	markMerged(rels)
	return nil
}

// NaturalJoin checks a NATURAL join of rels, which may join on ciphertext,
// and marks them merged.
func NaturalJoin(rels []*Relation) error {
	for _, r := range rels {
		if r.HasDeclared() {
			return rewrite.Refuse("NATURAL JOIN", "NATURAL JOIN with a table with encrypted columns could join on ciphertext; join ON plain columns")
		}
	}
	markMerged(rels)
	return nil
}

// markMerged marks the sides of a USING or NATURAL join when one of them
// carries declared data: "*" over them would merge columns.
func markMerged(rels []*Relation) {
	declared := false
	for _, r := range rels {
		declared = declared || r.HasDeclared()
	}
	if declared {
		for _, r := range rels {
			r.Merged = true
		}
	}
}
