package integration_test

// Namespaces: a run of the suite works only in schemas (PostgreSQL) or
// databases (MySQL) of its own, which it creates and drops, so that it never
// touches the tables of the database the DSN names (a developer's, perhaps)
// and two runs at once never meet.
//
// A run is named kmsenc_test_<8 hex digits>. Each top-level test gets the
// namespace <run>_<n>_<test name>, created the first time the test asks for
// it, so that tests can keep their table names (users, profiles, ...) and
// still run in parallel. Every connection a test opens works there: the raw
// driver, kmsenc by connector or by DSN, and the libraries (search_path for
// PostgreSQL, the DSN's database for MySQL); kmsenc's catalog lookups follow
// (current_schemas(false) and DATABASE()).
//
// TestMain takes the run's lock, scans every table of every namespace of the
// run for canaries once the tests are done, and drops them all. A run that
// dies first (a panic in a test, a timeout, a kill) leaves its namespaces
// behind, and the next run drops them; it tells a dead run from a live one
// by the run's lock, held by a session of the run's own for as long as the
// run lives (an advisory lock on PostgreSQL, GET_LOCK on MySQL), which the
// server releases when the session ends. KMSENC_TEST_KEEP=1 keeps the run's
// namespaces to look at after the run, and leaves others' alone.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

const nsPrefix = "kmsenc_test_"

// runID names this run: its namespaces are runID and runID_*.
var runID = func() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return nsPrefix + hex.EncodeToString(b)
}()

// nsRE matches the namespaces of every run; its group is the run's id.
var nsRE = regexp.MustCompile(`^kmsenc_test_([0-9a-f]{8})(?:_.*)?$`)

// keepNamespaces is KMSENC_TEST_KEEP: keep this run's namespaces, and
// don't drop those of runs that died.
func keepNamespaces() bool { return os.Getenv("KMSENC_TEST_KEEP") != "" }

// testNamespaces names the namespace of each top-level test, the same on
// every server.
var testNamespaces struct {
	sync.Mutex
	names map[string]string
}

// namespaceName returns the namespace name of the top-level test top.
func namespaceName(top string) string {
	testNamespaces.Lock()
	defer testNamespaces.Unlock()
	if name, ok := testNamespaces.names[top]; ok {
		return name
	}
	if testNamespaces.names == nil {
		testNamespaces.names = map[string]string{}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s_%d_", runID, len(testNamespaces.names)+1)
	for _, r := range strings.ToLower(top) {
		if b.Len() == 63 { // PostgreSQL's limit; MySQL's is 64
			break
		}
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			r = '_'
		}
		b.WriteRune(r)
	}
	testNamespaces.names[top] = b.String()
	return b.String()
}

// nsServer is the run on one database server.
type nsServer struct {
	kind      string // "postgres" or "mysql"
	driver    string // the plain driver's name
	serverDSN func() string

	startOnce sync.Once
	startErr  error
	admin     *sql.DB   // the DSN's database: creates, scans and drops namespaces
	lock      *sql.Conn // holds the run's lock
	mysqlOpts string    // CHARACTER SET and COLLATE of the DSN's database

	mu      sync.Mutex
	created map[string]*nsCreate
	raws    map[string]*sql.DB // shared plain-driver pools, by namespace
}

type nsCreate struct {
	once sync.Once
	err  error
}

var (
	pgServer = &nsServer{kind: "postgres", driver: "pgx", serverDSN: postgresDSN}
	myServer = &nsServer{kind: "mysql", driver: "mysql", serverDSN: mysqlDSN}
)

// ns returns the namespace of t's top-level test on s, creating it the
// first time.
func (s *nsServer) ns(t testing.TB) string {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("starting the test run on %s: %v", s.kind, err)
	}
	top, _, _ := strings.Cut(t.Name(), "/")
	name := namespaceName(top)
	s.mu.Lock()
	c := s.created[name]
	if c == nil {
		c = &nsCreate{}
		s.created[name] = c
	}
	s.mu.Unlock()
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if s.kind == "mysql" {
			_, c.err = s.admin.ExecContext(ctx, "CREATE DATABASE `"+name+"`"+s.mysqlOpts)
		} else {
			_, c.err = s.admin.ExecContext(ctx, `CREATE SCHEMA "`+name+`"`)
		}
	})
	if c.err != nil {
		t.Fatalf("creating %s on %s: %v", name, s.kind, c.err)
	}
	return name
}

