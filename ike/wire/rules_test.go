package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Payload shorthands for the rules tests.
var (
	pSA      = &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolIKE}}}
	pKE      = &KE{Group: DHGroupCurve25519, Data: seq(32, 0)}
	pNo      = &Nonce{Data: seq(32, 0)}
	pIDi     = &ID{IDType: IDRFC822, Data: []byte("client1@example.com")}
	pIDr     = &ID{Responder: true, IDType: IDFQDN, Data: []byte("vpn.example.com")}
	pCert    = &Cert{Encoding: CertX509Signature, Data: seq(10, 0)}
	pCertReq = &CertReq{Encoding: CertX509Signature, Data: seq(20, 0)}
	pAuth    = &Auth{Method: AuthPSK, Data: seq(32, 0)}
	pEAP     = &EAP{Message: []byte{EAPRequest, 1, 0, 5, 1}}
	pCP      = &CP{CfgType: CfgRequest}
	pTSi     = &TS{}
	pTSr     = &TS{Responder: true}
	pD       = &Delete{Protocol: ProtocolIKE}
	pV       = &VendorID{Data: seq(16, 0)}
	pUnknown = &Unknown{Kind: 200}
)

func n(kind NotifyType) *Notify { return &Notify{Kind: kind} }

func TestRulesValid(t *testing.T) {
	tests := []struct {
		name      string
		exchange  ExchangeType
		response  bool
		encrypted bool
		ps        []Payload
	}{
		// interop/README.md: what strongSwan 5.9 sends.
		{"strongSwan IKE_SA_INIT request", ExchangeIKESAInit, false, false, []Payload{pSA, pKE, pNo,
			n(NotifyNATDetectionSourceIP), n(NotifyNATDetectionDestinationIP), n(NotifyFragmentationSupported),
			n(NotifySignatureHashAlgorithms), n(NotifyRedirectSupported)}},
		{"IKE_SA_INIT request with cookie", ExchangeIKESAInit, false, false, []Payload{n(NotifyCookie), pSA, pKE, pNo, pV, pUnknown}},
		{"IKE_SA_INIT response", ExchangeIKESAInit, true, false, []Payload{pSA, pKE, pNo, n(NotifyNATDetectionSourceIP),
			n(NotifyNATDetectionDestinationIP), pCertReq, n(NotifyFragmentationSupported), n(NotifyMultipleAuthSupported), pV}},
		{"IKE_SA_INIT cookie", ExchangeIKESAInit, true, false, []Payload{n(NotifyCookie)}},
		{"IKE_SA_INIT INVALID_KE_PAYLOAD", ExchangeIKESAInit, true, false, []Payload{n(NotifyInvalidKEPayload)}},
		{"IKE_SA_INIT NO_PROPOSAL_CHOSEN", ExchangeIKESAInit, true, false, []Payload{n(NotifyNoProposalChosen), pV}},
		{"IKE_SA_INIT REDIRECT", ExchangeIKESAInit, true, false, []Payload{n(NotifyRedirect)}},
		{"strongSwan IKE_AUTH PSK request", ExchangeIKEAuth, false, true, []Payload{pIDi, n(NotifyInitialContact), pIDr, pAuth,
			pCP, pSA, pTSi, pTSr, n(NotifyMOBIKESupported), n(NotifyAdditionalIP6Address), n(NotifyMultipleAuthSupported),
			n(NotifyEAPOnlyAuthentication), n(NotifyMessageIDSyncSupported)}},
		{"strongSwan IKE_AUTH cert request", ExchangeIKEAuth, false, true, []Payload{pIDi, pCert, n(NotifyInitialContact), pCertReq,
			pIDr, pAuth, pCP, pSA, pTSi, pTSr}},
		{"IKE_AUTH EAP start", ExchangeIKEAuth, false, true, []Payload{pIDi, pCP, pSA, pTSi, pTSr, n(NotifyEAPOnlyAuthentication)}},
		{"IKE_AUTH EAP round", ExchangeIKEAuth, false, true, []Payload{pEAP}},
		{"IKE_AUTH after EAP", ExchangeIKEAuth, false, true, []Payload{pAuth}},
		{"IKE_AUTH childless", ExchangeIKEAuth, false, true, []Payload{pIDi, pAuth}},
		{"IKE_AUTH response", ExchangeIKEAuth, true, true, []Payload{pIDr, pAuth, pCP, pSA, pTSi, pTSr, n(NotifyMOBIKESupported)}},
		{"IKE_AUTH EAP response", ExchangeIKEAuth, true, true, []Payload{pIDr, pCert, pAuth, pEAP}},
		{"IKE_AUTH EAP round response", ExchangeIKEAuth, true, true, []Payload{pEAP}},
		{"IKE_AUTH final response", ExchangeIKEAuth, true, true, []Payload{pAuth, pCP, pSA, pTSi, pTSr}},
		{"IKE_AUTH failure", ExchangeIKEAuth, true, true, []Payload{n(NotifyAuthenticationFailed)}},
		{"IKE_AUTH child failure", ExchangeIKEAuth, true, true, []Payload{pIDr, pAuth, n(NotifyTSUnacceptable)}},
		{"CREATE_CHILD_SA rekey", ExchangeCreateChildSA, false, true, []Payload{n(NotifyRekeySA), pSA, pNo, pKE, pTSi, pTSr}},
		{"CREATE_CHILD_SA without PFS", ExchangeCreateChildSA, false, true, []Payload{pSA, pNo, pTSi, pTSr}},
		{"CREATE_CHILD_SA IKE rekey", ExchangeCreateChildSA, false, true, []Payload{pSA, pNo, pKE}},
		{"CREATE_CHILD_SA response", ExchangeCreateChildSA, true, true, []Payload{pSA, pNo, pTSi, pTSr, n(NotifyAdditionalTSPossible)}},
		{"CREATE_CHILD_SA IKE rekey response", ExchangeCreateChildSA, true, true, []Payload{pSA, pNo, pKE}},
		{"CREATE_CHILD_SA failure", ExchangeCreateChildSA, true, true, []Payload{n(NotifyNoProposalChosen)}},
		{"INFORMATIONAL liveness", ExchangeInformational, false, true, nil},
		{"INFORMATIONAL liveness response", ExchangeInformational, true, true, nil},
		{"INFORMATIONAL MOBIKE", ExchangeInformational, false, true, []Payload{n(NotifyAdditionalIP6Address)}},
		{"INFORMATIONAL delete", ExchangeInformational, false, true, []Payload{pD, pD}},
		{"INFORMATIONAL update", ExchangeInformational, false, true, []Payload{n(NotifyUpdateSAAddresses),
			n(NotifyNATDetectionSourceIP), n(NotifyNATDetectionDestinationIP), n(NotifyCookie2)}},
		{"INFORMATIONAL delete response", ExchangeInformational, true, true, []Payload{pD}},
		{"INVALID_IKE_SPI", ExchangeInformational, false, false, []Payload{n(NotifyInvalidIKESPI)}},
		{"IKE_INTERMEDIATE", ExchangeIKEIntermediate, false, true, []Payload{pKE}},
		{"IKE_INTERMEDIATE response", ExchangeIKEIntermediate, true, true, nil},
		{"IKE_FOLLOWUP_KE", ExchangeIKEFollowupKE, false, true, []Payload{pKE, n(NotifyAdditionalKeyExchange)}},
		{"IKE_FOLLOWUP_KE response", ExchangeIKEFollowupKE, true, true, []Payload{pKE}},
		{"IKE_FOLLOWUP_KE failure", ExchangeIKEFollowupKE, true, true, []Payload{n(NotifyStateNotFound)}},
		{"IKE_SESSION_RESUME", ExchangeIKESessionResume, false, false, []Payload{pNo, n(NotifyTicketOpaque)}},
		{"IKE_SESSION_RESUME response", ExchangeIKESessionResume, true, false, []Payload{pNo}},
		{"IKE_SESSION_RESUME cookie", ExchangeIKESessionResume, true, false, []Payload{n(NotifyCookie)}},
	}
	for _, tt := range tests {
		if err := CheckRules(tt.exchange, tt.response, tt.encrypted, tt.ps); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestRulesInvalid(t *testing.T) {
	tests := []struct {
		name      string
		exchange  ExchangeType
		response  bool
		encrypted bool
		ps        []Payload
		payload   PayloadType
		problem   RuleProblem
	}{
		{"IKE_SA_INIT without KE", ExchangeIKESAInit, false, false, []Payload{pSA, pNo}, PayloadKE, RuleMissing},
		{"IKE_SA_INIT without anything", ExchangeIKESAInit, false, false, nil, PayloadSA, RuleMissing},
		{"IKE_SA_INIT with IDi", ExchangeIKESAInit, false, false, []Payload{pSA, pKE, pNo, pIDi}, PayloadIDi, RuleUnexpected},
		{"IKE_SA_INIT with two SAs", ExchangeIKESAInit, false, false, []Payload{pSA, pSA, pKE, pNo}, PayloadSA, RuleTooMany},
		{"IKE_SA_INIT encrypted", ExchangeIKESAInit, false, true, []Payload{pSA, pKE, pNo}, PayloadSK, RuleUnexpected},
		{"IKE_SA_INIT status only", ExchangeIKESAInit, true, false, []Payload{n(NotifyNATDetectionSourceIP)}, PayloadNotify, RuleMissing},
		{"IKE_AUTH without IDi", ExchangeIKEAuth, false, true, []Payload{pAuth, pSA, pTSi, pTSr}, PayloadIDi, RuleMissing},
		{"IKE_AUTH without TSr", ExchangeIKEAuth, false, true, []Payload{pIDi, pAuth, pSA, pTSi}, PayloadTSr, RuleIncomplete},
		{"IKE_AUTH with KE", ExchangeIKEAuth, false, true, []Payload{pIDi, pAuth, pKE}, PayloadKE, RuleUnexpected},
		{"IKE_AUTH with two IDi", ExchangeIKEAuth, false, true, []Payload{pIDi, pIDi, pAuth}, PayloadIDi, RuleTooMany},
		{"IKE_AUTH in the clear", ExchangeIKEAuth, false, false, []Payload{pIDi, pAuth}, PayloadSK, RuleMissing},
		{"IKE_AUTH response without AUTH", ExchangeIKEAuth, true, true, []Payload{pIDr, pSA, pTSi, pTSr}, PayloadAuth, RuleMissing},
		{"IKE_AUTH response with IDi", ExchangeIKEAuth, true, true, []Payload{pIDi, pIDr, pAuth}, PayloadIDi, RuleUnexpected},
		{"CREATE_CHILD_SA without TSr", ExchangeCreateChildSA, false, true, []Payload{pSA, pNo, pTSi}, PayloadTSr, RuleMissing},
		{"CREATE_CHILD_SA without nonce", ExchangeCreateChildSA, false, true, []Payload{pSA, pKE, pTSi, pTSr}, PayloadNonce, RuleMissing},
		{"CREATE_CHILD_SA with IDi", ExchangeCreateChildSA, false, true, []Payload{pSA, pNo, pTSi, pTSr, pIDi}, PayloadIDi, RuleUnexpected},
		{"INFORMATIONAL with SA", ExchangeInformational, false, true, []Payload{pSA}, PayloadSA, RuleUnexpected},
		{"INFORMATIONAL with two CPs", ExchangeInformational, true, true, []Payload{pCP, pCP}, PayloadCP, RuleTooMany},
		{"INFORMATIONAL with 33 notifies", ExchangeInformational, false, true, repeat(n(NotifyCookie2), 33), PayloadNotify, RuleTooMany},
		{"unprotected delete", ExchangeInformational, false, false, []Payload{pD, n(NotifyInvalidSPI)}, PayloadDelete, RuleUnexpected},
		{"unprotected status", ExchangeInformational, true, false, []Payload{n(NotifyCookie)}, PayloadNotify, RuleMissing},
		{"IKE_FOLLOWUP_KE without its notify", ExchangeIKEFollowupKE, false, true, []Payload{pKE}, PayloadNotify, RuleMissing},
		{"IKE_SESSION_RESUME without ticket", ExchangeIKESessionResume, false, false, []Payload{pNo, n(NotifyCookie)}, PayloadNotify, RuleMissing},
	}
	for _, tt := range tests {
		err := CheckRules(tt.exchange, tt.response, tt.encrypted, tt.ps)
		var re *RuleError
		if !errors.As(err, &re) {
			t.Errorf("%s: %v, want a RuleError", tt.name, err)
			continue
		}
		if re.Payload != tt.payload || re.Problem != tt.problem || re.Exchange != tt.exchange || re.Response != tt.response {
			t.Errorf("%s: %v (%s %s), want %s %s", tt.name, err, re.Problem, re.Payload, tt.problem, tt.payload)
		}
		var pe *ProtocolError
		if !errors.Is(err, ErrInvalidSyntax) || !errors.As(err, &pe) || pe.Notify != NotifyInvalidSyntax || re.Notify() != NotifyInvalidSyntax {
			t.Errorf("%s: %v does not answer INVALID_SYNTAX", tt.name, err)
		}
		if !strings.HasPrefix(err.Error(), "wire: "+tt.exchange.String()) {
			t.Errorf("%s: message %q", tt.name, err)
		}
	}
	// An exchange without rules.
	if err := CheckRules(50, false, true, nil); !errors.Is(err, ErrInvalidSyntax) {
		t.Errorf("exchange 50: %v", err)
	}
	if got := (&RuleError{Exchange: ExchangeIKEAuth, Payload: PayloadIDi, Problem: RuleMissing}).Error(); got != "wire: IKE_AUTH request: missing IDi payload" {
		t.Errorf("Error = %q", got)
	}
	if got := (&RuleError{Exchange: ExchangeIKEAuth, Payload: PayloadSK, Problem: RuleMissing}).Error(); got != "wire: IKE_AUTH request: not encrypted" {
		t.Errorf("Error = %q", got)
	}
}

func repeat(p Payload, k int) []Payload {
	out := make([]Payload, k)
	for i := range out {
		out[i] = p
	}
	return out
}

// TestRulesTableConsistent checks the table itself: every exchange and
// direction once per encryption state, no payload listed twice in a role,
// and sane bounds.
func TestRulesTableConsistent(t *testing.T) {
	type key struct {
		e         ExchangeType
		resp, enc bool
	}
	seen := map[key]bool{}
	for _, er := range payloadRules {
		k := key{er.exchange, er.response, er.encrypted}
		if seen[k] {
			t.Errorf("%s response=%v encrypted=%v listed twice", er.exchange, er.response, er.encrypted)
		}
		seen[k] = true
		for _, role := range er.roles {
			if role.name == "" {
				t.Errorf("%s: unnamed role", er.exchange)
			}
			listed := map[PayloadType]bool{}
			for _, r := range role.rules {
				if listed[r.typ] || r.min > r.max || r.max == 0 || r.typ == PayloadSK || r.typ == PayloadSKF {
					t.Errorf("%s: bad rule %+v", role.name, r)
				}
				listed[r.typ] = true
			}
			for _, tt := range role.together {
				if !listed[tt] {
					t.Errorf("%s: group member %s not allowed", role.name, tt)
				}
			}
		}
	}
	for _, e := range []ExchangeType{ExchangeIKESAInit, ExchangeIKEAuth, ExchangeCreateChildSA, ExchangeInformational,
		ExchangeIKESessionResume, ExchangeIKEIntermediate, ExchangeIKEFollowupKE} {
		for _, resp := range []bool{false, true} {
			if !seen[key{e, resp, false}] && !seen[key{e, resp, true}] {
				t.Errorf("no rules for %s response=%v", e, resp)
			}
		}
	}
}

func TestRulesAllocs(t *testing.T) {
	ps := []Payload{pIDi, n(NotifyInitialContact), pIDr, pAuth, pCP, pSA, pTSi, pTSr, n(NotifyMOBIKESupported)}
	allocs := testing.AllocsPerRun(100, func() {
		if CheckRules(ExchangeIKEAuth, false, true, ps) != nil {
			panic("rules")
		}
	})
	if allocs != 0 {
		t.Errorf("CheckRules allocates %v times", allocs)
	}
}

// TestStrongSwanSAInit builds the IKE_SA_INIT request strongSwan 5.9 sends
// with its default proposals (interop/README.md) and checks how it encodes
// and parses.
func TestStrongSwanSAInit(t *testing.T) {
	keyLen := func(bits uint16) []Attribute { return []Attribute{{Type: AttributeKeyLength, TV: true, Value: bits}} }
	var encr1, encr2, prfs, integs, groups []Transform
	for _, id := range []EncrID{EncrAESCBC, EncrAESCTR, EncrCamelliaCBC} {
		for _, bits := range []uint16{128, 192, 256} {
			encr1 = append(encr1, Transform{Type: TransformEncr, ID: uint16(id), Attributes: keyLen(bits)})
		}
	}
	encr1 = append(encr1, Transform{Type: TransformEncr, ID: uint16(Encr3DES)})
	for _, id := range []EncrID{EncrAESGCM16, EncrAESGCM12, EncrAESGCM8, EncrAESCCM16, EncrAESCCM12, EncrAESCCM8} {
		for _, bits := range []uint16{128, 192, 256} {
			encr2 = append(encr2, Transform{Type: TransformEncr, ID: uint16(id), Attributes: keyLen(bits)})
		}
	}
	encr2 = append(encr2, Transform{Type: TransformEncr, ID: uint16(EncrChaCha20Poly1305)})
	for _, id := range []PRFID{PRFHMACSHA2_256, PRFHMACSHA2_384, PRFHMACSHA2_512, PRFHMACSHA1} {
		prfs = append(prfs, Transform{Type: TransformPRF, ID: uint16(id)})
	}
	for _, id := range []IntegID{IntegHMACSHA2_256_128, IntegHMACSHA2_384_192, IntegHMACSHA2_512_256, IntegHMACSHA1_96} {
		integs = append(integs, Transform{Type: TransformInteg, ID: uint16(id)})
	}
	for _, id := range []DHGroup{DHGroupCurve25519, DHGroupCurve448, DHGroupECP256, DHGroupECP384, DHGroupECP521,
		DHGroupBrainpoolP256, DHGroupBrainpoolP384, DHGroupBrainpoolP512, DHGroupMODP3072, DHGroupMODP4096,
		DHGroupMODP6144, DHGroupMODP8192, DHGroupMODP2048} {
		groups = append(groups, Transform{Type: TransformKE, ID: uint16(id)})
	}
	sa := &SA{Proposals: []Proposal{
		{Number: 1, Protocol: ProtocolIKE, Transforms: concat(encr1, integs, prfs, groups)},
		{Number: 2, Protocol: ProtocolIKE, Transforms: concat(encr2, prfs, groups)},
	}}
	m := &Message{
		Header: Header{InitiatorSPI: 0x1122334455667788, Exchange: ExchangeIKESAInit, Flags: FlagInitiator},
		Payloads: []Payload{sa, &KE{Group: DHGroupCurve25519, Data: seq(32, 0x55)}, &Nonce{Data: seq(32, 0x66)},
			&Notify{Kind: NotifyNATDetectionSourceIP, Data: seq(20, 1)},
			&Notify{Kind: NotifyNATDetectionDestinationIP, Data: seq(20, 2)},
			&Notify{Kind: NotifyFragmentationSupported},
			&Notify{Kind: NotifySignatureHashAlgorithms, Data: []byte{0, 2, 0, 3, 0, 4, 0, 5}},
			&Notify{Kind: NotifyRedirectSupported},
		},
	}
	b := roundTrip(t, m)
	got, _ := Parse(b)
	if s, want := got.String(), "IKE_SA_INIT request 0 [ SA KE No N(NAT_DETECTION_SOURCE_IP) N(NAT_DETECTION_DESTINATION_IP) "+
		"N(IKEV2_FRAGMENTATION_SUPPORTED) N(SIGNATURE_HASH_ALGORITHMS) N(REDIRECT_SUPPORTED) ]"; s != want {
		t.Errorf("String = %q, want %q", s, want)
	}
	if psa := got.Payloads[0].(*SA); len(psa.Proposals[0].Transforms) != 31 || len(psa.Proposals[1].Transforms) != 36 {
		t.Errorf("proposals with %d and %d transforms", len(psa.Proposals[0].Transforms), len(psa.Proposals[1].Transforms))
	}
	// Zero proposal numbers are sent as the proposals' positions.
	sa.Proposals[0].Number, sa.Proposals[1].Number = 0, 0
	if b2, err := m.Marshal(); err != nil || !bytes.Equal(b2, b) {
		t.Errorf("proposals numbered by Marshal differ: %v", err)
	}
	if err := CheckRules(got.Header.Exchange, got.Header.IsResponse(), false, got.Payloads); err != nil {
		t.Error(err)
	}
	// A strongSwan responder at MTU 1280 would not fragment this: it is
	// not encrypted, and small enough.
	if len(b) > 1280 {
		t.Errorf("IKE_SA_INIT of %d octets", len(b))
	}
}

func concat(ts ...[]Transform) []Transform {
	var out []Transform
	for _, t := range ts {
		out = append(out, t...)
	}
	return out
}
