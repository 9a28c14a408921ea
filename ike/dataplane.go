package ike

import (
	"net/netip"

	"github.com/ikego/ikego/esp"
)

// Dataplane is what IKE needs from the packet path: SPIs for the SAs it
// negotiates, installing and removing SAs and policies, moving an SA to new
// endpoints (NAT-T port float, MOBIKE), and the Acquire and Expire events
// that start and renew negotiations. *esp.Engine implements it; a kernel
// XFRM backend could.
type Dataplane interface {
	// AllocSPI reserves a random unused SPI for an inbound SA being
	// negotiated; ReleaseSPI gives it back when the negotiation fails.
	AllocSPI() (uint32, error)
	ReleaseSPI(spi uint32)
	// AddSA installs one direction of a CHILD_SA for the policy policyID;
	// an outbound SA replaces the policy's previous one atomically.
	AddSA(dir esp.Direction, p esp.SAParams, policyID uint32, life esp.Lifetime) (*esp.SA, error)
	// UpdateSA moves an outbound SA to new endpoints.
	UpdateSA(k esp.SAKey, local, remote netip.AddrPort) error
	// DeleteSA removes an SA and reports whether it was there. Outbound
	// SAs are named with their policy (esp.OutSA): the peers choose their
	// SPIs, and two peers may choose the same.
	DeleteSA(k esp.SAKey) bool
	// SetPolicy adds or replaces a policy; DeletePolicy removes one.
	SetPolicy(p esp.Policy) error
	DeletePolicy(id uint32) bool
	// Events delivers Acquire and Expire events.
	Events() <-chan esp.Event
}

var _ Dataplane = (*esp.Engine)(nil)
