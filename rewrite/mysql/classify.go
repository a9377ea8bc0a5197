package mysql

// class is what Rewrite does with a statement that touches declared names,
// decided from its leading keywords before any parsing.
type class int

const (
	classParse      class = iota // SELECT, INSERT, UPDATE, DELETE, WITH, TABLE, VALUES, (: parse and analyse
	classPass                    // DDL, transaction control, settings, SHOW: send as is
	classReplace                 // REPLACE
	classLoad                    // LOAD DATA, LOAD XML
	classExplain                 // EXPLAIN / DESCRIBE of a statement
	classCopyData                // CREATE VIEW / TABLE ... SELECT / TRIGGER / PROCEDURE ...: copies or exposes data
	classHandler                 // HANDLER: reads rows directly
	classPrepare                 // PREPARE, EXECUTE IMMEDIATE: SQL-level dynamic statements
	classProcedural              // CALL, DO
	classSetSelect               // SET ... = (SELECT ...): copies data into a variable
	classOther
)

func (c class) reason() string {
	switch c {
	case classReplace:
		return "REPLACE is not supported on tables with encrypted columns: it deletes and re-inserts rows, and its SELECT and SET forms can't all be made exact; use INSERT ... ON DUPLICATE KEY UPDATE"
	case classLoad:
		return "LOAD DATA can't be encrypted by kmsenc; use INSERT ... VALUES (one or many rows) for encrypted tables"
	case classExplain:
		return "EXPLAIN of a statement on encrypted tables is not supported (EXPLAIN ANALYZE would run it unencrypted); run it on the plain driver"
	case classCopyData:
		return "views, CREATE TABLE ... SELECT, triggers, events and stored programs over encrypted tables would expose or copy ciphertext outside kmsenc's plans; create them with the plain driver if you must"
	case classHandler:
		return "HANDLER reads rows of encrypted tables without kmsenc; use SELECT"
	case classPrepare:
		return "SQL-level PREPARE and EXECUTE IMMEDIATE are not supported on encrypted tables; use the driver's prepared statements"
	case classProcedural:
		return "procedure calls and DO statements that name encrypted tables or columns are not supported"
	case classSetSelect:
		return "SET with a query that names encrypted tables or columns would copy ciphertext into a variable; select the value instead"
	}
	return "this kind of statement is not supported on tables with encrypted columns"
}

// classify looks at the leading keywords.
func (s *stmt) classify() class {
	if s.isOp(0, "(") {
		return classParse
	}
	switch {
	case s.kwIn(0, "select", "insert", "update", "delete", "with", "table", "values"):
		return classParse
	case s.kw(0, "replace"):
		return classReplace
	case s.kw(0, "create"):
		return s.classifyCreate()
	case s.kw(0, "alter"):
		for i := 1; i < 4; i++ {
			if s.kwIn(i, "view", "event", "procedure", "function", "trigger") {
				return classCopyData
			}
		}
		return classPass
	case s.kw(0, "load"):
		if s.kwIn(1, "data", "xml") {
			return classLoad
		}
		return classPass
	case s.kwIn(0, "explain", "describe", "desc"):
		// DESCRIBE t shows columns; EXPLAIN <statement> plans or runs it.
		if s.kwIn(1, "select", "insert", "update", "delete", "replace", "table", "with", "values",
			"analyze", "format", "extended", "partitions", "for") || s.isOp(1, "(") {
			return classExplain
		}
		return classPass
	case s.kw(0, "set"):
		for i := 1; i < s.end; i++ {
			if s.kwIn(i, "select", "table", "values", "with") {
				return classSetSelect
			}
		}
		return classPass
	case s.kwIn(0, "drop", "truncate", "rename", "grant", "revoke", "analyze", "optimize", "check",
		"checksum", "repair", "flush", "lock", "unlock", "begin", "start", "commit", "rollback",
		"savepoint", "release", "show", "use", "kill", "reset", "purge", "install", "uninstall",
		"xa", "help", "cache", "deallocate", "shutdown"):
		return classPass
	case s.kw(0, "handler"):
		return classHandler
	case s.kw(0, "prepare"), s.kw(0, "execute") && s.kw(1, "immediate"):
		return classPrepare
	case s.kw(0, "execute"):
		// EXECUTE runs a statement PREPARE prepared, which kmsenc checked.
		return classPass
	case s.kwIn(0, "call", "do"):
		return classProcedural
	}
	return classOther
}

// classifyCreate passes DDL through, except the statements that copy or
// expose a table's data: views, CREATE TABLE ... SELECT, triggers, events
// and stored programs.
func (s *stmt) classifyCreate() class {
	for i := 1; i < s.end; i++ {
		switch {
		case s.kwIn(i, "view", "trigger", "event", "procedure", "function"):
			return classCopyData
		case s.kw(i, "table"):
			// CREATE TABLE t [(...)] [IGNORE|REPLACE] [AS] SELECT | TABLE | VALUES | (SELECT ...)
			for j := i + 1; j < s.end; j = s.skip(j) {
				if s.kwIn(j, "select", "values") || s.kw(j, "table") && j > i+1 ||
					s.isOp(j, "(") && s.kwIn(j+1, "select", "with", "values", "table") {
					return classCopyData
				}
			}
			return classPass
		case s.kwIn(i, "index", "database", "schema", "user", "role", "tablespace", "server",
			"sequence", "spatial", "resource", "logfile"):
			return classPass
		}
	}
	return classPass
}
