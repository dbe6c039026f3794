package feeds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeDNS is a DNS server on loopback UDP. Each name has a list of IPv4
// answers: the nth A query for it gets the nth, and the last one after that
// (so a name can change its answer between two lookups, as in DNS
// rebinding). AAAA queries get no answers; unknown names NXDOMAIN.
type fakeDNS struct {
	t       *testing.T
	addr    string
	mu      sync.Mutex
	answers map[string][]string // "name." → IPv4 answers in turn
	asked   map[string]int
}

func newFakeDNS(t *testing.T, answers map[string][]string) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDNS{t: t, addr: pc.LocalAddr().String(), answers: map[string][]string{}, asked: map[string]int{}}
	for name, ips := range answers {
		d.answers[name+"."] = ips
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply := d.answer(buf[:n]); reply != nil {
				pc.WriteTo(reply, from)
			}
		}
	}()
	return d
}

func (d *fakeDNS) answer(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.ToLower(q.Name.String())
	d.mu.Lock()
	ips, known := d.answers[name]
	var ip string
	if known && q.Type == dnsmessage.TypeA {
		ip = ips[min(d.asked[name], len(ips)-1)]
		d.asked[name]++
	}
	d.mu.Unlock()
	rcode := dnsmessage.RCodeSuccess
	if !known {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: rcode})
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if ip != "" {
		a := netip.MustParseAddr(ip).As4()
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}, dnsmessage.AResource{A: a})
	}
	msg, err := b.Finish()
	if err != nil {
		d.t.Errorf("fake DNS: %v", err)
		return nil
	}
	return msg
}

// resolver is a resolver that asks only this server.
func (d *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "udp", d.addr)
	}}
}

// loopbackOnly is the tests' tripwire, run after the Fetcher's own checks
// on every address about to be dialled: these tests never connect anywhere
// but loopback, so an address the checks let by fails the test and is not
// dialled either.
func loopbackOnly(t *testing.T) func(network, address string, c syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		host, _, _ := net.SplitHostPort(address)
		if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
			t.Errorf("the fetcher was about to connect to %s", address)
			return errors.New("test tripwire: not a loopback address")
		}
		return nil
	}
}

// redirectTo serves every request as a redirect to target and counts them.
func redirectTo(target *string) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, *target, http.StatusFound)
	})), &hits
}

// countingFeed serves feedBody and counts the requests it gets.
func countingFeed() (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, feedBody)
	})), &hits
}

// TestFetchRefusesRedirectToLinkLocalOrMetadata has a feed on loopback (so
// loopback is allowed) redirect to cloud metadata services and link-local
// addresses, by address and by name: each is refused before any connection.
func TestFetchRefusesRedirectToLinkLocalOrMetadata(t *testing.T) {
	trap, trapHits := countingFeed() // where "metadata.google.internal" resolves in this test
	defer trap.Close()
	_, trapPort, _ := net.SplitHostPort(trap.Listener.Addr().String())
	dns := newFakeDNS(t, map[string][]string{
		"metadata.google.internal": {"127.0.0.1"},
		"linklocal.test":           {"169.254.169.254"},
		"ecs.test":                 {"169.254.170.2"},
		"zero.test":                {"0.0.0.0"},
	})
	var target string
	srv, _ := redirectTo(&target)
	defer srv.Close()
	f := NewFetcher(FetcherOptions{Resolver: dns.resolver(), dialCheck: loopbackOnly(t)})

	tests := []struct{ target, refused, reason string }{
		{"http://169.254.169.254/latest/meta-data/iam/security-credentials/", "169.254.169.254", "a cloud metadata address"},
		{"http://169.254.1.1/", "169.254.1.1", "a link-local address"},
		{"http://[fe80::1]/", "fe80::1", "a link-local address"},
		{"http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254", "a cloud metadata address"},
		{"http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254", "a cloud metadata address"},
		{"http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe", "a cloud metadata address"},
		{"http://100.100.100.200/latest/meta-data/", "100.100.100.200", "a cloud metadata address"},
		{"http://metadata.google.internal:" + trapPort + "/computeMetadata/v1/", "metadata.google.internal", "a cloud metadata service"},
		{"http://linklocal.test:" + trapPort + "/", "169.254.169.254", "a cloud metadata address"},
		{"http://ecs.test:" + trapPort + "/v2/credentials", "169.254.170.2", "a cloud metadata address"},
		{"http://zero.test:" + trapPort + "/", "0.0.0.0", "not an address a feed can be on"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			target = tt.target
			fe := fetchErr(t, f, srv.URL+"/feed")
			want := "feed " + srv.URL + "/feed: refused to connect to " + tt.refused + ": " + tt.reason +
				" (after a redirect to " + tt.target + ")"
			if fe.Error() != want || !fe.Permanent {
				t.Errorf("Error() = %q (permanent %v),\nwant %q (permanent)", fe.Error(), fe.Permanent, want)
			}
			var ae *AddressError
			if !errors.As(fe, &ae) {
				t.Errorf("error %v does not wrap an *AddressError", fe)
			}
		})
	}
	if n := trapHits.Load(); n != 0 {
		t.Errorf("the server behind metadata.google.internal got %d requests, want none", n)
	}
}

