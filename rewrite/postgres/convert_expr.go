package postgres

import (
	"errors"
	"strconv"
	"strings"

	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree"
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/sem/tree/treecmp"
	"github.com/cockroachdb/cockroachdb-parser/pkg/sql/types"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
)

// expr converts an expression. Nodes the model has no kind for become
// model.Other with every operand the parser's walker visits, so that no
// column reference escapes the planner's checks.
func (s *stmt) expr(e tree.Expr) (model.Expr, error) {
	switch n := e.(type) {
	case nil:
		return nil, nil
	case *tree.UnresolvedName:
		if n.Star {
			return &model.StarRef{Qualifier: reversed(n.Parts[1:n.NumParts]), Text: n.String()}, nil
		}
		if s.upsert && n.NumParts == 2 && strings.EqualFold(n.Parts[1], "excluded") {
			return &model.Proposed{Column: n.Parts[0], Text: n.String()}, nil
		}
		return &model.ColumnRef{Qualifier: reversed(n.Parts[1:n.NumParts]), Name: n.Parts[0], Text: n.String(), Span: model.NoSpan}, nil
	case *tree.AllColumnsSelector:
		return &model.StarRef{Qualifier: reversed(n.TableName.Parts[:n.TableName.NumParts]), Text: n.String()}, nil
	case tree.UnqualifiedStar:
		return &model.StarRef{Text: "*"}, nil
	case *tree.Subquery:
		q, err := s.subquery(n.Select)
		if err != nil {
			return nil, err
		}
		return &model.Subquery{Query: q, Exists: n.Exists}, nil
	case *tree.IsNullExpr:
		x, err := s.expr(n.Expr)
		return &model.IsNull{Operand: x}, err
	case *tree.IsNotNullExpr:
		x, err := s.expr(n.Expr)
		return &model.IsNull{Operand: x}, err
	case *tree.FuncExpr:
		return s.funcExpr(n)
	case *tree.ComparisonExpr:
		return s.comparison(n)
	case *tree.AndExpr:
		l, err := s.expr(n.Left)
		if err != nil {
			return nil, err
		}
		r, err := s.expr(n.Right)
		return &model.And{Terms: []model.Expr{l, r}}, err
	case *tree.ParenExpr:
		x, err := s.expr(n.Expr)
		return &model.Paren{X: x}, err
	case *tree.CastExpr:
		if n.SyntaxMode == tree.CastPrepend {
			break // a typed constant (date '...'): an expression
		}
		x, err := s.expr(n.Expr)
		return &model.Cast{X: x, Keeps: castKeeps(n), Text: tree.AsString(n)}, err
	case *tree.Placeholder:
		return &model.Param{Arg: int(n.Idx), Span: model.NoSpan}, nil
	case *tree.StrVal:
		return &model.Literal{Kind: model.LitString, Value: n.RawString(), Text: n.String(), Span: model.NoSpan}, nil
	case *tree.NumVal:
		lit := &model.Literal{Kind: model.LitNumber, Text: n.String(), Span: model.NoSpan}
		if v, err := n.AsInt64(); err == nil && n.ShouldBeInt64() {
			lit.Value = v
		} else if f, err := strconv.ParseFloat(lit.Text, 64); err == nil {
			lit.Value = f
		} else {
			lit.Err = err
		}
		return lit, nil
	case *tree.DBool:
		return &model.Literal{Kind: model.LitBool, Value: bool(*n), Text: n.String(), Span: model.NoSpan}, nil
	case *tree.DBitArray:
		return &model.Literal{Kind: model.LitBits, Text: n.String(), Span: model.NoSpan, Err: errors.New("a bit string")}, nil
	case tree.DefaultVal:
		return &model.Default{Span: model.NoSpan}, nil
	}
	if e == tree.DNull {
		return &model.Null{Span: model.NoSpan}, nil
	}
	kids, err := s.exprs(children(e))
	if err != nil {
		return nil, err
	}
	return &model.Other{Args: kids, Text: tree.AsString(e)}, nil
}

// castKeeps reports whether a cast, read from the tree, is to an integer
// type or to text without a length: around a key or context value it
// stores the value the application passes (model.Cast.Keeps).
func castKeeps(n *tree.CastExpr) bool {
	t, ok := tree.GetStaticallyKnownType(n.Type)
	if !ok {
		return false
	}
	switch {
	case t.Family() == types.IntFamily, t.Oid() == types.String.Oid():
		return true
	case t.Oid() == types.VarChar.Oid():
		return t.Width() == 0
	}
	return false
}

