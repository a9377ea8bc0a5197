package mysql

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
)

// fromClause analyses the FROM items of one query level (also the tables
// of a multi-table UPDATE or DELETE) into sc, and returns the relations
// that "*" covers, in order.
func (s *stmt) fromClause(from *ast.TableRefsClause, sc *rewrite.Scope, mode selectMode) ([]*rewrite.Relation, error) {
	if from == nil || from.TableRefs == nil {
		return nil, nil
	}
	return s.fromItem(from.TableRefs, sc, mode)
}

func (s *stmt) fromItem(n ast.ResultSetNode, sc *rewrite.Scope, mode selectMode) ([]*rewrite.Relation, error) {
	switch t := n.(type) {
	case *ast.Join:
		return s.join(t, sc, mode)
	case *ast.TableSource:
		return s.tableSource(t, sc, mode)
	}
	return nil, rewrite.RefuseFromItem()
}

func (s *stmt) tableSource(t *ast.TableSource, sc *rewrite.Scope, mode selectMode) ([]*rewrite.Relation, error) {
	var r *rewrite.Relation
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
		parent := &rewrite.Scope{Parent: sc.Parent, CTEs: sc.CTEs}
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
		r = &rewrite.Relation{Derived: res}
	case *ast.Join:
		if t.AsName.O != "" {
			return nil, rewrite.Refuse(t.AsName.O, "an alias on a parenthesized join is not supported; alias the tables instead")
		}
		return s.join(src, sc, mode)
	default:
		return nil, rewrite.RefuseFromItem()
	}
	if t.AsName.O != "" {
		r.Alias, r.Aliased = t.AsName.O, true
		r.Ref = quoteIdent(t.AsName.O)
	}
	if len(t.ColumnNames) > 0 {
		cols := make([]string, len(t.ColumnNames))
		for i, c := range t.ColumnNames {
			cols[i] = c.O
		}
		if err := renameColumns(r, cols); err != nil {
			return nil, err
		}
	}
	sc.Rels = append(sc.Rels, r)
	return []*rewrite.Relation{r}, nil
}

// tableRel makes the relation of a table name: a CTE in scope, or a table.
func (s *stmt) tableRel(tn *ast.TableName, sc *rewrite.Scope) (*rewrite.Relation, error) {
	name := tn.Name.O
	if tn.Schema.O == "" {
		if c := sc.FindCTE(name); c != nil {
			r := &rewrite.Relation{Alias: name, Ref: quoteIdent(name), Derived: c.Result}
			if len(c.Cols) > 0 {
				if err := renameColumns(r, c.Cols); err != nil {
					return nil, err
				}
			}
			return r, nil
		}
	}
	r := rewrite.TableRelation(s.cfg, name)
	r.Schema, r.Ref = tn.Schema.O, tableText(tn)
	return r, nil
}

// renameColumns applies a column alias list, "AS s(a, b)" or
// "WITH s(a, b) AS", which renames the output columns in order.
func renameColumns(r *rewrite.Relation, names []string) error {
	if r.Table != nil {
		return rewrite.Refuse(r.Alias, "column aliases on a table with encrypted columns (%s) are not supported: kmsenc can't tell which column each renames; name the columns in a subquery", r.Alias)
	}
	return r.RenameColumns(names)
}

func (s *stmt) join(t *ast.Join, sc *rewrite.Scope, mode selectMode) ([]*rewrite.Relation, error) {
	left, err := s.fromItem(t.Left, sc, mode)
	if err != nil || t.Right == nil {
		return left, err
	}
	right, err := s.fromItem(t.Right, sc, mode)
	if err != nil {
		return nil, err
	}
	both := append(append([]*rewrite.Relation{}, left...), right...)
	switch {
	case t.On != nil:
		if err := s.checkExpr(sc, t.On.Expr, exprRules{what: "a join condition"}); err != nil {
			return nil, err
		}
	case len(t.Using) > 0:
		cols := make([]string, len(t.Using))
		for i, col := range t.Using {
			cols[i] = col.Name.O
		}
		if err := rewrite.UsingJoin(both, cols, (&checker{rules: exprRules{what: "a join condition (USING)"}}).refuseRef); err != nil {
			return nil, err
		}
	case t.NaturalJoin:
		if err := rewrite.NaturalJoin(both); err != nil {
			return nil, err
		}
	}
	return both, nil
}
