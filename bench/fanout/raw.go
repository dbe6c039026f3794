package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/templates"
)

// rawRing is how many distinct pre-built messages the baseline cycles
// through: each has its own To, Message-ID and link tokens, as practicemail's
// would, without holding N copies (600 MB at N=100k) in memory.
const rawRing = 1024

// rawResult is one run of the baseline.
type rawResult struct {
	elapsed time.Duration
	use     usage // CPU time while sending; the bench's own is the client's
	sink    int64 // messages the sink counted, -1 if unknown
}

func (r rawResult) rate(n int) float64 { return float64(n) / r.elapsed.Seconds() }

// merge combines two runs of n messages into one of their mean time and
// CPU per run: its rate(n) is n over the mean elapsed time.
func (r rawResult) merge(o rawResult) rawResult {
	half := func(a, b time.Duration) time.Duration {
		if a < 0 || b < 0 {
			return -1
		}
		return (a + b) / 2
	}
	m := rawResult{elapsed: (r.elapsed + o.elapsed) / 2, sink: -1}
	m.use = usage{wall: half(r.use.wall, o.use.wall), machine: half(r.use.machine, o.use.machine),
		self: half(r.use.self, o.use.self), child: half(r.use.child, o.use.child),
		sink: half(r.use.sink, o.use.sink), redis: half(r.use.redis, o.use.redis)}
	if r.sink >= 0 && o.sink >= 0 {
		m.sink = (r.sink + o.sink) / 2
	}
	return m
}

// buildRawMessages renders the post exactly as the worker does (templates,
// then mail.Prepare once, then one copy per recipient as DATA content,
// dot-stuffed and terminated), ready to write after DATA.
func buildRawMessages(count int) ([][]byte, error) {
	p, err := preparePost()
	if err != nil {
		return nil, err
	}
	signer, err := links.NewSigner(practiceBaseURL, []byte(linkKey), nil)
	if err != nil {
		return nil, err
	}
	msgs := make([][]byte, count)
	for i := range msgs {
		id := int64(i + 1)
		b, err := p.AppendData(nil, mail.Recipient{
			Address: subscriberEmail(i), Name: subscriberName(i), MessageID: fmt.Sprintf("d%d.post2", id),
			Values: []string{signer.Token(links.Unsubscribe, id), signer.Token(links.Preferences, id)},
		})
		if err != nil {
			return nil, fmt.Errorf("build message %d: %w", i, err)
		}
		msgs[i] = b
	}
	return msgs, nil
}

