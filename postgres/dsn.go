package postgres

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/kmsenc/kmsenc"
	"github.com/kmsenc/kmsenc/internal/dialect"
)

// splitDSN removes the kmsenc_config parameter from a pgx DSN, in URL or
// keyword/value form, and returns the cleaned DSN and the parameter's value
// ("" if absent).
func splitDSN(dsn string) (clean, configPath string, err error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return splitURLDSN(dsn)
	}
	return splitKeywordDSN(dsn)
}

// splitURLDSN removes the kmsenc_config query parameter from a URL DSN
// (postgres://...?kmsenc_config=...). It edits the DSN as text: pgx reads
// URLs as libpq does, and re-encoding the query (net/url writes a space as
// '+', which libpq reads as '+') would change other parameters.
func splitURLDSN(dsn string) (clean, configPath string, err error) {
	if _, err := url.Parse(dsn); err != nil {
		// The DSN may hold a password: don't echo it.
		return "", "", fmt.Errorf("%w: the DSN is not a valid URL: %v", kmsenc.ErrConfig, redactURLError(err))
	}
	q := strings.IndexByte(dsn, '?')
	if q < 0 {
		return dsn, "", nil
	}
	return dialect.CutParam(dsn, q, kmsenc.ConfigParam, url.PathUnescape)
}

// splitKeywordDSN removes the kmsenc_config word from a keyword/value DSN
// ("host=db user=app kmsenc_config=/etc/kmsenc.yaml"), whose values may be
// single-quoted with backslash escapes, as libpq reads them.
func splitKeywordDSN(dsn string) (clean, configPath string, err error) {
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
			return "", "", fmt.Errorf("%w: DSN word %q has no value", kmsenc.ErrConfig, key)
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
				return "", "", fmt.Errorf("%w: DSN word %q has an unterminated quoted value", kmsenc.ErrConfig, key)
			}
		} else {
			for i < len(dsn) && dsn[i] != ' ' {
				val.WriteByte(dsn[i])
				i++
			}
		}
		if key == kmsenc.ConfigParam {
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
