package providers

import (
	"slices"
	"unicode/utf8"
)

// CanonicalContext serializes an encryption context the way kms_encrypted
// does for KMSs that take it as bytes (Google's additional authenticated data,
// Vault's derivation context): a JSON object with the keys sorted bytewise,
// string values, no whitespace, e.g. {"model_id":"123","model_name":"User"}.
//
// The gem builds it with Hash#to_json, which in a Rails application is
// ActiveSupport's encoder: it escapes '<', '>', '&', U+2028 and U+2029 as
// \u003c, \u003e, \u0026, \u2028 and \u2029 (escape_html_entities_in_json,
// on by default). Strings are escaped exactly as Go's encoding/json does with
// its default HTML escaping, which writes the same: '"', '\\', control
// characters and those five are escaped, '/' is not. Invalid UTF-8 becomes
// U+FFFD. A nil or empty context is {}.
func CanonicalContext(ec map[string]string) []byte {
	return AppendCanonicalContext(nil, ec)
}

// AppendCanonicalContext appends [CanonicalContext](ec) to dst.
func AppendCanonicalContext(dst []byte, ec map[string]string) []byte {
	var small [8]string
	keys := small[:0]
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, ec[k])
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString follows encoding/json's string encoder with EscapeHTML on.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '<', '>', '&':
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
