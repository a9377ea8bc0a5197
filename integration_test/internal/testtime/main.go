// Command testtime shows `go test -json` as people read it, and where the
// time went. `make test` uses it; it needs nothing but the standard library.
//
//	go test -json ./... 2>&1 | testtime -o unit.json -label unit
//
// reads go test's events (and passes any other line through) and prints
// what `go test` prints without -v: each package's result line, the output
// of failed tests, build errors, and a note of skipped tests. It copies the
// events to the -o file and exits 1 when a package failed, or when no
// package reported a result (go test itself failed).
//
//	testtime -summary unit.json integration.json
//
// prints where the time went in those runs, started together: when each
// package's test binary started (after the first run began: mostly the time
// to build it) and how long it ran; for a package with parallel tests, the
// part one test at a time, the parallel part and what came after the last
// test (TestMain's work); and the slowest tests.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// event is one line of go test -json (cmd/test2json), plus the stream start
// this command writes first into its copy.
type event struct {
	Time       time.Time `json:",omitempty"`
	Action     string
	Package    string  `json:",omitempty"`
	ImportPath string  `json:",omitempty"` // build-output, build-fail
	Test       string  `json:",omitempty"`
	Elapsed    float64 `json:",omitempty"`
	Output     string  `json:",omitempty"`
}

// streamStart is the Action of the first event of a copy: when the stream
// began (about when go test began) and its label.
const streamStart = "testtime-start"

func main() {
	out := flag.String("o", "", "copy the events to this file")
	label := flag.String("label", "", "name of the run, for -summary")
	summary := flag.Bool("summary", false, "print where the time went in the copies named as arguments")
	top := flag.Int("top", 10, "how many of the slowest tests -summary lists")
	flag.Parse()
	if *summary {
		if err := summarize(os.Stdout, flag.Args(), *top); err != nil {
			fmt.Fprintln(os.Stderr, "testtime:", err)
			os.Exit(2)
		}
		return
	}
	var copyTo io.Writer = io.Discard
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testtime:", err)
			os.Exit(2)
		}
		defer f.Close()
		copyTo = f
	}
	if !stream(os.Stdin, os.Stdout, copyTo, *label, time.Now()) {
		os.Exit(1)
	}
}

// report is the state of one stream.
type report struct {
	w          io.Writer
	label      string
	resultLine map[string]bool     // packages whose "ok" or "FAIL" line was seen
	buf        map[string][]string // output of running top-level tests, by package and test
	started    map[string]bool     // packages whose binary started
	finished   map[string]bool     // packages with a result
	failed     bool
	skips      map[string]int    // skipped tests and subtests, by package
	skipWhy    map[string]string // the first skip's message, by package
}

// stream renders the events of r on w, copies them to copyTo and reports
// whether every package passed.
func stream(r io.Reader, w, copyTo io.Writer, label string, start time.Time) bool {
	json.NewEncoder(copyTo).Encode(event{Time: start, Action: streamStart, Output: label})
	rep := &report{w: w, label: label, resultLine: map[string]bool{}, buf: map[string][]string{},
		started: map[string]bool{}, finished: map[string]bool{}, skips: map[string]int{}, skipWhy: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		var e event
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
			fmt.Fprintln(w, line) // not an event: go's own messages
			continue
		}
		fmt.Fprintln(copyTo, line)
		rep.event(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(w, "testtime: reading the events:", err)
		rep.failed = true
	}
	// Tests that never ended (the binary crashed, or was killed): their
	// output holds the reason.
	var left []string
	for k := range rep.buf {
		left = append(left, k)
	}
	sort.Strings(left)
	for _, k := range left {
		pkg, test, _ := strings.Cut(k, "\x00")
		fmt.Fprintf(w, "--- %s did not finish (%s):\n%s", test, pkg, strings.Join(rep.buf[k], ""))
		rep.failed = true
	}
	for pkg := range rep.started {
		if !rep.finished[pkg] {
			fmt.Fprintf(w, "FAIL\t%s\t(no result)\n", pkg)
			rep.failed = true
		}
	}
	var skipped []string
	for pkg := range rep.skips {
		skipped = append(skipped, pkg)
	}
	sort.Strings(skipped)
	for _, pkg := range skipped {
		fmt.Fprintf(w, "%s: %d skipped (tests and subtests), the first: %s\n", pkg, rep.skips[pkg], rep.skipWhy[pkg])
	}
	if len(rep.finished) == 0 {
		fmt.Fprintln(w, "testtime: no package reported a result")
		return false
	}
	return !rep.failed
}

func (rep *report) event(e event) {
	w := rep.w
	switch e.Action {
	case "build-output":
		fmt.Fprint(w, e.Output)
		return
	case "build-fail":
		rep.failed = true
		return
	case "start":
		rep.started[e.Package] = true
		return
	}
	if e.Test == "" {
		switch e.Action {
		case "output":
			if strings.HasPrefix(e.Output, "ok  \t"+e.Package+"\t") || strings.HasPrefix(e.Output, "FAIL\t"+e.Package+"\t") {
				rep.resultLine[e.Package] = true
			}
			if e.Output != "PASS\n" {
				fmt.Fprint(w, e.Output)
			}
		case "pass", "skip", "fail":
			rep.finished[e.Package] = true
			if e.Action == "fail" {
				rep.failed = true
			}
			if !rep.resultLine[e.Package] && e.Action != "skip" {
				// test2json running a test binary: go test's line.
				word := map[string]string{"pass": "ok  ", "fail": "FAIL"}[e.Action]
				fmt.Fprintf(w, "%s\t%s\t%.3fs (%s)\n", word, e.Package, e.Elapsed, rep.label)
			}
		}
		return
	}
	topName, _, sub := strings.Cut(e.Test, "/")
	key := e.Package + "\x00" + topName
	switch e.Action {
	case "output":
		rep.buf[key] = append(rep.buf[key], e.Output)
	case "skip":
		rep.skips[e.Package]++
		if _, ok := rep.skipWhy[e.Package]; !ok {
			rep.skipWhy[e.Package] = e.Test + ": " + skipReason(rep.buf[key], e.Test)
		}
		if !sub {
			delete(rep.buf, key)
		}
	case "pass":
		if !sub {
			delete(rep.buf, key)
		}
	case "fail":
		if !sub {
			fmt.Fprint(w, strings.Join(rep.buf[key], ""))
			delete(rep.buf, key)
		}
	}
}

