package postgres

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/internal/dialecttest"
)

func TestDriverRegistered(t *testing.T) {
	dialecttest.TestRegistered(t, DriverName, "kmsenc+postgres")
}

func TestSplitDSN(t *testing.T) {
	// What pgx makes of the rest: kmsenc_config would be a runtime
	// parameter, which the server refuses.
	params := func(dsn string) (map[string]string, error) {
		pc, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, err
		}
		return pc.RuntimeParams, nil
	}
	dialecttest.TestSplitDSN(t, splitDSN, params, []dialecttest.SplitCase{
		{Name: "url", DSN: "postgres://u@h:5432/db?sslmode=disable&kmsenc_config=%2Fetc%2Fk.yaml", Clean: "postgres://u@h:5432/db?sslmode=disable", Config: "/etc/k.yaml"},
		{Name: "url without param", DSN: "postgres://u@h/db?sslmode=disable", Clean: "postgres://u@h/db?sslmode=disable", Config: ""},
		{Name: "url only param", DSN: "postgres://u@h/db?kmsenc_config=k.yaml", Clean: "postgres://u@h/db", Config: "k.yaml"},
		{Name: "url postgresql scheme", DSN: "postgresql://u@h/db?kmsenc_config=k.yaml&application_name=app", Clean: "postgresql://u@h/db?application_name=app", Config: "k.yaml"},
		{Name: "url unescaped path", DSN: "postgres://u@h/db?kmsenc_config=/etc/app/kmsenc.yaml", Clean: "postgres://u@h/db", Config: "/etc/app/kmsenc.yaml"},
		{Name: "url password", DSN: "postgres://u:p%3Fss@h/db?kmsenc_config=k.yaml", Clean: "postgres://u:p%3Fss@h/db", Config: "k.yaml"},
		// Other parameters stay as written: pgx, like libpq, reads '+' as '+'
		// and %20 as a space, so re-encoding would change them.
		{Name: "url others as written", DSN: "postgres://u@h/db?options=-c%20search_path%3Dapp&kmsenc_config=k.yaml&application_name=a+b", Clean: "postgres://u@h/db?options=-c%20search_path%3Dapp&application_name=a+b", Config: "k.yaml"},
		{Name: "url plus in path", DSN: "postgres://u@h/db?kmsenc_config=/etc/a+b.yaml", Clean: "postgres://u@h/db", Config: "/etc/a+b.yaml"},
		{Name: "url repeated", DSN: "postgres://u@h/db?kmsenc_config=a.yaml&kmsenc_config=b.yaml", Clean: "postgres://u@h/db", Config: "b.yaml"},
		{Name: "keyword", DSN: "host=h user=u kmsenc_config=/etc/k.yaml dbname=db", Clean: "host=h user=u dbname=db", Config: "/etc/k.yaml"},
		{Name: "keyword quoted", DSN: "host=h kmsenc_config='/etc/my dir/k.yaml' password='a b'", Clean: "host=h password='a b'", Config: "/etc/my dir/k.yaml"},
		{Name: "keyword escaped quote", DSN: `kmsenc_config='/etc/it\'s.yaml' host=h`, Clean: "host=h", Config: "/etc/it's.yaml"},
		{Name: "keyword spaces around =", DSN: "host = h kmsenc_config = k.yaml", Clean: "host = h", Config: "k.yaml"},
		{Name: "keyword last", DSN: "host=h dbname=db kmsenc_config=k.yaml", Clean: "host=h dbname=db", Config: "k.yaml"},
		{Name: "keyword without param", DSN: "host=h dbname=db", Clean: "host=h dbname=db", Config: ""},
	})
}

func TestSplitDSNErrorsHideSecrets(t *testing.T) {
	_, _, err := splitDSN("postgres://u:s3cret@h:bad port/db")
	if !errors.Is(err, kmsenc.ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
	if _, _, err := splitDSN("host=h password='unterminated"); !errors.Is(err, kmsenc.ErrConfig) || strings.Contains(err.Error(), "unterminated'") {
		t.Errorf("unterminated quote: %v", err)
	}
	if _, _, err := splitDSN("postgres://u@h/db?kmsenc_config=%zz"); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("a bad escape: %v", err)
	}
	if _, _, err := splitDSN("host=h dbname"); !errors.Is(err, kmsenc.ErrConfig) {
		t.Errorf("a word without a value: %v", err)
	}
}

