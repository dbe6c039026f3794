package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/certtest"
	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/store"
)

// TestBehindTheShippedNginx puts `practicemail web` behind nginx with
// deploy/nginx.conf as shipped (only its ports, certificate and log paths
// changed): plain HTTP is sent to HTTPS; the pages come through with their
// own headers and HSTS; each visitor's address reaches the rate limits, so
// one visitor over the sign-up limit does not stop another; Gmail's
// one-click unsubscribe works through the proxy; and the access log keeps
// no link token.
func TestBehindTheShippedNginx(t *testing.T) {
	nginx := nginxPath(t)
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}})
	webAddr := freeAddr(t)
	cfg := h.variant("web.yaml", "addr: 127.0.0.1:0", "addr: "+webAddr+"\n  trusted_proxies: [127.0.0.1/32]")
	h.startRole("web", cfg)

	p := startNginx(t, nginx, webAddr)
	host := "mail.stillpoint.example"
	from := func(ip string) *http.Client { return p.client(t, ip) }
	a, b := from("127.0.0.2"), from("127.0.0.3")

	// Plain HTTP: to HTTPS, the path kept.
	res := get(t, a, "http://"+host+"/subscribe?x=1")
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "https://"+host+"/subscribe?x=1" {
		t.Fatalf("http:// = %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	// The page, with practicemail's headers and nginx's HSTS.
	res = get(t, a, "https://"+host+"/subscribe")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		!strings.HasPrefix(res.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("GET /subscribe through nginx = %d %v", res.StatusCode, res.Header)
	}

	// One visitor signs up until refused; another, at the same moment, is not.
	signup := func(c *http.Client, n int) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, "https://"+host+"/subscribe",
			strings.NewReader(fmt.Sprintf(`{"email": "proxied-%d@example.com"}`, n)))
		req.Header.Set("Content-Type", "application/json")
		// A visitor's own X-Forwarded-For gains nothing: nginx appends the
		// real address, and practicemail reads from the right.
		req.Header.Set("X-Forwarded-For", "198.51.100.99")
		return do(t, c, req)
	}
	n, through := 0, 0
	for ; n < 100; n++ {
		r := signup(a, n)
		if r.StatusCode == http.StatusTooManyRequests {
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without Retry-After")
			}
			break
		}
		if r.StatusCode != http.StatusAccepted {
			t.Fatalf("sign-up %d through nginx: %d", n, r.StatusCode)
		}
		through++
	}
	if through == 0 || through >= 100 {
		t.Fatalf("the first visitor got %d sign-ups through before a 429", through)
	}
	if r := signup(b, 1000); r.StatusCode != http.StatusAccepted {
		t.Fatalf("a second visitor, after the first was limited: %d (the limit is not per visitor behind nginx)", r.StatusCode)
	}

	// Gmail's button, through the proxy: 200, effective, no redirect.
	sub, err := h.db.AddSubscriber(t.Context(), store.NewSubscriber{Email: "ada@example.com", Topics: []string{"posts"},
		Confirmed: true, ConsentSource: "test"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := links.NewSigner("https://"+host, []byte("test-link-key-0123456789abcdef"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	token := signer.Token(links.Unsubscribe, sub.ID)
	req, _ := http.NewRequest(http.MethodPost, "https://"+host+"/unsubscribe/"+token,
		strings.NewReader(url.Values{"List-Unsubscribe": {"One-Click"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := do(t, b, req); r.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe through nginx: %d", r.StatusCode)
	}
	if s, err := h.db.SubscriberByEmail(t.Context(), "ada@example.com"); err != nil || s.Status != store.StatusUnsubscribed {
		t.Fatalf("after the one-click POST: %+v, %v", s, err)
	}
	get(t, b, "https://"+host+"/confirm/"+signer.Token(links.Confirm, sub.ID))

	// nginx writes its log line when it has answered; wait for the last.
	var log string
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log, `"POST /subscribe`) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		b, _ := os.ReadFile(p.accessLog)
		log = string(b)
	}
	if !strings.Contains(log, "GET /subscribe") || !strings.Contains(log, "127.0.0.2") {
		t.Errorf("the access log lacks the sign-up requests:\n%s", log)
	}
	for _, secret := range []string{token, "/unsubscribe/", "/confirm/"} {
		if strings.Contains(log, secret) {
			t.Errorf("the access log holds %q:\n%s", secret, log)
		}
	}
}

// nginxPath finds nginx; without it the test skips, or fails with CI=true
// (make test installs it).
func nginxPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx is not installed (CI=true, so this fails instead of skipping; apt-get install nginx-light)")
	}
	t.Skip("nginx is not installed (apt-get install nginx-light; set CI=true to make this a failure)")
	return ""
}

// proxy is a running nginx with deploy/nginx.conf.
type proxy struct {
	http, https string // 127.0.0.1:port
	ca          *x509.CertPool
	accessLog   string
}

// startNginx runs nginx in the foreground with deploy/nginx.conf, its
// ports free ones on 127.0.0.1, a certificate made here, its logs in a
// directory of the test's, and practicemail at webAddr.
func startNginx(t *testing.T, nginx, webAddr string) *proxy {
	t.Helper()
	dir := t.TempDir()
	p := &proxy{http: freeAddr(t), https: freeAddr(t), accessLog: filepath.Join(dir, "access.log")}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := certtest.New(t, "mail.stillpoint.example")
	cert.WritePEM(t, certFile, keyFile)
	p.ca = cert.Roots

	shipped, err := os.ReadFile("../../deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	site := string(shipped)
	for _, r := range [][2]string{
		{"    listen 80;\n", "    listen " + p.http + ";\n"},
		{"    listen [::]:80;\n", ""},
		{"    listen 443 ssl http2;\n", "    listen " + p.https + " ssl http2;\n"},
		{"    listen [::]:443 ssl http2;\n", ""},
		{"/etc/letsencrypt/live/mail.stillpoint.example/fullchain.pem", certFile},
		{"/etc/letsencrypt/live/mail.stillpoint.example/privkey.pem", keyFile},
		{"/var/log/nginx/practicemail.access.log", p.accessLog},
		{"proxy_pass http://127.0.0.1:8080;", "proxy_pass http://" + webAddr + ";"},
	} {
		if !strings.Contains(site, r[0]) {
			t.Fatalf("deploy/nginx.conf no longer has %q", r[0])
		}
		site = strings.ReplaceAll(site, r[0], r[1])
	}
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	// What Debian's /etc/nginx/nginx.conf provides around a site.
	main := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
%[2]s
events { worker_connections 64; }
http {
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  access_log off;
  include %[1]s/site.conf;
}
`, dir, map[bool]string{true: "user root;", false: ""}[os.Getuid() == 0])
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-p", dir, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t with deploy/nginx.conf: %v\n%s", err, out)
	}
	// Its output to a file: a worker that outlived the test would hold
	// the test's own output open.
	out, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(nginx, "-p", dir, "-c", conf, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM: the master stops its workers, then itself.
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("nginx did not stop on SIGTERM")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.https, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			errs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx does not answer on %s: %v\n%s", p.https, err, errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client is a browser at the address ip (any of 127.0.0.0/8): it reaches
// the host through the proxy's ports, trusts its certificate, and does not
// follow redirects.
func (p *proxy) client(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.ca, ServerName: "mail.stillpoint.example"},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			to := p.http
			if strings.HasSuffix(addr, ":443") {
				to = p.https
			}
			return d.DialContext(ctx, network, to)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

// do sends req and reads the whole answer before returning it.
func do(t *testing.T, c *http.Client, req *http.Request) *http.Response {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}
