package postgres

// dependentsQuery lists what could read or write a declared table without
// kmsenc (dialect.Dialect.DependentsQuery): the schemas of the search path;
// the relations of every rule (views, materialized views and other rules)
// with the relations each depends on, besides its own (pg_depend, which
// follows a view's query and a rule's actions); the rules other than
// views; inheritance and partitions (pg_inherits); triggers with their
// function's code; and functions and procedures with their code: prosrc,
// or for a SQL-standard body (BEGIN ATOMIC), which prosrc leaves empty, the
// relations and routines it depends on (pg_depend), as schema.name words.
// Only catalog columns are read, never a function of an object's OID
// (pg_get_functiondef), which fails when another session drops the object
// meanwhile. System schemas and the members of extensions are left out.
const dependentsQuery = `SELECT 'path', n::text, '', '', '', '', '', '' FROM unnest(current_schemas(false)) AS n
UNION ALL
SELECT DISTINCT 'depends', vn.nspname::text, v.relname::text,
	CASE WHEN r.rulename <> '_RETURN' THEN 'rule ' || r.rulename::text WHEN v.relkind = 'm' THEN 'materialized view' ELSE 'view' END,
	tn.nspname::text, t.relname::text, '', ''
FROM pg_rewrite r
JOIN pg_class v ON v.oid = r.ev_class
JOIN pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
	AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE vn.nspname <> 'information_schema' AND vn.nspname NOT LIKE 'pg\_%'
UNION ALL
SELECT 'rule', n.nspname::text, c.relname::text, r.rulename::text, '', '', '', ''
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
UNION ALL
SELECT 'inherits', cn.nspname::text, c.relname::text, CASE WHEN c.relispartition THEN 'partition' ELSE 'child' END,
	pn.nspname::text, p.relname::text, '', ''
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.relkind IN ('r', 'p', 'f') AND p.relkind IN ('r', 'p', 'f')
UNION ALL
SELECT 'trigger', n.nspname::text, c.relname::text, t.tgname::text, fn.nspname::text, f.proname::text,
	CASE WHEN f.prosrc = '' AND l.lanname = 'sql' THEN ' BEGIN ATOMIC ' || coalesce((
		SELECT string_agg(rn.nspname || '.' || r.relname, ' ') FROM pg_depend d
		JOIN pg_class r ON r.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = r.relnamespace
		WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid AND d.refclassid = 'pg_class'::regclass), '') || coalesce((
		SELECT string_agg(pn.nspname || '.' || p.proname, ' ') FROM pg_depend d
		JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_namespace pn ON pn.oid = p.pronamespace
		WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid AND d.refclassid = 'pg_proc'::regclass), '') ELSE f.prosrc END, l.lanname::text
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc f ON f.oid = t.tgfoid
JOIN pg_namespace fn ON fn.oid = f.pronamespace
JOIN pg_language l ON l.oid = f.prolang
WHERE NOT t.tgisinternal AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
UNION ALL
SELECT 'routine', n.nspname::text, f.proname::text, CASE f.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, '', '',
	CASE WHEN f.prosrc = '' AND l.lanname = 'sql' THEN ' BEGIN ATOMIC ' || coalesce((
		SELECT string_agg(rn.nspname || '.' || r.relname, ' ') FROM pg_depend d
		JOIN pg_class r ON r.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = r.relnamespace
		WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid AND d.refclassid = 'pg_class'::regclass), '') || coalesce((
		SELECT string_agg(pn.nspname || '.' || p.proname, ' ') FROM pg_depend d
		JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_namespace pn ON pn.oid = p.pronamespace
		WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid AND d.refclassid = 'pg_proc'::regclass), '') ELSE f.prosrc END, l.lanname::text
FROM pg_proc f
JOIN pg_namespace n ON n.oid = f.pronamespace
JOIN pg_language l ON l.oid = f.prolang
WHERE f.prokind IN ('f', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	AND NOT EXISTS (SELECT 1 FROM pg_depend e
		WHERE e.classid = 'pg_proc'::regclass AND e.objid = f.oid AND e.deptype = 'e')`