// preparePost is worker.preparePost with the bench's practice and post.
func preparePost() (*mail.Prepared, error) {
	eng, err := templates.New()
	if err != nil {
		return nil, err
	}
	signer, err := links.NewSigner(practiceBaseURL, []byte(linkKey), nil)
	if err != nil {
		return nil, err
	}
	ph := []string{links.Placeholder(links.Unsubscribe), links.Placeholder(links.Preferences)}
	unsubscribe := signer.URL(links.Unsubscribe, ph[0])
	loc, err := time.LoadLocation(practiceTimeZone)
	if err != nil {
		return nil, err
	}
	post := newPost()
	r, err := eng.Post(templates.PostEmail{
		Practice: practiceName, Title: post.title, Author: postAuthor, Date: post.published, TimeZone: loc,
		ContentHTML: template.HTML(post.content), PostURL: post.link, Full: true,
		Footer: templates.Footer{PracticeName: practiceName, PostalAddress: practiceAddress,
			UnsubscribeURL: unsubscribe, PreferencesURL: signer.URL(links.Preferences, ph[1]), Marketing: true},
	})
	if err != nil {
		return nil, fmt.Errorf("render post: %w", err)
	}
	return mail.Prepare(mail.Content{
		From: practiceFrom, ReplyTo: practiceReplyTo, Subject: r.Subject, HTML: r.HTML, Text: r.Text,
		Headers: map[string]string{
			"List-Unsubscribe":      "<" + unsubscribe + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}, ph)
}

// runRaw sends n messages over o.conns connections, each connection taking
// every conns-th message. Connecting is outside the timing.
func runRaw(ctx context.Context, o options, n int, msgs [][]byte) (rawResult, error) {
	conns := make([]*rawConn, o.conns)
	for i := range conns {
		c, err := dialRaw(ctx, o.smtpAddr)
		if err != nil {
			return rawResult{}, err
		}
		defer c.Close()
		conns[i] = c
	}
	sink0 := sinkCount(o.sinkLog)
	cpu0 := sampleCPU(pids{sink: o.sinkPID})
	start := time.Now()
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for g, c := range conns {
		wg.Go(func() {
			for i := g; i < n && errs[g] == nil; i += len(conns) {
				errs[g] = c.send(practiceEnvelope, i, msgs[i%len(msgs)])
			}
		})
	}
	wg.Wait()
	res := rawResult{elapsed: time.Since(start), use: cpu0.until(sampleCPU(pids{sink: o.sinkPID})), sink: -1}
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	for _, c := range conns {
		c.quit()
	}
	if sink0 >= 0 {
		res.sink = waitSinkCount(o.sinkLog, sink0+int64(n)) - sink0
	}
	return res, nil
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawConn is a minimal SMTP client, as internal/mail's BenchmarkRawSend: MAIL,
// RCPT and DATA in one write when the server offers PIPELINING, then the
// message, then the final reply — the exchange practicemail's pool makes.
type rawConn struct {
	net.Conn
	r          *bufio.Reader
	w          *bufio.Writer
	pipelining bool
	cmd        []byte
}

func dialRaw(ctx context.Context, addr string) (*rawConn, error) {
	nc, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to the sink: %w", err)
	}
	c := &rawConn{Conn: nc, r: bufio.NewReader(nc), w: bufio.NewWriterSize(nc, 64<<10)}
	if _, err := c.reply('2'); err != nil {
		nc.Close()
		return nil, err
	}
	c.w.WriteString("EHLO bench.localhost\r\n")
	if err := c.w.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	lines, err := c.reply('2')
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.pipelining = bytes.Contains(lines, []byte("PIPELINING"))
	return c, nil
}

// send delivers one stuffed message to the i-th subscriber's address.
func (c *rawConn) send(from string, i int, stuffed []byte) error {
	c.cmd = append(c.cmd[:0], "MAIL FROM:<"...)
	c.cmd = append(append(c.cmd, from...), ">\r\n"...)
	mailEnd := len(c.cmd)
	c.cmd = append(c.cmd, "RCPT TO:<"+subscriberPrefix...)
	c.cmd = strconv.AppendInt(c.cmd, int64(i), 10)
	c.cmd = append(c.cmd, "@"+subscriberDomain+">\r\n"...)
	rcptEnd := len(c.cmd)
	c.cmd = append(c.cmd, "DATA\r\n"...)
	if err := c.commands(c.cmd, mailEnd, rcptEnd); err != nil {
		return err
	}
	c.w.Write(stuffed)
	if err := c.w.Flush(); err != nil {
		return err
	}
	_, err := c.reply('2')
	return err
}

// commands writes MAIL, RCPT and DATA (cmd, split at mailEnd and rcptEnd)
// and reads their replies: in one round trip when the server offers
// PIPELINING, else one command at a time.
func (c *rawConn) commands(cmd []byte, mailEnd, rcptEnd int) error {
	classes := []byte{'2', '2', '3'}
	if c.pipelining {
		c.w.Write(cmd)
		if err := c.w.Flush(); err != nil {
			return err
		}
		for _, class := range classes {
			if _, err := c.reply(class); err != nil {
				return err
			}
		}
		return nil
	}
	for k, s := range [][]byte{cmd[:mailEnd], cmd[mailEnd:rcptEnd], cmd[rcptEnd:]} {
		c.w.Write(s)
		if err := c.w.Flush(); err != nil {
			return err
		}
		if _, err := c.reply(classes[k]); err != nil {
			return err
		}
	}
	return nil
}

func (c *rawConn) quit() {
	c.w.WriteString("QUIT\r\n")
	if c.w.Flush() == nil {
		c.reply('2')
	}
}

// reply reads one (possibly multi-line) reply whose code starts with class
// and returns its lines.
func (c *rawConn) reply(class byte) ([]byte, error) {
	var all []byte
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return all, fmt.Errorf("read reply: %w", err)
		}
		all = append(all, line...)
		if len(line) < 4 || line[0] != class {
			return all, fmt.Errorf("unexpected reply %q", line)
		}
		if line[3] != '-' {
			return all, nil
		}
	}
}
