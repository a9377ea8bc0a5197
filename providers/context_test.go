package providers

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestCanonicalContext(t *testing.T) {
	tests := []struct {
		name string
		ec   map[string]string
		want string
	}{
		// The vector of KMS_ENCRYPTED_FORMATS.md: the gem's default context.
		{"kms_encrypted default", map[string]string{"model_name": "User", "model_id": "123"}, `{"model_id":"123","model_name":"User"}`},
		{"kmsenc default", map[string]string{"table": "users", "id": "123"}, `{"id":"123","table":"users"}`},
		{"nil", nil, `{}`},
		{"empty", map[string]string{}, `{}`},
		{"empty strings", map[string]string{"": ""}, `{"":""}`},
		{"bytewise order", map[string]string{"b": "1", "B": "2", "a": "3", "é": "4", "_": "5"}, `{"B":"2","_":"5","a":"3","b":"1","é":"4"}`},
		{"quotes and backslash", map[string]string{"q": `say "hi" \o/`}, `{"q":"say \"hi\" \\o/"}`},
		// Rails' Hash#to_json (ActiveSupport, escape_html_entities_in_json).
		{"HTML characters escaped as Rails does", map[string]string{"html": "<a href='x'>&</a>"}, `{"html":"\u003ca href='x'\u003e\u0026\u003c/a\u003e"}`},
		{"unicode as is", map[string]string{"name": "Zoë 日本 🔑"}, `{"name":"Zoë 日本 🔑"}`},
		{"control characters", map[string]string{"c": "\b\f\n\r\t\x00\x1f\x7f"}, `{"c":"\b\f\n\r\t\u0000\u001f` + "\x7f" + `"}`},
		{"line separators", map[string]string{"ls": "a\u2028b\u2029c"}, `{"ls":"a\u2028b\u2029c"}`},
		{"invalid UTF-8", map[string]string{"bad": "a\xffb"}, `{"bad":"a\ufffdb"}`},
		{"escaped key", map[string]string{`k"ey`: "v"}, `{"k\"ey":"v"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(CanonicalContext(tt.ec)); got != tt.want {
				t.Errorf("CanonicalContext(%q) = %s, want %s", tt.ec, got, tt.want)
			}
		})
	}
}

// encodingJSON is the reference CanonicalContext follows.
func encodingJSON(t testing.TB, ec map[string]string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if ec == nil {
		ec = map[string]string{}
	}
	if err := enc.Encode(ec); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func FuzzCanonicalContextMatchesEncodingJSON(f *testing.F) {
	f.Add("model_name", "User", "model_id", "123")
	f.Add("a\u2028", "<>&", "\x00\b", "\xff\xfe")
	f.Add("", "", "é", "🔑\"\\")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		ec := map[string]string{k1: v1, k2: v2}
		if got, want := CanonicalContext(ec), encodingJSON(t, ec); !bytes.Equal(got, want) {
			t.Errorf("CanonicalContext(%q) = %s, encoding/json gives %s", ec, got, want)
		}
	})
}

func BenchmarkCanonicalContext(b *testing.B) {
	ec := map[string]string{"table": "users", "id": "123456"}
	var buf []byte
	for b.Loop() {
		buf = AppendCanonicalContext(buf[:0], ec)
	}
}