// skipReason finds the message of test's skip in the output of its
// top-level test: the last line before its "--- SKIP" that isn't a
// "=== RUN" or "--- PASS" line of its own.
func skipReason(lines []string, test string) string {
	end := len(lines)
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "--- SKIP: "+test+" (") {
			end = i
		}
	}
	for i := end - 1; i >= 0; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- ") {
			return t
		}
	}
	return "(no message)"
}

// pkgTimes is what -summary knows of one package's run.
type pkgTimes struct {
	label, name            string
	start, end             time.Time
	result                 string
	firstCont, lastTestEnd time.Time
	tests, parallel        int
}

type testTime struct {
	label, name string
	elapsed     float64
	parallel    bool
}

func summarize(w io.Writer, files []string, top int) error {
	var pkgs []*pkgTimes
	var tests []testTime
	var first, last time.Time
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		var label string
		byPkg := map[string]*pkgTimes{}
		paused := map[string]bool{}
		dec := json.NewDecoder(f)
		for {
			var e event
			if err := dec.Decode(&e); err == io.EOF {
				break
			} else if err != nil {
				f.Close()
				return fmt.Errorf("%s: %v", file, err)
			}
			if first.IsZero() || e.Time.Before(first) {
				first = e.Time
			}
			if e.Time.After(last) {
				last = e.Time
			}
			if e.Action == streamStart {
				label = e.Output
				continue
			}
			if e.Package == "" {
				continue
			}
			p := byPkg[e.Package]
			if p == nil {
				p = &pkgTimes{label: label, name: e.Package}
				byPkg[e.Package] = p
				pkgs = append(pkgs, p)
			}
			key := e.Package + "\x00" + e.Test
			switch {
			case e.Action == "start":
				p.start = e.Time
			case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
				p.end, p.result = e.Time, e.Action
			case e.Test == "" || strings.Contains(e.Test, "/"):
				// Subtests count in their top-level test.
			case e.Action == "pause":
				paused[key] = true
			case e.Action == "cont":
				if p.firstCont.IsZero() {
					p.firstCont = e.Time
				}
			case e.Action == "pass" || e.Action == "fail" || e.Action == "skip":
				p.tests++
				if paused[key] {
					p.parallel++
				}
				if e.Time.After(p.lastTestEnd) {
					p.lastTestEnd = e.Time
				}
				tests = append(tests, testTime{label: label, name: e.Test, elapsed: e.Elapsed, parallel: paused[key]})
			}
		}
		f.Close()
	}

	fmt.Fprintf(w, "\n== where the time went: %.1fs from the first start to the last result\n", last.Sub(first).Seconds())
	secs := func(a, b time.Time) string {
		if a.IsZero() || b.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%.1fs", b.Sub(a).Seconds())
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "run\tpackage\t%7s\t%7s\t\n", "started", "took")
	for _, p := range pkgs {
		if p.start.IsZero() || (p.result == "skip" && p.tests == 0) {
			continue // no test files
		}
		note := ""
		if p.result != "pass" {
			note = p.result + ": "
		}
		switch seq := p.tests - p.parallel; {
		case p.parallel == 0:
			note += fmt.Sprintf("%d tests", p.tests)
		case seq == 0:
			note += fmt.Sprintf("%d tests in parallel %s", p.tests, secs(p.firstCont, p.lastTestEnd))
		default:
			note += fmt.Sprintf("%d tests: %d one at a time %s, %d in parallel %s",
				p.tests, seq, secs(p.start, p.firstCont), p.parallel, secs(p.firstCont, p.lastTestEnd))
		}
		if !p.lastTestEnd.IsZero() && !p.end.IsZero() && p.end.Sub(p.lastTestEnd) >= 100*time.Millisecond {
			note += ", then " + secs(p.lastTestEnd, p.end) + " after the last test"
		}
		fmt.Fprintf(tw, "%s\t%s\t%7s\t%7s\t%s\n", p.label, p.name, secs(first, p.start), secs(p.start, p.end), note)
	}
	tw.Flush()
	fmt.Fprintln(w, "(started: after the first run began, so mostly building; took: running the test binary)")
	sort.SliceStable(tests, func(i, j int) bool { return tests[i].elapsed > tests[j].elapsed })
	if len(tests) > top {
		tests = tests[:top]
	}
	fmt.Fprintf(w, "slowest tests (their own time; parallel ones overlap others):\n")
	for _, t := range tests {
		par := ""
		if t.parallel {
			par = ", parallel"
		}
		fmt.Fprintf(w, "  %6.2fs  %s (%s%s)\n", t.elapsed, t.name, t.label, par)
	}
	return nil
}
