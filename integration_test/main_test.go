package integration_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain starts the run on each reachable server (its lock, and the
// namespaces of dead runs dropped: namespace_test.go), runs the tests, then
// scans every table of every namespace of the run for any canary the tests
// wrote (whatever path a value took, it must not lie there in plaintext),
// and drops the run's namespaces: also when tests fail, and on an interrupt.
func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) (code int) {
	for _, d := range dialects {
		if d.srv.reachable() {
			if err := d.srv.start(); err != nil {
				// The tests say so, as they ask for their namespaces.
				fmt.Fprintf(os.Stderr, "kmsenc tests: starting the run on %s: %v\n", d.name, err)
			}
		}
	}
	defer func() {
		if err := finishRun(); err != nil {
			fmt.Fprintf(os.Stderr, "kmsenc tests: dropping the run's namespaces: %v\n", err)
			code = 1
		}
	}()
	stop := finishOnSignal()
	defer stop()

	code = m.Run()
	for _, d := range dialects {
		scan := &scanT{}
		func() {
			defer func() { recover() }() // scanT.Fatal* stops the scan
			if d.srv.admin == nil || d.srv.startErr != nil {
				return // not started: no test wrote there
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			names, err := d.srv.runNamespaces(ctx)
			if err != nil {
				scan.Fatalf("%v", err)
			}
			scanAllTables(scan, d, names...)
		}()
		if scan.failed {
			fmt.Fprintf(os.Stderr, "leak scan of the %s test namespaces failed:\n%s", d.name, scan.log)
			code = 1
		}
	}
	return code
}

var finishOnce struct {
	sync.Once
	err error
}

// finishRun drops the run's namespaces on every server, once.
func finishRun() error {
	finishOnce.Do(func() {
		for _, d := range dialects {
			if err := d.srv.finish(); err != nil && finishOnce.err == nil {
				finishOnce.err = fmt.Errorf("%s: %w", d.name, err)
			}
		}
	})
	return finishOnce.err
}

// finishOnSignal drops the run's namespaces and exits when the run is
// interrupted (^C, or a SIGTERM), which would otherwise end the process on
// the spot. A test that panics ends it on the spot too: the next run drops
// what it left.
func finishOnSignal() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			fmt.Fprintf(os.Stderr, "kmsenc tests: %v: dropping the run's namespaces\n", s)
			if err := finishRun(); err != nil {
				fmt.Fprintf(os.Stderr, "kmsenc tests: %v\n", err)
			}
			os.Exit(1)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
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
