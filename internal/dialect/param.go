package dialect

import (
	"fmt"
	"strings"

	"github.com/kmsenc/kmsenc/schema"
)

// CutParam removes the parameter name from dsn, whose parameters follow the
// '?' at dsn[q] as name=value pairs joined by '&'. It keeps every other pair
// exactly as written (re-encoding them could change what the base driver
// reads) and returns the value of the last pair removed, or "" if none.
// unescape decodes names and values as the base driver does: pgx decodes
// only %XX, as libpq does; go-sql-driver/mysql also reads '+' as a space.
func CutParam(dsn string, q int, name string, unescape func(string) (string, error)) (clean, value string, err error) {
	var kept []string
	for _, kv := range strings.Split(dsn[q+1:], "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k, err := unescape(k); err != nil || k != name {
			kept = append(kept, kv)
			continue
		}
		if value, err = unescape(v); err != nil {
			return "", "", fmt.Errorf("%w: DSN parameter %s: %v", schema.ErrConfig, name, err)
		}
	}
	if len(kept) == 0 {
		return dsn[:q], value, nil
	}
	return dsn[:q+1] + strings.Join(kept, "&"), value, nil
}
