package mail

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

// benchConns is the number of SMTP connections both send benchmarks use.
const benchConns = 4

func BenchmarkPreparedWriteTo(b *testing.B) {
	p := prepared(b)
	r := recipient(42)
	buf, err := p.AppendTo(nil, r)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = p.AppendTo(buf[:0], r)
	}
}

func BenchmarkPoolSend(b *testing.B) {
	srv := mailtest.NewServer(b)
	srv.Discard(true)
	s, err := Open(context.Background(), Options{URL: srv.URL, TLS: TLSNone, Connections: benchConns})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := prepared(b)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchConns) // at least as many senders as connections
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := recipient(int(next.Add(1)))
			if err := s.Send(context.Background(), envelopeFrom, r.Address, p, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkRawSend is the baseline: pre-built, pre-dot-stuffed messages
// written by a minimal hand-written SMTP client over the same number of
// persistent connections, pipelining MAIL, RCPT and DATA as the pool does.
func BenchmarkRawSend(b *testing.B) {
	srv := mailtest.NewServer(b)
	srv.Discard(true)
	p := prepared(b)
	msgs := make([][]byte, 64)
	for i := range msgs {
		var raw bytes.Buffer
		if _, err := p.WriteTo(&raw, recipient(i)); err != nil {
			b.Fatal(err)
		}
		msgs[i] = []byte(strings.ReplaceAll(raw.String(), "\r\n.", "\r\n..") + ".\r\n")
	}
	conns := make(chan *rawConn, benchConns)
	for range benchConns {
		c, err := dialRaw(srv.Addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns <- c
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchConns)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1))
			c := <-conns
			err := c.send(envelopeFrom, fmt.Sprintf("person%d@example.com", i), msgs[i%len(msgs)])
			conns <- c
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

type rawConn struct {
	net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dialRaw(addr string) (*rawConn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &rawConn{Conn: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}
	if err := c.expect('2'); err != nil {
		return nil, err
	}
	c.w.WriteString("EHLO bench\r\n")
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	return c, c.expect('2')
}

func (c *rawConn) send(from, to string, stuffed []byte) error {
	c.w.WriteString("MAIL FROM:<" + from + ">\r\nRCPT TO:<" + to + ">\r\nDATA\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	for _, want := range []byte{'2', '2', '3'} {
		if err := c.expect(want); err != nil {
			return err
		}
	}
	c.w.Write(stuffed)
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.expect('2')
}

// expect reads one (possibly multi-line) reply whose code starts with class.
func (c *rawConn) expect(class byte) error {
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if len(line) < 4 || line[0] != class {
			return fmt.Errorf("unexpected reply %q", line)
		}
		if line[3] != '-' {
			return nil
		}
	}
}
