package mysql

import (
	"fmt"
	"strings"
)

// TokenKind says what a token of MySQL's lexical grammar is.
type TokenKind uint8

// The token kinds. Space and Comment tokens are kept so that the tokens of a
// text cover it exactly, in order.
const (
	Space       TokenKind = iota // whitespace
	Comment                      // # and "-- " to end of line, /* ... */, and the delimiters of /*! ... */
	Ident                        // unquoted word: a keyword or an identifier (case-insensitive)
	QuotedIdent                  // `...` with `` escapes (and "..." under ANSI_QUOTES)
	String                       // '...' or "...", with backslash escapes; N'...'
	HexString                    // X'...' and 0x...
	BitString                    // B'...' and 0b...
	Number                       // 42, 4.2, .5, 1e-3
	Param                        // ?
	Variable                     // @name, @'name', @@name, @@global.name
	Op                           // an operator or a punctuation mark: ( ) , ; . <=> := ...
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
	case HexString:
		return "hex-string"
	case BitString:
		return "bit-string"
	case Number:
		return "number"
	case Param:
		return "param"
	case Variable:
		return "variable"
	case Op:
		return "op"
	}
	return fmt.Sprintf("TokenKind(%d)", int(k))
}

// Token flags.
const (
	// FlagDouble: a String in double quotes ("..."), which a server running
	// with ANSI_QUOTES reads as an identifier.
	FlagDouble uint8 = 1 << iota
	// FlagNational: N'...'.
	FlagNational
	// FlagBackslash: a String holding a backslash, which a server running
	// with NO_BACKSLASH_ESCAPES reads differently.
	FlagBackslash
	// FlagExecutable: the opening "/*!" (or "/*M!", with its version) or
	// the closing "*/" of an executable comment. The text between them is
	// lexed as code, as MySQL and MariaDB run it.
	FlagExecutable
	// FlagTiDB: a /*T! ... */ comment, which MySQL ignores but the TiDB
	// parser reads as code.
	FlagTiDB
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

// LexError is a text the lexer can't read: an unterminated quoted string,
// identifier or comment, or an executable comment kmsenc can't read one way.
type LexError struct {
	Offset int
	Msg    string
}

func (e *LexError) Error() string { return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset) }

// Lex splits sql into tokens the way a MySQL or MariaDB server does with its
// default SQL mode (backslash escapes in strings, double quotes around
// strings) and a UTF-8 connection. The tokens cover sql from start to end, in
// order, without overlap. On an error it returns the tokens read so far and a
// *LexError.
//
// Executable comments (/*! ... */ and MariaDB's /*M! ... */) are read as the
// servers read them: their delimiters are Comment tokens with FlagExecutable
// and the text between them is code. The version number after "/*!" is part
// of the opening delimiter.
func Lex(sql string) ([]Token, error) { return lexMode(sql, 0) }

// Lexer modes: the SQL modes that change how a server splits a text.
const (
	modeANSIQuotes        = 1 << iota // "..." is an identifier
	modeNoBackslashEscape             // a backslash in a string is an ordinary character
)

func lexMode(sql string, mode int) ([]Token, error) {
	toks := make([]Token, 0, len(sql)/4+4)
	l := lexer{src: sql, mode: mode}
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
	src  string
	pos  int
	mode int

	// execEnd: inside an executable comment, the offset of the "*/" that
	// ends it (else 0). Inside one, src is cut at execEnd, so that no token
	// runs past it; full is the whole text.
	execEnd int
	full    string
	// identNext: the previous tokens were an identifier and a '.' right
	// after it, followed by an identifier character: the next token is an
	// identifier even if it starts with a digit ("t.1e5" names column 1e5).
	identNext bool
	last      TokenKind // kind of the last significant token
	lastEnd   int
}

func (l *lexer) peekAt(i int) byte {
	if i >= 0 && i < len(l.src) {
		return l.src[i]
	}
	return 0
}

func (l *lexer) errorf(at int, format string, args ...any) error {
	return &LexError{Offset: at, Msg: fmt.Sprintf(format, args...)}
}

// isSpace: the whitespace of MySQL's utf8mb4 and latin1 character sets.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isIdentChar reports whether c may be part of an unquoted identifier:
// letters, digits, '_', '$' and every byte of a multi-byte UTF-8 character.
func isIdentChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '_' || c == '$' || c >= 0x80
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isUserVarChar reports whether c may be part of an unquoted @variable name.
func isUserVarChar(c byte) bool { return isIdentChar(c) || c == '.' }

// operators are MySQL's multi-character operators, longest first.
var operators = []string{"<=>", "->>", "<=", ">=", "<>", "!=", "<<", ">>", "&&", "||", ":=", "->"}

// next reads the token at l.pos; l.pos < len(l.src).
func (l *lexer) next() (Token, error) {
	t, err := l.token()
	if err != nil {
		return t, err
	}
	l.pos = t.End
	if t.Significant() {
		identNext := false
		if t.Kind == Op && l.src[t.Start:t.End] == "." && (l.last == Ident || l.last == QuotedIdent) && l.lastEnd == t.Start {
			identNext = isIdentChar(l.peekAt(t.End))
		}
		l.identNext = identNext
		l.last, l.lastEnd = t.Kind, t.End
	}
	return t, nil
}

