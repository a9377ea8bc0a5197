package postgres

import (
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"

	"github.com/kmsenc/kmsenc/rewrite"
)

// planDelete plans DELETE FROM t [USING ...] WHERE ... [RETURNING ...]
// (DESIGN §5 rule 5): it passes through, and a RETURNING list of encrypted
// columns is decrypted.
func (s *stmt) planDelete(d *tree.Delete) (*rewrite.Plan, error) {
	if d.With != nil {
		return nil, rewrite.RefuseWith("DELETE")
	}
	if d.Batch != nil {
		return nil, rewrite.Refuse("BATCH", "DELETE BATCH is not PostgreSQL")
	}
	target, _, err := s.targetRel(d.Table)
	if err != nil {
		return nil, err
	}
	sc := &rewrite.Scope{Rels: []*rewrite.Relation{target}}
	extra, err := s.fromClause(d.Using, sc, modeDescribe, span{})
	if err != nil {
		return nil, err
	}
	if d.Where != nil {
		if err := s.checkExpr(sc, d.Where.Expr, exprRules{what: "WHERE", where: true}); err != nil {
			return nil, err
		}
	}
	if err := s.checkExprs(sc, orderExprs(d.OrderBy), exprRules{what: "ORDER BY"}); err != nil {
		return nil, err
	}
	if d.Limit != nil {
		if err := s.checkExprs(sc, []tree.Expr{d.Limit.Count, d.Limit.Offset}, exprRules{what: "LIMIT"}); err != nil {
			return nil, err
		}
	}
	if _, ok := d.Returning.(*tree.ReturningExprs); ok && target.Table != nil {
		if !s.kw(0, "delete") || !s.kw(1, "from") {
			return nil, s.lost(0, "DELETE FROM")
		}
		if err := s.locateTarget(target, 2); err != nil {
			return nil, err
		}
	}
	out, err := s.returning(d.Returning, target, 0, extra...)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return s.passThrough(), nil
	}
	return s.finish(&rewrite.Plan{Kind: rewrite.Delete, Output: out})
}

// locateTarget learns how the target table of an UPDATE or DELETE is
// written ("[ONLY] name [*] [[AS] alias]" at token p), for the columns a
// RETURNING list adds.
func (s *stmt) locateTarget(target *rewrite.Relation, p int) error {
	if s.kw(p, "only") {
		p++
	}
	end, parts := s.nameTokens(p, s.end)
	if len(parts) == 0 {
		return s.lost(p, "the table name")
	}
	target.Ref = s.text(p, end)
	p = end
	if s.isOp(p, "*") {
		p++
	}
	if target.Aliased {
		if s.kw(p, "as") {
			p++
		}
		if !s.isName(p) {
			return s.lost(p, "the alias "+target.Alias)
		}
		target.Ref = s.text(p, p+1)
	}
	return nil
}
