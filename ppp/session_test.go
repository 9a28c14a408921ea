package ppp

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	serverAddr = netip.MustParseAddr("198.18.200.1")
	poolAddr   = netip.MustParseAddr("198.18.200.2")
	dns1       = netip.MustParseAddr("198.18.1.53")
	dns2       = netip.MustParseAddr("198.18.1.54")
)

// testConfig returns a server Config whose Rand serves script first.
func testConfig(script []byte, users map[string]string) *Config {
	return &Config{
		Name: "ikego-test",
		Secret: func(user string) (string, bool) {
			pw, ok := users[user]
			return pw, ok
		},
		LocalAddr:  serverAddr,
		AssignAddr: func(string) (netip.Addr, error) { return poolAddr, nil },
		DNS:        []netip.Addr{dns1, dns2},
		Rand:       &scriptRand{script: script},
	}
}

func newLink(t *testing.T, cfg *Config, c *testClient) *link {
	t.Helper()
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &link{t: t, s: s, c: c, now: t0}
	s.Start(l.now)
	c.start(l.now)
	l.run()
	return l
}

// ipPacket is a minimal IPv4 header for the data path; PPP does not look
// inside.
func ipPacket(src, dst netip.Addr, payload string) []byte {
	b := []byte{0x45, 0, 0, byte(20 + len(payload)), 0, 0, 0, 0, 64, 17, 0, 0}
	s, d := src.As4(), dst.As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	return append(b, payload...)
}

func (l *link) checkNetworkUp() {
	l.t.Helper()
	if got := l.kinds(); !slices.Equal(got, []EventKind{EventLinkUp, EventAuthenticated, EventNetworkUp}) {
		l.t.Fatalf("events %v, want link up, authenticated, network up", got)
	}
	if e, _ := l.event(EventNetworkUp); e.Addr != poolAddr {
		l.t.Errorf("network up with %v, want %v", e.Addr, poolAddr)
	}
	if l.s.Phase() != PhaseNetwork || l.s.LCPState() != StateOpened || l.s.IPCPState() != StateOpened {
		l.t.Errorf("phase %v, LCP %v, IPCP %v", l.s.Phase(), l.s.LCPState(), l.s.IPCPState())
	}
	// RFC 1332 and RFC 1877: the client took the pool's address and our
	// DNS servers from our Naks, and learned the server's address.
	if got := l.c.iopts.get(IPCPOptionIPAddress); got != poolAddr {
		l.t.Errorf("client address %v, want %v", got, poolAddr)
	}
	if got := l.c.iopts.get(IPCPOptionPrimaryDNS); got != dns1 {
		l.t.Errorf("client primary DNS %v, want %v", got, dns1)
	}
	if got := l.c.iopts.get(IPCPOptionSecondaryDNS); got != dns2 {
		l.t.Errorf("client secondary DNS %v, want %v", got, dns2)
	}
	if l.c.iopts.server != serverAddr {
		l.t.Errorf("client learned server %v, want %v", l.c.iopts.server, serverAddr)
	}
	if l.c.ipcp.State() != StateOpened || l.c.lcp.State() != StateOpened {
		l.t.Errorf("client LCP %v IPCP %v", l.c.lcp.State(), l.c.ipcp.State())
	}
}

// checkIP passes IPv4 packets both ways.
func (l *link) checkIP() {
	l.t.Helper()
	up := ipPacket(poolAddr, dns1, "hello server")
	ip, err := l.s.HandleFrame(AppendFrame(nil, ProtocolIPv4, up), l.now)
	if err != nil || !bytes.Equal(ip, up) {
		l.t.Errorf("HandleFrame(IPv4) = % x, %v", ip, err)
	}
	// The compressed form a peer may send after PFC and ACFC.
	ip, err = l.s.HandleFrame(append([]byte{0x21}, up...), l.now)
	if err != nil || !bytes.Equal(ip, up) {
		l.t.Errorf("HandleFrame(compressed IPv4) = % x, %v", ip, err)
	}
	down := ipPacket(dns1, poolAddr, "hello client")
	f, err := l.s.AppendIPFrame(make([]byte, 0, 64), down)
	if err != nil {
		l.t.Fatal(err)
	}
	l.c.handleFrame(f, l.now)
	if len(l.c.ipIn) != 1 || !bytes.Equal(l.c.ipIn[0], down) {
		l.t.Errorf("client received %x, want %x", l.c.ipIn, down)
	}
}

