package mail

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// faultServer is a minimal SMTP server over TCP that fails on cue, for the
// faults at an exact moment that go-smtp (mailtest) cannot be made to
// produce: no greeting, a reply that never comes, a connection dropped
// between two bytes of the exchange. It offers PIPELINING and keeps the
// session state as strictly as Postfix does: MAIL inside a transaction is
// refused with 503 until RSET or the end of a message, and DATA without an
// accepted recipient gets 554.
type faultServer struct {
	URL string
	// fault, when set, is asked at every point of a session what to do
	// instead of the usual reply; it runs on the session's goroutine.
	fault func(c cue) action

	l        net.Listener
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	accepted atomic.Int64
	received atomic.Int64 // messages read up to their final dot
	accepts  []string     // the recipient of each message answered 250
}

// cue is a point in a session where the server may misbehave.
type cue struct {
	conn int    // which connection, counting from 1 in the order accepted
	at   string // "greeting", "ehlo", "mail", "rcpt", "data", "dot" (after the message's final dot) or "rset"
	rcpt string // the recipient last named in this transaction, if any
}

// action is what the server does at a cue. The zero action is the usual
// reply; a reply alone replaces it.
type action struct {
	reply string // sent first, when set
	close bool   // then hang up
	stall bool   // then fall silent, holding the connection open
}

func newFaultServer(t *testing.T, fault func(cue) action) *faultServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &faultServer{URL: "smtp://" + l.Addr().String(), fault: fault, l: l,
		done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *faultServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		n := int(s.accepted.Add(1))
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c, n)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// close stops the server and waits for its sessions, stalled ones too.
func (s *faultServer) close() {
	close(s.done)
	_ = s.l.Close()
	s.dropAll()
	s.wg.Wait()
}

// dropAll closes every open connection, as a server that restarted would.
func (s *faultServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}

// Accepted is how many connections the server took; Received how many
// messages it read to their final dot; Delivered to whom it said 250 for a
// message.
func (s *faultServer) Accepted() int { return int(s.accepted.Load()) }
func (s *faultServer) Received() int { return int(s.received.Load()) }
func (s *faultServer) Delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.accepts...)
}

// session speaks SMTP on c, the nth connection, until a cue says otherwise
// or the client leaves.
func (s *faultServer) session(c net.Conn, n int) {
	r := bufio.NewReader(c)
	cu := cue{conn: n}
	var inMail bool
	var rcpts []string
	if _, ok := s.step(c, cu, "greeting", "220 faults.local ESMTP"); !ok {
		return
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		usual := map[string]string{
			"EHLO": "250-faults.local\r\n250-PIPELINING\r\n250 8BITMIME", "HELO": "250 faults.local",
			"MAIL": "250 2.1.0 Ok", "RCPT": "250 2.1.5 Ok", "DATA": "354 End data with <CR><LF>.<CR><LF>",
			"RSET": "250 2.0.0 Ok", "NOOP": "250 2.0.0 Ok", "QUIT": "221 2.0.0 Bye",
		}[verb]
		switch {
		case usual == "":
			usual = "502 5.5.2 Error: command not recognized"
		case verb == "MAIL" && inMail:
			usual = "503 5.5.1 Error: nested MAIL command"
		case verb == "RCPT" && !inMail:
			usual = "503 5.5.1 Error: need MAIL command"
		case verb == "DATA" && len(rcpts) == 0:
			usual = "554 5.5.1 Error: no valid recipients"
		}
		if verb == "RCPT" {
			cu.rcpt = strings.Trim(strings.TrimPrefix(cmd[4:], " TO:"), "<> ")
		}
		at := map[string]string{"EHLO": "ehlo", "HELO": "ehlo"}[verb]
		if at == "" {
			at = strings.ToLower(verb)
		}
		reply, ok := s.step(c, cu, at, usual)
		ok2 := strings.HasPrefix(reply, "2")
		switch {
		case verb == "MAIL" && ok2:
			inMail = true
		case verb == "RCPT" && ok2:
			rcpts = append(rcpts, cu.rcpt)
		case verb == "RSET" || verb == "EHLO" || verb == "HELO":
			inMail, rcpts, cu.rcpt = false, nil, ""
		case verb == "DATA" && ok && strings.HasPrefix(reply, "354"):
			ok = s.message(c, r, cu, rcpts)
			inMail, rcpts, cu.rcpt = false, nil, ""
		}
		if !ok || verb == "QUIT" {
			return
		}
	}
}

// message reads a message's data to its final dot and answers it.
func (s *faultServer) message(c net.Conn, r *bufio.Reader, cu cue, rcpts []string) bool {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if line == ".\r\n" {
			break
		}
	}
	s.received.Add(1)
	usual := "250 2.0.0 Ok: queued as F4U17"
	if len(rcpts) == 0 {
		usual = "554 5.5.1 Error: no valid recipients"
	}
	_, ok := s.step(c, cu, "dot", usual, func(reply string) {
		if strings.HasPrefix(reply, "250") { // counted before the client can see it
			s.mu.Lock()
			s.accepts = append(s.accepts, rcpts...)
			s.mu.Unlock()
		}
	})
	return ok
}

// step answers at a cue and reports the reply sent and whether the session
// goes on. The reply is passed to each of before first.
func (s *faultServer) step(c net.Conn, cu cue, at, usual string, before ...func(reply string)) (string, bool) {
	cu.at = at
	var a action
	if s.fault != nil {
		a = s.fault(cu)
	}
	reply := a.reply
	if reply == "" && !a.close && !a.stall {
		reply = usual
	}
	for _, f := range before {
		f(reply)
	}
	if reply != "" {
		if _, err := io.WriteString(c, reply+"\r\n"); err != nil {
			return reply, false
		}
	}
	if a.stall {
		<-s.done
	}
	return reply, !a.close && !a.stall
}
