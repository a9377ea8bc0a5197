package dialect

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/kmsenc/kmsenc/schema"
)

// ConfigParam is the DSN parameter that names the schema file; kmsenc
// removes it before the base driver sees the DSN. Package kmsenc exports it.
const ConfigParam = "kmsenc_config"

// SplitURLDSN removes the kmsenc_config query parameter from a URL DSN
// (postgres://...?kmsenc_config=...).
func SplitURLDSN(dsn string) (clean, configPath string, err error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// The DSN may hold a password: don't echo it.
		return "", "", fmt.Errorf("%w: the DSN is not a valid URL: %v", schema.ErrConfig, redactURLError(err))
	}
	q := u.Query()
	configPath = q.Get(ConfigParam)
	if !q.Has(ConfigParam) {
		return dsn, "", nil
	}
	q.Del(ConfigParam)
	u.RawQuery = q.Encode()
	return u.String(), configPath, nil
}

// SplitQueryDSN removes the kmsenc_config parameter from a DSN whose
// parameters follow the first '?' as key=value pairs joined by '&', as in
// go-sql-driver/mysql's DSNs.
func SplitQueryDSN(dsn string) (clean, configPath string, err error) {
	base, query, ok := strings.Cut(dsn, "?")
	if !ok {
		return dsn, "", nil
	}
	var kept []string
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != ConfigParam {
			kept = append(kept, kv)
			continue
		}
		if configPath, err = url.QueryUnescape(v); err != nil {
			return "", "", fmt.Errorf("%w: DSN parameter %s: %v", schema.ErrConfig, ConfigParam, err)
		}
	}
	if len(kept) == 0 {
		return base, configPath, nil
	}
	return base + "?" + strings.Join(kept, "&"), configPath, nil
}

// SplitKeywordDSN removes the kmsenc_config word from a keyword/value DSN
// ("host=db user=app kmsenc_config=/etc/kmsenc.yaml"), whose values may be
// single-quoted with backslash escapes, as libpq reads them.
func SplitKeywordDSN(dsn string) (clean, configPath string, err error) {
	var b strings.Builder
	i := 0
	for i < len(dsn) {
		start := i
		for i < len(dsn) && dsn[i] == ' ' {
			i++
		}
		keyStart := i
		for i < len(dsn) && dsn[i] != '=' && dsn[i] != ' ' {
			i++
		}
		key := dsn[keyStart:i]
		for i < len(dsn) && dsn[i] == ' ' {
			i++
		}
		if i >= len(dsn) || dsn[i] != '=' {
			if strings.TrimSpace(dsn[start:]) == "" {
				break
			}
			return "", "", fmt.Errorf("%w: DSN word %q has no value", schema.ErrConfig, key)
		}
		i++ // '='
		for i < len(dsn) && dsn[i] == ' ' {
			i++
		}
		var val strings.Builder
		if i < len(dsn) && dsn[i] == '\'' {
			i++
			closed := false
			for i < len(dsn) {
				c := dsn[i]
				if c == '\\' && i+1 < len(dsn) {
					val.WriteByte(dsn[i+1])
					i += 2
					continue
				}
				if c == '\'' {
					closed = true
					i++
					break
				}
				val.WriteByte(c)
				i++
			}
			if !closed {
				return "", "", fmt.Errorf("%w: DSN word %q has an unterminated quoted value", schema.ErrConfig, key)
			}
		} else {
			for i < len(dsn) && dsn[i] != ' ' {
				val.WriteByte(dsn[i])
				i++
			}
		}
		if key == ConfigParam {
			configPath = val.String()
			continue
		}
		b.WriteString(dsn[start:i])
	}
	return strings.TrimSpace(b.String()), configPath, nil
}

// redactURLError keeps url.Parse's reason but not the URL it quotes.
func redactURLError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return "malformed"
}
