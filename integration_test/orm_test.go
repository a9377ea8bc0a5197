package integration_test

import (
	"database/sql/driver"
	"maps"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
)

// forEachORMEnv runs a library's suite (GORM, sqlx, ent, bun, sqlc, ...)
// once per dialect and connection mode, each with fresh tables made by
// ddl(d) and a kmsenc database over them (fn gets the env), and then, once
// per dialect, scans every table of the test's namespace for canaries: what a
// library wrote by a path the recorder doesn't see (opened by driver name
// with sql.Open) is covered by the scan.
//
// MySQL connections use parseTime=true (the env's base connector and
// e.d.dsn), as the README's DSN and the libraries' docs have it: GORM and
// ent scan DATETIME columns into time.Time.
func forEachORMEnv(t *testing.T, schemaYAML string, ddl func(d *dialect) []string, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			d.require(t)
			od := ormDialect(d)
			for _, mode := range d.modes {
				t.Run(mode, func(t *testing.T) {
					fn(t, setupDialect(t, od, mode, schemaYAML, nil, ddl(d)...))
				})
			}
			scanAllTables(t, d, d.srv.ns(t))
		})
	}
}

// ormDialect returns d as the libraries use it: for MySQL, with
// parseTime=true.
func ormDialect(d *dialect) *dialect {
	if d.name != "mysql" {
		return d
	}
	c := *d
	c.base = func(t testing.TB, mode string) (driver.Connector, error) {
		k, v, _ := strings.Cut(mode, "=")
		cfg, err := gomysql.ParseDSN(mysqlWith(t, map[string]string{k: v}))
		if err != nil {
			return nil, err
		}
		cfg.ParseTime = true
		return gomysql.NewConnector(cfg)
	}
	c.dsn = func(t testing.TB, params map[string]string) string {
		p := map[string]string{"parseTime": "true"}
		maps.Copy(p, params)
		return mysqlWith(t, p)
	}
	return &c
}
