package esp

import (
	"errors"
	"testing"
)

// FuzzParseSelector: any string parses to a valid selector whose String
// parses back to the same selector, or fails with a *SelectorError.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"0.0.0.0/0[tcp/80]", "::/0[udp/500-600]", "192.0.2.1[icmp/8]", "10.0.0.0/8[any/53]",
		"10.0.0.1-10.0.0.9", "10.0.0.1..10.0.0.9", "[icmp/3(4)]", "2001:db8::/32[ipv6-icmp/128-129]", "dynamic",
		"198.51.100.0/24[udp/opaque]", "198.51.100.7[17/1701]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			var se *SelectorError
			if !errors.As(err, &se) {
				t.Fatalf("%q: error %v is not a *SelectorError", s, err)
			}
			return
		}
		if !sel.Valid() {
			t.Fatalf("%q parsed to an invalid selector", s)
		}
		back, err := ParseSelector(sel.String())
		if err != nil || back != sel {
			t.Fatalf("%q -> %v -> %v, %v", s, sel, back, err)
		}
	})
}