// rawIdle is how long a connection of a shared plain-driver pool may stay
// idle before the pool closes it.
const rawIdle = 3 * time.Second

// raw returns the plain-driver pool working in the namespace ns (opened by
// open), shared by the envs of a test: a new connection costs PostgreSQL
// tens of milliseconds of CPU, and the envs of a test run one after
// another. The pool closes connections idle for rawIdle, so those of a test
// that ended go soon; finish closes the pools. A test that changes the
// session of a raw connection (SET ...) changes it for the test's later
// envs too.
func (s *nsServer) raw(ns string, open func(ns string) (*sql.DB, error)) (*sql.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.raws == nil {
		return nil, errors.New("the test run has ended")
	}
	if db := s.raws[ns]; db != nil {
		return db, nil
	}
	db, err := open(ns)
	if err != nil {
		return nil, err
	}
	db.SetConnMaxIdleTime(rawIdle)
	s.raws[ns] = db
	return db, nil
}

// start connects, takes the run's lock and drops the namespaces of runs
// that died, once.
func (s *nsServer) start() error {
	s.startOnce.Do(func() { s.startErr = s.doStart() })
	return s.startErr
}

func (s *nsServer) doStart() (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sql.Open(s.driver, s.serverDSN())
	if err != nil {
		return err
	}
	lock, err := admin.Conn(ctx)
	if err != nil {
		admin.Close()
		return err
	}
	s.admin, s.lock = admin, lock
	defer func() {
		if err != nil {
			lock.Close()
			admin.Close()
		}
	}()
	if s.kind == "mysql" {
		var cs, coll sql.NullString
		err := admin.QueryRowContext(ctx, `SELECT default_character_set_name, default_collation_name
			FROM information_schema.schemata WHERE schema_name = DATABASE()`).Scan(&cs, &coll)
		switch {
		case errors.Is(err, sql.ErrNoRows): // no database in the DSN: the server's defaults
		case err != nil:
			return err
		case cs.Valid && coll.Valid:
			// Tables in the run's databases get the character set the
			// DSN's database would have given them.
			s.mysqlOpts = " CHARACTER SET " + cs.String + " COLLATE " + coll.String
		}
	}
	ok, err := s.tryLock(ctx, runID)
	if err != nil {
		return fmt.Errorf("taking the run's lock: %w", err)
	}
	if !ok {
		return fmt.Errorf("the run's lock %s is held by another session", runID)
	}
	s.created = map[string]*nsCreate{}
	s.raws = map[string]*sql.DB{}
	if !keepNamespaces() {
		if err := s.sweep(ctx); err != nil {
			return fmt.Errorf("dropping the namespaces of runs that died: %w", err)
		}
	}
	return nil
}

// lockQuery returns the query and arguments of the lock (or unlock) of the
// run named run.
func (s *nsServer) lockQuery(run string, unlock bool) (string, []any) {
	if s.kind == "mysql" {
		if unlock {
			return `SELECT RELEASE_LOCK(?)`, []any{run}
		}
		return `SELECT GET_LOCK(?, 0)`, []any{run}
	}
	// A two-key advisory lock: a fixed first key ("kmse") and the run's id.
	id, err := strconv.ParseUint(strings.TrimPrefix(run, nsPrefix), 16, 32)
	if err != nil {
		panic(err) // run names come from runID and nsRE
	}
	args := []any{int64(0x6b6d7365), int64(int32(uint32(id)))}
	if unlock {
		return `SELECT pg_advisory_unlock($1::int4, $2::int4)`, args
	}
	return `SELECT pg_try_advisory_lock($1::int4, $2::int4)`, args
}

// tryLock takes the lock of the run named run on s's lock session, without
// waiting; it reports whether it got it.
func (s *nsServer) tryLock(ctx context.Context, run string) (bool, error) {
	q, args := s.lockQuery(run, false)
	var got sql.NullBool
	if err := s.lock.QueryRowContext(ctx, q, args...).Scan(&got); err != nil {
		return false, err
	}
	return got.Valid && got.Bool, nil
}

func (s *nsServer) unlock(ctx context.Context, run string) error {
	q, args := s.lockQuery(run, true)
	_, err := s.lock.ExecContext(ctx, q, args...)
	return err
}