func (l *lexer) token() (Token, error) {
	start := l.pos
	if l.execEnd > 0 && start == l.execEnd {
		l.src, l.execEnd = l.full, 0
		return Token{Kind: Comment, Flags: FlagExecutable, Start: start, End: start + 2}, nil
	}
	c := l.src[start]
	switch {
	case isSpace(c):
		i := start + 1
		for i < len(l.src) && isSpace(l.src[i]) {
			i++
		}
		return Token{Kind: Space, Start: start, End: i}, nil
	case c == '#':
		return Token{Kind: Comment, Start: start, End: lineEnd(l.src, start)}, nil
	case c == '-' && l.peekAt(start+1) == '-' && (start+2 >= len(l.src) || l.src[start+2] <= ' '):
		// "--" needs a whitespace or control character after it.
		return Token{Kind: Comment, Start: start, End: lineEnd(l.src, start)}, nil
	case c == '/' && l.peekAt(start+1) == '*':
		return l.blockComment(start)
	case c == '\'':
		return l.quoted(start, start, 0)
	case c == '"':
		if l.mode&modeANSIQuotes != 0 {
			return l.quotedIdent(start, '"')
		}
		return l.quoted(start, start, FlagDouble)
	case c == '`':
		return l.quotedIdent(start, '`')
	case c == '?':
		return Token{Kind: Param, Start: start, End: start + 1}, nil
	case c == '@':
		return l.variable(start)
	case l.identNext && isIdentChar(c):
		return Token{Kind: Ident, Start: start, End: identEnd(l.src, start)}, nil
	case c == '.' && (l.last == Ident || l.last == QuotedIdent) && l.lastEnd == start:
		// t.1e5: a name separator, not a number.
		return Token{Kind: Op, Start: start, End: start + 1}, nil
	case isDigit(c) || c == '.' && isDigit(l.peekAt(start+1)):
		return l.number(start), nil
	case isIdentChar(c):
		next := l.peekAt(start + 1)
		if next == '\'' {
			switch c {
			case 'x', 'X':
				return l.prefixed(start, HexString)
			case 'b', 'B':
				return l.prefixed(start, BitString)
			case 'n', 'N':
				return l.quoted(start, start+1, FlagNational)
			}
		}
		return Token{Kind: Ident, Start: start, End: identEnd(l.src, start)}, nil
	}
	for _, op := range operators {
		if strings.HasPrefix(l.src[start:], op) {
			return Token{Kind: Op, Start: start, End: start + len(op)}, nil
		}
	}
	// ( ) , ; . * and any other single character: the grammar rejects what
	// it doesn't know.
	return Token{Kind: Op, Start: start, End: start + 1}, nil
}

// lineEnd returns the end of the line comment at start: the next '\n' (not
// included), or the end of the text.
func lineEnd(src string, start int) int {
	if i := strings.IndexByte(src[start:], '\n'); i >= 0 {
		return start + i
	}
	return len(src)
}

func identEnd(src string, i int) int {
	for i < len(src) && isIdentChar(src[i]) {
		i++
	}
	return i
}

// blockComment reads a /* */ comment (they don't nest), or the opening of
// an executable comment /*!, /*M!.
func (l *lexer) blockComment(start int) (Token, error) {
	end := strings.Index(l.src[start+2:], "*/")
	if end < 0 {
		return Token{}, l.errorf(start, "unterminated /* comment")
	}
	end += start + 2 // the offset of "*/"
	body := l.src[start+2 : end]
	switch {
	case strings.HasPrefix(body, "!"):
		return l.execComment(start, end, start+3, 5)
	case strings.HasPrefix(body, "M!"):
		return l.execComment(start, end, start+4, 6)
	case strings.HasPrefix(body, "T!"):
		return Token{Kind: Comment, Flags: FlagTiDB, Start: start, End: end + 2}, nil
	}
	return Token{Kind: Comment, Start: start, End: end + 2}, nil
}