// mschapv2RFC2759 answers with the NT-Response of RFC 2759, Section 9.2,
// checking that the server challenged with the RFC's
// AuthenticatorChallenge.
func mschapv2RFC2759(t testing.TB, v rfc2759Vector) func(uint8, []byte, string) ([]byte, string) {
	return func(_ uint8, ch []byte, _ string) ([]byte, string) {
		if !bytes.Equal(ch, v.authChallenge[:]) {
			t.Errorf("challenge % X, want the RFC's % X", ch, v.authChallenge)
		}
		// RFC 2759, Section 4: Peer-Challenge, 8 reserved zero octets,
		// NT-Response, Flags.
		val := append([]byte(nil), v.peerChallenge[:]...)
		val = append(val, make([]byte, 8)...)
		val = append(val, v.ntResponse[:]...)
		val = append(val, 0)
		return val, v.username
	}
}

func TestSessionMSCHAPv2RFC2759(t *testing.T) {
	v := rfc2759(t)
	// Rand: LCP Magic-Number, CHAP Identifier, then the RFC's
	// AuthenticatorChallenge.
	script := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	cfg := testConfig(script, map[string]string{"User": "clientPass"})
	c := newTestClient(t, AuthMSCHAPv2)
	c.respond = mschapv2RFC2759(t, v)
	l := newLink(t, cfg, c)

	if len(c.challenges) != 1 {
		t.Fatalf("%d challenges", len(c.challenges))
	}
	if ch := c.challenges[0]; ch.Data[0] != 16 || string(ch.Data[17:]) != "ikego-test" {
		t.Errorf("Challenge % x: want Value-Size 16 and our name", ch.Data)
	}
	if len(c.chapReply) != 1 || c.chapReply[0].Code != CHAPSuccess {
		t.Fatalf("CHAP replies %+v, want one Success", c.chapReply)
	}
	// RFC 2759, Section 9.2: AuthenticatorResponse; Section 5: the
	// Success message format.
	if got, want := string(c.chapReply[0].Data), v.authResponse+" M=Access granted"; got != want {
		t.Errorf("Success message %q, want %q", got, want)
	}
	if c.chapReply[0].Identifier != c.challenges[0].Identifier {
		t.Error("Success Identifier differs from the Challenge's")
	}
	l.checkNetworkUp()
	if e, _ := l.event(EventAuthenticated); e.User != "User" {
		t.Errorf("authenticated %q", e.User)
	}
	res, ok := l.s.Auth()
	if !ok || res.User != "User" || res.Protocol != AuthMSCHAPv2 {
		t.Fatalf("Auth() = %+v, %v", res, ok)
	}
	// RFC 3079, Section 3.5.3: MasterKey for the same exchange.
	if want := unhex16(t, "FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31"); res.MasterKey != want {
		t.Errorf("MasterKey %X, want %X", res.MasterKey, want)
	}
	// The LCP negotiation: the client's MRU, our CHAP algorithm 0x81.
	if l.s.PeerMRU() != 1400 || c.lopts.authSeen != AuthMSCHAPv2 {
		t.Errorf("peer MRU %d, auth %v", l.s.PeerMRU(), c.lopts.authSeen)
	}
	l.checkIP()

	// A repeated Response (our Success was lost) gets the same Success.
	resp := Packet{Code: CHAPResponse, Identifier: c.challenges[0].Identifier,
		Data: append(append([]byte{49}, make([]byte, 49)...), "User"...)}
	if _, err := l.s.HandleFrame(AppendFrame(nil, ProtocolCHAP, resp.Append(nil)), l.now); err != nil {
		t.Fatal(err)
	}
	l.run()
	if len(c.chapReply) != 2 || !bytes.Equal(c.chapReply[1].Data, c.chapReply[0].Data) {
		t.Errorf("repeated Response got %+v", c.chapReply)
	}
	if l.s.Phase() != PhaseNetwork {
		t.Errorf("phase %v after a repeated Response", l.s.Phase())
	}
}

