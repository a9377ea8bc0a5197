package mysql

import (
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/rewrite/internal/model"
	"github.com/kmsenc/kmsenc/schema"
)

// expr converts an expression. Nodes the model has no kind for become
// model.Other with every operand, so that no column reference escapes the
// planner's checks; a node kind this converter doesn't know is refused.
// Text fields hold names only: MySQL's refusals never quote a value.
func (s *stmt) expr(e ast.ExprNode) (model.Expr, error) {
	switch n := e.(type) {
	case nil:
		return nil, nil
	case *ast.ColumnNameExpr:
		return columnRef(n.Name), nil
	case *ast.ParenthesesExpr:
		x, err := s.expr(n.Expr)
		return &model.Paren{X: x}, err
	case *ast.SubqueryExpr:
		q, err := s.query(n.Query)
		if err != nil {
			return nil, err
		}
		return &model.Subquery{Query: q, Exists: n.Exists}, nil
	case *ast.ExistsSubqueryExpr:
		x, err := s.expr(n.Sel)
		if err != nil {
			return nil, err
		}
		sub, ok := x.(*model.Subquery)
		if !ok {
			return nil, rewrite.Refuse("EXISTS", "this form of EXISTS is not supported in statements on encrypted tables")
		}
		sub.Exists = true
		return sub, nil
	case *ast.IsNullExpr:
		x, err := s.expr(n.Expr)
		return &model.IsNull{Operand: x}, err
	case *ast.AggregateFuncExpr:
		return s.aggregate(n.F, n.Args, n.Distinct, n.Order, nil)
	case *ast.WindowFuncExpr:
		w, err := s.window(&n.Spec)
		if err != nil {
			return nil, err
		}
		return s.aggregate(n.Name, n.Args, n.Distinct, nil, w)
	case *ast.FuncCallExpr:
		args, err := s.exprs(n.Args)
		if err != nil {
			return nil, err
		}
		return &model.Func{Name: n.FnName.L, Args: args, Text: n.FnName.O}, nil
	case *ast.BinaryOperationExpr:
		return s.binary(n)
	case *ast.PatternInExpr:
		return s.in(n)
	case *ast.CompareSubqueryExpr:
		return s.compareSubquery(n)
	case *ast.PatternLikeOrIlikeExpr:
		return s.compare(model.OpLike, n.Expr, n.Pattern)
	case *driver.ParamMarkerExpr:
		return s.param(n)
	case *driver.ValueExpr:
		if n.Kind() == driver.KindNull {
			return s.null(n), nil
		}
		return s.constant(n, n, false), nil
	case *ast.UnaryOperationExpr:
		if v, ok := n.V.(*driver.ValueExpr); ok && (n.Op == opcode.Minus || n.Op == opcode.Plus) && isNumber(v) {
			// A signed number is one constant: "-5" in VALUES is the
			// value -5, which kmsenc encrypts whole.
			if i := s.tokAt(n.OriginTextPosition()); s.isOp(i, "-") || s.isOp(i, "+") {
				if i+1 < s.end && s.toks[i+1].Kind == Number {
					return s.constant(n, v, true), nil
				}
			}
		}
		return s.other(n.V)
	case *ast.DefaultExpr:
		if n.Name == nil {
			return &model.Default{Span: model.NoSpan}, nil
		}
		// DEFAULT(col) reads col's default, but is a mention of col.
		return &model.Other{Args: []model.Expr{columnRef(n.Name)}, Text: "DEFAULT(" + columnText(n.Name) + ")"}, nil
	case *ast.ValuesExpr:
		return s.values(n)
	case *ast.MatchAgainst:
		args := make([]model.Expr, 0, len(n.ColumnNames)+1)
		for _, c := range n.ColumnNames {
			args = append(args, columnRef(c))
		}
		x, err := s.expr(n.Against)
		if err != nil {
			return nil, err
		}
		return &model.Other{Args: append(args, x), Text: "MATCH"}, nil
	case *ast.BetweenExpr:
		return s.other(n.Expr, n.Left, n.Right)
	case *ast.CaseExpr:
		kids := []ast.ExprNode{n.Value}
		for _, w := range n.WhenClauses {
			kids = append(kids, w.Expr, w.Result)
		}
		return s.other(append(kids, n.ElseClause)...)
	case *ast.FuncCastExpr:
		x, err := s.expr(n.Expr)
		if err != nil {
			return nil, err
		}
		c := &model.Cast{X: x, Text: "CAST"}
		if n.FunctionType == ast.CastFunction && !n.ExplicitCharSet {
			c.Type, c.Keeps = castType(s.castTypeName(n))
		}
		return c, nil
	case *ast.IsTruthExpr:
		return s.other(n.Expr)
	case *ast.PatternRegexpExpr:
		return s.other(n.Expr, n.Pattern)
	case *ast.RowExpr:
		return s.other(n.Values...)
	case *ast.SetCollationExpr:
		return s.other(n.Expr)
	case *ast.VariableExpr:
		// @v := expr copies the value into a variable: its operand is
		// checked like any other.
		return s.other(n.Value)
	case *ast.JSONSumCrc32Expr:
		return s.other(n.Expr)
	case *ast.PositionExpr:
		// A position outside ORDER BY and GROUP BY (a window's, GROUP_CONCAT's
		// ORDER BY): it names no column.
		return s.other(n.P)
	case *ast.TimeUnitExpr, *ast.TrimDirectionExpr, *ast.GetFormatSelectorExpr, *ast.MaxValueExpr:
		// Keywords that stand as a function's argument: no operands.
		return &model.Other{}, nil
	case *ast.TableNameExpr:
		// A sequence named in NEXTVAL(seq) and the like: it reads no column.
		return &model.Other{Text: n.Name.Name.O}, nil
	}
	return nil, rewrite.Refuse("", "kmsenc can't analyse an expression of this statement (%T); please report it", e)
}

