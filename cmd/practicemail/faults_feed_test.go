package main

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Ways a feed breaks.
const (
	faultFeedOK        = ""          // the items as RSS
	faultFeedNotFound  = "404"       // the page is gone
	faultFeedHTMLPage  = "html"      // a web page where the feed was
	faultFeedTruncated = "truncated" // half an RSS document, served whole
)

// faultyFeed is a blog whose feed breaks as real ones do, or is not there at
// all. It keeps its address across stop and start, so a feed can come back.
type faultyFeed struct {
	t    *testing.T
	addr string

	mu    sync.Mutex
	fault string
	items []item
	srv   *http.Server
}

func newFaultyFeed(t *testing.T, items ...item) *faultyFeed {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyFeed{t: t, addr: l.Addr().String(), items: items}
	f.serve(l)
	t.Cleanup(f.stop)
	return f
}

// URL is the feed's address.
func (f *faultyFeed) URL() string { return "http://" + f.addr + "/feed.xml" }

// set makes the feed serve fault, or items when fault is faultFeedOK.
func (f *faultyFeed) set(fault string, items ...item) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault, f.items = fault, items
}

func (f *faultyFeed) serve(l net.Listener) {
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go srv.Serve(l)
}

// stop takes the server away: connections are refused until start.
func (f *faultyFeed) stop() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// start listens again on the same address.
func (f *faultyFeed) start() {
	f.t.Helper()
	var l net.Listener
	err := errors.New("not tried")
	for range 50 { // the old socket may take a moment to go away
		if l, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatalf("listen again on %s: %v", f.addr, err)
	}
	f.serve(l)
}

func (f *faultyFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fault, items := f.fault, append([]item(nil), f.items...)
	f.mu.Unlock()
	if r.URL.Path != "/feed.xml" {
		http.NotFound(w, r)
		return
	}
	switch fault {
	case faultFeedNotFound:
		http.NotFound(w, r)
	case faultFeedHTMLPage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Stillpoint Counseling</title></head>" +
			"<body><h1>Welcome</h1><p>Notes on healing.</p></body></html>"))
	case faultFeedTruncated:
		body, ct := rss("http://"+f.addr, items)
		w.Header().Set("Content-Type", ct)
		w.Write(body[:len(body)/2])
	default:
		body, ct := rss("http://"+f.addr, items)
		w.Header().Set("Content-Type", ct)
		w.Write(body)
	}
}
