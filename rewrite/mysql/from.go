package mysql

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
)

// fromClause analyses the FROM items of one query level (also the tables
// of a multi-table UPDATE or DELETE) into sc, and returns the relations
// that "*" covers, in order.
func (s *stmt) fromClause(from *ast.TableRefsClause, sc *scope, mode selectMode) ([]*relation, error) {
	if from == nil || from.TableRefs == nil {
		return nil, nil
	}
	return s.fromItem(from.TableRefs, sc, mode)
}

func (s *stmt) fromItem(n ast.ResultSetNode, sc *scope, mode selectMode) ([]*relation, error) {
	switch t := n.(type) {
	case *ast.Join:
		return s.join(t, sc, mode)
	case *ast.TableSource:
		return s.tableSource(t, sc, mode)
	}
	return nil, rewrite.Refuse("", "this kind of FROM item is not supported in statements on encrypted tables")
}

func (s *stmt) tableSource(t *ast.TableSource, sc *scope, mode selectMode) ([]*relation, error) {
	var r *relation
	switch src := t.Source.(type) {
	case *ast.TableName:
		if src.AsOf != nil || src.TableSample != nil {
			return nil, rewrite.Refuse(src.Name.O, "AS OF and TABLESAMPLE are not supported in statements on encrypted tables")
		}
		var err error
		if r, err = s.tableRel(src, sc); err != nil {
			return nil, err
		}
	case *ast.SelectStmt, *ast.SetOprStmt:
		// Only a LATERAL derived table sees the FROM items before it.
		parent := &scope{parent: sc.parent, ctes: sc.ctes}
		if t.Lateral {
			parent = sc
		}
		m := modeDescribe
		if mode == modeEdit {
			m = modeEdit
		}
		res, err := s.analyzeQuery(src.(ast.ResultSetNode), parent, m, false)
		if err != nil {
			return nil, err
		}
		r = &relation{derived: res}
	case *ast.Join:
		if t.AsName.O != "" {
			return nil, rewrite.Refuse(t.AsName.O, "an alias on a parenthesized join is not supported; alias the tables instead")
		}
		return s.join(src, sc, mode)
	default:
		return nil, rewrite.Refuse("", "this kind of FROM item is not supported in statements on encrypted tables")
	}
	if t.AsName.O != "" {
		r.alias, r.aliased = t.AsName.O, true
		r.ref = quoteIdent(t.AsName.O)
	}
	if len(t.ColumnNames) > 0 {
		cols := make([]string, len(t.ColumnNames))
		for i, c := range t.ColumnNames {
			cols[i] = c.O
		}
		if err := r.renameColumns(cols); err != nil {
			return nil, err
		}
	}
	sc.rels = append(sc.rels, r)
	return []*relation{r}, nil
}

// tableRel makes the relation of a table name: a CTE in scope, or a table.
func (s *stmt) tableRel(tn *ast.TableName, sc *scope) (*relation, error) {
	name := tn.Name.O
	if tn.Schema.O == "" {
		if c := sc.findCTE(name); c != nil {
			r := &relation{alias: name, ref: quoteIdent(name), derived: c.res}
			if len(c.cols) > 0 {
				if err := r.renameColumns(c.cols); err != nil {
					return nil, err
				}
			}
			return r, nil
		}
	}
	r := &relation{base: true, alias: name, schema: tn.Schema.O, ref: quoteIdent(name)}
	if tn.Schema.O != "" {
		r.ref = quoteIdent(tn.Schema.O) + "." + r.ref
	}
	if t := s.cfg.Table(name); t != nil {
		r.table = t
		r.inst = &instance{table: t, rel: r}
	} else {
		r.opaque = true
	}
	return r, nil
}

// renameColumns applies a column alias list, "AS s(a, b)" or
// "WITH s(a, b) AS", which renames the output columns in order.
func (r *relation) renameColumns(names []string) error {
	if r.table != nil {
		return rewrite.Refuse(r.alias, "column aliases on a table with encrypted columns (%s) are not supported: kmsenc can't tell which column each renames; name the columns in a subquery", r.alias)
	}
	if r.derived == nil || !r.derived.declared() {
		return nil
	}
	res := &result{}
	i := 0
	for _, c := range r.derived.cols {
		if !c.hidden && i < len(names) {
			if c.kind == outRun {
				return rewrite.Refuse(r.alias, "column aliases over * of a table with encrypted columns are not supported; name the columns in the subquery")
			}
			c.name = names[i]
			i++
		}
		res.cols = append(res.cols, c)
	}
	r.derived = res
	return nil
}

func (s *stmt) join(t *ast.Join, sc *scope, mode selectMode) ([]*relation, error) {
	left, err := s.fromItem(t.Left, sc, mode)
	if err != nil || t.Right == nil {
		return left, err
	}
	right, err := s.fromItem(t.Right, sc, mode)
	if err != nil {
		return nil, err
	}
	both := append(append([]*relation{}, left...), right...)
	switch {
	case t.On != nil:
		if err := s.checkExpr(sc, t.On.Expr, exprRules{what: "a join condition"}); err != nil {
			return nil, err
		}
	case len(t.Using) > 0:
		for _, col := range t.Using {
			for _, r := range both {
				rf, ok, err := s.candidate(r, col.Name.O)
				if err != nil {
					return nil, err
				}
				if ok {
					return nil, (&checker{rules: exprRules{what: "a join condition (USING)"}}).refuseRef(rf, col.Name.O)
				}
			}
		}
		markMerged(both)
	case t.NaturalJoin:
		for _, r := range both {
			if r.hasDeclared() {
				return nil, rewrite.Refuse("NATURAL JOIN", "NATURAL JOIN with a table with encrypted columns could join on ciphertext; join ON plain columns")
			}
		}
		markMerged(both)
	}
	return both, nil
}

// markMerged marks the sides of a USING or NATURAL join when one of them
// carries declared data: "*" over them would merge columns.
func markMerged(rels []*relation) {
	declared := false
	for _, r := range rels {
		declared = declared || r.hasDeclared()
	}
	if declared {
		for _, r := range rels {
			r.merged = true
		}
	}
}
