package mysql

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/kmsenc/kmsenc/rewrite"
)

// planDelete plans DELETE (DESIGN §5 rule 5): it passes through once its
// conditions are checked, unless a RETURNING list (MariaDB) returns
// encrypted columns, which are then decrypted.
func (s *stmt) planDelete(del *ast.DeleteStmt) (*rewrite.Plan, error) {
	if del.With != nil {
		return nil, rewrite.RefuseWith("DELETE")
	}
	tn, alias, single := singleTable(del.TableRefs)
	if !single || del.IsMultiTable {
		sc := &rewrite.Scope{}
		if _, err := s.fromClause(del.TableRefs, sc, modeDescribe); err != nil {
			return nil, err
		}
		return s.checkedPass(sc, del.Where, del.Order, del.Limit)
	}
	target, from := s.targetRel(tn, alias)
	sc := &rewrite.Scope{Rels: []*rewrite.Relation{target}}
	if err := s.checkExpr(sc, del.Where, exprRules{what: "WHERE", where: true}); err != nil {
		return nil, err
	}
	if err := s.orderLimit(del.Order, del.Limit, nil, nil, sc); err != nil {
		return nil, err
	}
	out, err := s.returning(target, from)
	if err != nil || out == nil {
		if err != nil {
			return nil, err
		}
		return s.passThrough(), nil
	}
	return s.finish(&rewrite.Plan{Kind: rewrite.Delete, Output: out})
}
