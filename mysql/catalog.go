package mysql

// dependentsQuery lists what could read or write a declared table without
// kmsenc (dialect.Dialect.DependentsQuery): the current database; views with
// their query; triggers with their table and statement; stored functions
// and procedures with their body (NULL where the user may not see it).
// The system databases are left out. MySQL and MariaDB have no
// inheritance, and their partitions are not tables of their own.
const dependentsQuery = `SELECT 'path', DATABASE(), '', '', '', '', '', ''
UNION ALL
SELECT 'view', TABLE_SCHEMA, TABLE_NAME, 'view', '', '', VIEW_DEFINITION, 'sql'
FROM information_schema.VIEWS
WHERE TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')
UNION ALL
SELECT 'trigger', EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME, TRIGGER_SCHEMA, TRIGGER_NAME, ACTION_STATEMENT, 'sql'
FROM information_schema.TRIGGERS
WHERE EVENT_OBJECT_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')
UNION ALL
SELECT 'routine', ROUTINE_SCHEMA, ROUTINE_NAME, lower(ROUTINE_TYPE), '', '', ROUTINE_DEFINITION, 'sql'
FROM information_schema.ROUTINES
WHERE ROUTINE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')`
