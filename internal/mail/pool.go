package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("mail: sender closed")

// authPreference is the order in which SMTP AUTH mechanisms are tried. PLAIN
// and LOGIN refuse, inside go-mail, to send a password over a plaintext
// connection to anything but localhost.
var authPreference = []gomail.SMTPAuthType{
	gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5,
	gomail.SMTPAuthPlain, gomail.SMTPAuthLogin,
}

// Pool sends messages over a fixed number of persistent SMTP connections.
// Each connection is dialled on first use, used by one Send at a time, and
// redialled after it breaks. Dialing, STARTTLS and AUTH are go-mail's; the
// mail transaction is written directly, pipelined when the server offers
// PIPELINING, with the message bytes from Prepared and no re-encoding.
type Pool struct {
	tlsConf *tls.Config
	smtps   bool
	timeout time.Duration // connecting and QUIT (Options.Timeout)
	times   timeouts      // within a transaction
	sign    *signer
	limiter *Limiter
	// returnPath replaces the from given to Send when set (Options.ReturnPath).
	returnPath string

	slots     chan *conn
	size      int
	done      chan struct{}
	closeOnce sync.Once
	dials     atomic.Int64 // connections made, for tests
}

func newPool(u *url.URL, o Options, sign *signer) (*Pool, error) {
	p := &Pool{
		smtps: u.Scheme == "smtps", timeout: o.Timeout, sign: sign,
		times: timeouts{command: o.CommandTimeout, dataEnd: o.DataTimeout}, limiter: o.Limiter, returnPath: o.ReturnPath,
		slots: make(chan *conn, o.Connections), size: o.Connections, done: make(chan struct{}),
	}
	p.tlsConf = o.TLSConfig
	if p.tlsConf == nil {
		p.tlsConf = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	opts := p.clientOptions(u, o)
	for range o.Connections {
		// A go-mail Client per connection: one dial must not wait for
		// another's (a server that never greets holds one for the whole
		// timeout), and a Client is not safe for concurrent dials (its
		// AUTH discovery writes to it).
		client, err := gomail.NewClient(u.Hostname(), opts...)
		if err != nil {
			return nil, fmt.Errorf("smtp client: %w", err)
		}
		p.slots <- &conn{dialer: client}
	}
	return p, nil
}

func (p *Pool) clientOptions(u *url.URL, o Options) []gomail.Option {
	port := 25
	if p.smtps {
		port = 465
	}
	if u.Port() != "" {
		port, _ = strconv.Atoi(u.Port()) // validated by Open
	}
	policy := map[string]gomail.TLSPolicy{
		TLSMandatory: gomail.TLSMandatory, TLSOpportunistic: gomail.TLSOpportunistic, TLSNone: gomail.NoTLS,
	}[o.TLS]
	opts := []gomail.Option{
		gomail.WithPort(port), gomail.WithTimeout(o.Timeout), gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(p.tlsConf), gomail.WithDialContextFunc(p.dialFunc), gomail.WithoutNoop(),
	}
	if p.smtps {
		opts = append(opts, gomail.WithSSL())
	}
	if o.HeloName != "" {
		opts = append(opts, gomail.WithHELO(o.HeloName))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass),
			gomail.WithOpportunisticSMTPAuth(authPreference...))
	}
	return opts
}

// dialing is one dial in progress. go-mail passes dialFunc a context
// derived from the one the dial was started with, which carries it.
type dialing struct {
	ctx  context.Context // the sender's; go-mail's own ends with the dial
	nc   net.Conn        // the connection dialFunc made
	stop func() bool     // stops ctx from interrupting nc
}

type dialingKey struct{}

// dialFunc dials for go-mail and remembers the connection, so that a dial
// that fails after connecting (greeting, TLS or AUTH refused) can be closed,
// and so that sends can set deadlines on it. go-mail then reads the
// greeting and does EHLO, STARTTLS and AUTH under its timeout alone: the
// sender's context, cancelled or past its deadline, interrupts them.
// Implicit TLS is done here because go-mail skips its own TLS dialer when
// given a dial function.
func (p *Pool) dialFunc(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	var c net.Conn
	var err error
	if p.smtps {
		c, err = (&tls.Dialer{NetDialer: d, Config: p.tlsConf}).DialContext(ctx, network, addr)
	} else {
		c, err = d.DialContext(ctx, network, addr)
	}
	if dl, ok := ctx.Value(dialingKey{}).(*dialing); ok && err == nil {
		dl.nc = c
		dl.stop = context.AfterFunc(dl.ctx, func() { _ = c.SetDeadline(time.Now()) })
	}
	return c, err
}

