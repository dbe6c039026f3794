package feeds

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// A feed URL comes from the practice, but where it leads does not: a blog
// host can redirect, and a name can resolve, anywhere. A worker running in a
// cloud must never fetch its provider's metadata service (which hands out
// credentials) or anything else on the machine's own link, and a feed on
// the internet must not lead into the private network around the worker.
// The checks run on every redirect and, in the dialer, on every address a
// name resolves to, just before connecting: a DNS answer that changes
// between two lookups (DNS rebinding) is caught as well.

// addrClass is how far an address may be fetched from.
type addrClass int

const (
	classPublic  addrClass = iota
	classPrivate           // loopback and private ranges: only for a feed configured there
	classRefused           // link-local, metadata and unroutable: never
)

// AddressError is why a fetch refused to connect to an address.
type AddressError struct {
	Host   string // the host name or address asked for
	Reason string // e.g. "a link-local address"
}

// Error returns one line such as
// "refused to connect to 169.254.169.254: a cloud metadata address".
func (e *AddressError) Error() string {
	return "refused to connect to " + e.Host + ": " + e.Reason
}

// metadataHosts are the names of cloud metadata services, refused before any
// DNS lookup: inside the cloud they resolve to the addresses below.
var metadataHosts = map[string]bool{
	"metadata":                   true,
	"metadata.google.internal":   true,
	"metadata.goog":              true,
	"instance-data":              true,
	"instance-data.ec2.internal": true,
	"metadata.azure.internal":    true,
	"metadata.tencentyun.com":    true,
}

// metadataAddrs are metadata services outside the link-local range, and the
// best-known ones inside it, named for a clearer message.
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, Oracle, DigitalOcean…
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS over IPv6
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("192.0.0.192"):     true, // Oracle Cloud (classic)
}

var (
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, RFC 6598
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")     // reaches the local host on Linux
	nat64       = netip.MustParsePrefix("64:ff9b::/96")  // RFC 6052: an IPv4 address inside
	siteLocal   = netip.MustParsePrefix("fec0::/10")     // deprecated, still private
)

// classify says how far ip may be fetched from, and why not when it is not
// public.
func classify(ip netip.Addr) (addrClass, string) {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case metadataAddrs[ip]:
		return classRefused, "a cloud metadata address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return classRefused, "a link-local address"
	case ip.IsUnspecified(), thisNetwork.Contains(ip), ip.IsMulticast(), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return classRefused, "not an address a feed can be on"
	case ip.IsLoopback():
		return classPrivate, "a loopback address"
	case ip.IsPrivate(), sharedSpace.Contains(ip), siteLocal.Contains(ip):
		return classPrivate, "a private address"
	}
	return classPublic, ""
}

// checkHost refuses a URL host before any connection: a metadata service's
// name, or an address literal outside what the fetch may reach. Other names
// are checked when they resolve, by checkDial.
func checkHost(host string, allowPrivate bool) error {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if metadataHosts[name] {
		return &AddressError{Host: host, Reason: "a cloud metadata service"}
	}
	ip, err := netip.ParseAddr(strings.Trim(name, "[]"))
	if err != nil {
		return nil
	}
	return checkAddr(host, ip, allowPrivate)
}

func checkAddr(host string, ip netip.Addr, allowPrivate bool) error {
	class, reason := classify(ip)
	if class == classRefused || class == classPrivate && !allowPrivate {
		if class == classPrivate {
			reason += " (the feed's own address is public, so it may not lead into a private network)"
		}
		return &AddressError{Host: host, Reason: reason}
	}
	return nil
}

// checkDial is a net.Dialer Control function: it runs for every address a
// dial tries, after the name is resolved and before the connection is made.
func checkDial(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return &AddressError{Host: address, Reason: "not an address"}
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return &AddressError{Host: address, Reason: "not an address"}
		}
		return checkAddr(host, ip, allowPrivate)
	}
}

// isPrivateFeed reports whether the configured feed host is itself on a
// loopback or private address (a blog on the same machine or the office
// network): then its fetches, redirects included, may reach such
// addresses. A name counts when it is localhost or every address it
// resolves to now is private; a name that does not resolve is treated as
// public and fails when it is dialled.
func isPrivateFeed(ctx context.Context, r *net.Resolver, host string) bool {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		class, _ := classify(ip)
		return class == classPrivate
	}
	ips, err := r.LookupNetIP(ctx, "ip", name)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if class, _ := classify(ip); class != classPrivate {
			return false
		}
	}
	return true
}
