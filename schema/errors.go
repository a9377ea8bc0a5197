package schema

import (
	"strconv"
	"strings"
)

// FieldError is a problem in a schema file, located by file, line and field
// path (for example "tables.users.columns.email"). It matches ErrConfig with
// errors.Is. Msg says what is wrong and what would be right; it never holds
// the value of a key URL, which may carry a key (base64key://...).
type FieldError struct {
	File  string // "" when the config was parsed from bytes
	Line  int    // 1-based; 0 when unknown (Validate on a Config built in Go)
	Field string // dotted path of the field at fault; "" for the file as a whole
	Msg   string
	Err   error // the cause, if any (for example *fs.PathError from Load)
}

// Error formats the error as "file:line: field: msg", the form editors and
// terminals turn into a link to the line.
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every FieldError match ErrConfig.
func (e *FieldError) Is(target error) bool { return target == ErrConfig }

// Unwrap returns the cause, so that errors.Is(err, fs.ErrNotExist) works for
// a missing file.
func (e *FieldError) Unwrap() error { return e.Err }

// suggest returns the candidate closest to got if it is close enough to be a
// likely misspelling, else "".
func suggest(got string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	// Two edits catch a swapped or doubled letter and a missing underscore;
	// more than half the word changed is a different word, not a typo.
	if bestDist < 0 || bestDist > 2 || 2*bestDist >= len(best) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
