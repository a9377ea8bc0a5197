package mysql

import (
	"net/url"
	"strings"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/internal/dialect"
)

// splitDSN removes the kmsenc_config parameter from a go-sql-driver/mysql
// DSN, [user[:password]@][net[(addr)]]/dbname[?param=value&...], and returns
// the cleaned DSN and the parameter's value ("" if absent).
func splitDSN(dsn string) (clean, configPath string, err error) {
	slash := dbnameSlash(dsn)
	if slash < 0 {
		return dsn, "", nil // not a DSN: go-sql-driver says why
	}
	q := strings.IndexByte(dsn[slash:], '?')
	if q < 0 {
		return dsn, "", nil
	}
	return dialect.CutParam(dsn, slash+q, kmsenc.ConfigParam, url.QueryUnescape)
}

// dbnameSlash returns the index of the '/' before the database name, or -1.
// The parameters start at the first '?' after it. go-sql-driver takes the
// DSN's last '/', because a password may hold '/', '?' and '@'; here a
// kmsenc_config value may hold '/' too (a path, unescaped in the documented
// examples), so a slash inside that value doesn't count.
func dbnameSlash(dsn string) int {
	end := len(dsn)
	for {
		i := strings.LastIndexByte(dsn[:end], '/')
		if i < 0 {
			return -1
		}
		// The parameter holding the slash starts after the last '?' or '&'.
		p := strings.LastIndexAny(dsn[:i], "?&")
		if p < 0 || !strings.HasPrefix(dsn[p+1:i], kmsenc.ConfigParam+"=") {
			return i
		}
		end = p
	}
}
