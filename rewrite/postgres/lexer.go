package postgres

import (
	"fmt"
	"strconv"
	"strings"
)

// TokenKind says what a token of PostgreSQL's lexical grammar is.
type TokenKind uint8

// The token kinds. Space and Comment tokens are kept so that the tokens of a
// text cover it exactly, in order.
const (
	Space       TokenKind = iota // whitespace
	Comment                      // -- to end of line, or /* ... */ (nested)
	Ident                        // unquoted word: a keyword or an identifier; its value is folded to lower case
	QuotedIdent                  // "..." with "" escapes, or U&"..."; case kept
	String                       // '...', E'...', N'...', U&'...', $tag$...$tag$
	BitString                    // B'...' and X'...'
	Number                       // 42, 4.2, .5e-3, 0x2A, 1_000
	Param                        // $n
	Op                           // an operator or a punctuation mark: ( ) , ; . :: <= ...
)

func (k TokenKind) String() string {
	switch k {
	case Space:
		return "space"
	case Comment:
		return "comment"
	case Ident:
		return "ident"
	case QuotedIdent:
		return "quoted-ident"
	case String:
		return "string"
	case BitString:
		return "bit-string"
	case Number:
		return "number"
	case Param:
		return "param"
	case Op:
		return "op"
	}
	return fmt.Sprintf("TokenKind(%d)", int(k))
}

// Token flags: how a String or QuotedIdent is spelled.
const (
	FlagEscape   uint8 = 1 << iota // E'...': backslash escapes
	FlagUnicode                    // U&'...' or U&"...": \XXXX escapes, decoded after the quotes
	FlagDollar                     // $tag$...$tag$: no escapes at all
	FlagNational                   // N'...'
)

// Token is one token of a SQL text: sql[Start:End] is its text.
type Token struct {
	Kind  TokenKind
	Flags uint8
	Start int
	End   int
}

// Text returns the token's text in sql.
func (t Token) Text(sql string) string { return sql[t.Start:t.End] }

// Significant reports whether the token is neither whitespace nor a comment.
func (t Token) Significant() bool { return t.Kind != Space && t.Kind != Comment }

// LexError is a text the lexer can't read: an unterminated quoted string or
// comment, or a malformed number or parameter.
type LexError struct {
	Offset int
	Msg    string
}

func (e *LexError) Error() string { return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset) }

