package mysql

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// verifyPlan checks the invariants every plan for sql must keep, whatever
// the statement: its placeholders and Params agree, its Output is
// well-formed, its rewritten SQL parses, and no value of an encrypted
// column is left in that SQL as a constant (ARCHITECTURE.md §5: no plaintext of a
// declared column reaches the database).
func verifyPlan(cfg *schema.Config, sql string, p *rewrite.Plan) error {
	orig, err := Lex(sql)
	if err != nil {
		return fmt.Errorf("a plan for a text the lexer refuses: %v", err)
	}
	if n := countParams(orig); p.NumInput != n {
		return fmt.Errorf("NumInput %d, the text has %d placeholders", p.NumInput, n)
	}
	if p.Kind == rewrite.PassThrough {
		if p.SQL != sql || p.Params != nil || p.Output != nil {
			return fmt.Errorf("a pass-through plan that changes the statement")
		}
	} else {
		toks, err := Lex(p.SQL)
		if err != nil {
			return fmt.Errorf("rewritten SQL does not lex: %v", err)
		}
		if n := countParams(toks); n != len(p.Params) {
			return fmt.Errorf("rewritten SQL has %d placeholders for %d Params", n, len(p.Params))
		}
		if err := verifyParams(p); err != nil {
			return err
		}
	}
	if err := verifyOutput(p.Output); err != nil {
		return err
	}
	node, masked, err := parseRewritten(cfg, p.SQL)
	if err != nil {
		if p.Kind != rewrite.PassThrough {
			return fmt.Errorf("rewritten SQL does not parse: %v\n%s", err, masked)
		}
		return nil
	}
	return noDeclaredConstants(cfg, node)
}

func countParams(toks []Token) int {
	n := 0
	for _, t := range toks {
		if t.Kind == Param {
			n++
		}
	}
	return n
}

func verifyParams(p *rewrite.Plan) error {
	keys := map[int]int{}
	for _, prm := range p.Params {
		switch prm.Kind {
		case rewrite.ParamValue:
			if prm.Value.IsArg() && prm.Value.Arg >= p.NumInput {
				return fmt.Errorf("param reads argument %d of %d", prm.Value.Arg, p.NumInput)
			}
			if prm.Encrypt != nil {
				switch p.Kind {
				case rewrite.Insert:
					if prm.Row < 0 || prm.Row >= len(p.Rows) {
						return fmt.Errorf("encrypted param for row %d of %d", prm.Row, len(p.Rows))
					}
				case rewrite.Update:
					if prm.Row != 0 {
						return fmt.Errorf("update param for row %d", prm.Row)
					}
				default:
					return fmt.Errorf("an encrypted param in a %s plan", p.Kind)
				}
				if p.Table == nil || prm.Encrypt.Table != p.Table.Name {
					return fmt.Errorf("param encrypted for %s in a plan for another table", prm.Encrypt.AssociatedData())
				}
			}
		case rewrite.ParamWrappedKey:
			if p.Kind != rewrite.Insert {
				return fmt.Errorf("a wrapped key in a %s plan", p.Kind)
			}
			keys[prm.Row]++
		case rewrite.ParamRowKeyGuard:
			if p.Kind != rewrite.Update {
				return fmt.Errorf("a key guard in a %s plan", p.Kind)
			}
		}
	}
	if p.Kind == rewrite.Insert {
		for r := range p.Rows {
			if keys[r] != 1 {
				return fmt.Errorf("row %d has %d wrapped keys", r, keys[r])
			}
			if len(p.Rows[r].Context) != len(p.Table.Context) {
				return fmt.Errorf("row %d has %d context entries, the table %d", r, len(p.Rows[r].Context), len(p.Table.Context))
			}
		}
	}
	if p.Kind == rewrite.Update && (p.Update == nil || p.Update.Lookup == "" || p.Update.SetKey == "") {
		return fmt.Errorf("an update plan without its lookup")
	}
	return nil
}

