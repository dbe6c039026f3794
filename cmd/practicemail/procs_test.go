package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/store"
)

// variant writes the harness's configuration with each old string replaced
// by its new one, to path (relative to the harness's directory), and
// returns the file's path.
func (h *harness) variant(path string, oldNew ...string) string {
	h.t.Helper()
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		h.t.Fatal(err)
	}
	s := string(cfg)
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(s, oldNew[i]) {
			h.t.Fatalf("the configuration lacks %q", oldNew[i])
		}
		s = strings.ReplaceAll(s, oldNew[i], oldNew[i+1])
	}
	path = filepath.Join(h.dir, path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// run runs a command with the configuration at path and returns its
// standard output and standard error apart, and its error.
func (h *harness) run(path string, args ...string) (stdout, stderr string, err error) {
	var out, errOut logtest.Buffer
	m := h.main()
	m.Stdout, m.Stderr = &out, &errOut
	err = m.Execute(context.Background(), append(args, "--config", path))
	return out.String(), errOut.String(), err
}

// withoutFeeds is the harness's configuration with its feeds list cut off.
func (h *harness) withoutFeeds() string {
	h.t.Helper()
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		h.t.Fatal(err)
	}
	path := filepath.Join(h.dir, "no-feeds.yaml")
	if err := os.WriteFile(path, cfg[:strings.Index(string(cfg), "feeds:")], 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// A `scheduler` started as a standby with a configuration naming no feeds
// switched off the running scheduler's feed. Now only the leader applies
// its configuration; the standby says how its own differs.
func TestAStandbySchedulerWithoutFeedsLeavesTheRunningOnesFeed(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}})
	h.start()
	h.waitFor("the scheduler to lead", 10*time.Second, func() bool { return strings.Contains(h.logs.String(), "leader=true") })
	h.waitPolls(1)

	ctx, cancel := context.WithCancel(context.Background())
	standbyLog := &logtest.Buffer{}
	m := h.main()
	m.Stdout, m.Stderr = standbyLog, standbyLog
	done := make(chan error, 1)
	go func() { done <- m.Execute(ctx, []string{"scheduler", "--config", h.withoutFeeds()}) }()
	defer func() { cancel(); <-done }()
	h.waitFor("the standby's warning", 20*time.Second, func() bool {
		return strings.Contains(standbyLog.String(), "config_differs_from_leader")
	})
	if !strings.Contains(standbyLog.String(), "feed blog: the running scheduler polls it, this configuration does not name it") {
		t.Fatalf("the standby's warning does not name the feed:\n%s", standbyLog.String())
	}
	f, err := h.db.FeedByName(context.Background(), "blog")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Enabled {
		t.Fatalf("a standby scheduler without feeds disabled the running scheduler's feed\nstandby:\n%s", standbyLog.String())
	}
	h.waitPolls(2) // and it is still polled
}

// `poll` from another terminal with a configuration saying every 15m reset
// a feed the running scheduler polls every hour (or 30 s) to 15 minutes.
// Now it polls once and keeps the scheduler's interval, and says that the
// two configurations differ.
func TestPollBesideARunningSchedulerKeepsItsInterval(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}})
	h.config = h.variant("practicemail.yaml", "every: 1s", "every: 1h")
	h.start()
	h.waitFor("the first poll", 20*time.Second, func() bool {
		f, err := h.db.FeedByName(context.Background(), "blog")
		return err == nil && f.Baselined
	})
	other := h.variant("other.yaml", "every: 1h", "every: 15m")
	out, stderr, err := h.run(other, "poll")
	if err != nil {
		t.Fatalf("poll: %v\n%s", err, stderr)
	}
	if want := "feed blog: this configuration says every 15m0s, the running scheduler uses 1h0m0s"; !strings.Contains(stderr, want) {
		t.Fatalf("poll did not say how its configuration differs; want %q in:\n%s", want, stderr)
	}
	if !strings.Contains(out, "blog: ") {
		t.Fatalf("poll did not poll the feed:\n%s", out)
	}
	f, err := h.db.FeedByName(context.Background(), "blog")
	if err != nil {
		t.Fatal(err)
	}
	if until := time.Until(f.NextPollAt); until < 50*time.Minute || f.Every != time.Hour {
		t.Fatalf("after poll from another terminal: every %s, next poll in %s; want the scheduler's hour", f.Every, until)
	}
}

// `poll` exited 0 when a feed could not be read. Now it still polls and
// reports every feed, then fails with one line per feed that failed.
func TestPollFailsWithOneLinePerFailedFeed(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}})
	broken := h.variant("broken.yaml", "feeds:\n", fmt.Sprintf("feeds:\n  - name: gone\n    url: %s/gone\n", h.feed.URL))
	out, _, err := h.run(broken, "poll")
	if err == nil {
		t.Fatalf("poll with a feed answering 404 succeeded:\n%s", out)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "feed gone could not be polled: ") || strings.Contains(msg, "\n") {
		t.Fatalf("poll's error = %q, want one line naming the feed", msg)
	}
	if !strings.Contains(out, "blog: first poll: 1 items recorded") {
		t.Fatalf("poll did not report the feed that worked:\n%s", out)
	}
}