func TestCheckSession(t *testing.T) {
	errServer := errors.New("server gone")
	dialecttest.TestCheckSession(t, checkSession, "SHOW standard_conforming_strings", []dialecttest.Answer{
		{Value: "on"},
		{Value: "off", WantErr: kmsenc.ErrConfig},
		{Err: errServer, WantErr: errServer},
	})
}

// keywordDSN returns the keyword/value form of a URL DSN.
func keywordDSN(t *testing.T, dsn string) string {
	t.Helper()
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	kw := fmt.Sprintf("host=%s port=%d user=%s dbname=%s", pc.Host, pc.Port, pc.User, pc.Database)
	if pc.Password != "" {
		kw += " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pc.Password) + "'"
	}
	if pc.TLSConfig == nil {
		kw += " sslmode=disable"
	}
	return kw
}

// withParams adds query parameters to a URL DSN, with spaces as %20: pgx
// reads a '+' as itself.
func withParams(t *testing.T, dsn string, params url.Values) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String()
}

// The server refuses a startup parameter it doesn't know, so a connection
// through kmsenc shows that pgx never saw kmsenc_config, in either DSN form.
func TestOpenRemovesConfigParam(t *testing.T) {
	base := dialecttest.PostgresDSN(t)
	dir := filepath.Join(t.TempDir(), "my dir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := dialecttest.SchemaFile(t, dir)
	for name, dsn := range map[string]string{
		"url":     withParams(t, base, url.Values{kmsenc.ConfigParam: {path}}),
		"keyword": keywordDSN(t, base) + " kmsenc_config='" + path + "'",
	} {
		t.Run(name, func(t *testing.T) {
			db := dialecttest.OpenWithConfigParam(t, "pgx", DriverName, dsn)
			var one int
			if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("SELECT 1 through kmsenc: %v, %v", one, err)
			}
		})
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	dialecttest.TestConfigFromEnvironment(t, DriverName, dialecttest.PostgresDSN(t), "postgres://u@h/db")
}

// A connection whose standard_conforming_strings is off, here from the
// DSN, is refused before any statement runs on it.
func TestConnectionNeedsStandardConformingStrings(t *testing.T) {
	base := dialecttest.PostgresDSN(t)
	path := dialecttest.SchemaFile(t, t.TempDir())
	var sessions []dialecttest.Session
	for _, c := range []struct {
		name   string
		params url.Values
		ok     bool
	}{
		{"default", nil, true},
		{"on", url.Values{"standard_conforming_strings": {"on"}}, true},
		{"off", url.Values{"standard_conforming_strings": {"off"}}, false},
		{"off in options", url.Values{"options": {"-c standard_conforming_strings=off"}}, false},
	} {
		params := url.Values{kmsenc.ConfigParam: {path}}
		for k, v := range c.params {
			params[k] = v
		}
		sessions = append(sessions, dialecttest.Session{Name: c.name,
			PlainDSN: withParams(t, base, c.params), DSN: withParams(t, base, params), OK: c.ok})
	}
	dialecttest.TestSessions(t, "pgx", DriverName, "standard_conforming_strings", sessions)
}

// A connection whose client_encoding is not UTF8 is refused too.
func TestConnectionNeedsUTF8(t *testing.T) {
	base := dialecttest.PostgresDSN(t)
	path := dialecttest.SchemaFile(t, t.TempDir())
	var sessions []dialecttest.Session
	for _, c := range []struct {
		name, encoding string
		ok             bool
	}{
		{"UTF8", "UTF8", true},
		{"utf-8", "utf-8", true},
		{"SJIS", "SJIS", false},
		{"BIG5", "BIG5", false},
		{"GBK", "GBK", false},
		{"LATIN1", "LATIN1", false},
		{"SQL_ASCII", "SQL_ASCII", false},
	} {
		plain := url.Values{"client_encoding": {c.encoding}}
		params := url.Values{kmsenc.ConfigParam: {path}, "client_encoding": {c.encoding}}
		sessions = append(sessions, dialecttest.Session{Name: c.name,
			PlainDSN: withParams(t, base, plain), DSN: withParams(t, base, params), OK: c.ok})
	}
	dialecttest.TestSessions(t, "pgx", DriverName, "client_encoding", sessions)
}

// checkConn refuses a base connection it can't see the settings of.
func TestCheckConnNeedsPgx(t *testing.T) {
	if err := checkConn(nil); !errors.Is(err, kmsenc.ErrConfig) || !strings.Contains(err.Error(), "Unwrap") {
		t.Errorf("err = %v, want ErrConfig saying what is needed", err)
	}
}