// exprs converts a list of expressions; nil entries stay nil.
func (s *stmt) exprs(es []ast.ExprNode) ([]model.Expr, error) {
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

// other converts an expression the model has no node for: its operands.
func (s *stmt) other(kids ...ast.ExprNode) (model.Expr, error) {
	args, err := s.exprs(kids)
	if err != nil {
		return nil, err
	}
	return &model.Other{Args: args}, nil
}

// columnRef converts a column name.
func columnRef(n *ast.ColumnName) *model.ColumnRef {
	return &model.ColumnRef{Qualifier: qualifier(n), Name: n.Name.O, Text: columnText(n), Span: model.NoSpan}
}

// qualifier returns the table qualifier of a column name in text order
// (database, table), or nil.
func qualifier(n *ast.ColumnName) []string {
	switch {
	case n.Table.O == "":
		return nil
	case n.Schema.O == "":
		return []string{n.Table.O}
	}
	return []string{n.Schema.O, n.Table.O}
}

// columnText writes a column reference for messages.
func columnText(n *ast.ColumnName) string {
	switch {
	case n.Table.O == "":
		return n.Name.O
	case n.Schema.O == "":
		return n.Table.O + "." + n.Name.O
	}
	return n.Schema.O + "." + n.Table.O + "." + n.Name.O
}

// aggregate converts an aggregate or window function: COUNT(x) and
// COUNT(*) without DISTINCT are Count, which only counts non-NULL values.
func (s *stmt) aggregate(name string, args []ast.ExprNode, distinct bool, order *ast.OrderByClause, w *model.Window) (model.Expr, error) {
	if strings.EqualFold(name, ast.AggFuncCount) && !distinct && len(args) == 1 && order == nil {
		x, err := s.expr(args[0])
		if err != nil {
			return nil, err
		}
		return &model.Count{Arg: x, Window: w}, nil
	}
	margs, err := s.exprs(args)
	if err != nil {
		return nil, err
	}
	if order != nil {
		keys, err := s.byExprs(order.Items)
		if err != nil {
			return nil, err
		}
		margs = append(margs, keys...)
	}
	return &model.Func{Name: strings.ToLower(name), Args: margs, Window: w, Text: name}, nil
}

// binary converts a binary operator: =, <>, <=> and AND keep their meaning
// for the planner; <, <=, >, >= are ordering comparisons; every other
// operator is Other.
func (s *stmt) binary(b *ast.BinaryOperationExpr) (model.Expr, error) {
	var op model.Op
	switch b.Op {
	case opcode.EQ:
		op = model.OpEqual
	case opcode.NE:
		op = model.OpNotEqual
	case opcode.NullEQ:
		op = model.OpNullSafeEqual
	case opcode.LT, opcode.LE, opcode.GT, opcode.GE:
		op = model.OpOrder
	case opcode.LogicAnd:
		l, err := s.expr(b.L)
		if err != nil {
			return nil, err
		}
		r, err := s.expr(b.R)
		if err != nil {
			return nil, err
		}
		return &model.And{Terms: []model.Expr{l, r}}, nil
	default:
		return s.other(b.L, b.R)
	}
	return s.compare(op, b.L, b.R)
}

// compare converts a comparison of l with r.
func (s *stmt) compare(op model.Op, l, r ast.ExprNode) (model.Expr, error) {
	ml, err := s.expr(l)
	if err != nil {
		return nil, err
	}
	mr, err := s.expr(r)
	if err != nil {
		return nil, err
	}
	return &model.Compare{Op: op, Left: ml, Right: []model.Expr{mr}}, nil
}

// in converts x [NOT] IN (list) and x [NOT] IN (subquery).
func (s *stmt) in(n *ast.PatternInExpr) (model.Expr, error) {
	c := &model.Compare{Op: model.OpIn}
	if n.Not {
		c.Op = model.OpNotIn
	}
	var err error
	if c.Left, err = s.expr(n.Expr); err != nil {
		return nil, err
	}
	if n.Sel != nil {
		sub, err := s.expr(n.Sel)
		if err != nil {
			return nil, err
		}
		c.Right = []model.Expr{sub}
		return c, nil
	}
	if c.Right, err = s.exprs(n.List); err != nil {
		return nil, err
	}
	return c, nil
}

// compareSubquery converts x op ANY/SOME/ALL (subquery): = ANY is IN, <>
// ALL is NOT IN.
func (s *stmt) compareSubquery(n *ast.CompareSubqueryExpr) (model.Expr, error) {
	op := model.OpOrder
	switch {
	case n.Op == opcode.EQ && !n.All:
		op = model.OpIn
	case n.Op == opcode.EQ:
		op = model.OpEqual
	case n.Op == opcode.NE && n.All:
		op = model.OpNotIn
	case n.Op == opcode.NE:
		op = model.OpNotEqual
	case n.Op == opcode.NullEQ:
		op = model.OpNullSafeEqual
	}
	return s.compare(op, n.L, n.R)
}

// values converts VALUES(c): in ON DUPLICATE KEY UPDATE, the value the
// INSERT proposed for c. Elsewhere (NULL, to MySQL), and as VALUES(t.c),
// which is not the form kmsenc sets columns from, it is a function of
// column c: never the column itself, which a select list would return.
func (s *stmt) values(v *ast.ValuesExpr) (model.Expr, error) {
	if v.Column == nil {
		return nil, rewrite.Refuse("VALUES", "this form of VALUES() is not supported in statements on encrypted tables")
	}
	c := v.Column.Name
	if !s.upsert || c.Table.O != "" {
		return &model.Other{Args: []model.Expr{columnRef(c)}, Text: "VALUES(" + columnText(c) + ")"}, nil
	}
	return &model.Proposed{Column: c.Name.O, Text: "VALUES(" + c.Name.O + ")"}, nil
}

// param converts a placeholder: Arg is its ordinal among the text's '?'.
func (s *stmt) param(p *driver.ParamMarkerExpr) (model.Expr, error) {
	i := s.tokAt(p.Offset)
	arg := s.argOf(i)
	if arg < 0 {
		return nil, errParams
	}
	return &model.Param{Arg: arg, Span: s.byteSpan(span{i, i + 1})}, nil
}

// errParams refuses a statement whose placeholders the lexer and the
// parser don't find in the same places.
var errParams = rewrite.Refuse("", "kmsenc's MySQL lexer and the parser found different placeholders in this statement; write it more plainly")

// argOf returns the caller's argument number of the '?' token i, or -1.
func (s *stmt) argOf(i int) int {
	if i < 0 || s.toks[i].Kind != Param {
		return -1
	}
	if n := sort.SearchInts(s.params, i); n < len(s.params) && s.params[n] == i {
		return n
	}
	return -1
}

// null converts the constant NULL; its span is its token.
func (s *stmt) null(v *driver.ValueExpr) *model.Null {
	i := s.tokAt(v.OriginTextPosition())
	if !s.kw(i, "null") {
		return &model.Null{Span: model.NoSpan}
	}
	return &model.Null{Span: s.byteSpan(span{i, i + 1})}
}

// errUnlocated is the Err of a constant kmsenc didn't find in the text.
var errUnlocated = &errLiteral{"kmsenc could not find the constant in the text"}

// constant converts a constant (e, whose value the parser read as v; a
// signed number when signed). Its value is decoded from its tokens, as
// MySQL reads them, when the tokens at e's offset are the constant the
// parser read; otherwise it has no span and Err is set.
func (s *stmt) constant(e ast.ExprNode, v *driver.ValueExpr, signed bool) *model.Literal {
	lit := &model.Literal{Kind: datumKind(v), Span: model.NoSpan, Err: errUnlocated}
	sp, ok := s.literalSpan(s.tokAt(e.OriginTextPosition()))
	if !ok || !s.sameConstant(v, sp, signed) {
		return lit
	}
	dl, err := decodeLiteral(s.sql, s.toks[sp.from:sp.to])
	lit.Value, lit.Text, lit.Err, lit.Span = dl.Go, dl.Text, err, s.byteSpan(sp)
	switch t := s.toks[sp.from]; {
	case t.Kind == Number || t.Kind == Op:
		lit.Kind = model.LitNumber
	case t.Kind == HexString:
		lit.Kind = model.LitHex
	case t.Kind == BitString:
		lit.Kind = model.LitBits
	case s.kwIn(sp.from, "true", "false"):
		lit.Kind = model.LitBool
	default:
		lit.Kind = model.LitString
	}
	return lit
}

// sameConstant reports whether tokens sp are the kind of constant the
// parser read as v.
func (s *stmt) sameConstant(v *driver.ValueExpr, sp span, signed bool) bool {
	first := s.toks[sp.from]
	if signed != (first.Kind == Op) {
		return false
	}
	if signed {
		return sp.to == sp.from+2 && isNumber(v)
	}
	switch v.Kind() {
	case driver.KindString, driver.KindBytes:
		return first.Kind == String || first.Kind == Ident && !s.kwIn(sp.from, "true", "false")
	case driver.KindInt64:
		if v.Type.GetFlag()&mysql.IsBooleanFlag != 0 {
			return s.kwIn(sp.from, "true", "false")
		}
		return first.Kind == Number
	case driver.KindUint64, driver.KindFloat32, driver.KindFloat64, driver.KindMysqlDecimal:
		return first.Kind == Number
	case driver.KindBinaryLiteral, driver.KindMysqlBit:
		return first.Kind == HexString || first.Kind == BitString
	}
	return false
}

// isNumber reports whether the parser read v as a number.
func isNumber(v *driver.ValueExpr) bool {
	switch v.Kind() {
	case driver.KindInt64:
		return v.Type.GetFlag()&mysql.IsBooleanFlag == 0
	case driver.KindUint64, driver.KindFloat32, driver.KindFloat64, driver.KindMysqlDecimal:
		return true
	}
	return false
}

// datumKind is the literal kind of a constant the parser read as v, for a
// constant kmsenc didn't find in the text.
func datumKind(v *driver.ValueExpr) model.LitKind {
	switch v.Kind() {
	case driver.KindString, driver.KindBytes:
		return model.LitString
	case driver.KindBinaryLiteral, driver.KindMysqlBit:
		return model.LitHex
	case driver.KindInt64:
		if v.Type.GetFlag()&mysql.IsBooleanFlag != 0 {
			return model.LitBool
		}
	}
	return model.LitNumber
}

// isNull reports whether e is the constant NULL.
func isNull(e ast.ExprNode) bool {
	v, ok := e.(*driver.ValueExpr)
	return ok && v.Kind() == driver.KindNull
}

// castTypeName returns the type of CAST(x AS type) as its tokens write it:
// unquoted words in lower case, one space apart; "" when the tokens are not
// such, or the cast is not located.
func (s *stmt) castTypeName(n *ast.FuncCastExpr) string {
	i := s.tokAt(n.OriginTextPosition())
	if !s.kw(i, "cast") || !s.isOp(i+1, "(") || s.match[i+1] < 0 {
		return ""
	}
	closing := s.match[i+1]
	at := -1
	for j := i + 2; j < closing; j = s.skip(j) {
		if s.kw(j, "as") {
			at = j
		}
	}
	if at < 0 || at+1 >= closing {
		return ""
	}
	var b strings.Builder
	for j := at + 1; j < closing; j++ {
		if s.toks[j].Kind != Ident {
			return ""
		}
		if j > at+1 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.ToLower(s.sql[s.toks[j].Start:s.toks[j].End]))
	}
	return b.String()
}

// castType says what CAST(x AS name) does to a value (model.Cast): the
// schema type whose values it leaves as they are, and whether it keeps a
// key or context value as the column would store it. A length, a
// character set, UNSIGNED, DATETIME (which drops fractions) and JSON (which
// normalises) are none of these.
func castType(name string) (typ string, keeps bool) {
	switch name {
	case "char":
		return "text", true
	case "signed", "signed integer":
		return "int", true
	case "binary":
		return "bytes", false
	case "double":
		return "float", false
	case "date":
		return "date", false
	}
	return "", false
}

// CastHint names the casts castType finds to be typ's own.
func (dialect) CastHint(typ schema.Type) string {
	switch typ {
	case schema.Text:
		return "CAST(? AS CHAR)"
	case schema.Int:
		return "CAST(? AS SIGNED)"
	case schema.Bytes:
		return "CAST(? AS BINARY)"
	case schema.Float:
		return "CAST(? AS DOUBLE)"
	case schema.Date:
		return "CAST(? AS DATE)"
	}
	return "none"
}
