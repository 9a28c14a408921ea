package wire

// The payload rules: for each exchange and direction, the roles a message
// can play and, for each role, which payloads it may carry and how many
// (RFC 7296 Sections 1.2 to 1.5 and the RFCs of the extensions). A message
// is checked against its exchange's rules before any exchange task looks at
// it (STYLE rule 6, after strongSwan's encoding/message.c).
//
// Payloads of unknown types (kept by Parse because their critical bit was
// clear) are ignored, as are notifications of any type beyond their count.

// Limits on repeated payloads. strongSwan allows 20 notifications, vendor
// IDs and deletes and 8 certificates; these are more lenient.
const (
	maxNotify   = 32
	maxVendorID = 32
	maxDelete   = 32
	maxCert     = 16
	maxCertReq  = 16
)

type payloadRule struct {
	typ      PayloadType
	min, max int
}

type messageRole struct {
	name  string
	rules []payloadRule
	// together lists payloads that are all present or all absent, such
	// as the SA, TSi and TSr that create a Child SA in IKE_AUTH.
	together []PayloadType
	// notify, if set, requires at least one Notify payload whose type
	// it accepts.
	notify func(NotifyType) bool
}

type exchangeRules struct {
	exchange  ExchangeType
	response  bool
	encrypted bool
	roles     []messageRole
}

func one(t PayloadType) payloadRule { return payloadRule{t, 1, 1} }
func opt(t PayloadType) payloadRule { return payloadRule{t, 0, 1} }

var (
	notifies  = payloadRule{PayloadNotify, 0, maxNotify}
	vendorIDs = payloadRule{PayloadVendorID, 0, maxVendorID}
	certs     = payloadRule{PayloadCert, 0, maxCert}
	certReqs  = payloadRule{PayloadCertReq, 0, maxCertReq}
	deletes   = payloadRule{PayloadDelete, 0, maxDelete}
	notified  = payloadRule{PayloadNotify, 1, maxNotify}
	childSA   = []PayloadType{PayloadSA, PayloadTSi, PayloadTSr}
)

func isError(t NotifyType) bool { return t.IsError() }

// errorResponse is a response that only reports an error (RFC 7296
// Section 2.21): notifications, at least one of an error type.
var errorResponse = messageRole{
	name:   "error response",
	rules:  []payloadRule{notified},
	notify: isError,
}