// namespaces lists the namespaces of every run, by run.
func (s *nsServer) namespaces(ctx context.Context) (map[string][]string, error) {
	q := `SELECT nspname FROM pg_catalog.pg_namespace`
	if s.kind == "mysql" {
		q = `SELECT schema_name FROM information_schema.schemata`
	}
	rows, err := s.admin.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	runs := map[string][]string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if m := nsRE.FindStringSubmatch(name); m != nil {
			run := nsPrefix + m[1]
			runs[run] = append(runs[run], name)
		}
	}
	return runs, rows.Err()
}

// runNamespaces lists this run's namespaces, as the server has them.
func (s *nsServer) runNamespaces(ctx context.Context) ([]string, error) {
	runs, err := s.namespaces(ctx)
	if err != nil {
		return nil, err
	}
	names := runs[runID]
	sort.Strings(names)
	return names, nil
}

// sweep drops the namespaces of runs whose lock nobody holds: runs that
// died before dropping them. A live run takes its lock before it creates a
// namespace, so its namespaces are never taken for a dead run's.
func (s *nsServer) sweep(ctx context.Context) error {
	runs, err := s.namespaces(ctx)
	if err != nil {
		return err
	}
	for run, names := range runs {
		if run == runID {
			continue
		}
		dead, err := s.tryLock(ctx, run)
		if err != nil {
			return err
		}
		if !dead {
			continue
		}
		err = s.drop(ctx, names)
		if uerr := s.unlock(ctx, run); err == nil {
			err = uerr
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "kmsenc tests: dropped %s's %d namespaces on %s, left by a run that ended without dropping them (it died, or ran with KMSENC_TEST_KEEP)\n", run, len(names), s.kind)
	}
	return nil
}

// drop drops namespaces, with their tables: on PostgreSQL in one
// statement, on MySQL (one database a statement) a few at a time.
func (s *nsServer) drop(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if s.kind != "mysql" {
		q := `DROP SCHEMA IF EXISTS "` + strings.Join(names, `", "`) + `" CASCADE`
		if _, err := s.admin.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("dropping %s: %w", strings.Join(names, ", "), err)
		}
		return nil
	}
	work := make(chan string)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range work {
				if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
					errs <- fmt.Errorf("dropping %s: %w", name, err)
				}
			}
		}()
	}
	for _, name := range names {
		work <- name
	}
	close(work)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// finish drops this run's namespaces (unless KMSENC_TEST_KEEP is set) and
// releases the run's lock. It does nothing on a server the run never
// started on.
func (s *nsServer) finish() error {
	if s.admin == nil || s.startErr != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s.mu.Lock()
	for _, db := range s.raws {
		db.Close()
	}
	s.raws = nil
	s.mu.Unlock()
	defer s.admin.Close()
	defer s.lock.Close() // the server releases the lock with the session
	names, err := s.runNamespaces(ctx)
	if err != nil {
		return err
	}
	if keepNamespaces() {
		if len(names) > 0 {
			fmt.Fprintf(os.Stderr, "kmsenc tests: KMSENC_TEST_KEEP is set: %s keeps %s\n", s.kind, strings.Join(names, ", "))
		}
		return nil
	}
	return s.drop(ctx, names)
}

// reachable reports whether s's server answers, without failing.
func (s *nsServer) reachable() bool {
	db, err := sql.Open(s.driver, s.serverDSN())
	if err != nil {
		return false
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx) == nil
}

// postgresDSNIn returns the PostgreSQL test DSN working in the schema ns.
func postgresDSNIn(ns string) (string, error) {
	if !strings.HasPrefix(postgresDSN(), "postgres://") && !strings.HasPrefix(postgresDSN(), "postgresql://") {
		return "", fmt.Errorf("KMSENC_TEST_POSTGRES_DSN must be a URL (postgres://...)")
	}
	return withParamsErr(postgresDSN(), map[string]string{"search_path": ns})
}

// postgresTestDSN is postgresDSNIn for t's namespace.
func postgresTestDSN(t testing.TB) string {
	t.Helper()
	dsn, err := postgresDSNIn(pgServer.ns(t))
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// mysqlDSNIn returns the MySQL test DSN working in the database ns.
func mysqlDSNIn(ns string) (*gomysql.Config, error) {
	cfg, err := gomysql.ParseDSN(mysqlDSN())
	if err != nil {
		return nil, err
	}
	cfg.DBName = ns
	return cfg, nil
}
