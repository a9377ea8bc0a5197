package integration_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests, then scans every table of each reachable test
// database for any canary the tests wrote: whatever path a value took, it
// must not lie there in plaintext.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range dialects {
		scan := &scanT{}
		func() {
			defer func() { recover() }() // scanT.Fatal* stops the scan
			if d.reachable() {
				raw, err := d.raw()
				if err != nil {
					scan.Fatalf("%v", err)
					return
				}
				defer raw.Close()
				scanAllTables(scan, d, raw)
			}
		}()
		if scan.failed {
			fmt.Fprintf(os.Stderr, "leak scan of the %s test database failed:\n%s", d.name, scan.log)
			code = 1
		}
	}
	os.Exit(code)
}

// scanT collects a scan's failures outside a test.
type scanT struct {
	testing.TB
	failed bool
	log    string
}

func (s *scanT) Helper() {}
func (s *scanT) Errorf(format string, args ...any) {
	s.failed = true
	s.log += fmt.Sprintf(format, args...) + "\n"
}
func (s *scanT) Fatalf(format string, args ...any) {
	s.Errorf(format, args...)
	panic(s)
}
func (s *scanT) Fatal(args ...any) { s.Fatalf("%s", fmt.Sprint(args...)) }
