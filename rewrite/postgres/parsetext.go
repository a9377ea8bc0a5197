package postgres

// parseText returns the text cockroachdb-parser reads in place of the
// statement, and the indexes of the tokens of s.toks it blanked out (which
// its scanner then doesn't see). Blanking keeps every byte offset:
//
//   - A -- comment that a carriage return ends is blanked with the rest of
//     the text's comments: PostgreSQL ends it at \r, cockroachdb-parser's
//     scanner at \n only. Comments are whitespace to both.
//   - OVERRIDING {SYSTEM | USER} VALUE after an INSERT's target, which the
//     parser doesn't know, is blanked and recorded in s.overriding, for the
//     converter (ARCHITECTURE.md §5 rule 1).
//
// The text is s.sql itself when there is nothing to blank.
func (s *stmt) parseText(all []Token) (string, []int) {
	var buf []byte
	blank := func(from, to int) {
		if buf == nil {
			buf = []byte(s.sql)
		}
		for i := from; i < to; i++ {
			buf[i] = ' '
		}
	}
	for _, t := range all {
		if t.Kind == Comment && t.End < len(s.sql) && s.sql[t.End] == '\r' {
			for _, c := range all {
				if c.Kind == Comment {
					blank(c.Start, c.End)
				}
			}
			break
		}
	}
	var skipped []int
	if i := s.overridingAt(); i >= 0 {
		s.overriding = s.name(i + 1)
		blank(s.toks[i].Start, s.toks[i+2].End)
		skipped = []int{i, i + 1, i + 2}
	}
	if buf == nil {
		return s.sql, skipped
	}
	return string(buf), skipped
}

// overridingAt returns the index of OVERRIDING in "INSERT INTO t [AS a]
// [(cols)] OVERRIDING {SYSTEM | USER} VALUE", or -1.
func (s *stmt) overridingAt() int {
	if !s.kw(0, "insert") || !s.kw(1, "into") {
		return -1
	}
	for i := 2; i+3 < s.end; i = s.skip(i) {
		switch {
		case s.kwIn(i, "values", "select", "default", "on", "returning"):
			return -1
		case s.kw(i, "overriding") && s.kwIn(i+1, "system", "user") && s.kw(i+2, "value") &&
			(s.isOp(i-1, ")") || s.isName(i-1)):
			return i
		}
	}
	return -1
}