// The pppd log in https://networkengineering.stackexchange.com/q/54285
// (question "How exactly does CHAP authentication work"): secret
// "freesurf", Identifier 3, Challenge bf2b15282cf4f6672f1b809a251bd731 from
// "HiPer", Response 69cd88a27098f6c3e961f49f0cec74fb from "Sunrise". The
// same value is MD5(03 | "freesurf" | challenge) with openssl dgst -md5.
func TestSessionCHAPMD5KnownAnswer(t *testing.T) {
	challenge, _ := hex.DecodeString("bf2b15282cf4f6672f1b809a251bd731")
	response, _ := hex.DecodeString("69cd88a27098f6c3e961f49f0cec74fb")
	// Identifier = 1 + 2: the server adds 1 + rand%128 to its last one.
	script := append([]byte{1, 2, 3, 4, 2}, challenge...)
	cfg := testConfig(script, map[string]string{"Sunrise": "freesurf"})
	cfg.Name = "HiPer"
	cfg.Auth = []AuthProtocol{AuthCHAPMD5}
	c := newTestClient(t, AuthCHAPMD5)
	c.respond = func(id uint8, ch []byte, name string) ([]byte, string) {
		if id != 3 || !bytes.Equal(ch, challenge) || name != "HiPer" {
			t.Errorf("Challenge id %d, % x, %q", id, ch, name)
		}
		return response, "Sunrise"
	}
	l := newLink(t, cfg, c)
	if len(c.chapReply) != 1 || c.chapReply[0].Code != CHAPSuccess {
		t.Fatalf("CHAP replies %+v, want one Success", c.chapReply)
	}
	l.checkNetworkUp()
	l.checkIP()
	if res, _ := l.s.Auth(); res.Protocol != AuthCHAPMD5 || res.MasterKey != [16]byte{} {
		t.Errorf("Auth() = %+v", res)
	}
}

// opensslMD5 computes MD5 with the openssl binary, independently of Go.
func opensslMD5(t *testing.T, data []byte) []byte {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	cmd := exec.Command(path, "dgst", "-md5", "-r")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("openssl: %v", err)
	}
	sum, err := hex.DecodeString(strings.Fields(string(out))[0])
	if err != nil || len(sum) != md5.Size {
		t.Fatalf("openssl output %q", out)
	}
	return sum
}

// TestSessionAuthNak: we prefer MS-CHAPv2, the client does only CHAP-MD5
// and Naks; we take MD5 and check a response computed by openssl.
func TestSessionAuthNak(t *testing.T) {
	cfg := testConfig(nil, map[string]string{"alice": "s3cr3t"})
	c := newTestClient(t, AuthCHAPMD5)
	c.respond = func(id uint8, ch []byte, _ string) ([]byte, string) {
		msg := append([]byte{id}, "s3cr3t"...)
		return opensslMD5(t, append(msg, ch...)), "alice"
	}
	l := newLink(t, cfg, c)
	if c.lopts.authSeen != AuthCHAPMD5 {
		t.Errorf("client acked %v", c.lopts.authSeen)
	}
	l.checkNetworkUp()
	if e, _ := l.event(EventAuthenticated); e.User != "alice" {
		t.Errorf("user %q", e.User)
	}
}

func TestSessionMSCHAPv2Failure(t *testing.T) {
	v := rfc2759(t)
	script := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	cfg := testConfig(script, map[string]string{"User": "wrongPass"})
	c := newTestClient(t, AuthMSCHAPv2)
	c.respond = mschapv2RFC2759(t, v)
	l := newLink(t, cfg, c)
	if len(c.chapReply) != 1 || c.chapReply[0].Code != CHAPFailure {
		t.Fatalf("CHAP replies %+v, want one Failure", c.chapReply)
	}
	// RFC 2759, Section 6.
	re := regexp.MustCompile(`^E=691 R=0 C=[0-9A-F]{32} V=3 M=\S`)
	if msg := string(c.chapReply[0].Data); !re.MatchString(msg) {
		t.Errorf("Failure message %q", msg)
	}
	if _, ok := l.s.Auth(); ok {
		t.Error("Auth() reports success")
	}
	// The server terminates the link; the client acks and we finish.
	if !slices.ContainsFunc(c.lcpIn, func(p Packet) bool { return p.Code == CodeTerminateRequest }) {
		t.Error("no LCP Terminate-Request after the Failure")
	}
	if e, ok := l.event(EventLinkDown); !ok || !strings.Contains(e.Reason, "authentication failed") {
		t.Errorf("events %+v, want link down for the failure", l.events)
	}
	if _, ok := l.event(EventNetworkUp); ok {
		t.Error("network up after a failure")
	}
	if l.s.Phase() != PhaseDead {
		t.Errorf("phase %v", l.s.Phase())
	}
	if _, err := l.s.HandleFrame(AppendFrame(nil, ProtocolLCP, []byte{1, 1, 0, 4}), l.now); !errors.Is(err, ErrDead) {
		t.Errorf("dead session took a frame: %v", err)
	}
}

