package integration_test

import "time"

// Helpers of the ent, bun and sqlc suites.

func ptrTo[T any](v T) *T { return &v }

// utcDay is a date as kmsenc reads a date column back: UTC midnight.
func utcDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// derefAny is *p, or nil, for messages.
func derefAny[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// rawText reads one column of the row with id = id as stored, as text
// ("<NULL>" for NULL).
func (e *env) rawText(table, column string, id any) string {
	e.t.Helper()
	var s *string
	if err := e.raw.QueryRow(e.q(`SELECT `+column+` FROM `+table+` WHERE id = $1`), id).Scan(&s); err != nil {
		e.t.Fatalf("%s.%s of row %v: %v", table, column, id, err)
	}
	if s == nil {
		return "<NULL>"
	}
	return *s
}