var payloadRules = []exchangeRules{
	// RFC 7296 Section 1.2: HDR, SAi1, KEi, Ni -->
	// The request may also carry N(COOKIE) (Section 2.6), NAT detection
	// and other status notifications, and vendor IDs.
	{ExchangeIKESAInit, false, false, []messageRole{{
		name:  "IKE_SA_INIT request",
		rules: []payloadRule{one(PayloadSA), one(PayloadKE), one(PayloadNonce), certReqs, notifies, vendorIDs},
	}}},
	// <-- HDR, SAr1, KEr, Nr, [CERTREQ]
	// or HDR, N(COOKIE) (Section 2.6), N(INVALID_KE_PAYLOAD) (Section
	// 1.3), N(NO_PROPOSAL_CHOSEN), N(REDIRECT) (RFC 5685 Section 4).
	{ExchangeIKESAInit, true, false, []messageRole{{
		name:  "IKE_SA_INIT response",
		rules: []payloadRule{one(PayloadSA), one(PayloadKE), one(PayloadNonce), certReqs, notifies, vendorIDs},
	}, {
		name:  "IKE_SA_INIT error response",
		rules: []payloadRule{notified, vendorIDs},
		notify: func(t NotifyType) bool {
			return t.IsError() || t == NotifyCookie || t == NotifyRedirect
		},
	}}},
	// RFC 7296 Section 1.2: HDR, SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH,
	// SAi2, TSi, TSr} -->, with CP (Section 2.19). AUTH is left out to
	// ask for EAP (Section 2.16), and SA, TSi and TSr for a childless IKE
	// SA (RFC 6023). Later rounds carry EAP, then the final AUTH.
	{ExchangeIKEAuth, false, true, []messageRole{{
		name: "IKE_AUTH request",
		rules: []payloadRule{one(PayloadIDi), certs, certReqs, opt(PayloadIDr), opt(PayloadAuth),
			opt(PayloadCP), opt(PayloadSA), opt(PayloadTSi), opt(PayloadTSr), notifies, vendorIDs},
		together: childSA,
	}, {
		name:  "IKE_AUTH EAP request",
		rules: []payloadRule{one(PayloadEAP), notifies, vendorIDs},
	}, {
		name:  "IKE_AUTH request after EAP",
		rules: []payloadRule{one(PayloadAuth), notifies, vendorIDs},
	}}},
	// <-- HDR, SK {IDr, [CERT,] AUTH, SAr2, TSi, TSr}; with EAP first
	// IDr, [CERT,] AUTH, EAP, then EAP rounds, then AUTH, SAr2, TSi, TSr.
	// An error carries only notifications (Section 2.21.2).
	{ExchangeIKEAuth, true, true, []messageRole{{
		name: "IKE_AUTH response",
		rules: []payloadRule{opt(PayloadIDr), certs, one(PayloadAuth), opt(PayloadEAP), opt(PayloadCP),
			opt(PayloadSA), opt(PayloadTSi), opt(PayloadTSr), notifies, vendorIDs},
		together: childSA,
	}, {
		name:  "IKE_AUTH EAP response",
		rules: []payloadRule{one(PayloadEAP), notifies, vendorIDs},
	}, errorResponse}},
	// RFC 7296 Section 1.3.1: HDR, SK {[N(REKEY_SA)], SA, Ni, [KEi],
	// TSi, TSr} --> for a Child SA; Section 1.3.2: HDR, SK {SA, Ni, KEi}
	// --> to rekey the IKE SA.
	{ExchangeCreateChildSA, false, true, []messageRole{{
		name: "CREATE_CHILD_SA request",
		rules: []payloadRule{one(PayloadSA), one(PayloadNonce), opt(PayloadKE), one(PayloadTSi), one(PayloadTSr),
			opt(PayloadCP), notifies, vendorIDs},
	}, {
		name:  "CREATE_CHILD_SA IKE rekey request",
		rules: []payloadRule{one(PayloadSA), one(PayloadNonce), one(PayloadKE), notifies, vendorIDs},
	}}},
	{ExchangeCreateChildSA, true, true, []messageRole{{
		name: "CREATE_CHILD_SA response",
		rules: []payloadRule{one(PayloadSA), one(PayloadNonce), opt(PayloadKE), one(PayloadTSi), one(PayloadTSr),
			opt(PayloadCP), notifies, vendorIDs},
	}, {
		name:  "CREATE_CHILD_SA IKE rekey response",
		rules: []payloadRule{one(PayloadSA), one(PayloadNonce), one(PayloadKE), notifies, vendorIDs},
	}, errorResponse}},
	// RFC 7296 Section 1.4: HDR, SK {[N,] [D,] [CP,] ...}, possibly empty
	// (a liveness check, Section 2.4).
	{ExchangeInformational, false, true, []messageRole{{
		name:  "INFORMATIONAL request",
		rules: []payloadRule{notifies, deletes, opt(PayloadCP), vendorIDs},
	}}},
	{ExchangeInformational, true, true, []messageRole{{
		name:  "INFORMATIONAL response",
		rules: []payloadRule{notifies, deletes, opt(PayloadCP), vendorIDs},
	}}},
	// RFC 7296 Section 1.5: notifications outside an IKE SA, such as
	// INVALID_IKE_SPI, are sent unprotected.
	{ExchangeInformational, false, false, []messageRole{{
		name: "unprotected INFORMATIONAL", rules: []payloadRule{notified}, notify: isError,
	}}},
	{ExchangeInformational, true, false, []messageRole{{
		name: "unprotected INFORMATIONAL", rules: []payloadRule{notified}, notify: isError,
	}}},
	// RFC 9242 Section 3: IKE_INTERMEDIATE carries what the extensions
	// using it need, such as a KE payload (RFC 9370 Section 2.2.1).
	{ExchangeIKEIntermediate, false, true, []messageRole{{
		name: "IKE_INTERMEDIATE request", rules: []payloadRule{opt(PayloadKE), notifies, vendorIDs},
	}}},
	{ExchangeIKEIntermediate, true, true, []messageRole{{
		name: "IKE_INTERMEDIATE response", rules: []payloadRule{opt(PayloadKE), notifies, vendorIDs},
	}}},
	// RFC 9370 Section 2.2.2: HDR, SK {KEi(n), N(ADDITIONAL_KEY_EXCHANGE)}
	// --> <-- HDR, SK {KEr(n), [N(ADDITIONAL_KEY_EXCHANGE)]}.
	{ExchangeIKEFollowupKE, false, true, []messageRole{{
		name:   "IKE_FOLLOWUP_KE request",
		rules:  []payloadRule{one(PayloadKE), notified, vendorIDs},
		notify: func(t NotifyType) bool { return t == NotifyAdditionalKeyExchange },
	}}},
	{ExchangeIKEFollowupKE, true, true, []messageRole{{
		name: "IKE_FOLLOWUP_KE response", rules: []payloadRule{one(PayloadKE), notifies, vendorIDs},
	}, errorResponse}},
	// RFC 5723 Section 4.3.1: HDR, Ni, N(TICKET_OPAQUE) [,N+] -->
	// <-- HDR, Nr [,N+], or an error or N(COOKIE).
	{ExchangeIKESessionResume, false, false, []messageRole{{
		name:   "IKE_SESSION_RESUME request",
		rules:  []payloadRule{one(PayloadNonce), notified, vendorIDs},
		notify: func(t NotifyType) bool { return t == NotifyTicketOpaque },
	}}},
	{ExchangeIKESessionResume, true, false, []messageRole{{
		name: "IKE_SESSION_RESUME response", rules: []payloadRule{one(PayloadNonce), notifies, vendorIDs},
	}, {
		name:   "IKE_SESSION_RESUME error response",
		rules:  []payloadRule{notified, vendorIDs},
		notify: func(t NotifyType) bool { return t.IsError() || t == NotifyCookie },
	}}},
}