// Lex splits sql into tokens the way PostgreSQL's own lexer does (with
// standard_conforming_strings on, the default since 9.1). The tokens cover
// sql from start to end, in order, without overlap. On an error it returns
// the tokens read so far and a *LexError.
func Lex(sql string) ([]Token, error) {
	toks := make([]Token, 0, len(sql)/4+4)
	l := lexer{src: sql}
	for l.pos < len(sql) {
		t, err := l.next()
		if err != nil {
			return toks, err
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// lexer reads one token at a time from src.
type lexer struct {
	src string
	pos int
	// backslashQuotes reads '...' strings as PostgreSQL does with
	// standard_conforming_strings off (not the default since 9.1): a
	// backslash escapes the next character, as in E'...'.
	backslashQuotes bool
}

func (l *lexer) peekAt(i int) byte {
	if i < len(l.src) {
		return l.src[i]
	}
	return 0
}

func (l *lexer) errorf(at int, format string, args ...any) error {
	return &LexError{Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isOpChar reports whether c may be part of a multi-character operator.
func isOpChar(c byte) bool { return strings.IndexByte("~!@#^&|`?+-*/%<>=", c) >= 0 }

// next reads the token at l.pos; l.pos < len(l.src).
func (l *lexer) next() (Token, error) {
	start := l.pos
	c := l.src[start]
	switch {
	case isSpace(c):
		i := start + 1
		for i < len(l.src) && isSpace(l.src[i]) {
			i++
		}
		l.pos = i
		return Token{Kind: Space, Start: start, End: i}, nil
	case c == '-' && l.peekAt(start+1) == '-':
		l.pos = lineCommentEnd(l.src, start)
		return Token{Kind: Comment, Start: start, End: l.pos}, nil
	case c == '/' && l.peekAt(start+1) == '*':
		return l.blockComment(start)
	case c == '\'':
		return l.quoted(start, start, String, 0)
	case c == '"':
		return l.quotedIdent(start, start+1, 0)
	case c == '$':
		return l.dollar(start)
	case isDigit(c) || c == '.' && isDigit(l.peekAt(start+1)):
		return l.number(start)
	case isIdentStart(c):
		next := l.peekAt(start + 1)
		switch {
		case next == '\'' && (c == 'e' || c == 'E'):
			return l.quoted(start, start+1, String, FlagEscape)
		case next == '\'' && (c == 'n' || c == 'N'):
			return l.quoted(start, start+1, String, FlagNational)
		case next == '\'' && (c == 'b' || c == 'B' || c == 'x' || c == 'X'):
			return l.quoted(start, start+1, BitString, 0)
		case next == '&' && (c == 'u' || c == 'U'):
			switch l.peekAt(start + 2) {
			case '\'':
				return l.quoted(start, start+2, String, FlagUnicode)
			case '"':
				return l.quotedIdent(start, start+3, FlagUnicode)
			}
		}
		i := start + 1
		for i < len(l.src) && isIdentCont(l.src[i]) {
			i++
		}
		l.pos = i
		return Token{Kind: Ident, Start: start, End: i}, nil
	case c == ':':
		if n := l.peekAt(start + 1); n == ':' || n == '=' {
			l.pos = start + 2
		} else {
			l.pos = start + 1
		}
		return Token{Kind: Op, Start: start, End: l.pos}, nil
	case c == '.':
		if l.peekAt(start+1) == '.' {
			l.pos = start + 2
		} else {
			l.pos = start + 1
		}
		return Token{Kind: Op, Start: start, End: l.pos}, nil
	case isOpChar(c):
		l.pos = operatorEnd(l.src, start)
		return Token{Kind: Op, Start: start, End: l.pos}, nil
	default:
		// ( ) [ ] , ; and any other single character: PostgreSQL returns it
		// as a one-character token and lets the grammar reject it.
		l.pos = start + 1
		return Token{Kind: Op, Start: start, End: l.pos}, nil
	}
}

// lineCommentEnd returns the end of the -- comment at start: the next \n or
// \r (not included), or the end of the text.
func lineCommentEnd(src string, start int) int {
	i := start + 2
	for i < len(src) && src[i] != '\n' && src[i] != '\r' {
		i++
	}
	return i
}

// blockComment reads a /* */ comment; they nest.
func (l *lexer) blockComment(start int) (Token, error) {
	depth := 0
	i := start
	for i < len(l.src) {
		switch {
		case l.src[i] == '/' && l.peekAt(i+1) == '*':
			depth++
			i += 2
		case l.src[i] == '*' && l.peekAt(i+1) == '/':
			depth--
			i += 2
			if depth == 0 {
				l.pos = i
				return Token{Kind: Comment, Start: start, End: i}, nil
			}
		default:
			i++
		}
	}
	return Token{}, l.errorf(start, "unterminated /* comment")
}

// operatorEnd applies PostgreSQL's operator rule: the longest run of operator
// characters, cut before any "--" or "/*", and, unless it holds one of
// ~ ! @ # ^ & | ` ? %, without trailing '+' and '-' (so that "a=-1" is "=" "-" "1").
func operatorEnd(src string, start int) int {
	i := start
	for i < len(src) && isOpChar(src[i]) {
		if i > start && (src[i] == '-' && src[i-1] == '-' || src[i] == '*' && src[i-1] == '/') {
			i--
			break
		}
		i++
	}
	n := i - start
	if n > 1 && (src[i-1] == '+' || src[i-1] == '-') {
		if !strings.ContainsAny(src[start:i-1], "~!@#^&|`?%") {
			for n > 1 && (src[start+n-1] == '+' || src[start+n-1] == '-') {
				n--
			}
		}
	}
	return start + n
}

// quoted reads a single-quoted literal whose opening quote is at q (start
// is where its prefix, if any, begins), with PostgreSQL's continuation rule:
// 'a'<newline>'b' is one literal.
func (l *lexer) quoted(start, q int, kind TokenKind, flags uint8) (Token, error) {
	i := q + 1
	for {
		if i >= len(l.src) {
			return Token{}, l.errorf(start, "unterminated quoted string")
		}
		c := l.src[i]
		switch {
		case c == '\\' && (flags&FlagEscape != 0 || l.backslashQuotes && kind == String && flags&FlagUnicode == 0):
			i += 2 // the escaped character can't end the literal
		case c == '\'' && kind == String && l.peekAt(i+1) == '\'':
			i += 2
		case c == '\'':
			i++
			if next, ok := continuation(l.src, i); ok {
				i = next + 1
				continue
			}
			l.pos = i
			return Token{Kind: kind, Flags: flags, Start: start, End: i}, nil
		default:
			i++
		}
	}
}

// continuation reports whether the literal that ended right before i goes on
// with another quote after whitespace holding at least one newline, and if so
// the position of that quote.
func continuation(src string, i int) (int, bool) {
	newline := false
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			i++
		case c == '\n' || c == '\r':
			newline = true
			i++
		case c == '\v' && newline:
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			i = lineCommentEnd(src, i)
		case c == '\'' && newline:
			return i, true
		default:
			return 0, false
		}
	}
	return 0, false
}

// quotedIdent reads "..." (start is where a U& prefix begins, body the first
// byte after the opening quote).
func (l *lexer) quotedIdent(start, body int, flags uint8) (Token, error) {
	i := body
	for i < len(l.src) {
		if l.src[i] == '"' {
			if l.peekAt(i+1) == '"' {
				i += 2
				continue
			}
			if i == body {
				return Token{}, l.errorf(start, "zero-length delimited identifier")
			}
			l.pos = i + 1
			return Token{Kind: QuotedIdent, Flags: flags, Start: start, End: l.pos}, nil
		}
		i++
	}
	return Token{}, l.errorf(start, "unterminated quoted identifier")
}

// dollar reads what starts with '$': a parameter $n, a dollar-quoted string
// $tag$...$tag$, or a lone '$'.
func (l *lexer) dollar(start int) (Token, error) {
	i := start + 1
	if isDigit(l.peekAt(i)) {
		for i < len(l.src) && isDigit(l.src[i]) {
			i++
		}
		if i < len(l.src) && isIdentStart(l.src[i]) {
			return Token{}, l.errorf(start, "trailing junk after parameter")
		}
		if n, err := strconv.Atoi(l.src[start+1 : i]); err != nil || n < 1 || n > 1<<31-1 {
			return Token{}, l.errorf(start, "parameter number out of range")
		}
		l.pos = i
		return Token{Kind: Param, Start: start, End: i}, nil
	}
	if c := l.peekAt(i); isIdentStart(c) {
		for i < len(l.src) && isIdentStart(l.src[i]) || i < len(l.src) && isDigit(l.src[i]) {
			i++
		}
	}
	if l.peekAt(i) != '$' {
		// Not a delimiter: PostgreSQL returns the '$' alone.
		l.pos = start + 1
		return Token{Kind: Op, Start: start, End: l.pos}, nil
	}
	delim := l.src[start : i+1]
	end := strings.Index(l.src[i+1:], delim)
	if end < 0 {
		return Token{}, l.errorf(start, "unterminated dollar-quoted string")
	}
	l.pos = i + 1 + end + len(delim)
	return Token{Kind: String, Flags: FlagDollar, Start: start, End: l.pos}, nil
}

// number reads a numeric constant with PostgreSQL 16's rules: decimal
// digits with single underscores between them, 0x/0o/0b integers, a
// fraction, an exponent; an identifier right after it is an error.
func (l *lexer) number(start int) (Token, error) {
	src := l.src
	digits := func(i int, ok func(byte) bool) int {
		for i < len(src) && (ok(src[i]) || src[i] == '_' && i+1 < len(src) && ok(src[i+1]) && i > start && ok(src[i-1])) {
			i++
		}
		return i
	}
	i := start
	if src[i] == '0' && i+1 < len(src) && strings.IndexByte("xXoObB", src[i+1]) >= 0 {
		var ok func(byte) bool
		switch src[i+1] {
		case 'x', 'X':
			ok = isHexDigit
		case 'o', 'O':
			ok = func(c byte) bool { return c >= '0' && c <= '7' }
		default:
			ok = func(c byte) bool { return c == '0' || c == '1' }
		}
		j := i + 2
		if j < len(src) && src[j] == '_' {
			j++
		}
		if j >= len(src) || !ok(src[j]) {
			return Token{}, l.errorf(start, "invalid numeric literal")
		}
		i = digits(j, ok)
	} else {
		i = digits(i, isDigit)
		if i < len(src) && src[i] == '.' && l.peekAt(i+1) != '.' {
			i = digits(i+1, isDigit)
		}
		if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
			j := i + 1
			if j < len(src) && (src[j] == '+' || src[j] == '-') {
				j++
			}
			if j >= len(src) || !isDigit(src[j]) {
				return Token{}, l.errorf(start, "trailing junk after numeric literal")
			}
			i = digits(j, isDigit)
		}
	}
	if i < len(src) && isIdentStart(src[i]) {
		return Token{}, l.errorf(start, "trailing junk after numeric literal")
	}
	l.pos = i
	return Token{Kind: Number, Start: start, End: i}, nil
}