// The password in a feed URL (https://user:pass@host/feed) showed in the
// start-up banner, in `status`, and in the error of a feed that was not a
// feed.
func TestAFeedPasswordIsNeverShown(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "this is not a feed")
	}))
	defer page.Close()
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}})
	withPassword := strings.Replace(h.feed.FeedURL(), "http://", "http://reader:s3cret@", 1)
	notFeed := strings.Replace(page.URL, "http://", "http://reader:s3cret@", 1) + "/feed"
	h.config = h.variant("practicemail.yaml", h.feed.FeedURL(), withPassword,
		"feeds:\n", fmt.Sprintf("feeds:\n  - name: page\n    url: %s\n", notFeed))
	pollOut, _, pollErr := h.run(h.config, "poll")
	if pollErr == nil {
		t.Fatal("poll of a page that is not a feed succeeded")
	}
	h.start()
	statusOut, _, err := h.run(h.config, "status")
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"banner and log": h.logs.String(), "status": statusOut,
		"poll": pollOut + pollErr.Error()} {
		if strings.Contains(text, "s3cret") {
			t.Errorf("the %s shows the feed's password:\n%s", what, text)
		}
	}
	if !strings.Contains(h.logs.String(), "reader:xxxxx@") || !strings.Contains(statusOut, "reader:xxxxx@") {
		t.Errorf("the feed URL is not shown masked\nbanner:\n%s\nstatus:\n%s", h.logs.String(), statusOut)
	}
}

// Run from another directory, `status` and `subscribers list` made a new
// empty database there and said there was nobody. A relative database path
// is the configuration file's directory's, and a command that only reads
// never creates a database.
func TestReadOnlyCommandsNeverCreateADatabase(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	conf := h.variant("conf/practicemail.yaml", fmt.Sprintf("url: %q", h.dbURL), `url: "sqlite:data/pm.db"`)
	t.Chdir(t.TempDir()) // another directory
	want := filepath.Join(h.dir, "conf", "data", "pm.db")
	for _, args := range [][]string{{"status"}, {"subscribers", "list"}, {"subscribers", "export"}, {"poll", "--approve"}} {
		_, _, err := h.run(conf, args...)
		wantErr := "no database at " + want + ": run `practicemail migrate` or `practicemail run` first"
		if err == nil || err.Error() != wantErr {
			t.Fatalf("practicemail %v before any database: %v; want %q", args, err, wantErr)
		}
	}
	// check says the database is missing, rather than making an empty one.
	if out, _, err := h.run(conf, "check"); err == nil || !strings.Contains(out, "database: failed: no database at "+want) {
		t.Fatalf("practicemail check before any database: %v\n%s", err, out)
	}
	for _, p := range []string{want, "data/pm.db"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a read-only command made %s (%v)", p, err)
		}
	}
	if _, _, err := h.run(conf, "subscribers", "add", "anna@example.com", "--confirmed"); err != nil {
		t.Fatal(err)
	}
	out, _, err := h.run(conf, "subscribers", "list")
	if err != nil || !strings.Contains(out, "anna@example.com") {
		t.Fatalf("subscribers list from another directory: %v\n%s", err, out)
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("the database is not beside the configuration: %v", err)
	}
}

// Held posts could only all be approved. Now `poll` lists them with their
// IDs; --approve ID… sends only those, --skip ID… and --skip-all mark them
// never to be sent, and an ID that is not a held post refuses the lot.
func TestHeldPostsAreApprovedOrSkippedByID(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: 1})
	h.exec("poll") // the first poll records what is there
	h.feed.set(postItem(1), postItem(2), postItem(3), postItem(4), postItem(5))
	out := h.exec("poll")
	ctx := context.Background()
	held, err := h.db.PostsInState(ctx, store.PostHeld, 0)
	if err != nil || len(held) != 4 {
		t.Fatalf("%d held posts (%v), want 4", len(held), err)
	}
	for _, p := range held {
		if line := fmt.Sprintf("%d  %s", p.ID, p.Title); !strings.Contains(out, line) {
			t.Fatalf("poll does not list held post %q:\n%s", line, out)
		}
	}
	a, b, c, d := held[0].ID, held[1].ID, held[2].ID, held[3].ID

	_, _, err = h.run(h.config, "poll", "--approve", fmt.Sprint(a), "99999")
	if err == nil || !strings.Contains(err.Error(), "no post 99999") || !strings.Contains(err.Error(), "nothing changed") {
		t.Fatalf("poll --approve with an unknown ID: %v; want it refused", err)
	}
	if out = h.exec("poll", "--approve", fmt.Sprint(a)); !strings.Contains(out, fmt.Sprintf("approved: %d %s", a, held[0].Title)) {
		t.Fatalf("poll --approve %d said:\n%s", a, out)
	}
	h.exec("poll", "--skip", fmt.Sprint(b), fmt.Sprint(c))
	if out = h.exec("poll", "--skip-all"); !strings.Contains(out, fmt.Sprintf("skipped (never sent): %d", d)) {
		t.Fatalf("poll --skip-all said:\n%s", out)
	}
	got := map[int64]string{}
	for _, id := range []int64{a, b, c, d} {
		p, err := h.db.Post(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got[id] = p.State
	}
	want := map[int64]string{a: store.PostNew, b: store.PostSkipped, c: store.PostSkipped, d: store.PostSkipped}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("post states (-want +got):\n%s", diff)
	}
}
