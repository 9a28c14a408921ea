package ppp

import (
	"slices"
	"strings"
	"testing"
)

func TestCHAPRejectsBadResponses(t *testing.T) {
	for name, value := range map[string]func(ch []byte) ([]byte, string){
		"unknown user": func([]byte) ([]byte, string) { return make([]byte, 49), "mallory" },
		"short value":  func([]byte) ([]byte, string) { return make([]byte, 48), "User" },
		"flags set": func([]byte) ([]byte, string) {
			v := make([]byte, 49)
			v[48] = 1
			return v, "User"
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(nil, map[string]string{"User": "clientPass"})
			cfg.Auth = []AuthProtocol{AuthMSCHAPv2}
			c := newTestClient(t, AuthMSCHAPv2)
			c.respond = func(_ uint8, ch []byte, _ string) ([]byte, string) { return value(ch) }
			l := newLink(t, cfg, c)
			if len(c.chapReply) != 1 || c.chapReply[0].Code != CHAPFailure || !strings.HasPrefix(string(c.chapReply[0].Data), "E=691 R=0 C=") {
				t.Fatalf("replies %+v", c.chapReply)
			}
			if _, ok := l.event(EventLinkDown); !ok {
				t.Errorf("events %v", l.kinds())
			}
		})
	}
}

func TestCHAPMD5WrongSecret(t *testing.T) {
	cfg := testConfig(nil, map[string]string{"alice": "right"})
	cfg.Auth = []AuthProtocol{AuthCHAPMD5}
	c := newTestClient(t, AuthCHAPMD5)
	c.respond = func(id uint8, ch []byte, _ string) ([]byte, string) {
		return opensslMD5(t, append(append([]byte{id}, "wrong"...), ch...)), "alice"
	}
	l := newLink(t, cfg, c)
	if len(c.chapReply) != 1 || c.chapReply[0].Code != CHAPFailure {
		t.Fatalf("replies %+v", c.chapReply)
	}
	if got := l.kinds(); !slices.Equal(got, []EventKind{EventLinkUp, EventLinkDown}) {
		t.Errorf("events %v", got)
	}
}
