package mysql

import (
	"errors"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/internal/dialecttest"
)

func TestDriverRegistered(t *testing.T) {
	dialecttest.TestRegistered(t, DriverName, "kmsenc+mysql")
}

func TestSplitDSN(t *testing.T) {
	// What go-sql-driver makes of the rest: kmsenc_config would be a system
	// variable, which the server refuses.
	params := func(dsn string) (map[string]string, error) {
		mc, err := gomysql.ParseDSN(dsn)
		if err != nil {
			return nil, err
		}
		return mc.Params, nil
	}
	dialecttest.TestSplitDSN(t, splitDSN, params, []dialecttest.SplitCase{
		{Name: "escaped path first", DSN: "root@tcp(127.0.0.1:3306)/test?kmsenc_config=%2Fk.yaml&parseTime=true", Clean: "root@tcp(127.0.0.1:3306)/test?parseTime=true", Config: "/k.yaml"},
		{Name: "only param", DSN: "root@tcp(127.0.0.1:3306)/test?kmsenc_config=k.yaml", Clean: "root@tcp(127.0.0.1:3306)/test", Config: "k.yaml"},
		{Name: "none", DSN: "root@tcp(127.0.0.1:3306)/test", Clean: "root@tcp(127.0.0.1:3306)/test", Config: ""},
		{Name: "none with params", DSN: "root@tcp(127.0.0.1:3306)/test?parseTime=true", Clean: "root@tcp(127.0.0.1:3306)/test?parseTime=true", Config: ""},
		// The documented form: the path unescaped, among other parameters.
		{Name: "unescaped path", DSN: "app@tcp(db:3306)/app?parseTime=true&kmsenc_config=/etc/app/kmsenc.yaml&interpolateParams=true",
			Clean: "app@tcp(db:3306)/app?parseTime=true&interpolateParams=true", Config: "/etc/app/kmsenc.yaml"},
		{Name: "unescaped path last", DSN: "app@tcp(db:3306)/app?loc=Europe%2FParis&kmsenc_config=/etc/app/kmsenc.yaml",
			Clean: "app@tcp(db:3306)/app?loc=Europe%2FParis", Config: "/etc/app/kmsenc.yaml"},
		{Name: "plus is a space", DSN: "u@/db?kmsenc_config=/etc/my+dir/k.yaml", Clean: "u@/db", Config: "/etc/my dir/k.yaml"},
		{Name: "empty dbname", DSN: "u@tcp(h)/?kmsenc_config=/k.yaml", Clean: "u@tcp(h)/", Config: "/k.yaml"},
		{Name: "unix socket", DSN: "u@unix(/run/mysqld/mysqld.sock)/db?kmsenc_config=/k.yaml&charset=utf8mb4", Clean: "u@unix(/run/mysqld/mysqld.sock)/db?charset=utf8mb4", Config: "/k.yaml"},
		{Name: "system variable", DSN: "u@tcp(h)/db?sql_mode=%27ANSI%27&kmsenc_config=k.yaml", Clean: "u@tcp(h)/db?sql_mode=%27ANSI%27", Config: "k.yaml"},
		// go-sql-driver allows '?', '/', '@' and '&' in a password.
		{Name: "password with ?", DSN: "u:p?ss@tcp(h)/db?kmsenc_config=/k.yaml&parseTime=true", Clean: "u:p?ss@tcp(h)/db?parseTime=true", Config: "/k.yaml"},
		{Name: "password with /?@&", DSN: "u:a/b?c@d&e@tcp(h)/db?kmsenc_config=k.yaml", Clean: "u:a/b?c@d&e@tcp(h)/db", Config: "k.yaml"},
	})
	for dsn, want := range map[string]string{
		"u:p?ss@tcp(h)/db?parseTime=true": "p?ss",
		"u:a/b?c@d&e@tcp(h)/db":           "a/b?c@d&e",
	} {
		if mc, err := gomysql.ParseDSN(dsn); err != nil || mc.Passwd != want {
			t.Errorf("go-sql-driver reads the password of %q as %q (%v), want %q", dsn, mc.Passwd, err, want)
		}
	}
	if _, _, err := splitDSN("u@tcp(h)/db?kmsenc_config=%zz"); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("a bad escape: err = %v, want ErrConfig", err)
	}
}