// CheckRules checks the payloads of a message against the rules of its
// exchange and direction: for an encrypted message, the payloads inside the
// SK payload (or reassembled from SKF payloads), otherwise the plaintext
// payloads. IKE_SA_INIT and IKE_SESSION_RESUME must not be encrypted;
// IKE_AUTH, CREATE_CHILD_SA, IKE_INTERMEDIATE and IKE_FOLLOWUP_KE must be;
// an unencrypted INFORMATIONAL may only carry error notifications (RFC 7296
// Section 1.5).
//
// A message passes if it fits one of the roles of its exchange (for
// IKE_AUTH: the first request, an EAP round, the final AUTH, an error
// response, and so on). Otherwise CheckRules returns a *RuleError for the
// role the message comes closest to, naming the missing, unexpected or
// repeated payload; its notification is INVALID_SYNTAX. An exchange without
// rules gives an error wrapping ErrInvalidSyntax.
//
// CheckRules does not allocate unless it fails.
func CheckRules(exchange ExchangeType, response, encrypted bool, payloads []Payload) error {
	found, encMismatch := false, false
	var best *RuleError
	bestScore := -1
	var counts [256]uint8
	for _, p := range payloads {
		if _, unknown := p.(*Unknown); unknown {
			continue
		}
		if t := p.Type(); counts[t] < 255 {
			counts[t]++
		}
	}
	for i := range payloadRules {
		er := &payloadRules[i]
		if er.exchange != exchange || er.response != response {
			continue
		}
		found = true
		if er.encrypted != encrypted {
			encMismatch = true
			continue
		}
		for j := range er.roles {
			problem, score := er.roles[j].check(&counts, payloads)
			if score == 0 {
				return nil
			}
			if bestScore < 0 || score < bestScore {
				bestScore = score
				best = &RuleError{Exchange: exchange, Response: response, Role: er.roles[j].name, Payload: problem.typ, Problem: problem.problem}
			}
		}
	}
	switch {
	case best != nil:
		return best
	case encMismatch:
		p := RuleUnexpected
		if !encrypted {
			p = RuleMissing
		}
		return &RuleError{Exchange: exchange, Response: response, Payload: PayloadSK, Problem: p}
	case !found:
		dir := "request"
		if response {
			dir = "response"
		}
		return errSyntax("no payload rules for %s %s", exchange, dir)
	}
	return nil
}

type ruleViolation struct {
	typ     PayloadType
	problem RuleProblem
}

// check returns the first violation of the role and the number of
// violations, zero if the payloads fit it.
func (r *messageRole) check(counts *[256]uint8, payloads []Payload) (first ruleViolation, n int) {
	note := func(t PayloadType, p RuleProblem) {
		if n == 0 {
			first = ruleViolation{t, p}
		}
		n++
	}
	for t, c := range counts {
		if c == 0 {
			continue
		}
		allowed := false
		for _, pr := range r.rules {
			if pr.typ == PayloadType(t) {
				allowed = true
				break
			}
		}
		if !allowed {
			note(PayloadType(t), RuleUnexpected)
		}
	}
	for _, pr := range r.rules {
		switch c := int(counts[pr.typ]); {
		case c < pr.min:
			note(pr.typ, RuleMissing)
		case c > pr.max:
			note(pr.typ, RuleTooMany)
		}
	}
	if len(r.together) > 0 {
		present := 0
		for _, t := range r.together {
			if counts[t] > 0 {
				present++
			}
		}
		if present > 0 && present < len(r.together) {
			for _, t := range r.together {
				if counts[t] == 0 {
					note(t, RuleIncomplete)
				}
			}
		}
	}
	if r.notify != nil {
		ok := false
		for _, p := range payloads {
			if nt, isN := p.(*Notify); isN && r.notify(nt.Kind) {
				ok = true
				break
			}
		}
		if !ok {
			note(PayloadNotify, RuleMissing)
		}
	}
	return first, n
}
