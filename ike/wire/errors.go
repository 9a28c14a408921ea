package wire

import (
	"errors"
	"fmt"
)

// ProtocolError is an error in a received message, with the notification
// that answers it (RFC 7296 Section 3.10.1). Notify is NotifyNone when the
// message must be dropped without an answer, for example when its ICV does
// not verify (RFC 7296 Section 2.21). Data is the notification data to send
// with Notify, if any (the payload type for UNSUPPORTED_CRITICAL_PAYLOAD).
//
// Every ProtocolError returned by this package wraps one of the ErrXxx
// sentinels, so errors.Is(err, ErrTruncated) works; the sentinels are
// themselves ProtocolErrors and carry the same Notify.
type ProtocolError struct {
	Notify NotifyType
	Reason string
	Data   []byte

	kind *ProtocolError
}

// Error returns the reason prefixed with "wire: ".
func (e *ProtocolError) Error() string { return "wire: " + e.Reason }

// Unwrap returns the sentinel e belongs to, or nil if e is a sentinel.
func (e *ProtocolError) Unwrap() error {
	if e.kind == nil {
		return nil
	}
	return e.kind
}

// Sentinel errors. Use errors.Is to test for them and errors.As with a
// *ProtocolError to learn the notification to send.
var (
	// ErrTruncated: a length field points past the end of its container.
	ErrTruncated = &ProtocolError{Notify: NotifyInvalidSyntax, Reason: "truncated message"}
	// ErrInvalidSyntax: a field has a value the RFC forbids, or bytes are
	// left over after a structure.
	ErrInvalidSyntax = &ProtocolError{Notify: NotifyInvalidSyntax, Reason: "invalid syntax"}
	// ErrUnsupportedCritical: a payload of an unknown type has the critical
	// bit set (RFC 7296 Section 2.5).
	ErrUnsupportedCritical = &ProtocolError{Notify: NotifyUnsupportedCriticalPayload, Reason: "unsupported critical payload"}
	// ErrInvalidMajorVersion: the major version is not 2 (RFC 7296
	// Section 3.1).
	ErrInvalidMajorVersion = &ProtocolError{Notify: NotifyInvalidMajorVersion, Reason: "invalid major version"}
	// ErrIntegrity: the ICV of an SK or SKF payload did not verify; the
	// message is dropped silently.
	ErrIntegrity = &ProtocolError{Notify: NotifyNone, Reason: "integrity check failed"}
	// ErrFragmentDiscarded: a Reassembler dropped a fragment (duplicate,
	// out of range, superseded, over a limit or expired; RFC 7383
	// Section 2.6). It is dropped silently.
	ErrFragmentDiscarded = &ProtocolError{Notify: NotifyNone, Reason: "fragment discarded"}
)

func newError(kind *ProtocolError, format string, args ...any) *ProtocolError {
	return &ProtocolError{Notify: kind.Notify, Reason: fmt.Sprintf(format, args...), kind: kind}
}

func errTruncated(what string) error {
	return newError(ErrTruncated, "%s: truncated", what)
}

func errSyntax(format string, args ...any) error {
	return newError(ErrInvalidSyntax, format, args...)
}

// withContext prefixes the reason of a ProtocolError with where it
// happened, keeping its kind, notification and data.
func withContext(err error, format string, args ...any) error {
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.kind == nil {
		return err
	}
	return &ProtocolError{
		Notify: pe.Notify,
		Reason: fmt.Sprintf(format, args...) + ": " + pe.Reason,
		Data:   pe.Data,
		kind:   pe.kind,
	}
}

// RuleProblem says how a message broke its exchange's payload rules.
type RuleProblem uint8

// Rule problems.
const (
	RuleMissing    RuleProblem = iota + 1 // a mandatory payload is absent
	RuleUnexpected                        // a payload is not allowed in this message
	RuleTooMany                           // a payload appears more often than allowed
	RuleIncomplete                        // a payload of a group that must appear together is absent
)

// String returns the problem in words, such as "missing".
func (p RuleProblem) String() string {
	switch p {
	case RuleMissing:
		return "missing"
	case RuleUnexpected:
		return "unexpected"
	case RuleTooMany:
		return "too many"
	case RuleIncomplete:
		return "incomplete"
	}
	return fmt.Sprintf("RuleProblem(%d)", uint8(p))
}

// RuleError reports a message whose payloads break the rules of its
// exchange (see CheckRules). Payload names the missing, unexpected or
// repeated payload; a message that must be encrypted but is not, or the
// reverse, names PayloadSK. A notify-only message without the notification
// its role needs names PayloadNotify with RuleMissing.
//
// RuleError unwraps to ErrInvalidSyntax: the answer to a request that
// breaks the rules is INVALID_SYNTAX (RFC 7296 Section 2.21.1).
type RuleError struct {
	Exchange ExchangeType
	Response bool
	// Role is the role of the exchange the message came closest to,
	// such as "IKE_AUTH EAP request".
	Role    string
	Payload PayloadType
	Problem RuleProblem
}

// Error describes the problem, for example
// "wire: IKE_AUTH request: missing IDi payload".
func (e *RuleError) Error() string {
	dir := "request"
	if e.Response {
		dir = "response"
	}
	what := e.Payload.String() + " payload"
	if e.Payload == PayloadSK {
		if e.Problem == RuleMissing {
			return fmt.Sprintf("wire: %s %s: not encrypted", e.Exchange, dir)
		}
		return fmt.Sprintf("wire: %s %s: must not be encrypted", e.Exchange, dir)
	}
	if e.Problem == RuleMissing && e.Payload == PayloadNotify {
		what = "required notification"
	}
	return fmt.Sprintf("wire: %s %s: %s %s", e.Exchange, dir, e.Problem, what)
}

// Notify returns the notification that answers the message: INVALID_SYNTAX.
func (e *RuleError) Notify() NotifyType { return NotifyInvalidSyntax }

// Unwrap returns ErrInvalidSyntax.
func (e *RuleError) Unwrap() error { return ErrInvalidSyntax }