func isCHAP(f []byte) bool {
	proto, _, _ := ParseFrame(f)
	return proto == ProtocolCHAP
}

func TestSessionChallengeRetransmission(t *testing.T) {
	cfg := testConfig(nil, map[string]string{"alice": "pw"})
	cfg.Auth = []AuthProtocol{AuthCHAPMD5}
	c := newTestClient(t, AuthCHAPMD5)
	var challenges [][]byte
	c.respond = func(id uint8, ch []byte, _ string) ([]byte, string) {
		challenges = append(challenges, append([]byte{id}, ch...))
		h := md5.New()
		h.Write([]byte{id})
		h.Write([]byte("pw"))
		h.Write(ch)
		return h.Sum(nil), "alice"
	}
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &link{t: t, s: s, c: c, now: t0}
	// Lose the server's first two Challenges on the wire.
	var sent [][]byte
	l.drop = func(f []byte) bool {
		if !isCHAP(f) {
			return false
		}
		sent = append(sent, f)
		return len(sent) <= 2
	}
	s.Start(l.now)
	c.start(l.now)
	l.run()
	for s.IPCPState() != StateOpened && l.advance() {
	}
	l.checkNetworkUp()
	if len(sent) != 4 || len(challenges) != 1 {
		t.Fatalf("%d CHAP frames sent, %d Challenges answered", len(sent), len(challenges))
	}
	// The retransmissions repeat the Challenge, Identifier and value.
	if !bytes.Equal(sent[0], sent[1]) || !bytes.Equal(sent[0], sent[2]) {
		t.Error("retransmitted Challenge differs")
	}
	if got := l.now.Sub(t0); got != 6*time.Second {
		t.Errorf("authenticated after %v, want two 3 s retransmissions", got)
	}
}

func TestSessionChallengeGivesUp(t *testing.T) {
	cfg := testConfig(nil, map[string]string{"alice": "pw"})
	c := newTestClient(t, AuthMSCHAPv2)
	c.respond = func(uint8, []byte, string) ([]byte, string) { return nil, "" }
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &link{t: t, s: s, c: c, now: t0}
	challenges := 0
	l.drop = func(f []byte) bool {
		if isCHAP(f) {
			challenges++
			return true
		}
		return false
	}
	s.Start(l.now)
	c.start(l.now)
	l.run()
	for l.advance() {
	}
	if challenges != 10 {
		t.Errorf("%d Challenges, want Max-Configure = 10", challenges)
	}
	if e, ok := l.event(EventLinkDown); !ok || e.Reason != "no CHAP response" {
		t.Errorf("events %+v", l.events)
	}
	if !slices.ContainsFunc(c.lcpIn, func(p Packet) bool { return p.Code == CodeTerminateRequest }) {
		t.Error("no LCP Terminate-Request")
	}
}

func TestSessionKeepalive(t *testing.T) {
	v := rfc2759(t)
	script := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	cfg := testConfig(script, map[string]string{"User": "clientPass"})
	cfg.EchoInterval = 10 * time.Second
	cfg.EchoFailures = 3
	c := newTestClient(t, AuthMSCHAPv2)
	c.respond = mschapv2RFC2759(t, v)
	l := newLink(t, cfg, c)
	l.checkNetworkUp()
	up := l.now
	// A live peer answers: the link stays up through several intervals.
	for range 5 {
		l.advance()
	}
	echoes := 0
	for _, p := range c.lcpIn {
		if p.Code == CodeEchoRequest {
			echoes++
			if !bytes.Equal(p.Data, []byte{0xA1, 0xB2, 0xC3, 0xD4}) {
				t.Errorf("Echo-Request data % x, want our magic", p.Data)
			}
		}
	}
	if echoes != 5 || l.s.Phase() != PhaseNetwork {
		t.Fatalf("%d echoes, phase %v", echoes, l.s.Phase())
	}
	// The peer goes silent: three unanswered Echo-Requests, then down.
	c.silent = true
	silentAt := l.now
	for l.advance() {
		if _, ok := l.event(EventLinkDown); ok {
			break
		}
	}
	e, ok := l.event(EventLinkDown)
	if !ok || e.Reason != "peer not responding" {
		t.Fatalf("events %+v", l.events)
	}
	if got := l.now.Sub(silentAt); got != 40*time.Second {
		t.Errorf("down %v after the peer went silent (up at %v), want 4 intervals", got, up)
	}
	if got := l.kinds(); !slices.Equal(got[3:], []EventKind{EventNetworkDown, EventLinkDown}) {
		t.Errorf("events %v", got)
	}
}

