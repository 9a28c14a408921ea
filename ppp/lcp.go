package ppp

import (
	"encoding/binary"
	"io"
	"strconv"
	"time"
)

// LCP Configuration Option types (RFC 1661, Section 6).
const (
	LCPOptionMRU             uint8 = 1 // Maximum-Receive-Unit, Section 6.1
	LCPOptionACCM            uint8 = 2 // Async-Control-Character-Map, RFC 1662, Section 7.1
	LCPOptionAuthProtocol    uint8 = 3 // Authentication-Protocol, Section 6.2
	LCPOptionQualityProtocol uint8 = 4 // Quality-Protocol, Section 6.3
	LCPOptionMagicNumber     uint8 = 5 // Magic-Number, Section 6.4
	LCPOptionPFC             uint8 = 7 // Protocol-Field-Compression, Section 6.5
	LCPOptionACFC            uint8 = 8 // Address-and-Control-Field-Compression, Section 6.6
)

// AuthProtocol is a CHAP algorithm, the octet after 0xC223 in the
// Authentication-Protocol option (RFC 1994, Section 3; RFC 2759, Section 2).
type AuthProtocol uint8

// CHAP algorithms the authenticator supports.
const (
	AuthCHAPMD5  AuthProtocol = 5    // CHAP with MD5, RFC 1994
	AuthMSCHAPv2 AuthProtocol = 0x81 // Microsoft CHAP version 2, RFC 2759
)

// String returns the algorithm's name.
func (a AuthProtocol) String() string {
	switch a {
	case AuthCHAPMD5:
		return "CHAP-MD5"
	case AuthMSCHAPv2:
		return "MS-CHAPv2"
	}
	return "CHAP-algorithm-" + strconv.Itoa(int(a))
}

// DefaultMRU is the MRU when none was negotiated (RFC 1661, Section 6.1).
const DefaultMRU = 1500

// lcpOptions is LCP's OptionHandler, for the authenticator (server) side.
type lcpOptions struct {
	auth   []AuthProtocol // configured, in order of preference
	mru    uint16         // MRU we request; 0: none (1500)
	minMRU uint16         // smallest MRU of the peer we ack
	rand   io.Reader

	// Our request.
	reqAuth   int // index into auth, -1 when not requested
	reqMagic  uint32
	wantMagic bool
	reqMRU    uint16

	// What the peer acked or rejected.
	authRejected bool
	lastNakMagic uint32
	loops        int // suspected loop-backs (RFC 1661, Section 6.4)

	// The peer's values from the last request we acked.
	peerMRU   uint16
	peerMagic uint32
	peerPFC   bool
	peerACFC  bool
}

// maxLoops is the number of suspected loop-backs after which the link is
// declared looped back.
const maxLoops = 10

func (l *lcpOptions) randomMagic() uint32 {
	var b [4]byte
	for range 8 {
		if _, err := io.ReadFull(l.rand, b[:]); err != nil {
			break
		}
		if m := binary.BigEndian.Uint32(b[:]); m != 0 {
			return m
		}
	}
	// A broken Rand: any non-zero value is still legal (RFC 1661,
	// Section 6.4); loop-back detection then relies on the peer's.
	return 0x6b65676f
}

func (l *lcpOptions) ResetRequest() {
	l.reqAuth = -1
	if len(l.auth) > 0 {
		l.reqAuth = 0
	}
	l.wantMagic = true
	l.reqMagic = l.randomMagic()
	l.reqMRU = l.mru
	l.authRejected = false
	l.peerMRU, l.peerMagic, l.peerPFC, l.peerACFC = DefaultMRU, 0, false, false
}

func (l *lcpOptions) AppendRequest(b []byte) []byte {
	if l.reqMRU != 0 {
		b = appendOption(b, LCPOptionMRU, binary.BigEndian.AppendUint16(nil, l.reqMRU))
	}
	if l.reqAuth >= 0 {
		b = appendOption(b, LCPOptionAuthProtocol, []byte{0xC2, 0x23, byte(l.auth[l.reqAuth])})
	}
	if l.wantMagic {
		b = appendOption(b, LCPOptionMagicNumber, binary.BigEndian.AppendUint32(nil, l.reqMagic))
	}
	return b
}

func (l *lcpOptions) CheckRequest(opts []Option) (nak, rej []Option) {
	mru, magic, pfc, acfc := uint16(DefaultMRU), uint32(0), false, false
	for _, o := range opts {
		switch o.Type {
		case LCPOptionMRU:
			if len(o.Data) != 2 {
				rej = append(rej, o)
				continue
			}
			mru = binary.BigEndian.Uint16(o.Data)
			if mru < l.minMRU {
				nak = append(nak, Option{Type: LCPOptionMRU, Data: binary.BigEndian.AppendUint16(nil, l.minMRU)})
			}
		case LCPOptionACCM:
			// Meaningless on L2TP's synchronous link; acked and ignored.
			if len(o.Data) != 4 {
				rej = append(rej, o)
			}
		case LCPOptionMagicNumber:
			if len(o.Data) != 4 {
				rej = append(rej, o)
				continue
			}
			magic = binary.BigEndian.Uint32(o.Data)
			// RFC 1661, Section 6.4: zero is illegal and always Nak'd; our
			// own value may be our request looped back, and is Nak'd
			// with a different value.
			if magic == 0 || (l.wantMagic && magic == l.reqMagic) {
				if magic != 0 {
					l.loops++
				}
				l.lastNakMagic = l.randomMagic()
				nak = append(nak, Option{Type: LCPOptionMagicNumber, Data: binary.BigEndian.AppendUint32(nil, l.lastNakMagic)})
			}
		case LCPOptionPFC, LCPOptionACFC:
			if len(o.Data) != 0 {
				rej = append(rej, o)
				continue
			}
			if o.Type == LCPOptionPFC {
				pfc = true
			} else {
				acfc = true
			}
		default:
			// Authentication-Protocol: we authenticate the peer, not
			// the other way round. Quality-Protocol, Callback,
			// Multilink and the rest are not supported.
			rej = append(rej, o)
		}
	}
	if len(nak) == 0 && len(rej) == 0 {
		l.peerMRU, l.peerMagic, l.peerPFC, l.peerACFC = mru, magic, pfc, acfc
	}
	return nak, rej
}

