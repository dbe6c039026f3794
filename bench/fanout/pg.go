package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// onPostgres is the variant (a -sqlite-sync entry, see runSession) that runs
// practicemail on PostgreSQL instead of SQLite: a database of the run's own,
// made on the server -pg names and dropped after.
const onPostgres = "postgres"

// pgDB is one run's PostgreSQL database.
type pgDB struct {
	admin string // a URL of the server's database to create and drop from
	name  string
	url   string // the run's database
}

// createPG makes a fresh database for one run on the server admin names.
func createPG(ctx context.Context, admin string) (*pgDB, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return nil, fmt.Errorf("-pg: %w", err)
	}
	p := &pgDB{admin: admin, name: fmt.Sprintf("bench_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)}
	if err := p.adminExec(ctx, "CREATE DATABASE "+p.name); err != nil {
		return nil, err
	}
	u.Path = "/" + p.name
	p.url = u.String()
	if d := os.Getenv("BENCH_PG_EXPLAIN"); d != "" {
		// Plans of statements slower than d in the server's log, to find
		// what costs the server its CPU.
		for _, set := range []string{"session_preload_libraries = 'auto_explain'", "auto_explain.log_min_duration = '" + d + "'", "auto_explain.log_analyze = on"} {
			if err := p.adminExec(ctx, "ALTER DATABASE "+p.name+" SET "+set); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func (p *pgDB) adminExec(ctx context.Context, stmt string) error {
	db, err := sql.Open("pgx", p.admin)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// drop removes the run's database, ending what is still connected to it.
func (p *pgDB) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.adminExec(ctx, "DROP DATABASE IF EXISTS "+p.name+" WITH (FORCE)"); err != nil {
		fmt.Fprintln(os.Stderr, "   drop:", err)
	}
}

// seedPG is seed for PostgreSQL: the same subscribers, written a few
// thousand a statement.
func seedPG(ctx context.Context, dbURL string, n int) (time.Duration, error) {
	start := time.Now()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	now := time.Now().UnixMilli()
	const chunk = 5000
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		ids := make([]int64, 0, hi-lo)
		emails := make([]string, 0, hi-lo)
		names := make([]string, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids, emails, names = append(ids, int64(i+1)), append(emails, subscriberEmail(i)), append(names, subscriberName(i))
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO subscribers (id, email, name, status, consent_source,
			consent_at, confirmed_at, created_at, updated_at)
			SELECT id, email, name, 'active', 'bench', $4, $4, $4, $4 FROM unnest($1::bigint[], $2::text[], $3::text[]) AS s(id, email, name)`,
			ids, emails, names, now); err != nil {
			return 0, fmt.Errorf("seed: %w", err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO subscriber_topics (topic, subscriber_id)
			SELECT 'posts', id FROM unnest($1::bigint[]) AS s(id)`, ids); err != nil {
			return 0, fmt.Errorf("seed topics: %w", err)
		}
	}
	// Later sign-ups take IDs after the seeded ones.
	if _, err := db.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('subscribers', 'id'), $1)`, n); err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	return time.Since(start), nil
}

// openLedgerPG opens the bench's view of the run's database. Its
// statistics date from the seeding, when the ledger was empty, and a
// planner that takes the ledger for empty scans all of it for a question
// the open-rows index answers at its first entry: this connection asks
// the planner for index paths.
func openLedgerPG(dbURL string) (*ledger, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("enable_seqscan", "off") // pgx passes it to the server as a setting
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &ledger{db: db}, nil
}

// ledgerApp names the bench's own connection to the run's database, whose
// backend pgServer leaves out.
const ledgerApp = "bench-ledger"

// withApp is dbURL with the bench's application_name.
func withApp(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	q := u.Query()
	q.Set("application_name", ledgerApp)
	u.RawQuery = q.Encode()
	return u.String()
}

// pgServer is the CPU time of the PostgreSQL backends serving the run's
// database, sampled before and after the fan-out: per backend process, from
// /proc (so the bench must run on the server's machine), leaving out the
// bench's own, which polls the ledger. A backend that
// exits between the samples is not counted; practicemail keeps its
// connections open, so few do.
type pgServer struct {
	ledger *ledger // asks pg_stat_activity for the backends
	name   string  // the run's database
	before map[int]time.Duration
	xacts  int64 // commits and rollbacks in the run's database, before
}

// pgBackends is the CPU time of each backend connected to the database.
func (p *pgServer) backends(ctx context.Context) (map[int]time.Duration, int64) {
	out := map[int]time.Duration{}
	rows, err := p.ledger.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name <> $2`, p.name, ledgerApp)
	if err != nil {
		return out, -1
	}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			if d, err := procCPU(pid); err == nil {
				out[pid] = d
			}
		}
	}
	rows.Close()
	var x int64 = -1
	_ = p.ledger.db.QueryRowContext(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1`, p.name).Scan(&x)
	return out, x
}

func (p *pgServer) start(ctx context.Context) { p.before, p.xacts = p.backends(ctx) }

// stop returns the backends' CPU time and the transactions since start.
func (p *pgServer) stop(ctx context.Context) (time.Duration, int64) {
	// pg_stat_database is updated when a backend reports, at most every
	// half second or so: give it the time.
	time.Sleep(time.Second)
	after, x := p.backends(ctx)
	if os.Getenv("BENCH_PG_TABLES") != "" {
		rows, err := p.ledger.db.QueryContext(ctx, `SELECT relname, seq_scan, seq_tup_read, COALESCE(idx_scan, 0), COALESCE(idx_tup_fetch, 0), n_tup_ins, n_tup_upd, n_tup_hot_upd
			FROM pg_stat_user_tables WHERE seq_scan + COALESCE(idx_scan, 0) > 0 ORDER BY seq_tup_read + COALESCE(idx_tup_fetch, 0) DESC`)
		if err == nil {
			fmt.Fprintln(os.Stderr, "   table seq_scan seq_tup_read idx_scan idx_tup_fetch ins upd hot_upd")
			for rows.Next() {
				var name string
				var a, b, c, d, e, f, g int64
				if rows.Scan(&name, &a, &b, &c, &d, &e, &f, &g) == nil {
					fmt.Fprintln(os.Stderr, "  ", name, a, b, c, d, e, f, g)
				}
			}
			rows.Close()
		}
	}
	var d time.Duration
	for pid, t := range after {
		d += t - p.before[pid] // a new backend started from 0
		if os.Getenv("BENCH_PG_TABLES") != "" {
			var q string
			_ = p.ledger.db.QueryRowContext(ctx, `SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&q)
			fmt.Fprintf(os.Stderr, "   backend %d: %s (before: %v) %s\n", pid, t-p.before[pid], p.before[pid], q)
		}
	}
	if x < 0 || p.xacts < 0 {
		return d, -1
	}
	return d, x - p.xacts
}