func TestSessionPeerTerminate(t *testing.T) {
	cfg := testConfig(nil, map[string]string{"alice": "pw"})
	cfg.Auth = []AuthProtocol{AuthCHAPMD5}
	c := newTestClient(t, AuthCHAPMD5)
	c.respond = func(id uint8, ch []byte, _ string) ([]byte, string) {
		return opensslMD5(t, append(append([]byte{id}, "pw"...), ch...)), "alice"
	}
	l := newLink(t, cfg, c)
	l.checkNetworkUp()
	c.lcp.Close(l.now)
	c.flush()
	l.run()
	for l.advance() {
	}
	if got := l.kinds(); !slices.Equal(got[3:], []EventKind{EventNetworkDown, EventLinkDown}) {
		t.Errorf("events %v", got)
	}
	if _, err := l.s.AppendIPFrame(nil, []byte{0x45}); !errors.Is(err, ErrNetworkDown) {
		t.Errorf("AppendIPFrame after down: %v", err)
	}
	if l.s.PeerAddr() != poolAddr {
		t.Errorf("PeerAddr %v: the caller needs it to release the address", l.s.PeerAddr())
	}
}

func TestSessionProtocolRejectAndPhases(t *testing.T) {
	cfg := testConfig(nil, map[string]string{"alice": "pw"})
	cfg.Auth = []AuthProtocol{AuthCHAPMD5}
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(t0)
	// Before LCP is up: non-LCP frames are discarded silently.
	if _, err := s.HandleFrame(AppendFrame(nil, ProtocolIPCP, []byte{1, 1, 0, 4}), t0); !errors.Is(err, ErrDiscarded) {
		t.Errorf("IPCP in Establish: %v", err)
	}
	if _, err := s.HandleFrame(AppendFrame(nil, ProtocolIPv4, []byte{0x45}), t0); !errors.Is(err, ErrNetworkDown) {
		t.Errorf("IPv4 in Establish: %v", err)
	}
	c := newTestClient(t, AuthCHAPMD5)
	c.respond = func(uint8, []byte, string) ([]byte, string) { return nil, "" }
	c.start(t0)
	l := &link{t: t, s: s, c: c, now: t0}
	// Get LCP up, but hold CHAP: the client never answers the Challenge.
	c.respond = func(uint8, []byte, string) ([]byte, string) {
		return make([]byte, 16), "nobody-yet"
	}
	c.silent = false
	// Deliver LCP only.
	for range 20 {
		for {
			f, ok := s.NextFrame()
			if !ok {
				break
			}
			if proto, _, _ := ParseFrame(f); proto == ProtocolLCP {
				c.handleFrame(f, l.now)
			}
		}
		for _, f := range c.out {
			_, _ = s.HandleFrame(f, l.now)
		}
		c.out = nil
	}
	if s.LCPState() != StateOpened || s.Phase() != PhaseAuthenticate {
		t.Fatalf("LCP %v, phase %v", s.LCPState(), s.Phase())
	}
	// RFC 1661, Section 3.5: NCP packets wait for the Network phase.
	if _, err := s.HandleFrame(AppendFrame(nil, ProtocolIPCP, []byte{1, 1, 0, 4}), t0); !errors.Is(err, ErrDiscarded) {
		t.Errorf("IPCP in Authenticate: %v", err)
	}
	// Unknown protocols get a Protocol-Reject once LCP is Opened.
	ccp := AppendFrame(nil, ProtocolCCP, []byte{1, 1, 0, 6, 18, 2})
	if _, err := s.HandleFrame(ccp, t0); err != nil {
		t.Fatal(err)
	}
	f, ok := s.NextFrame()
	if !ok {
		t.Fatal("no Protocol-Reject")
	}
	proto, info, _ := ParseFrame(f)
	p, _ := ParsePacket(info)
	if proto != ProtocolLCP || p.Code != CodeProtocolReject || !bytes.Equal(p.Data, []byte{0x80, 0xFD, 1, 1, 0, 6, 18, 2}) {
		t.Errorf("got %v %v % x", proto, p.Code, p.Data)
	}
}

