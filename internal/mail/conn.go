package mail

import (
	"bufio"
	"context"
	"errors"
	"net"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// conn is one pooled SMTP connection; c is nil until dialled and after it
// broke.
type conn struct {
	dialer     *gomail.Client // its own dial configuration
	c          *smtp.Client
	nc         net.Conn
	pipelining bool
	utf8       bool
	// maybeSent is set once the end of a message's data went out: from then
	// on a broken connection may have delivered it, so it is not retried.
	maybeSent bool
}

func (cn *conn) set(c *smtp.Client, nc net.Conn) {
	cn.c, cn.nc = c, nc
	cn.pipelining, _ = c.Extension("PIPELINING")
	cn.utf8, _ = c.Extension("SMTPUTF8")
}

// drop closes a broken connection so that the next use redials.
func (cn *conn) drop() {
	if cn.c != nil {
		_ = cn.c.Close()
	}
	cn.c, cn.nc = nil, nil
}

// quit ends the session politely.
func (cn *conn) quit(timeout time.Duration) error {
	if cn.c == nil {
		return nil
	}
	_ = cn.nc.SetDeadline(time.Now().Add(timeout))
	err := cn.c.Quit()
	cn.drop()
	return err
}

// timeouts bound the waits of a mail transaction (RFC 5321 4.5.3.2).
type timeouts struct {
	command time.Duration // each reply before the message, and writing it
	dataEnd time.Duration // the reply to the final dot
}

// transact runs MAIL, RCPT, DATA and the message on the connection. A broken
// connection is dropped; after a refusal the connection is reset and kept. A
// gate that refuses leaves the connection mid-DATA: it is dropped, which
// makes the server discard the message.
func (cn *conn) transact(ctx context.Context, times timeouts, from, to string, data []byte, gate Gate) (string, error) {
	cn.maybeSent = false
	if err := cn.nc.SetDeadline(sendDeadline(ctx, times.command)); err != nil {
		cn.drop()
		return "", newSendError("mail", err)
	}
	w := newWatch(ctx, cn.nc, times)
	reply, stage, err := cn.exchange(ctx, w, from, to, data, gate)
	interrupted := w.end()
	if err == nil {
		return reply, nil
	}
	var ge gateError
	if errors.As(err, &ge) {
		cn.drop()
		return "", ge.err
	}
	if ctx.Err() != nil && !isReply(err) {
		err = errors.Join(ctx.Err(), err)
	}
	se := newSendError(stage, err)
	se.MaybeDelivered = cn.maybeSent && !isReply(err)
	switch {
	case interrupted || !isReply(err) || se.Code == 421:
		cn.drop()
	case !cn.maybeSent:
		// Refused before the message went: end the transaction, or a
		// server that keeps it after a refused DATA (Postfix) refuses the
		// next MAIL as nested.
		if cn.reset() != nil {
			cn.drop()
		}
	}
	return "", se
}

// sendDeadline is when a send must be done by: timeout from now, or ctx's
// deadline if that is sooner.
func sendDeadline(ctx context.Context, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return deadline
}

// exchange writes the transaction and reads the replies, returning the
// stage of the first failure.
func (cn *conn) exchange(ctx context.Context, wt *watch, from, to string, data []byte, gate Gate) (reply, stage string, err error) {
	w := cn.c.Text.W
	cmds := [3]func(){
		func() { cn.writeMail(w, from, to) },
		func() { writeCmd(w, "RCPT TO:<", to, ">\r\n") },
		func() { writeCmd(w, "DATA\r\n") },
	}
	var replies [3]error
	var i int
	if cn.pipelining {
		// RFC 2920: MAIL, RCPT and DATA go out in one write.
		for _, cmd := range cmds {
			cmd()
		}
		if err := w.Flush(); err != nil {
			return "", "mail", err
		}
		for i = range cmds {
			if replies[i], err = cn.readReply(i); err != nil {
				break
			}
		}
		if err != nil {
			// A server may answer 421 and hang up, or fail after
			// refusing: its refusal, not the broken read, says why.
			for j, r := range replies[:i] {
				if r != nil {
					return "", stageName(j), r
				}
			}
			return "", stageName(i), err
		}
	} else {
		for i = range cmds {
			cmds[i]()
			if err := w.Flush(); err != nil {
				return "", stageName(i), err
			}
			if replies[i], err = cn.readReply(i); err != nil {
				return "", stageName(i), err
			}
			if replies[i] != nil {
				break
			}
		}
	}
	dataOpen := i == 2 && replies[2] == nil
	for i, r := range replies {
		if r != nil {
			return "", stageName(i), cn.abortData(dataOpen, r)
		}
	}
	if gate != nil {
		if err := gate(ctx); err != nil {
			return "", "data", gateError{err}
		}
		// The wait at the gate counts against no timeout: the rest of
		// the transaction gets a whole one.
		wt.renew()
	}
	return cn.writeData(wt, data)
}

// readReply reads the reply to command i of the transaction. A refusal is
// returned as refused, a broken connection as err.
func (cn *conn) readReply(i int) (refused, err error) {
	_, _, e := cn.c.Text.ReadResponse([...]int{250, 25, 354}[i])
	if e != nil && !isReply(e) {
		return nil, e
	}
	return e, nil
}

// abortData ends a DATA that a pipelining server accepted even though MAIL
// or RCPT failed, by sending an empty message; it returns cause.
func (cn *conn) abortData(started bool, cause error) error {
	if !started {
		return cause
	}
	if _, err := cn.c.Text.W.WriteString(".\r\n"); err != nil {
		return err
	}
	if err := cn.c.Text.W.Flush(); err != nil {
		return err
	}
	if _, _, err := cn.c.Text.ReadResponse(0); err != nil && !isReply(err) {
		return err
	}
	return cause
}

// writeData sends the message, already dot-stuffed and terminated (see
// render), and reads the final reply. The message and its terminating dot
// go out in one write: syscalls are a good part of a send.
func (cn *conn) writeData(wt *watch, data []byte) (string, string, error) {
	w := cn.c.Text.W
	_, _ = w.Write(data)
	if err := w.Flush(); err != nil {
		return "", "data", err
	}
	cn.maybeSent = true
	wt.seal()
	_, msg, err := cn.c.Text.ReadResponse(250)
	return msg, "data", err
}

func (cn *conn) writeMail(w *bufio.Writer, from, to string) {
	writeCmd(w, "MAIL FROM:<", from, ">")
	if cn.utf8 && (!isASCII(from) || !isASCII(to)) {
		_, _ = w.WriteString(" SMTPUTF8")
	}
	_, _ = w.WriteString("\r\n")
}

func (cn *conn) reset() error {
	if _, err := cn.c.Text.W.WriteString("RSET\r\n"); err != nil {
		return err
	}
	if err := cn.c.Text.W.Flush(); err != nil {
		return err
	}
	_, _, err := cn.c.Text.ReadResponse(250)
	return err
}

func writeCmd(w *bufio.Writer, parts ...string) {
	for _, s := range parts {
		_, _ = w.WriteString(s)
	}
}

func stageName(i int) string { return [...]string{"mail", "rcpt", "data"}[i] }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
