// Package mysql registers the kmsenc driver for MySQL and MariaDB, over
// go-sql-driver/mysql:
//
//	import _ "github.com/kmsenc/kmsenc/mysql"
//
//	db, err := sql.Open("kmsenc+mysql",
//		"app@tcp(db:3306)/app?parseTime=true&kmsenc_config=/etc/app/kmsenc.yaml")
//
// The DSN is go-sql-driver/mysql's plus the kmsenc_config parameter (or the
// KMSENC_CONFIG environment variable) naming the schema file. Both
// interpolateParams=false (the default: server-side prepared statements) and
// true work; either way each statement is encrypted exactly once.
package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/internal/dialect"
	"github.com/kmsenc/kmsenc/rewrite"
	rwmysql "github.com/kmsenc/kmsenc/rewrite/mysql"
	"github.com/kmsenc/kmsenc/schema"
)

// DriverName is the name this package registers with database/sql.
const DriverName = "kmsenc+mysql"

func init() {
	sql.Register(DriverName, kmsenc.NewDriver(newDialect()))
}

// NewConnector returns a kmsenc connector over a go-sql-driver/mysql
// connector (mysql.NewConnector(cfg)), for sql.OpenDB.
func NewConnector(base driver.Connector, cfg *kmsenc.Config, opts ...kmsenc.Option) (*kmsenc.Connector, error) {
	return kmsenc.NewConnector(base, newDialect(), cfg, opts...)
}

// newDialect returns the MySQL/MariaDB dialect.
func newDialect() *dialect.Dialect {
	return &dialect.Dialect{
		Name:        "mysql",
		OpenBase:    openBase,
		SplitDSN:    splitDSN,
		NewRewriter: func(cfg *schema.Config) rewrite.Rewriter { return rwmysql.New(cfg) },
		ColumnsQuery: "SELECT column_name, data_type, column_default, character_maximum_length, " +
			"numeric_precision, numeric_scale, column_type, collation_name " +
			"FROM information_schema.columns WHERE table_schema = DATABASE() AND lower(table_name) = lower(?) " +
			"ORDER BY ordinal_position",
		UniqueKeysQuery: "SELECT DISTINCT index_name FROM information_schema.statistics " +
			"WHERE table_schema = DATABASE() AND lower(table_name) = lower(?) AND non_unique = 0 AND index_name <> 'PRIMARY'",
		CatalogQuery:    catalogQuery,
		CheckSession:    checkSession,
		ContextRule:     contextRule,
		DependentsQuery: dependentsQuery,
		Storage:         storage,
		TypeName:        typeName,
		QuoteIdent:      func(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" },
		Placeholder:     func(int) string { return "?" },
	}
}

// catalogQuery is the dialect's CatalogQuery for n table names.
func catalogQuery(n int) string {
	return "SELECT table_name, column_name, data_type, column_default, character_maximum_length " +
		"FROM information_schema.columns WHERE table_schema = DATABASE() AND lower(table_name) IN (" +
		strings.Repeat("?, ", n-1) + "?) " +
		"UNION ALL SELECT table_name, NULL, NULL, NULL, NULL FROM information_schema.tables WHERE table_schema = DATABASE()"
}

// checkSession refuses a connection that doesn't read text the way kmsenc
// lexes it: an sql_mode with NO_BACKSLASH_ESCAPES (kmsenc and
// go-sql-driver's interpolation write backslash escapes) or ANSI_QUOTES
// ("..." an identifier, not a string; the composite modes ANSI, ORACLE,
// MSSQL, DB2, POSTGRESQL and MAXDB show it too), or a client or connection
// character set other than UTF-8 (in gbk, big5, sjis, cp932 or gb18030 a
// character's second byte can be a backslash or a quote, and in the others
// the server would store other characters than kmsenc encrypts from a
// literal). It runs when a connection is made and again after a statement
// that may have changed them (rewrite.Plan.SessionChange), whatever set
// them: the server, SET GLOBAL, the user, the DSN (sql_mode=, charset=,
// collation=), SET in any form, EXECUTE.
func checkSession(ctx context.Context, query func(string) (string, error)) error {
	v, err := query("SELECT CONCAT_WS(' ', @@SESSION.sql_mode, @@SESSION.character_set_client, @@SESSION.character_set_connection)")
	if err != nil {
		return fmt.Errorf("kmsenc: reading sql_mode and the character sets: %w", err)
	}
	f := strings.Fields(v)
	if len(f) != 2 && len(f) != 3 {
		return fmt.Errorf("%w: kmsenc can't read the session's sql_mode and character sets (got %q)", kmsenc.ErrConfig, v)
	}
	if len(f) == 2 { // an empty sql_mode
		f = append([]string{""}, f...)
	}
	for _, m := range strings.Split(strings.ToUpper(f[0]), ",") {
		if m == "NO_BACKSLASH_ESCAPES" || m == "ANSI_QUOTES" {
			return fmt.Errorf("%w: the connection's sql_mode has %s, which kmsenc does not support (it reads text as MySQL's default mode does): remove it, or the composite mode that includes it, from the statement, server, user or DSN settings", kmsenc.ErrConfig, m)
		}
	}
	for i, name := range []string{"character_set_client", "character_set_connection"} {
		switch cs := strings.ToLower(f[1+i]); cs {
		case "utf8mb4", "utf8mb3", "utf8":
		default:
			return fmt.Errorf("%w: the connection's %s is %s; kmsenc reads and writes text as UTF-8 only (utf8mb4): remove SET NAMES, SET CHARACTER SET or the charset/collation DSN parameter that chose it", kmsenc.ErrConfig, name, cs)
		}
	}
	return nil
}

func openBase(dsn string) (driver.Connector, error) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return gomysql.NewConnector(cfg)
}

func storage(dataType string) (binary, ok bool) {
	switch strings.ToLower(dataType) {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return false, true
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true, true
	}
	return false, false
}

func typeName(t schema.Type) string {
	switch t {
	case schema.Text:
		return "TEXT"
	case schema.Bytes:
		return "BLOB"
	case schema.Int:
		return "BIGINT"
	case schema.Float:
		return "DOUBLE"
	case schema.Bool:
		return "TINYINT"
	case schema.Date:
		return "DATE"
	case schema.Timestamp:
		return "DATETIME"
	case schema.JSON:
		return "JSON"
	}
	return ""
}