func TestSessionLoopback(t *testing.T) {
	cfg := testConfig(nil, map[string]string{})
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	s.Start(now)
	var events []Event
	for i := 0; i < 10000; i++ {
		f, ok := s.NextFrame()
		if !ok {
			d := s.NextDeadline()
			if d.IsZero() {
				break
			}
			now = d
			s.HandleTimeout(now)
			continue
		}
		// The link is looped back: every frame comes back to us.
		_, _ = s.HandleFrame(f, now)
		for {
			e, ok := s.NextEvent()
			if !ok {
				break
			}
			events = append(events, e)
		}
	}
	if len(events) == 0 || events[len(events)-1].Kind != EventLinkDown || events[len(events)-1].Reason != "link looped back" {
		t.Fatalf("events %+v, want link down for a loop-back", events)
	}
}

func TestNewSessionConfig(t *testing.T) {
	good := testConfig(nil, nil)
	for name, mod := range map[string]func(*Config){
		"no secret":    func(c *Config) { c.Secret = nil },
		"no pool":      func(c *Config) { c.AssignAddr = nil },
		"bad auth":     func(c *Config) { c.Auth = []AuthProtocol{0x80} },
		"empty auth":   func(c *Config) { c.Auth = []AuthProtocol{} },
		"three DNS":    func(c *Config) { c.DNS = []netip.Addr{dns1, dns1, dns1} },
		"three NBNS":   func(c *Config) { c.NBNS = []netip.Addr{dns1, dns1, dns1} },
		"nil is wrong": nil,
	} {
		var cfg *Config
		if mod != nil {
			c := *good
			mod(&c)
			cfg = &c
		}
		if _, err := NewSession(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := NewSession(good); err != nil {
		t.Error(err)
	}
}

func TestSessionIPPathAllocs(t *testing.T) {
	v := rfc2759(t)
	script := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	cfg := testConfig(script, map[string]string{"User": "clientPass"})
	c := newTestClient(t, AuthMSCHAPv2)
	c.respond = mschapv2RFC2759(t, v)
	l := newLink(t, cfg, c)
	frame := AppendFrame(nil, ProtocolIPv4, ipPacket(poolAddr, dns1, "x"))
	ip := ipPacket(dns1, poolAddr, "y")
	buf := make([]byte, 0, 128)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := l.s.HandleFrame(frame, l.now); err != nil {
			t.Fatal(err)
		}
		if _, err := l.s.AppendIPFrame(buf[:0], ip); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("IP path allocates %v times per packet", allocs)
	}
}

// TestSessionMSCHAPv2Domain: Windows may send "DOMAIN\user"; the secret is
// looked up by the full name and the hash uses the bare user name (RFC 2759,
// Section 4), so the RFC's NT-Response still verifies.
func TestSessionMSCHAPv2Domain(t *testing.T) {
	v := rfc2759(t)
	script := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	cfg := testConfig(script, map[string]string{`BIGCO\User`: "clientPass"})
	c := newTestClient(t, AuthMSCHAPv2)
	inner := mschapv2RFC2759(t, v)
	c.respond = func(id uint8, ch []byte, name string) ([]byte, string) {
		val, _ := inner(id, ch, name)
		return val, `BIGCO\User`
	}
	l := newLink(t, cfg, c)
	l.checkNetworkUp()
	if got := string(c.chapReply[0].Data); got != v.authResponse+" M=Access granted" {
		t.Errorf("Success %q", got)
	}
	if l.s.User() != `BIGCO\User` {
		t.Errorf("User() = %q", l.s.User())
	}
}

func upLink(t *testing.T) *link {
	t.Helper()
	v := rfc2759(t)
	script := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	cfg := testConfig(script, map[string]string{"User": "clientPass"})
	c := newTestClient(t, AuthMSCHAPv2)
	c.respond = mschapv2RFC2759(t, v)
	l := newLink(t, cfg, c)
	l.checkNetworkUp()
	return l
}

func TestSessionProtocolRejectOfIPCP(t *testing.T) {
	l := upLink(t)
	// RFC 1661, Section 5.7: the peer rejects IPCP; the link is useless.
	rej := Packet{Code: CodeProtocolReject, Identifier: 9, Data: []byte{0x80, 0x21, 1, 1, 0, 4}}
	if _, err := l.s.HandleFrame(AppendFrame(nil, ProtocolLCP, rej.Append(nil)), l.now); err != nil {
		t.Fatal(err)
	}
	l.run()
	for l.advance() {
	}
	if e, ok := l.event(EventLinkDown); !ok || e.Reason != "peer rejected IPCP" {
		t.Errorf("events %+v", l.events)
	}
}

func TestSessionProtocolRejectOfLCP(t *testing.T) {
	l := upLink(t)
	// Rejecting LCP itself is RXJ- in Opened: tld,irc,str/5.
	rej := Packet{Code: CodeProtocolReject, Identifier: 9, Data: []byte{0xC0, 0x21}}
	if _, err := l.s.HandleFrame(AppendFrame(nil, ProtocolLCP, rej.Append(nil)), l.now); err != nil {
		t.Fatal(err)
	}
	if l.s.LCPState() != StateStopping {
		t.Errorf("LCP %v, want Stopping", l.s.LCPState())
	}
	if l.s.IPCPState() == StateOpened {
		t.Error("IPCP still Opened")
	}
}

func TestSessionDown(t *testing.T) {
	l := upLink(t)
	l.s.Down(l.now)
	l.run()
	if got := l.kinds(); !slices.Equal(got[3:], []EventKind{EventNetworkDown, EventLinkDown}) {
		t.Errorf("events %v", got)
	}
	if !l.s.NextDeadline().IsZero() || l.s.Phase() != PhaseDead {
		t.Errorf("dead session: phase %v, deadline %v", l.s.Phase(), l.s.NextDeadline())
	}
}

// TestSessionRenegotiation: a Configure-Request in Opened restarts LCP
// (tld,scr,sca/8); authentication and IPCP start over.
func TestSessionRenegotiation(t *testing.T) {
	l := upLink(t)
	l.c.lcp.Close(l.now) // not sent: we only want a fresh request
	l.c.lcp = NewAutomaton(ProtocolLCP, l.c.lopts, AutomatonConfig{})
	l.c.ipcp = NewAutomaton(ProtocolIPCP, l.c.iopts, AutomatonConfig{})
	l.c.out = nil
	// The second Challenge is random: answer it with our own NT-Response
	// code, checked against the RFC above.
	l.c.respond = func(_ uint8, ch []byte, _ string) ([]byte, string) {
		peer := [16]byte{1, 2, 3}
		nt := GenerateNTResponse([16]byte(ch), peer, "User", "clientPass")
		val := append(peer[:], make([]byte, 8)...)
		return append(append(val, nt[:]...), 0), "User"
	}
	l.c.start(l.now)
	l.run()
	for l.s.IPCPState() != StateOpened && l.advance() {
	}
	want := []EventKind{EventLinkUp, EventAuthenticated, EventNetworkUp, EventNetworkDown, EventLinkUp, EventAuthenticated, EventNetworkUp}
	if got := l.kinds(); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if len(l.c.challenges) != 2 {
		t.Errorf("%d Challenges, want a second one after renegotiation", len(l.c.challenges))
	}
}

func TestSessionClientRejectsServerAddress(t *testing.T) {
	v := rfc2759(t)
	script := append([]byte{0xA1, 0xB2, 0xC3, 0xD4, 0x10}, v.authChallenge[:]...)
	cfg := testConfig(script, map[string]string{"User": "clientPass"})
	c := newTestClient(t, AuthMSCHAPv2)
	c.respond = mschapv2RFC2759(t, v)
	c.iopts.rejectServer = true
	l := newLink(t, cfg, c)
	if l.s.IPCPState() != StateOpened {
		t.Fatalf("IPCP %v", l.s.IPCPState())
	}
	if l.c.iopts.server.IsValid() {
		t.Error("server address still sent after the Reject")
	}
}
