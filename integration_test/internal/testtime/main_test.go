package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A package with a passing parallel test, a failing subtest, a skip, and a
// line that isn't an event.
const events = `{"Time":"2026-01-01T00:00:02Z","Action":"start","Package":"example.com/p"}
{"Time":"2026-01-01T00:00:02Z","Action":"run","Package":"example.com/p","Test":"TestA"}
{"Time":"2026-01-01T00:00:02Z","Action":"output","Package":"example.com/p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Time":"2026-01-01T00:00:02Z","Action":"pause","Package":"example.com/p","Test":"TestA"}
{"Time":"2026-01-01T00:00:02Z","Action":"run","Package":"example.com/p","Test":"TestB"}
{"Time":"2026-01-01T00:00:02Z","Action":"output","Package":"example.com/p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Time":"2026-01-01T00:00:02Z","Action":"output","Package":"example.com/p","Test":"TestB","Output":"    x_test.go:9: no database here\n"}
{"Time":"2026-01-01T00:00:02Z","Action":"output","Package":"example.com/p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}
{"Time":"2026-01-01T00:00:02Z","Action":"skip","Package":"example.com/p","Test":"TestB","Elapsed":0}
{"Time":"2026-01-01T00:00:03Z","Action":"cont","Package":"example.com/p","Test":"TestA"}
{"Time":"2026-01-01T00:00:03Z","Action":"output","Package":"example.com/p","Test":"TestA/sub","Output":"    x_test.go:12: the sub failed\n"}
{"Time":"2026-01-01T00:00:03Z","Action":"fail","Package":"example.com/p","Test":"TestA/sub","Elapsed":0.5}
{"Time":"2026-01-01T00:00:05Z","Action":"fail","Package":"example.com/p","Test":"TestA","Elapsed":2.5}
not an event
{"Time":"2026-01-01T00:00:06Z","Action":"output","Package":"example.com/p","Output":"PASS\n"}
{"Time":"2026-01-01T00:00:06Z","Action":"output","Package":"example.com/p","Output":"FAIL\texample.com/p\t4.0s\n"}
{"Time":"2026-01-01T00:00:06Z","Action":"fail","Package":"example.com/p","Elapsed":4}
`

func TestStreamAndSummary(t *testing.T) {
	var out, copied bytes.Buffer
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if stream(strings.NewReader(events), &out, &copied, "it", start) {
		t.Error("stream reported success for a failed package")
	}
	got := out.String()
	for _, want := range []string{"the sub failed", "not an event", "FAIL\texample.com/p\t4.0s\n", "1 skipped (tests and subtests), the first: TestB: x_test.go:9: no database here"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "PASS\n") || strings.Contains(got, "=== RUN   TestB") {
		t.Errorf("output shows what go test without -v doesn't:\n%s", got)
	}

	file := filepath.Join(t.TempDir(), "it.json")
	if err := os.WriteFile(file, copied.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var sum bytes.Buffer
	if err := summarize(&sum, []string{file}, 10); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"6.0s from the first start",
		"   2.0s     4.0s  fail: 2 tests: 1 one at a time 1.0s, 1 in parallel 2.0s, then 1.0s after the last test",
		"2.50s  TestA (it, parallel)",
	} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
}

func TestStreamWithoutResults(t *testing.T) {
	var out bytes.Buffer
	if stream(strings.NewReader("go: cannot find main module\n"), &out, &bytes.Buffer{}, "", time.Now()) {
		t.Error("stream reported success without a package result")
	}
}

// test2json running a test binary reports no "ok" line: testtime prints one.
func TestStreamOfABinary(t *testing.T) {
	in := `{"Time":"2026-01-01T00:00:01Z","Action":"start","Package":"example.com/q"}
{"Time":"2026-01-01T00:00:01Z","Action":"output","Package":"example.com/q","Output":"PASS\n"}
{"Time":"2026-01-01T00:00:02Z","Action":"pass","Package":"example.com/q","Elapsed":1.5}
`
	var out bytes.Buffer
	if !stream(strings.NewReader(in), &out, &bytes.Buffer{}, "serial", time.Now()) {
		t.Error("stream reported a failure")
	}
	if want := "ok  \texample.com/q\t1.500s (serial)\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
