package mysql

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/rewrite/internal/planner"
)

// fromClause converts the FROM items of one query level (also the tables
// of a multi-table UPDATE or DELETE). The parser makes "a, b" and every
// join a tree of ast.Join, which becomes one model.Join tree.
func (s *stmt) fromClause(c *ast.TableRefsClause) ([]model.From, error) {
	if c == nil || c.TableRefs == nil {
		return nil, nil
	}
	f, err := s.fromItem(c.TableRefs)
	if err != nil {
		return nil, err
	}
	return []model.From{f}, nil
}

func (s *stmt) fromItem(n ast.ResultSetNode) (model.From, error) {
	switch t := n.(type) {
	case *ast.Join:
		return s.join(t)
	case *ast.TableSource:
		return s.tableSource(t)
	}
	return nil, planner.RefuseFromItem()
}

func (s *stmt) join(t *ast.Join) (model.From, error) {
	left, err := s.fromItem(t.Left)
	if err != nil || t.Right == nil {
		return left, err
	}
	right, err := s.fromItem(t.Right)
	if err != nil {
		return nil, err
	}
	j := &model.Join{Left: left, Right: right, Natural: t.NaturalJoin}
	if t.On != nil {
		if j.On, err = s.expr(t.On.Expr); err != nil {
			return nil, err
		}
	}
	for _, c := range t.Using {
		j.Using = append(j.Using, c.Name.O)
	}
	return j, nil
}

// tableSource converts a FROM item: a table, a derived table, or a
// parenthesized join.
func (s *stmt) tableSource(t *ast.TableSource) (model.From, error) {
	alias, cols := t.AsName.O, names(t.ColumnNames)
	switch src := t.Source.(type) {
	case *ast.TableName:
		tr, err := s.tableRef(src, alias)
		if err != nil {
			return nil, err
		}
		tr.ColAliases = cols
		return tr, nil
	case *ast.SelectStmt, *ast.SetOprStmt:
		q, err := s.query(src)
		if err != nil {
			return nil, err
		}
		d := &model.Derived{Query: q, Lateral: t.Lateral, Alias: alias, ColAliases: cols}
		if alias != "" {
			d.Ref = quoteIdent(alias)
		}
		return d, nil
	case *ast.Join:
		f, err := s.join(src)
		if err != nil || alias == "" && len(cols) == 0 {
			return f, err
		}
		j, ok := f.(*model.Join)
		if !ok || len(cols) > 0 {
			return nil, rewrite.Refuse(alias, "this form of alias on a parenthesized join is not supported; alias the tables instead")
		}
		j.Alias = alias
		return j, nil
	}
	return nil, planner.RefuseFromItem()
}

// tableRef converts a table name, with its alias. kmsenc writes the table
// in backticks as the text names it, which MySQL reads back as the same
// table: the reference needs no location in the text.
func (s *stmt) tableRef(tn *ast.TableName, alias string) (*model.TableRef, error) {
	if tn.AsOf != nil || tn.TableSample != nil {
		return nil, rewrite.Refuse(tn.Name.O, "AS OF and TABLESAMPLE are not supported in statements on encrypted tables")
	}
	t := &model.TableRef{Schema: tn.Schema.O, Name: tn.Name.O, Alias: alias, NameText: tableText(tn)}
	t.Ref = t.NameText
	if alias != "" {
		t.Ref = quoteIdent(alias)
	}
	return t, nil
}

// tableText writes a table name, with its database, for the SQL kmsenc
// generates.
func tableText(tn *ast.TableName) string {
	if tn.Schema.O != "" {
		return quoteIdent(tn.Schema.O) + "." + quoteIdent(tn.Name.O)
	}
	return quoteIdent(tn.Name.O)
}

// names returns the names of a column alias list.
func names(cs []ast.CIStr) []string {
	if len(cs) == 0 {
		return nil
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.O
	}
	return out
}

// singleTable returns the table of a single-table UPDATE or DELETE (or
// TABLE t), with its alias.
func singleTable(refs *ast.TableRefsClause) (tn *ast.TableName, alias string, ok bool) {
	if refs == nil || refs.TableRefs == nil || refs.TableRefs.Right != nil {
		return nil, "", false
	}
	ts, ok := refs.TableRefs.Left.(*ast.TableSource)
	if !ok {
		return nil, "", false
	}
	tn, ok = ts.Source.(*ast.TableName)
	return tn, ts.AsName.O, ok
}
