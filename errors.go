package kmsenc

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kmsenc/kmsenc/envelope"
	"github.com/kmsenc/kmsenc/providers"
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// The errors kmsenc returns, matchable with errors.Is. Each is the sentinel of
// the package that detects the condition, so a test of any layer and an
// application see the same value.
var (
	// ErrUnsupportedStatement: a statement touches encrypted data in a way
	// kmsenc can't rewrite exactly. Nothing was sent to the database. The
	// error says why and what to do instead (a *rewrite.RefusalError).
	ErrUnsupportedStatement = rewrite.ErrUnsupported
	// ErrDecrypt: a value or key failed authentication: it was tampered with,
	// moved to another row or column, or written without kmsenc.
	ErrDecrypt = providers.ErrDecrypt
	// ErrUnknownKeyVersion: a row's key column names a master key version
	// ("v3:") that is neither the schema file's key.version nor one of its
	// key.previous_versions. Add that version's key URL to
	// previous_versions to read the row.
	ErrUnknownKeyVersion = envelope.ErrUnknownVersion
	// ErrKeyAccessDenied: the key management service refused (decrypt
	// permission revoked, key disabled, encrypt-only identity).
	ErrKeyAccessDenied = providers.ErrAccessDenied
	// ErrKeyUnavailable: the key management service could not be reached, or
	// throttled, after retries.
	ErrKeyUnavailable = providers.ErrUnavailable
	// ErrConfig: the schema file or options are wrong, or the database
	// doesn't fit the schema file; the message names the file, line and
	// field. Several problems found together come as a *ConfigError.
	ErrConfig = schema.ErrConfig
)

// ConfigError is every problem found by one check of the schema file, for
// example against the database when the first connection opens
// (ARCHITECTURE.md §4.2), reported at once rather than one per deploy. It
// matches ErrConfig, and errors.As finds each of its Problems.
type ConfigError struct {
	What     string               // what was checked and failed, e.g. "the schema file doesn't fit the database"
	Problems []*schema.FieldError // sorted by file, line and field
}

// newConfigError returns a *ConfigError of the problems, sorted, or nil if
// there are none.
func newConfigError(what string, problems []*schema.FieldError) error {
	if len(problems) == 0 {
		return nil
	}
	slices.SortStableFunc(problems, func(a, b *schema.FieldError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Field, b.Field))
	})
	return &ConfigError{What: what, Problems: problems}
}

// Error lists the problems, one per line after the first when there are
// several, each as "file:line: field: what is wrong; what to do".
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("kmsenc: " + e.What)
	if len(e.Problems) == 1 {
		b.WriteString(": " + e.Problems[0].Error())
		return b.String()
	}
	fmt.Fprintf(&b, " (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t" + p.Error())
	}
	return b.String()
}

// Is makes a ConfigError match ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// Unwrap returns the problems.
func (e *ConfigError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// wrapped is an error with what kmsenc was doing when it happened. Its
// message starts with "kmsenc: " once, even though the cause's (a sentinel
// of kmsenc's) may start so too.
type wrapped struct {
	msg string
	err error
}

// wrapErr returns err with the context of format and args in front.
func wrapErr(err error, format string, args ...any) error {
	return &wrapped{msg: fmt.Sprintf(format, args...), err: err}
}

func (w *wrapped) Error() string {
	return "kmsenc: " + w.msg + ": " + strings.TrimPrefix(w.err.Error(), "kmsenc: ")
}

func (w *wrapped) Unwrap() error { return w.err }