func verifyOutput(o *rewrite.Output) error {
	if o == nil {
		return nil
	}
	for i, c := range o.Columns {
		if c.Instance >= len(o.Instances) {
			return fmt.Errorf("column %d names instance %d of %d", i, c.Instance, len(o.Instances))
		}
		if c.Star && (i+1 >= len(o.Columns) || o.Columns[i+1].Star || c.End == "") {
			return fmt.Errorf("star %d without its end marker", i)
		}
		if (c.Kind == rewrite.OutEncrypted && !c.Star || c.Kind == rewrite.OutKey || c.Kind == rewrite.OutContext) && c.Instance < 0 {
			return fmt.Errorf("column %d of kind %d without an instance", i, c.Kind)
		}
	}
	for i, in := range o.Instances {
		if in.Key < 0 || in.Key >= len(o.Columns) || o.Columns[in.Key].Kind != rewrite.OutKey || o.Columns[in.Key].Instance != i {
			return fmt.Errorf("instance %d: key index %d is not its key column", i, in.Key)
		}
		for _, c := range in.Context {
			if c < 0 || c >= len(o.Columns) || o.Columns[c].Kind != rewrite.OutContext || o.Columns[c].Instance != i {
				return fmt.Errorf("instance %d: context index %d is not its context column", i, c)
			}
		}
	}
	return nil
}

// parseRewritten parses a rewritten text as kmsenc does (RETURNING and a
// row alias blanked out).
func parseRewritten(cfg *schema.Config, sql string) (ast.StmtNode, string, error) {
	s, err := newStmt(New(cfg), sql)
	if err != nil {
		return nil, sql, err
	}
	if s.end == 0 {
		return nil, sql, fmt.Errorf("empty")
	}
	if err := s.maskClauses(); err != nil {
		return nil, s.masked, err
	}
	node, err := s.parse(s.masked)
	return node, s.masked, err
}

// noDeclaredConstants fails when an INSERT or UPDATE writes a constant (other
// than NULL) into an encrypted column, or an upsert sets one from anything
// but the inserted row.
func noDeclaredConstants(cfg *schema.Config, node ast.StmtNode) error {
	switch n := node.(type) {
	case *ast.InsertStmt:
		tn, err := insertTable(n)
		if err != nil {
			return nil
		}
		t := cfg.Table(tn.Name.O)
		if t == nil {
			return nil
		}
		for _, row := range n.Lists {
			for j, e := range row {
				// DEFAULT stores NULL: the driver refuses tables whose
				// encrypted columns have a database default.
				if _, isDefault := e.(*ast.DefaultExpr); isDefault {
					continue
				}
				if j < len(n.Columns) && t.Column(n.Columns[j].Name.O) != nil && !paramOrNull(e) {
					return fmt.Errorf("INSERT writes a non-parameter into %s.%s", t.Name, n.Columns[j].Name.O)
				}
			}
		}
		for _, a := range n.OnDuplicate {
			if t.Column(a.Column.Name.O) == nil {
				continue
			}
			e := a.Expr
			for { // (ssn) is ssn: parentheses change nothing
				p, ok := e.(*ast.ParenthesesExpr)
				if !ok {
					break
				}
				e = p.Expr
			}
			switch e := e.(type) {
			case *ast.ValuesExpr, *ast.ColumnNameExpr:
			default:
				return fmt.Errorf("ON DUPLICATE KEY UPDATE sets %s to %T", a.Column.Name.O, e)
			}
		}
	case *ast.UpdateStmt:
		tn, _, single := singleTable(n.TableRefs)
		if !single || cfg.Table(tn.Name.O) == nil {
			return nil
		}
		t := cfg.Table(tn.Name.O)
		for _, a := range n.List {
			if t.Column(a.Column.Name.O) != nil && !paramOrNull(a.Expr) {
				return fmt.Errorf("UPDATE writes a non-parameter into %s.%s", t.Name, a.Column.Name.O)
			}
		}
	}
	return nil
}

func paramOrNull(e ast.ExprNode) bool {
	if _, ok := e.(*driver.ParamMarkerExpr); ok {
		return true
	}
	return isNull(e)
}

// literals returns the constants of sql (strings decoded, and numbers), for
// checking that no refusal repeats one.
func literals(sql string) []string {
	toks, _ := Lex(sql)
	var out []string
	for _, t := range toks {
		switch t.Kind {
		case String:
			var b strings.Builder
			decodeString(sql[t.Start:t.End], &b)
			out = append(out, b.String())
		case Number, HexString, BitString:
			out = append(out, sql[t.Start:t.End])
		}
	}
	return out
}
