package postgres

import (
	"github.com/kmsenc/kmsenc/rewrite"
	"github.com/kmsenc/kmsenc/schema"
)

// refusedIdent returns the refusal of a statement whose identifier token t
// names an object found over an encrypted table when the connector opened
// (schema.Config.Refused: a view, a table with a trigger or rule writing
// into one, a routine, a child or partition), or nil. Like the touches
// test it reads every identifier, wherever it stands, so the object can't
// be reached under a spelling the analysis would miss. It costs nothing
// when nothing was found.
func refusedIdent(cfg *schema.Config, sql string, t Token) error {
	if !cfg.HasRefused() || t.Kind != Ident && t.Kind != QuotedIdent {
		return nil
	}
	name := identValue(sql, t)
	why := cfg.Refused(name)
	if why == "" && len(name) > maxIdentLen {
		why = cfg.Refused(name[:maxIdentLen]) // PostgreSQL truncates it
	}
	if why == "" {
		return nil
	}
	return rewrite.Refuse(name, "%s", why)
}