func (l *lcpOptions) HandleNak(opts []Option) error {
	for _, o := range opts {
		switch o.Type {
		case LCPOptionMRU:
			if len(o.Data) == 2 && l.reqMRU != 0 {
				if v := binary.BigEndian.Uint16(o.Data); v >= 128 {
					l.reqMRU = v
				}
			}
		case LCPOptionAuthProtocol:
			if l.reqAuth < 0 {
				continue
			}
			// RFC 1661, Section 6.2: the Nak names the protocol the peer
			// prefers. Take it if configured, else offer our next one.
			if len(o.Data) == 3 && Protocol(binary.BigEndian.Uint16(o.Data)) == ProtocolCHAP {
				if i := l.authIndex(AuthProtocol(o.Data[2])); i >= 0 {
					l.reqAuth = i
					continue
				}
			}
			l.reqAuth = (l.reqAuth + 1) % len(l.auth)
		case LCPOptionMagicNumber:
			if !l.wantMagic || len(o.Data) != 4 {
				continue
			}
			// RFC 1661, Section 6.4: a Nak carrying the value of our last
			// Nak makes a loop-back more likely; either way choose anew.
			if v := binary.BigEndian.Uint32(o.Data); v == l.lastNakMagic && v != 0 {
				l.loops++
			}
			l.reqMagic = l.randomMagic()
		}
	}
	return nil
}

func (l *lcpOptions) authIndex(a AuthProtocol) int {
	for i, x := range l.auth {
		if x == a {
			return i
		}
	}
	return -1
}

func (l *lcpOptions) HandleReject(opts []Option) error {
	for _, o := range opts {
		switch o.Type {
		case LCPOptionMRU:
			l.reqMRU = 0
		case LCPOptionAuthProtocol:
			// The peer refuses to authenticate; the Session ends the link
			// once LCP is up.
			l.reqAuth = -1
			l.authRejected = true
		case LCPOptionMagicNumber:
			l.wantMagic = false
			l.reqMagic = 0
		}
	}
	return nil
}

// MagicNumber returns our current Magic-Number, for Echo packets.
func (l *lcpOptions) MagicNumber() uint32 { return l.reqMagic }

var _ MagicNumberer = (*lcpOptions)(nil)
var _ OptionHandler = (*lcpOptions)(nil)
var _ OptionHandler = (*ipcpOptions)(nil)

// negotiatedAuth returns the CHAP algorithm the peer acked.
func (l *lcpOptions) negotiatedAuth() (AuthProtocol, bool) {
	if l.reqAuth < 0 {
		return 0, false
	}
	return l.auth[l.reqAuth], true
}

// lcp is LCP: the automaton with LCP's options, Echo handling and the
// keepalive.
type lcp struct {
	*Automaton
	opts lcpOptions

	echoInterval time.Duration
	echoMax      int
	echoNext     time.Time // zero unless Opened with a keepalive
	echoOut      int       // Echo-Requests without a reply
	echoFailed   bool

	rejected []Protocol // protocols the peer sent Protocol-Reject for
}

func newLCP(cfg AutomatonConfig, o lcpOptions, echoInterval time.Duration, echoMax int) *lcp {
	l := &lcp{opts: o, echoInterval: echoInterval, echoMax: echoMax}
	l.Automaton = NewAutomaton(ProtocolLCP, &l.opts, cfg)
	return l
}

// handlePacket looks at Echo-Reply and Protocol-Reject before the
// automaton takes the packet.
func (l *lcp) handlePacket(b []byte, now time.Time) error {
	p, err := ParsePacket(b)
	if err != nil {
		return err
	}
	if l.State() == StateOpened {
		switch p.Code {
		case CodeEchoReply:
			// RFC 1661, Section 5.8: a reply with our own magic is our
			// request looped back, not a sign of life.
			if len(p.Data) >= 4 && (binary.BigEndian.Uint32(p.Data) != l.opts.reqMagic || l.opts.reqMagic == 0) {
				l.echoOut = 0
			}
		case CodeProtocolReject:
			if len(p.Data) >= 2 {
				l.rejected = append(l.rejected, Protocol(binary.BigEndian.Uint16(p.Data)))
			}
		}
	}
	return l.HandlePacket(b, now)
}

// opened (re)arms the keepalive when LCP enters Opened.
func (l *lcp) opened(now time.Time) {
	l.echoOut = 0
	l.echoFailed = false
	l.echoNext = time.Time{}
	if l.echoInterval > 0 {
		l.echoNext = now.Add(l.echoInterval)
	}
}

func (l *lcp) nextDeadline() time.Time {
	return earliest(l.NextDeadline(), l.echoNext)
}

func (l *lcp) handleTimeout(now time.Time) {
	l.HandleTimeout(now)
	if l.State() != StateOpened {
		l.echoNext = time.Time{}
		return
	}
	if l.echoNext.IsZero() || now.Before(l.echoNext) {
		return
	}
	if l.echoOut >= l.echoMax {
		l.echoFailed = true
		l.echoNext = time.Time{}
		return
	}
	l.echoOut++
	l.echoNext = now.Add(l.echoInterval)
	l.sendNew(CodeEchoRequest, binary.BigEndian.AppendUint32(nil, l.opts.reqMagic))
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
