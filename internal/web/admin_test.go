package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/metrics"
	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/status"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
	"github.com/practicemail/practicemail/worker"
)

const adminPassword = "correct-horse-battery-staple"

// withMetrics turns the admin routes on, with the metrics of the server's
// own database.
func withMetrics(s *Server) {
	s.AdminPassword = adminPassword
	s.Metrics = metrics.Handler(metrics.Source{DB: s.DB, Log: s.Log})
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// TestAdminRoutesDoNotExistWithoutAPassword: no secrets.admin_password,
// no /metrics, whatever the request carries; the same with a password but
// nothing to serve.
func TestAdminRoutesDoNotExistWithoutAPassword(t *testing.T) {
	e := newEnv(t, storetest.URL(t, "sqlite"), func(s *Server) {
		withMetrics(s)
		s.AdminPassword = ""
	})
	for _, auth := range []string{"", "Bearer ", "Bearer x", basic("", "")} {
		if r := e.get("/metrics", "Authorization", auth); r.code != 404 || strings.Contains(r.body, "practicemail_") {
			t.Errorf("/metrics with no admin password, Authorization %q = %d:\n%s", auth, r.code, r.body)
		}
	}
	e = newEnv(t, storetest.URL(t, "sqlite"), func(s *Server) { s.AdminPassword = adminPassword })
	if r := e.get("/metrics", "Authorization", "Bearer "+adminPassword); r.code != 404 {
		t.Errorf("/metrics with no handler = %d", r.code)
	}
}

// TestMetricsNeedTheAdminPassword: a bearer token or a Basic password
// (any user name) equal to the admin password, and nothing else, opens
// /metrics; the rest get 401 with a Basic challenge and learn nothing. No
// answer may be cached, and no password given, right or wrong, is logged.
func TestMetricsNeedTheAdminPassword(t *testing.T) {
	e := newEnv(t, storetest.URL(t, "sqlite"), withMetrics)
	for _, c := range []struct {
		auth string
		want int
	}{
		{"", 401},
		{"Bearer", 401},
		{"Bearer ", 401},
		{"Bearer wrong-password-guessed-here", 401},
		{"Bearer " + adminPassword + "x", 401},
		{"Bearer " + adminPassword[:len(adminPassword)-1], 401},
		{"Bearer " + strings.ToUpper(adminPassword), 401},
		{"Token " + adminPassword, 401},
		{basic(adminPassword, ""), 401},
		{basic("admin", "wrong-password-guessed-here"), 401},
		{"Basic " + adminPassword, 401}, // not base64 of user:password
		{"Bearer " + adminPassword, 200},
		{"bearer " + adminPassword, 200},
		{"Bearer  " + adminPassword + " ", 200},
		{basic("admin", adminPassword), 200},
		{basic("", adminPassword), 200},
		{basic("prometheus", adminPassword), 200},
	} {
		r := e.get("/metrics", "Authorization", c.auth)
		if r.code != c.want {
			t.Errorf("Authorization %q: %d, want %d", c.auth, r.code, c.want)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Authorization %q: Cache-Control %q", c.auth, r.header.Get("Cache-Control"))
		}
		switch c.want {
		case 401:
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Basic realm="practicemail admin"`) ||
				strings.Contains(r.body, "practicemail_") {
				t.Errorf("Authorization %q: refused with %v:\n%s", c.auth, r.header, r.body)
			}
		case 200:
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || !strings.Contains(r.body, "practicemail_up{") {
				t.Errorf("Authorization %q: %v:\n%s", c.auth, r.header, r.body)
			}
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, adminPassword) || strings.Contains(logs, "guessed") ||
		!strings.Contains(logs, "admin_auth_failed") {
		t.Errorf("the log:\n%s", logs)
	}
	// Another method is not the route.
	if r := e.do(http.MethodPost, "/metrics", "", "", "Authorization", "Bearer "+adminPassword); r.code == 200 {
		t.Errorf("POST /metrics = %d", r.code)
	}
}

// TestAdminGuessesAreLimitedPerClient: every admin request counts against
// its client before the password is looked at, so once over the limit even
// the right password gets 429: a guesser learns nothing more. Another
// client is not affected.
func TestAdminGuessesAreLimitedPerClient(t *testing.T) {
	rules := Rules{AdminIP: ratelimit.Rule{Name: "admin-ip", Limit: 3, Per: time.Minute}}
	e := newEnv(t, storetest.URL(t, "sqlite"), func(s *Server) {
		limited(t, rules)(s)
		withMetrics(s)
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	var codes []int
	for _, pw := range []string{"guess-one-xxxxxxxx", "guess-two-xxxxxxxx", "guess-three-xxxxxx", adminPassword} {
		r := e.get("/metrics", "Authorization", "Bearer "+pw, "X-Forwarded-For", "203.0.113.9")
		codes = append(codes, r.code)
		if r.code == 429 && (r.header.Get("Retry-After") == "" || strings.Contains(r.body, "practicemail_")) {
			t.Errorf("429 with %v:\n%s", r.header, r.body)
		}
	}
	if want := []int{401, 401, 401, 429}; !slices.Equal(codes, want) {
		t.Errorf("three guesses then the password from one client: %v, want %v", codes, want)
	}
	if r := e.get("/metrics", "Authorization", "Bearer "+adminPassword, "X-Forwarded-For", "198.51.100.7"); r.code != 200 {
		t.Errorf("another client: %d", r.code)
	}
}

// TestMetricsCountWhatTheDatabaseHolds, on both engines: the subscribers
// by status (an erased person as erased), a sign-up's confirmation in the
// ledger, 0 for the states nobody is in, and no address anywhere.
func TestMetricsCountWhatTheDatabaseHolds(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storetest.URL(t, engine), withMetrics)
			e.add("ann@example.com", store.StatusActive, "posts")
			e.add("bo@example.com", store.StatusActive, "posts")
			e.add("cy@example.com", store.StatusUnsubscribed, "posts")
			e.add("di@example.com", store.StatusBounced, "posts")
			gone := e.add("ed@example.com", store.StatusActive, "posts")
			if err := e.db.EraseSubscriberID(t.Context(), gone, []byte(testKey)); err != nil {
				t.Fatal(err)
			}
			if r := e.signup("fay@example.com"); r.code >= 300 {
				t.Fatalf("sign-up: %d", r.code)
			}
			r := e.get("/metrics", "Authorization", "Bearer "+adminPassword)
			for _, want := range []string{
				`practicemail_up{source="database"} 1`,
				`practicemail_subscribers{status="active"} 2`,
				`practicemail_subscribers{status="pending"} 1`,
				`practicemail_subscribers{status="unsubscribed"} 1`,
				`practicemail_subscribers{status="bounced"} 1`,
				`practicemail_subscribers{status="complained"} 0`,
				`practicemail_subscribers{status="erased"} 1`,
				`practicemail_deliveries{state="queued"} 1`,
				`practicemail_deliveries{state="sent"} 0`,
				`practicemail_deliveries_unfolded 0`,
				`practicemail_posts{state="sent"} 0`,
				`practicemail_bounces_30d{type="hard"} 0`,
			} {
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(r.body) {
					t.Errorf("no line %q in:\n%s", want, r.body)
				}
			}
			if strings.Contains(r.body, "@") || strings.Contains(r.body, `source="redis"`) {
				t.Errorf("the metrics:\n%s", r.body)
			}
		})
	}
}

// TestMetricsSayWhatCouldNotBeRead: with the database closed and Redis not
// answering, a scrape still answers 200, with practicemail_up 0 for each
// and no count that could be mistaken for a real 0.
func TestMetricsSayWhatCouldNotBeRead(t *testing.T) {
	e := newEnv(t, storetest.URL(t, "sqlite"), func(s *Server) {
		s.AdminPassword = adminPassword
		// A port nothing listens on: the Redis is gone.
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
		insp := asynq.NewInspectorFromRedisClient(rdb)
		s.Metrics = metrics.Handler(metrics.Source{DB: s.DB, Log: s.Log,
			Queues: func() (map[string]worker.QueueSize, error) { return worker.QueueSizes(insp) }})
	})
	e.add("ann@example.com", store.StatusActive, "posts")
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	r := e.get("/metrics", "Authorization", "Bearer "+adminPassword)
	if r.code != 200 {
		t.Fatalf("scrape = %d:\n%s", r.code, r.body)
	}
	for _, want := range []string{`practicemail_up{source="database"} 0`, `practicemail_up{source="redis"} 0`} {
		if !strings.Contains(r.body, "\n"+want+"\n") {
			t.Errorf("no line %q in:\n%s", want, r.body)
		}
	}
	for _, not := range []string{"practicemail_subscribers", "practicemail_deliveries", "practicemail_queue_tasks"} {
		if strings.Contains(r.body, not) {
			t.Errorf("%s reported from sources that could not be read:\n%s", not, r.body)
		}
	}
	if !strings.Contains(e.logs.String(), "metrics_read_failed") {
		t.Errorf("the failures were not logged:\n%s", e.logs.String())
	}
}

// withStatus turns the admin page on, reading the server's own database
// and, unless queues is nil, those queues.
func withStatus(queues func() (map[string]worker.QueueSize, error)) func(*Server) {
	return func(s *Server) {
		s.AdminPassword = adminPassword
		s.Status = func(ctx context.Context) (status.Report, error) {
			return status.Read(ctx, status.Source{DB: s.DB, Location: time.UTC, Queues: queues, NoRedis: "not asked"}, false)
		}
	}
}

// TestAdminPageShowsWhatStatusSays, on both engines: the subscribers by
// status, the emails by state, the latest bounce with its address and
// reason, the task queues, all as tables, to the admin password only, and
// with the public pages' strict headers.
func TestAdminPageShowsWhatStatusSays(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storetest.URL(t, engine), withStatus(func() (map[string]worker.QueueSize, error) {
				return map[string]worker.QueueSize{"mail": {Pending: 3, Archived: 1}}, nil
			}))
			e.add("ann@example.com", store.StatusActive, "posts")
			e.add("bo@example.com", store.StatusActive, "posts")
			e.add("cy@example.com", store.StatusUnsubscribed, "posts")
			if _, err := e.db.RecordBounce(t.Context(), store.Bounce{Email: "bo@example.com", Type: store.BounceHard,
				Status: "5.1.1", Reason: "550 5.1.1 mailbox unavailable", Source: "test"}); err != nil {
				t.Fatal(err)
			}
			if r := e.signup("fay@example.com"); r.code >= 300 {
				t.Fatalf("sign-up: %d", r.code)
			}

			if r := e.get("/admin/"); r.code != 401 || strings.Contains(r.body, "ann@") || strings.Contains(r.body, "bo@") {
				t.Fatalf("/admin/ without the password = %d:\n%s", r.code, r.body)
			}
			r := e.get("/admin/", "Authorization", basic("therapist", adminPassword))
			if r.code != 200 || r.header.Get("Cache-Control") != "no-store" ||
				!strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") {
				t.Fatalf("/admin/ = %d %v:\n%s", r.code, r.header, r.body)
			}
			text := tableText(r.body)
			for _, want := range []string{
				"Subscribers | active 1 | pending 1 | unsubscribed 1 | bounced 1 | complained 0 | erased 0",
				"Emails by state | queued 1 | sending 0 | sent 0",
				"Bounces and complaints, last 30 days | hard 1 | soft 0 | complaint 0",
				"Latest bounces | When Address Type Reason | 2 Mar 2026 10:00 UTC bo@example.com hard 550 5.1.1 mailbox unavailable",
				"Task queues | Queue Pending Active Scheduled Retrying Archived (gave up) | mail 3 0 0 0 1",
				"Posts on their way | No post is being sent.",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("no %q in the page:\n%s", want, text)
				}
			}
		})
	}
}

// tableText is the admin page's sections as "Title | row | row", one line
// each, with the markup taken out.
func tableText(page string) string {
	var out []string
	for _, sec := range regexp.MustCompile(`(?s)<section.*?</section>`).FindAllString(page, -1) {
		title := strip(regexp.MustCompile(`(?s)<h2[^>]*>(.*?)</h2>`).FindStringSubmatch(sec)[1])
		parts := []string{title}
		rows := regexp.MustCompile(`(?s)<tr>(.*?)</tr>`).FindAllStringSubmatch(sec, -1)
		for _, row := range rows {
			parts = append(parts, strip(row[1]))
		}
		if len(rows) == 0 {
			parts = append(parts, strip(regexp.MustCompile(`(?s)</h2>(.*)</section>`).FindStringSubmatch(sec)[1]))
		}
		out = append(out, strings.Join(parts, " | "))
	}
	return strings.Join(out, "\n")
}

func strip(s string) string {
	return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(s, " ")), " ")
}

// TestAdminPageWhenASourceFails: Redis not answering is said on the page,
// which shows the rest; a database that cannot be read gets a 503 page
// that names nobody, never a 500.
func TestAdminPageWhenASourceFails(t *testing.T) {
	e := newEnv(t, storetest.URL(t, "sqlite"), withStatus(func() (map[string]worker.QueueSize, error) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
		defer rdb.Close()
		return worker.QueueSizes(asynq.NewInspectorFromRedisClient(rdb))
	}))
	e.add("ann@example.com", store.StatusActive, "posts")
	r := e.get("/admin/", "Authorization", "Bearer "+adminPassword)
	text := tableText(r.body)
	if r.code != 200 || !strings.Contains(text, "Task queues | Redis did not answer: list queues:") ||
		!strings.Contains(text, "Unknown while Redis does not answer.") || !strings.Contains(text, "active 1") {
		t.Fatalf("/admin/ with Redis gone = %d:\n%s", r.code, text)
	}
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	r = e.get("/admin/", "Authorization", "Bearer "+adminPassword)
	if r.code != 503 || !strings.Contains(r.body, "The database cannot be read") || strings.Contains(r.body, "ann@") {
		t.Fatalf("/admin/ with the database closed = %d:\n%s", r.code, r.body)
	}
	// Only the page itself: nothing below it is served yet.
	for _, path := range []string{"/admin/queues/", "/admin/x"} {
		if r := e.get(path, "Authorization", "Bearer "+adminPassword); r.code != 404 {
			t.Errorf("%s = %d, want 404", path, r.code)
		}
	}
}

// fanouts records the posts the admin page queues.
type fanouts struct {
	mu  sync.Mutex
	ids []int64
}

func (f *fanouts) EnqueueFanout(ctx context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, id)
	return nil
}

// holdPosts stores a poll that held posts with the given titles and
// returns their IDs.
func holdPosts(t *testing.T, e *env, titles ...string) []int64 {
	t.Helper()
	if err := e.db.SyncFeeds(t.Context(), []store.FeedSpec{{Name: "blog", URL: "https://blog.example/feed"}}); err != nil {
		t.Fatal(err)
	}
	f, err := e.db.FeedByName(t.Context(), "blog")
	if err != nil {
		t.Fatal(err)
	}
	var posts []store.Post
	for _, title := range titles {
		posts = append(posts, store.Post{Key: "guid:" + title, GUID: title, Title: title, Hash: "h" + title,
			URL: "https://blog.example/" + strings.ReplaceAll(title, " ", "-"), Published: e.clock.Now()})
	}
	if _, err := e.db.SavePoll(t.Context(), f.ID, store.PollOutcome{Held: posts, Next: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	held, err := e.db.PostsInState(t.Context(), store.PostHeld, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, p := range held {
		ids = append(ids, p.ID)
	}
	return ids
}

func (e *env) postStates() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, st := range []string{store.PostHeld, store.PostNew, store.PostSkipped} {
		posts, err := e.db.PostsInState(context.Background(), st, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, p := range posts {
			out[p.Title] = st
		}
	}
	return out
}

// TestHeldPostsAreDecidedOnTheAdminPage, on both engines: the page lists
// the held posts with a form each; sending one queues its fan-out, skipping
// one never sends it, and "all" decides the rest; the answer is a 303 back
// to the page, which says what was done. A post no longer held, a forged
// id, no decision, a post from another site's page and a request without
// the password change nothing.
func TestHeldPostsAreDecidedOnTheAdminPage(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			q := &fanouts{}
			e := newEnv(t, storetest.URL(t, engine), func(s *Server) {
				withStatus(nil)(s)
				s.Fanout = q
			})
			ids := holdPosts(t, e, "Old post one", "Old post two", "Old post three", "Old post four")
			auth := []string{"Authorization", "Bearer " + adminPassword}
			page := e.get("/admin/", auth...)
			if n := strings.Count(page.body, `<form method="post" action="/admin/held">`); page.code != 200 || n != 5 ||
				!strings.Contains(page.body, `<a href="https://blog.example/Old-post-one">Old post one</a>`) ||
				!strings.Contains(page.body, "Send all 4") {
				t.Fatalf("/admin/ with 4 held posts (%d forms):\n%s", n, page.body)
			}
			decide := func(decision string, header []string, id ...int64) response {
				v := url.Values{"decision": {decision}}
				for _, i := range id {
					v.Add("id", strconv.FormatInt(i, 10))
				}
				return e.postForm("/admin/held", v, header...)
			}
			// Refused, nothing changed.
			want := map[string]string{"Old post one": "held", "Old post two": "held", "Old post three": "held", "Old post four": "held"}
			for name, r := range map[string]response{
				"no password":     decide("send", nil, ids[0]),
				"wrong password":  decide("send", []string{"Authorization", "Bearer nope-nope-nope-nope"}, ids[0]),
				"another site":    decide("send", append([]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, auth...), ids[0]),
				"no decision":     decide("", auth, ids[0]),
				"an odd decision": decide("delete", auth, ids[0]),
				"no post":         decide("send", auth),
				"a forged id":     decide("send", auth, ids[0], 999999),
				"a negative id":   decide("send", auth, -ids[0]),
			} {
				if r.code < 400 || r.code >= 500 {
					t.Errorf("%s: %d, want a 4xx", name, r.code)
				}
				if d := cmpMaps(want, e.postStates()); d != "" {
					t.Fatalf("%s changed the posts: %s", name, d)
				}
			}
			if r := decide("send", auth, 0); r.code != 400 {
				t.Errorf("id 0: %d", r.code)
			}
			if len(q.ids) != 0 {
				t.Fatalf("refused requests queued %v", q.ids)
			}
			// One sent (named twice, decided once), one skipped, then the
			// two left, all at once.
			r := decide("send", auth, ids[0], ids[0])
			if r.code != 303 || r.header.Get("Location") != "/admin/?sent=1" {
				t.Fatalf("send one: %d %v", r.code, r.header)
			}
			if r := decide("skip", auth, ids[1]); r.code != 303 || r.header.Get("Location") != "/admin/?skipped=1" {
				t.Fatalf("skip one: %d %v", r.code, r.header)
			}
			if r := decide("send", auth, ids[0]); r.code != 409 || !strings.Contains(r.body, "no longer held") {
				t.Fatalf("send one again: %d:\n%s", r.code, r.body)
			}
			if r := decide("send", auth, ids[2], ids[3]); r.code != 303 || r.header.Get("Location") != "/admin/?sent=2" {
				t.Fatalf("send the rest: %d %v", r.code, r.header)
			}
			want = map[string]string{"Old post one": "new", "Old post two": "skipped", "Old post three": "new", "Old post four": "new"}
			if d := cmpMaps(want, e.postStates()); d != "" {
				t.Fatalf("after deciding: %s", d)
			}
			if !slices.Equal(q.ids, []int64{ids[0], ids[2], ids[3]}) {
				t.Errorf("fan-outs queued %v, want %v", q.ids, []int64{ids[0], ids[2], ids[3]})
			}
			after := e.get("/admin/?sent=2", auth...)
			if !strings.Contains(after.body, "2 post(s) approved: they are being sent.") || strings.Contains(after.body, "Held for approval") {
				t.Errorf("the page after:\n%s", after.body)
			}
		})
	}
}

func cmpMaps(want, got map[string]string) string {
	if maps.Equal(want, got) {
		return ""
	}
	return fmt.Sprintf("want %v, got %v", want, got)
}

// TestAdminFindsUnsubscribesAndErasesSomeone, on both engines: the admin
// page finds a subscriber by the address typed (POSTed, never in a URL),
// unsubscribes them, and erases them only with the box ticked; then the
// address is found as erased. Unknown and malformed addresses, forged ids,
// requests from another site's page and without the password change
// nothing.
func TestAdminFindsUnsubscribesAndErasesSomeone(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storetest.URL(t, engine), withStatus(nil))
			ann := e.add("ann@example.com", store.StatusActive, "posts", "news")
			e.add("bo@example.com", store.StatusActive, "posts")
			auth := []string{"Authorization", "Bearer " + adminPassword}
			find := func(email string, header ...string) response {
				return e.postForm("/admin/person", url.Values{"email": {email}}, header...)
			}
			r := find("  Ann@Example.com ", auth...)
			text := strip(r.body)
			for _, want := range []string{"Address ann@example.com", "Status active", "Hears about news, posts",
				"Unsubscribe ann@example.com", "Yes, erase ann@example.com for good"} {
				if r.code != 200 || !strings.Contains(text, want) {
					t.Fatalf("find Ann: %d, no %q in:\n%s", r.code, want, text)
				}
			}
			for addr, want := range map[string]string{
				"cy@example.com": "No one on the list has that address",
				"not an address": "That is not an email address",
				"":               "Type the address",
			} {
				if r := find(addr, auth...); !strings.Contains(r.body, want) || r.code >= 500 {
					t.Errorf("find %q: %d:\n%s", addr, r.code, strip(r.body))
				}
			}
			id := strconv.FormatInt(ann, 10)
			act := func(path string, v url.Values, header ...string) response {
				return e.postForm(path, v, header...)
			}
			cross := append([]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, auth...)
			for name, r := range map[string]response{
				"no password":              find("ann@example.com"),
				"unsubscribe, no password": act("/admin/person/unsubscribe", url.Values{"id": {id}}),
				"unsubscribe, other site":  act("/admin/person/unsubscribe", url.Values{"id": {id}}, cross...),
				"unsubscribe, no id":       act("/admin/person/unsubscribe", url.Values{}, auth...),
				"unsubscribe, forged id":   act("/admin/person/unsubscribe", url.Values{"id": {"999999"}}, auth...),
				"erase, other site":        act("/admin/person/erase", url.Values{"id": {id}, "confirm": {"yes"}}, cross...),
				"erase, unticked":          act("/admin/person/erase", url.Values{"id": {id}}, auth...),
				"erase, forged id":         act("/admin/person/erase", url.Values{"id": {"-1"}, "confirm": {"yes"}}, auth...),
			} {
				if r.code < 400 || r.code >= 500 {
					t.Errorf("%s: %d, want a 4xx", name, r.code)
				}
			}
			if got := e.statuses(); got["ann@example.com"] != "active/news,posts" || got["bo@example.com"] != "active/posts" {
				t.Fatalf("refused requests changed someone: %v", got)
			}

			r = act("/admin/person/unsubscribe", url.Values{"id": {id}}, auth...)
			if r.code != 303 || r.header.Get("Location") != "/admin/?unsubscribed=1" || e.subscriber(ann).Status != store.StatusUnsubscribed {
				t.Fatalf("unsubscribe: %d %v, status %s", r.code, r.header, e.subscriber(ann).Status)
			}
			if r := find("ann@example.com", auth...); strings.Contains(r.body, "Unsubscribe ann@") || !strings.Contains(strip(r.body), "Status unsubscribed") {
				t.Errorf("an unsubscribed person is offered the unsubscribe again:\n%s", strip(r.body))
			}
			r = act("/admin/person/erase", url.Values{"id": {id}, "confirm": {"yes"}}, auth...)
			if r.code != 303 || r.header.Get("Location") != "/admin/?erased=1" {
				t.Fatalf("erase: %d %v", r.code, r.header)
			}
			if erased, err := e.db.IsErased(t.Context(), "ann@example.com", []byte(testKey)); err != nil || !erased {
				t.Fatalf("after the erase: erased %v, %v", erased, err)
			}
			if r := find("ann@example.com", auth...); !strings.Contains(r.body, "That address was erased") {
				t.Errorf("find after the erase:\n%s", strip(r.body))
			}
			if r := act("/admin/person/erase", url.Values{"id": {id}, "confirm": {"yes"}}, auth...); r.code != 404 {
				t.Errorf("erase again: %d", r.code)
			}
			if got := e.statuses(); len(got) != 1 || got["bo@example.com"] != "active/posts" {
				t.Errorf("after erasing Ann: %v", got)
			}
			if r := e.get("/admin/?erased=1", auth...); !strings.Contains(r.body, "Erased: nothing is held about them") {
				t.Errorf("the page after:\n%s", strip(r.body))
			}
			if strings.Contains(e.logs.String(), "ann@example.com") {
				t.Errorf("the log names Ann:\n%s", e.logs.String())
			}
		})
	}
}

// TestCampaignsAreCanceledOnTheAdminPage, on both engines: the page lists
// the campaigns not yet over (a scheduled one with its time in the
// practice's zone, a draft) with a cancel form each, and none that is
// over; a cancel needs its box ticked, and then what is not sent never
// will be. Refused requests change nothing.
func TestCampaignsAreCanceledOnTheAdminPage(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storetest.URL(t, engine), func(s *Server) {
				withStatus(nil)(s)
				s.Practice.TimeZone = "America/Denver"
			})
			create := func(subject string, at time.Time) int64 {
				id, err := e.db.CreateCampaign(t.Context(), store.NewCampaign{Subject: subject, Body: "We have openings.",
					Format: "markdown", Audience: store.AudienceNews, SendAt: at})
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			january := create("New consult openings in January", time.Date(2026, 3, 9, 16, 0, 0, 0, time.UTC)) // 10:00 in Denver, DST since 8 March
			draft := create("Spring groups", time.Time{})
			over := create("Already canceled", time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC))
			if err := e.db.CancelCampaign(t.Context(), over); err != nil {
				t.Fatal(err)
			}
			auth := []string{"Authorization", "Bearer " + adminPassword}
			page := strip(e.get("/admin/", auth...).body)
			for _, want := range []string{"New consult openings in January scheduled · to be sent 9 Mar 2026 10:00 MDT · to topic:news",
				"Spring groups draft · no time set"} {
				if !strings.Contains(page, want) {
					t.Errorf("no %q on the page:\n%s", want, page)
				}
			}
			if strings.Contains(page, "Already canceled") {
				t.Errorf("a campaign that is over is listed:\n%s", page)
			}
			state := func(id int64) string {
				c, err := e.db.Campaign(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				return c.State
			}
			cancel := func(id int64, confirm string, header ...string) response {
				return e.postForm("/admin/campaign/cancel", url.Values{"id": {strconv.FormatInt(id, 10)}, "confirm": {confirm}}, header...)
			}
			cross := append([]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, auth...)
			for name, r := range map[string]response{
				"no password": cancel(january, "yes"),
				"other site":  cancel(january, "yes", cross...),
				"unticked":    cancel(january, "", auth...),
				"forged id":   cancel(999999, "yes", auth...),
				"over":        cancel(over, "yes", auth...),
			} {
				if r.code < 400 || r.code >= 500 {
					t.Errorf("%s: %d, want a 4xx", name, r.code)
				}
			}
			if state(january) != store.CampaignScheduled || state(draft) != store.CampaignDraft {
				t.Fatalf("refused requests changed a campaign: %s, %s", state(january), state(draft))
			}
			if r := cancel(january, "yes", auth...); r.code != 303 || r.header.Get("Location") != "/admin/?canceled=1" {
				t.Fatalf("cancel: %d %v", r.code, r.header)
			}
			if state(january) != store.CampaignCanceled || state(draft) != store.CampaignDraft {
				t.Fatalf("after the cancel: %s, %s", state(january), state(draft))
			}
			if r := cancel(january, "yes", auth...); r.code != 409 {
				t.Errorf("cancel again: %d", r.code)
			}
			if page := strip(e.get("/admin/?canceled=1", auth...).body); strings.Contains(page, "New consult openings") ||
				!strings.Contains(page, "Canceled: what the campaign has not sent, it never will.") {
				t.Errorf("the page after:\n%s", page)
			}
		})
	}
}

// TestSubscriberListPagesAndFilters, on both engines: /admin/subscribers
// lists everyone but the erased, in the order they joined, 100 at a time
// with a link to the next 100; a status filters it; an unknown status or a
// bad page is 400, never a 500; and the password is needed.
func TestSubscriberListPagesAndFilters(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storetest.URL(t, engine), withStatus(nil))
			for i := range 101 {
				e.add(fmt.Sprintf("reader-%03d@example.com", i), store.StatusActive, "posts")
			}
			e.add("cy@example.com", store.StatusUnsubscribed, "posts")
			gone := e.add("ed@example.com", store.StatusActive, "posts")
			if err := e.db.EraseSubscriberID(t.Context(), gone, []byte(testKey)); err != nil {
				t.Fatal(err)
			}
			auth := []string{"Authorization", "Bearer " + adminPassword}
			if r := e.get("/admin/subscribers"); r.code != 401 || strings.Contains(r.body, "reader-") {
				t.Fatalf("without the password: %d", r.code)
			}
			rows := func(body string) []string {
				var out []string
				for _, m := range regexp.MustCompile(`<th scope="row">([^<]*)</th>`).FindAllStringSubmatch(body, -1) {
					out = append(out, m[1])
				}
				return out
			}
			first := e.get("/admin/subscribers", auth...)
			got := rows(first.body)
			if first.code != 200 || len(got) != 100 || got[0] != "reader-000@example.com" || got[99] != "reader-099@example.com" {
				t.Fatalf("first page: %d, %d rows %v", first.code, len(got), got)
			}
			next := regexp.MustCompile(`<a href="(/admin/subscribers\?after=\d+)">The next 100</a>`).FindStringSubmatch(first.body)
			if next == nil {
				t.Fatalf("no link to the next page:\n%s", first.body)
			}
			second := e.get(html.UnescapeString(next[1]), auth...)
			if got := rows(second.body); !slices.Equal(got, []string{"reader-100@example.com", "cy@example.com"}) ||
				strings.Contains(second.body, "The next 100") {
				t.Errorf("second page: %v", got)
			}
			if got := rows(e.get("/admin/subscribers?status=unsubscribed", auth...).body); !slices.Equal(got, []string{"cy@example.com"}) {
				t.Errorf("unsubscribed: %v", got)
			}
			if strings.Contains(first.body+second.body, "ed@example.com") {
				t.Error("an erased person is listed")
			}
			for _, q := range []string{"?status=erased", "?status=nobody", "?after=-1", "?after=x", "?after=99999999999999999999"} {
				if r := e.get("/admin/subscribers"+q, auth...); r.code != 400 {
					t.Errorf("%s: %d, want 400", q, r.code)
				}
			}
		})
	}
}
