package lexical

import (
	"unsafe"

	"github.com/kmsenc/kmsenc/schema"
)

// NameBuf is scratch space for TouchesWord, so that checking the words of
// a statement does not allocate.
type NameBuf [64]byte

// TouchesWord reports whether an unquoted word of a statement names
// something cfg.Touches reports: a declared table, an encrypted column or a
// key column. It is the conservative test of ARCHITECTURE.md §5, which the dialects
// make on every identifier token so that a reference the analysis misses
// can't slip by. Words that fit buf are folded to lower case there (ASCII;
// cfg.Touches folds the rest) without allocating.
func TouchesWord(cfg *schema.Config, word string, buf *NameBuf) bool {
	n := len(word)
	if n > len(buf) {
		return cfg.Touches(word)
	}
	for i := 0; i < n; i++ {
		c := word[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	// cfg.Touches only reads its argument.
	return cfg.Touches(unsafe.String(&buf[0], n))
}
