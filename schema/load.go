package schema

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Load reads and validates the schema file at path. Every error it returns
// matches ErrConfig and names the file, line and field at fault.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// The *PathError already holds the path; print only its cause after ours.
		cause := err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			cause = pe.Err
		}
		return nil, &FieldError{File: path, Msg: "can't read the schema file: " + cause.Error() + "; check the path", Err: err}
	}
	return Parse(data, path)
}

// Parse reads and validates a schema file's contents; file names it in
// errors and becomes Config.File ("" if the bytes come from elsewhere).
// If the file has several mistakes, the error is the first in file order.
func Parse(data []byte, file string) (*Config, error) {
	d := &decoder{file: file, pos: positions{}}
	root, err := d.document(data)
	if err != nil {
		return nil, err
	}
	c := &Config{File: file}
	d.config(root, c)
	// Rules across fields run only on a file that decoded cleanly: a field
	// that failed to decode would otherwise show up again as missing.
	if len(d.errs) == 0 {
		d.errs = c.validate(d.pos)
	}
	if len(d.errs) > 0 {
		return nil, d.first()
	}
	c.pos = d.pos
	return c, nil
}

// first returns the recorded error with the lowest line.
func (d *decoder) first() *FieldError {
	slices.SortStableFunc(d.errs, func(a, b *FieldError) int { return a.Line - b.Line })
	return d.errs[0]
}

// yamlLine picks the line number out of the YAML parser's messages, which
// read "yaml: line 3: mapping values are not allowed in this context".
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data as one YAML document and returns its top mapping.
func (d *decoder) document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if err == io.EOF {
		return nil, &FieldError{File: d.file, Msg: "the file is empty; want a mapping with key: and tables:"}
	}
	if err != nil {
		return nil, d.yamlError(err, data)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &FieldError{File: d.file, Line: extra.Line, Msg: `a second YAML document starts here ("---"); a schema file holds one document: remove the "---" and merge or delete the rest`}
	case err != io.EOF:
		return nil, d.yamlError(err, data)
	}
	if len(doc.Content) == 0 {
		return nil, &FieldError{File: d.file, Line: doc.Line, Msg: "the file is empty; want a mapping with key: and tables:"}
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return nil, &FieldError{File: d.file, Line: root.Line, Msg: "the file is empty; want a mapping with key: and tables:"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &FieldError{File: d.file, Line: root.Line, Msg: "want a mapping with key: and tables: at the top of the file, got " + describe(root)}
	}
	d.pos[""] = root.Line
	return root, nil
}

// yamlError turns a YAML syntax error into a FieldError with its line.
func (d *decoder) yamlError(err error, data []byte) *FieldError {
	e := &FieldError{File: d.file, Msg: "not valid YAML: " + err.Error(), Err: err}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "not valid YAML: " + m[2]
		// yaml/v3 reports the lines of its parser's errors (not its
		// scanner's) counting from 0 (see go-yaml/yaml#542 and
		// parser.fail in its decode.go). A problem found at the end of
		// the input belongs to the last line that has something on it.
		if yamlParserProblem(m[2]) {
			e.Line = min(e.Line+1, lastLine(data))
		}
		// That line is where the mapping starts, not where it went wrong:
		// point the reader below it.
		if m[2] == "did not find expected key" {
			e.Msg += " in the mapping that starts here; check the indentation of the lines below it"
		}
		// The parser's message for a tab says nothing about tabs, and a
		// tab looks like spaces in most editors.
		if indentHasTab(data, e.Line) {
			e.Msg += "; indent with spaces: YAML doesn't allow tabs there"
		}
	}
	return e
}

// config decodes the top-level mapping into c, with the defaults filled in.
func (d *decoder) config(root *yaml.Node, c *Config) {
	c.Cache = Cache{TTL: DefaultCacheTTL, MaxKeys: DefaultMaxKeys}
	d.object(root, "", "a mapping with key: and tables:", []field{
		{"key", func(_, v *yaml.Node) { d.key(v, "key", &c.Key) }},
		{"cache", func(_, v *yaml.Node) { d.cache(v, "cache", &c.Cache) }},
		{"tables", func(_, v *yaml.Node) { c.Tables = d.tables(v, "tables") }},
		{"reviewed", func(_, v *yaml.Node) { c.Reviewed = d.reviewed(v, "reviewed") }},
	})
	d.views(c)
}

// indentHasTab reports whether the indentation of line (1-based) holds a tab.
func indentHasTab(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return false
	}
	l := lines[line-1]
	indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
	return bytes.IndexByte(indent, '\t') >= 0
}

// yamlParserProblem reports whether msg is one of yaml/v3's parser (as
// opposed to scanner) messages: "did not find expected key" and the like.
// The scanner's messages that start the same way are longer.
func yamlParserProblem(msg string) bool {
	switch msg {
	case "did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"did not find expected '-' indicator", "did not find expected <document start>",
		"did not find expected <stream-start>", "did not find expected key",
		"did not find expected node content", "found duplicate %TAG directive",
		"found duplicate %YAML directive", "found incompatible YAML document",
		"found undefined tag handle":
		return true
	}
	return false
}

// lastLine returns the number of the last line of data with more than
// spaces or a comment on it (at least 1).
func lastLine(data []byte) int {
	lines := bytes.Split(data, []byte("\n"))
	for i := len(lines) - 1; i > 0; i-- {
		if l := bytes.TrimSpace(lines[i]); len(l) > 0 && l[0] != '#' {
			return i + 1
		}
	}
	return 1
}
