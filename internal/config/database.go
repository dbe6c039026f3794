package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hibiken/asynq"
)

// The engines Database.Driver names.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// sqlitePrefixes are the written forms of a SQLite URL, longest first.
var sqlitePrefixes = []string{"sqlite://", "sqlite:", "file://", "file:"}

// Driver names the SQL engine of URL, DriverSQLite or DriverPostgres, or ""
// when URL is neither. It is the engine, not a database/sql driver name.
func (d Database) Driver() string {
	driver, _ := d.parse()
	return driver
}

// Path is the SQLite database file, or "" when the database is not SQLite.
// Load makes a relative path relative to the configuration file's directory.
func (d Database) Path() string {
	_, path := d.parse()
	path, _, _ = strings.Cut(path, "?")
	return path
}

// DSN is what to open: the SQLite file path, or the PostgreSQL URL as given.
func (d Database) DSN() string {
	driver, path := d.parse()
	if driver == DriverPostgres {
		return d.URL
	}
	return path
}

func (d Database) parse() (driver, path string) {
	u := strings.TrimSpace(d.URL)
	lower := strings.ToLower(u)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return DriverPostgres, ""
	}
	for _, prefix := range sqlitePrefixes {
		if strings.HasPrefix(lower, prefix) {
			return DriverSQLite, u[len(prefix):]
		}
	}
	if !strings.Contains(u, "://") && strings.HasSuffix(lower, ".db") {
		return DriverSQLite, u
	}
	return "", ""
}

// check never quotes the URL: a PostgreSQL URL may hold a password.
func (d Database) check(p *Problems) {
	const key = "database.url"
	if strings.TrimSpace(d.URL) == "" {
		p.add(key, "required, for example sqlite:data/practicemail.db")
		return
	}
	switch d.Driver() {
	case DriverSQLite:
		path := d.Path()
		if path == "" {
			p.add(key, "names no SQLite file, as in sqlite:data/practicemail.db")
		} else if strings.Contains(path, "#") {
			p.add(key, "must not carry a fragment (#)")
		} else if _, query, ok := strings.Cut(d.URL, "?"); ok && !sqliteQueryOK(query) {
			p.add(key, "the one SQLite setting a URL may carry is ?synchronous=full or ?synchronous=normal; the store sets its own pragmas")
		}
	case DriverPostgres:
		if _, err := url.Parse(d.URL); err != nil {
			p.add(key, "not a URL: %v", urlErr(err))
		}
	default:
		got := d.URL // a path without a scheme holds no password
		if scheme, _, ok := strings.Cut(d.URL, ":"); ok {
			got = scheme + ":…"
		}
		p.add(key, "must be sqlite:PATH, file:PATH, a path ending in .db, or postgres://… (got %q)", got)
	}
}

// sqliteQueryOK reports whether a SQLite URL's query is the one setting the
// store reads from it: synchronous=full|normal (see store.sqliteDSN).
func sqliteQueryOK(query string) bool {
	v, err := url.ParseQuery(query)
	if err != nil || len(v) != 1 || len(v["synchronous"]) != 1 {
		return false
	}
	s := strings.ToLower(v.Get("synchronous"))
	return s == "full" || s == "normal"
}

// check never quotes the URL: it may hold a password.
func (r Redis) check(p *Problems) {
	if r.URL == "" {
		return
	}
	if _, err := r.ConnOpt(); err != nil {
		p.add("redis.url", "%v", err)
	}
}

// ConnOpt turns URL into asynq's connection options. It reads what
// asynq.ParseRedisURI reads (redis://, rediss://, redis-sentinel://…?master=,
// redis-socket://) plus redis-cluster://host:port,host:port.
func (r Redis) ConnOpt() (asynq.RedisConnOpt, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", urlErr(err))
	}
	switch u.Scheme {
	case "redis", "rediss", "redis-socket":
	case "redis-sentinel":
		if u.Host == "" || u.Query().Get("master") == "" {
			return nil, errors.New("must name the sentinels and the master, as in redis-sentinel://10.0.0.1:26379,10.0.0.2:26379?master=mymaster")
		}
	case "redis-cluster":
		return clusterOpt(u)
	default:
		return nil, fmt.Errorf("must start with redis://, rediss://, redis-sentinel://, redis-cluster:// or redis-socket:// (got %q)", u.Scheme)
	}
	if u.Scheme != "redis-socket" && u.Host == "" {
		return nil, errors.New("must name a host, as in redis://127.0.0.1:6379/0")
	}
	opt, err := asynq.ParseRedisURI(r.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	return opt, nil
}

func clusterOpt(u *url.URL) (asynq.RedisConnOpt, error) {
	addrs := strings.Split(u.Host, ",")
	for _, a := range addrs {
		if a == "" {
			return nil, errors.New("must name the cluster nodes, as in redis-cluster://10.0.0.1:7000,10.0.0.2:7000")
		}
	}
	password, _ := u.User.Password()
	return asynq.RedisClusterClientOpt{Addrs: addrs, Username: u.User.Username(), Password: password}, nil
}