// dial connects cn.
func (p *Pool) dial(ctx context.Context, cn *conn) error {
	dl := &dialing{ctx: ctx}
	c, err := cn.dialer.DialToSMTPClientWithContext(context.WithValue(ctx, dialingKey{}, dl))
	if dl.stop != nil && !dl.stop() && err == nil {
		// Cancelled as the dial ended: the deadline moved to now may
		// still land on the connection.
		_ = c.Close()
		err = ctx.Err()
	}
	if err != nil {
		if dl.nc != nil {
			_ = dl.nc.Close()
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return newSendError("connect", err)
	}
	p.dials.Add(1)
	cn.set(c, dl.nc)
	return nil
}

// Dials reports how many connections the pool has made so far.
func (p *Pool) Dials() int { return int(p.dials.Load()) }

// Send implements Sender.
func (p *Pool) Send(ctx context.Context, from, to string, msg *Prepared, r Recipient) error {
	_, err := p.SendReply(ctx, from, to, msg, r, nil)
	return err
}

// SendReply implements Sender; the reply is the server's final answer to
// the message, e.g. "2.0.0 Ok: queued as 4Bx2…".
func (p *Pool) SendReply(ctx context.Context, from, to string, msg *Prepared, r Recipient, gate Gate) (string, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	data, err := render((*bp)[:0], msg, r, p.sign)
	*bp = data
	if err != nil {
		return "", err
	}
	if p.returnPath != "" {
		from = p.returnPath
	}
	if err := checkEnvelope(from, to); err != nil {
		return "", err
	}
	if err := p.limiter.Wait(ctx); err != nil {
		return "", &SendError{Stage: "wait", Temporary: true, Err: err}
	}
	var cn *conn
	select {
	case cn = <-p.slots:
	case <-p.done:
		return "", ErrClosed
	case <-ctx.Done():
		return "", &SendError{Stage: "wait", Temporary: true, Err: ctx.Err()}
	}
	defer func() { p.slots <- cn }()
	return p.deliver(ctx, cn, from, to, data, gate)
}

// deliver runs one mail transaction on cn, dialling first if needed. A
// connection that was already open may have been closed by the server while
// idle: it breaks (EOF, reset) or answers 421 before the message could have
// been accepted. Then the transaction is tried once more on a fresh
// connection, so an idle timeout costs a dial, not a message, and is not
// taken for the server refusing mail.
func (p *Pool) deliver(ctx context.Context, cn *conn, from, to string, data []byte, gate Gate) (string, error) {
	for attempt := 0; ; attempt++ {
		reused := cn.c != nil
		if !reused {
			if err := p.dial(ctx, cn); err != nil {
				return "", err
			}
		}
		reply, err := cn.transact(ctx, p.times, from, to, data, gate)
		if err == nil {
			return reply, nil
		}
		var se *SendError
		if errors.As(err, &se) && closedWhileIdle(se) && !cn.maybeSent && reused && attempt == 0 && ctx.Err() == nil {
			continue
		}
		return "", err
	}
}

// closedWhileIdle reports whether se is what a connection the server closed
// while it was idle gives: no reply at all, or 421 (RFC 5321 4.5.3.2.7:
// the server closing the channel, e.g. after its idle timeout).
func closedWhileIdle(se *SendError) bool { return se.Code == 0 || se.Code == 421 }

// render writes the message for r into dst as SMTP DATA content,
// dot-stuffed and terminated, signed when sign is set. Unsigned, the
// stuffing was done once by Prepare; a signature covers the message as
// the recipient will see it, so a signed message is stuffed after signing.
func render(dst []byte, msg *Prepared, r Recipient, sign *signer) ([]byte, error) {
	if sign == nil {
		return msg.AppendData(dst, r)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	body, err := msg.AppendTo((*bp)[:0], r)
	*bp = body
	if err != nil {
		return dst, err
	}
	h, err := sign.header(body)
	if err != nil {
		return dst, err
	}
	return appendDotStuffed(append(dst, h...), body), nil
}

func checkEnvelope(from, to string) error {
	if from != "" { // the null sender <> is allowed
		if err := checkAddress(from); err != nil {
			return fmt.Errorf("envelope from: %w", err)
		}
	}
	if err := checkAddress(to); err != nil {
		return fmt.Errorf("envelope to: %w", err)
	}
	return nil
}

// Close waits for sends in progress, then says QUIT on every open
// connection. Later sends fail with ErrClosed.
func (p *Pool) Close() error {
	var errs []error
	p.closeOnce.Do(func() {
		close(p.done)
		for range p.size {
			cn := <-p.slots
			if err := cn.quit(p.timeout); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}