// TestFetchRefusesDNSAnswerIntoPrivateNetwork gives a feed's name a public
// address when the fetcher first looks it up and a loopback one when it
// dials (DNS rebinding): the connection is refused, because a feed on the
// internet may not lead into the worker's own network.
func TestFetchRefusesDNSAnswerIntoPrivateNetwork(t *testing.T) {
	inside, hits := countingFeed()
	defer inside.Close()
	_, port, _ := net.SplitHostPort(inside.Listener.Addr().String())
	dns := newFakeDNS(t, map[string][]string{"blog.test": {"203.0.113.10", "127.0.0.1"}})
	f := NewFetcher(FetcherOptions{Resolver: dns.resolver(), dialCheck: loopbackOnly(t)})

	feedURL := "http://blog.test:" + port + "/feed"
	fe := fetchErr(t, f, feedURL)
	want := "feed " + feedURL + ": refused to connect to 127.0.0.1: a loopback address " +
		"(the feed's own address is public, so it may not lead into a private network)"
	if fe.Error() != want || !fe.Permanent {
		t.Errorf("Error() = %q (permanent %v),\nwant %q (permanent)", fe.Error(), fe.Permanent, want)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server on loopback got %d requests, want none", n)
	}
}

// TestFetchFollowsPrivateRedirectsOfPrivateFeed: a feed configured on
// loopback, by address or by a name that resolves there, may redirect to
// another loopback server.
func TestFetchFollowsPrivateRedirectsOfPrivateFeed(t *testing.T) {
	final, hits := countingFeed()
	defer final.Close()
	target := final.URL + "/feed"
	srv, _ := redirectTo(&target)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := newFakeDNS(t, map[string][]string{"blog.lan": {"127.0.0.1"}})
	f := NewFetcher(FetcherOptions{Resolver: dns.resolver(), dialCheck: loopbackOnly(t)})

	for _, feedURL := range []string{srv.URL + "/feed", "http://blog.lan:" + port + "/feed"} {
		res, err := f.Fetch(context.Background(), feedURL, Validators{})
		if err != nil {
			t.Fatalf("Fetch(%s): %v", feedURL, err)
		}
		if res.URL != target || string(res.Body) != feedBody {
			t.Errorf("Fetch(%s) = %s %q, want the feed at %s", feedURL, res.URL, res.Body, target)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("the redirect target got %d requests, want 2", n)
	}
}

// TestCheckRedirectRefusesPrivateForPublicFeed checks the redirect rule of
// the client used for public feeds, which no test can reach without a
// public server: private and loopback targets are refused, public ones
// followed; the client for private feeds still refuses link-local.
func TestCheckRedirectRefusesPrivateForPublicFeed(t *testing.T) {
	tests := []struct {
		target       string
		allowPrivate bool
		refused      bool
	}{
		{"http://10.1.2.3/feed", false, true},
		{"http://172.16.0.9/feed", false, true},
		{"http://192.168.1.10/feed", false, true},
		{"http://100.64.0.1/feed", false, true},
		{"http://127.0.0.1:8080/feed", false, true},
		{"http://[::1]/feed", false, true},
		{"http://[fd12:3456::1]/feed", false, true},
		{"http://203.0.113.10/feed", false, false},
		{"https://blog.example/feed", false, false},
		{"http://10.1.2.3/feed", true, false},
		{"http://[::1]/feed", true, false},
		{"http://169.254.169.254/", true, true},
		{"http://METADATA.google.internal./", true, true},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.target)
		err := checkRedirect(tt.allowPrivate)(&http.Request{URL: u}, []*http.Request{{}})
		var ae *AddressError
		if refused := errors.As(err, &ae); refused != tt.refused {
			t.Errorf("redirect to %s (private feed %v): error %v, want refused %v", tt.target, tt.allowPrivate, err, tt.refused)
		}
	}
}