// pgReport is the table of the PostgreSQL runs' server side, if any.
func pgReport(results []result) string {
	var b strings.Builder
	for _, r := range results {
		if r.pm.sync != onPostgres {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\nOn PostgreSQL, CPU µs per message of practicemail and of the server's backends serving its database, and transactions per message:\n\n")
			b.WriteString("| N | practicemail | PostgreSQL backends | transactions/msg |\n|---:|---:|---:|---:|\n")
		}
		x := "?"
		if r.pm.pgXacts >= 0 {
			x = strconv.FormatFloat(float64(r.pm.pgXacts)/float64(r.n), 'f', 2, 64)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.label(), perMsgOf(r.pm.use.child, r.n), perMsgOf(r.pm.pgCPU, r.n), x)
	}
	return b.String()
}

// openLedger opens the bench's view of the session's database.
func (s *session) openLedger() (*ledger, error) {
	if s.pg != nil {
		return openLedgerPG(withApp(s.pg.url))
	}
	return openLedger(s.dbPath)
}

// pgServer starts measuring the PostgreSQL server's side of the session,
// if it runs on PostgreSQL.
func (s *session) pgServer(ctx context.Context, l *ledger) *pgServer {
	if s.pg == nil {
		return nil
	}
	p := &pgServer{ledger: l, name: s.pg.name}
	p.start(ctx)
	return p
}