func TestCheckSession(t *testing.T) {
	errServer := errors.New("server gone")
	dialecttest.TestCheckSession(t, checkSession, "SELECT CONCAT_WS(' ', @@SESSION.sql_mode, @@SESSION.character_set_client, @@SESSION.character_set_connection)", []dialecttest.Answer{
		{Value: "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION utf8mb4 utf8mb4"},
		{Value: "utf8mb4 utf8mb4"},
		{Value: "STRICT_TRANS_TABLES utf8mb3 utf8"},
		{Value: "STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES utf8mb4 utf8mb4", WantErr: kmsenc.ErrConfig},
		{Value: "no_backslash_escapes utf8mb4 utf8mb4", WantErr: kmsenc.ErrConfig},
		{Value: "ANSI_QUOTES utf8mb4 utf8mb4", WantErr: kmsenc.ErrConfig},
		{Value: "REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI utf8mb4 utf8mb4", WantErr: kmsenc.ErrConfig},
		{Value: "STRICT_TRANS_TABLES gbk utf8mb4", WantErr: kmsenc.ErrConfig},
		{Value: "STRICT_TRANS_TABLES utf8mb4 sjis", WantErr: kmsenc.ErrConfig},
		{Value: "STRICT_TRANS_TABLES latin1 latin1", WantErr: kmsenc.ErrConfig},
		{Value: "", WantErr: kmsenc.ErrConfig},
		{Err: errServer, WantErr: errServer},
	})
}

// withParams appends raw parameters to a go-sql-driver DSN.
func withParams(dsn string, params ...string) string {
	if len(params) == 0 {
		return dsn
	}
	sep := "?"
	if strings.Contains(dsn[strings.LastIndexByte(dsn, '/'):], "?") {
		sep = "&"
	}
	return dsn + sep + strings.Join(params, "&")
}

// go-sql-driver sets unknown parameters as system variables, which the
// server refuses, so a connection through kmsenc shows that go-sql-driver
// never saw kmsenc_config; the other parameters still reach it.
func TestOpenRemovesConfigParam(t *testing.T) {
	base := dialecttest.MySQLDSN(t)
	path := dialecttest.SchemaFile(t, t.TempDir())
	for _, interpolate := range []string{"false", "true"} {
		t.Run("interpolateParams="+interpolate, func(t *testing.T) {
			dsn := withParams(base, "kmsenc_config="+path, "interpolateParams="+interpolate, "sql_mode=%27STRICT_ALL_TABLES%27")
			db := dialecttest.OpenWithConfigParam(t, "mysql", DriverName, dsn)
			var mode string
			if err := db.QueryRow("SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != "STRICT_ALL_TABLES" {
				t.Errorf("sql_mode = %q: the DSN's other parameters did not reach go-sql-driver", mode)
			}
		})
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	dialecttest.TestConfigFromEnvironment(t, DriverName, dialecttest.MySQLDSN(t), "u@tcp(h)/db")
}

// A connection whose sql_mode holds NO_BACKSLASH_ESCAPES, here from the DSN,
// is refused before any statement runs on it.
func TestConnectionRefusesNoBackslashEscapes(t *testing.T) {
	base := dialecttest.MySQLDSN(t)
	path := dialecttest.SchemaFile(t, t.TempDir())
	var sessions []dialecttest.Session
	for _, c := range []struct {
		name   string
		params []string
		ok     bool
	}{
		{"default", nil, true},
		{"other modes", []string{"sql_mode=%27STRICT_ALL_TABLES,PIPES_AS_CONCAT%27"}, true},
		{"NO_BACKSLASH_ESCAPES", []string{"sql_mode=%27NO_BACKSLASH_ESCAPES%27"}, false},
		{"added to the modes", []string{"sql_mode=CONCAT(@@sql_mode,%27,NO_BACKSLASH_ESCAPES%27)"}, false},
	} {
		sessions = append(sessions, dialecttest.Session{Name: c.name,
			PlainDSN: withParams(base, c.params...), DSN: withParams(base, append(c.params, "kmsenc_config="+path)...), OK: c.ok})
	}
	dialecttest.TestSessions(t, "mysql", DriverName, "NO_BACKSLASH_ESCAPES", sessions)
}

// A connection whose sql_mode holds ANSI_QUOTES (alone or through a
// composite mode), or whose character set is not UTF-8, is refused too.
func TestConnectionRefusesANSIQuotesAndCharsets(t *testing.T) {
	base := dialecttest.MySQLDSN(t)
	path := dialecttest.SchemaFile(t, t.TempDir())
	session := func(name string, ok bool, params ...string) dialecttest.Session {
		return dialecttest.Session{Name: name, PlainDSN: withParams(base, params...),
			DSN: withParams(base, append(params, "kmsenc_config="+path)...), OK: ok}
	}
	dialecttest.TestSessions(t, "mysql", DriverName, "ANSI_QUOTES", []dialecttest.Session{
		session("ANSI_QUOTES", false, "sql_mode=%27ANSI_QUOTES%27"),
		session("ANSI", false, "sql_mode=%27ANSI%27"),
		session("ORACLE", false, "sql_mode=%27ORACLE%27"),
	})
	dialecttest.TestSessions(t, "mysql", DriverName, "character_set", []dialecttest.Session{
		session("utf8mb4", true, "charset=utf8mb4"),
		session("utf8mb3", true, "charset=utf8mb3"),
		session("gbk", false, "charset=gbk"),
		session("big5", false, "charset=big5"),
		session("sjis", false, "charset=sjis"),
		session("cp932", false, "charset=cp932"),
		session("latin1", false, "charset=latin1"),
		session("gbk collation", false, "collation=gbk_chinese_ci"),
	})
}