// execComment reads the opening of an executable comment whose first "*/"
// is at end; its version digits (up to maxDigits) start at body. The text up
// to the "*/" is then read as code. A server reads that code until a "*/"
// outside any quoted token; if that is not the first "*/" (a quoted "*/",
// or a line comment inside), MySQL and MariaDB or their versions may not
// agree where the comment ends, so the lexer gives up.
func (l *lexer) execComment(start, end, body, maxDigits int) (Token, error) {
	if l.execEnd > 0 {
		return Token{}, l.errorf(start, "nested executable comment")
	}
	if l.src[end-1] == '/' {
		// "/*! a /*/": is "/*" the start of a comment?
		return Token{}, l.errorf(start, "kmsenc can't tell where this executable comment ends")
	}
	i := body
	for i < end && i-body < maxDigits && isDigit(l.src[i]) {
		i++
	}
	if n := i - body; n > 0 && n < 5 {
		i = body // MySQL reads a version only as five digits or more
	}
	inner := lexer{src: l.src[:end], pos: i, mode: l.mode}
	for inner.pos < end {
		t, err := inner.next()
		if err != nil {
			return Token{}, l.errorf(start, "kmsenc can't tell where this executable comment ends")
		}
		if t.Kind == Comment {
			return Token{}, l.errorf(start, "a comment inside an executable comment")
		}
	}
	if inner.pos != end {
		return Token{}, l.errorf(start, "kmsenc can't tell where this executable comment ends")
	}
	l.execEnd = end
	l.full, l.src = l.src, l.src[:end]
	return Token{Kind: Comment, Flags: FlagExecutable, Start: start, End: i}, nil
}

// quoted reads a string whose opening quote is at q (start is where an N
// prefix begins): the quote doubled, or after a backslash, does not end it.
func (l *lexer) quoted(start, q int, flags uint8) (Token, error) {
	quote := l.src[q]
	i := q + 1
	for i < len(l.src) {
		c := l.src[i]
		switch {
		case c == '\\' && l.mode&modeNoBackslashEscape == 0:
			flags |= FlagBackslash
			i += 2
		case c == quote && l.peekAt(i+1) == quote:
			i += 2
		case c == quote:
			return Token{Kind: String, Flags: flags, Start: start, End: i + 1}, nil
		default:
			if c == '\\' {
				flags |= FlagBackslash
			}
			i++
		}
	}
	return Token{}, l.errorf(start, "unterminated quoted string")
}

// prefixed reads X'...' or B'...': no escapes inside.
func (l *lexer) prefixed(start int, kind TokenKind) (Token, error) {
	end := strings.IndexByte(l.src[start+2:], '\'')
	if end < 0 {
		return Token{}, l.errorf(start, "unterminated quoted string")
	}
	return Token{Kind: kind, Start: start, End: start + 2 + end + 1}, nil
}

// quotedIdent reads `...` (or "..." under ANSI_QUOTES): the quote doubled
// does not end it.
func (l *lexer) quotedIdent(start int, quote byte) (Token, error) {
	i := start + 1
	for i < len(l.src) {
		if l.src[i] == quote {
			if l.peekAt(i+1) == quote {
				i += 2
				continue
			}
			return Token{Kind: QuotedIdent, Start: start, End: i + 1}, nil
		}
		i++
	}
	return Token{}, l.errorf(start, "unterminated quoted identifier")
}

// variable reads @name, @'name', @"name", @`name`, @@name, @@global.name;
// a lone '@' is an operator.
func (l *lexer) variable(start int) (Token, error) {
	i := start + 1
	if l.peekAt(i) == '@' {
		i++
	}
	switch c := l.peekAt(i); {
	case c == '\'' || c == '"':
		t, err := l.quoted(i, i, 0)
		if err != nil {
			return Token{}, err
		}
		return Token{Kind: Variable, Start: start, End: t.End}, nil
	case c == '`':
		t, err := l.quotedIdent(i, '`')
		if err != nil {
			return Token{}, err
		}
		return Token{Kind: Variable, Start: start, End: t.End}, nil
	case isUserVarChar(c):
		for i < len(l.src) && isUserVarChar(l.src[i]) {
			i++
		}
		return Token{Kind: Variable, Start: start, End: i}, nil
	}
	return Token{Kind: Op, Start: start, End: start + 1}, nil
}

// number reads what starts with a digit (or '.' and a digit): a number, a
// hex or bit literal, or an identifier that begins with digits.
func (l *lexer) number(start int) Token {
	src := l.src
	word := identEnd(src, start)
	if src[start] == '0' && (l.peekAt(start+1) == 'x' || l.peekAt(start+1) == 'b') {
		// 0x1F and 0b101; but 0x, 0x1G and 0b12 are identifiers.
		ok := isHexDigit
		kind := HexString
		if src[start+1] == 'b' {
			ok, kind = func(c byte) bool { return c == '0' || c == '1' }, BitString
		}
		i := start + 2
		for i < len(src) && ok(src[i]) {
			i++
		}
		if i > start+2 && i == word {
			return Token{Kind: kind, Start: start, End: i}
		}
		return Token{Kind: Ident, Start: start, End: word}
	}
	i := start
	for i < len(src) && isDigit(src[i]) {
		i++
	}
	frac := false
	if i < len(src) && src[i] == '.' {
		frac = true
		i++
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && isDigit(src[j]) {
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			return Token{Kind: Number, Start: start, End: j}
		}
		if !frac {
			// 9e, 9est: an identifier.
			return Token{Kind: Ident, Start: start, End: word}
		}
	}
	if !frac && i < len(src) && isIdentChar(src[i]) {
		// Identifiers may begin with digits: 123abc.
		return Token{Kind: Ident, Start: start, End: word}
	}
	return Token{Kind: Number, Start: start, End: i}
}
