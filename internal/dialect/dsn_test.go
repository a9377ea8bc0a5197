package dialect

import (
	"errors"
	"strings"
	"testing"

	"github.com/kmsenc/kmsenc/schema"
)

func TestSplitDSN(t *testing.T) {
	cases := []struct {
		name       string
		split      func(string) (string, string, error)
		dsn        string
		wantClean  string
		wantConfig string
	}{
		{"url", SplitURLDSN, "postgres://u@h:5432/db?sslmode=disable&kmsenc_config=%2Fetc%2Fk.yaml", "postgres://u@h:5432/db?sslmode=disable", "/etc/k.yaml"},
		{"url without param", SplitURLDSN, "postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", ""},
		{"url only param", SplitURLDSN, "postgres://u@h/db?kmsenc_config=k.yaml", "postgres://u@h/db", "k.yaml"},
		{"keyword", SplitKeywordDSN, "host=h user=u kmsenc_config=/etc/k.yaml dbname=db", "host=h user=u dbname=db", "/etc/k.yaml"},
		{"keyword quoted", SplitKeywordDSN, "host=h kmsenc_config='/etc/my dir/k.yaml' password='a b'", "host=h password='a b'", "/etc/my dir/k.yaml"},
		{"keyword spaces around =", SplitKeywordDSN, "host = h kmsenc_config = k.yaml", "host = h", "k.yaml"},
		{"mysql", SplitQueryDSN, "root@tcp(127.0.0.1:3306)/test?kmsenc_config=%2Fk.yaml&parseTime=true", "root@tcp(127.0.0.1:3306)/test?parseTime=true", "/k.yaml"},
		{"mysql only param", SplitQueryDSN, "root@tcp(127.0.0.1:3306)/test?kmsenc_config=k.yaml", "root@tcp(127.0.0.1:3306)/test", "k.yaml"},
		{"mysql none", SplitQueryDSN, "root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test", ""},
	}
	for _, c := range cases {
		clean, cfg, err := c.split(c.dsn)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if clean != c.wantClean || cfg != c.wantConfig {
			t.Errorf("%s: got (%q, %q), want (%q, %q)", c.name, clean, cfg, c.wantClean, c.wantConfig)
		}
	}
}

func TestSplitDSNErrorsHideSecrets(t *testing.T) {
	_, _, err := SplitURLDSN("postgres://u:s3cret@h:bad port/db")
	if !errors.Is(err, schema.ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	if contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
	if _, _, err := SplitKeywordDSN("host=h password='unterminated"); !errors.Is(err, schema.ErrConfig) || contains(err.Error(), "unterminated'") {
		t.Errorf("unterminated quote: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