// exprs converts a list of expressions; nil entries stay nil.
func (s *stmt) exprs(es []tree.Expr) ([]model.Expr, error) {
	out := make([]model.Expr, 0, len(es))
	for _, e := range es {
		x, err := s.expr(e)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// children returns the operands of e that the parser's walker visits.
func children(e tree.Expr) []tree.Expr {
	c := &childCollector{}
	tree.WalkExprConst(c, e)
	return c.kids
}

// childCollector is a tree.Visitor that collects the direct operands of the
// expression it is started on.
type childCollector struct {
	started bool
	kids    []tree.Expr
}

func (c *childCollector) VisitPre(e tree.Expr) (bool, tree.Expr) {
	if !c.started {
		c.started = true
		return true, e
	}
	c.kids = append(c.kids, e)
	return false, e
}

func (c *childCollector) VisitPost(e tree.Expr) tree.Expr { return e }

// funcExpr converts a function call: count(x) and count(*) without
// DISTINCT or ORDER BY are Count; window definitions, FILTER and an
// aggregate's ORDER BY are kept.
func (s *stmt) funcExpr(f *tree.FuncExpr) (model.Expr, error) {
	w, err := s.window(f.WindowDef)
	if err != nil {
		return nil, err
	}
	filter, err := s.expr(f.Filter)
	if err != nil {
		return nil, err
	}
	if isCount(f) && f.Type != tree.DistinctFuncType && len(f.OrderBy) == 0 {
		c := &model.Count{Filter: filter, Window: w}
		if _, star := f.Exprs[0].(tree.UnqualifiedStar); !star {
			if c.Arg, err = s.expr(f.Exprs[0]); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
	args := append([]tree.Expr{}, f.Exprs...)
	for _, o := range f.OrderBy {
		args = append(args, o.Expr)
	}
	margs, err := s.exprs(args)
	if err != nil {
		return nil, err
	}
	name := ""
	if n, ok := f.Func.FunctionReference.(*tree.UnresolvedName); ok {
		name = strings.ToLower(n.Parts[0])
	}
	return &model.Func{Name: name, Args: margs, Filter: filter, Window: w, Text: tree.AsString(f)}, nil
}

func isCount(f *tree.FuncExpr) bool {
	n, ok := f.Func.FunctionReference.(*tree.UnresolvedName)
	return ok && !n.Star && strings.EqualFold(n.Parts[0], "count") &&
		(n.NumParts == 1 || n.NumParts == 2 && strings.EqualFold(n.Parts[1], "pg_catalog")) &&
		len(f.Exprs) == 1
}

// window converts a window definition (nil for none).
func (s *stmt) window(w *tree.WindowDef) (*model.Window, error) {
	if w == nil {
		return nil, nil
	}
	mw := &model.Window{}
	var err error
	if mw.Partition, err = s.exprs(w.Partitions); err != nil {
		return nil, err
	}
	for _, o := range w.OrderBy {
		x, err := s.expr(o.Expr)
		if err != nil {
			return nil, err
		}
		mw.OrderBy = append(mw.OrderBy, x)
	}
	if w.Frame != nil {
		for _, b := range []*tree.WindowFrameBound{w.Frame.Bounds.StartBound, w.Frame.Bounds.EndBound} {
			if b != nil && b.OffsetExpr != nil {
				x, err := s.expr(b.OffsetExpr)
				if err != nil {
					return nil, err
				}
				mw.Frame = append(mw.Frame, x)
			}
		}
	}
	return mw, nil
}

// comparison converts a comparison; x = ANY (...) is IN, x <> ALL (...)
// is NOT IN.
func (s *stmt) comparison(cmp *tree.ComparisonExpr) (model.Expr, error) {
	op := cmp.Operator.Symbol
	sub := op == treecmp.Any || op == treecmp.Some || op == treecmp.All
	if sub {
		op = cmp.SubOperator.Symbol
	}
	var mop model.Op
	switch op {
	case treecmp.EQ:
		mop = model.OpEqual
		if sub {
			mop = model.OpIn
		}
	case treecmp.IsNotDistinctFrom:
		mop = model.OpNullSafeEqual
	case treecmp.NE, treecmp.IsDistinctFrom:
		mop = model.OpNotEqual
		if sub {
			mop = model.OpNotIn
		}
	case treecmp.In:
		mop = model.OpIn
	case treecmp.NotIn:
		mop = model.OpNotIn
	case treecmp.Like, treecmp.NotLike, treecmp.ILike, treecmp.NotILike:
		mop = model.OpLike
	default:
		mop = model.OpOrder
	}
	l, err := s.expr(cmp.Left)
	if err != nil {
		return nil, err
	}
	r, err := s.expr(cmp.Right)
	if err != nil {
		return nil, err
	}
	return &model.Compare{Op: mop, Left: l, Right: []model.Expr{r}, Text: tree.AsString(cmp)}, nil
}

// asRefusal is errors.As for refusals.
func asRefusal(err error, r **rewrite.RefusalError) bool { return errors.As(err, r) }
