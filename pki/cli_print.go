package pki

import (
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The "print" command's output, in the layout of strongSwan's `pki --print`.

// printAny prints whatever data holds.
func printAny(w io.Writer, data []byte, password string, now time.Time) error {
	if !isPEM(data) {
		switch {
		case looksLikePKCS12(data):
			b, err := DecodePKCS12(data, password)
			if err != nil {
				return err
			}
			printBundle(w, b, now)
			return nil
		}
		if certs, err := x509.ParseCertificates(data); err == nil && len(certs) > 0 {
			for _, c := range certs {
				printCert(w, c, now)
			}
			return nil
		}
		if csr, err := ParseCSR(data); err == nil {
			printCSR(w, csr)
			return nil
		} else if errors.Is(err, ErrBadSignature) {
			return err
		}
		if crl, err := ParseCRL(data); err == nil {
			printCRL(w, crl)
			return nil
		}
		if k, err := parseKeyDER(data); err == nil {
			printKey(w, k)
			return nil
		}
		return errors.New("pki: not a certificate, request, CRL, private key or PKCS#12 file")
	}
	blocks, err := pemBlocks(data)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		der := pem.EncodeToMemory(b)
		switch b.Type {
		case pemCertificate:
			c, err := ParseCertificate(der)
			if err != nil {
				return err
			}
			printCert(w, c, now)
		case pemCSR, pemCSROld:
			csr, err := ParseCSR(der)
			if err != nil {
				return err
			}
			printCSR(w, csr)
		case pemCRL:
			crl, err := ParseCRL(der)
			if err != nil {
				return err
			}
			printCRL(w, crl)
		case pemPKCS8, pemPKCS8Enc, pemRSAPrivateKey, pemECPrivateKey:
			k, err := ParsePrivateKey(der)
			if err != nil {
				return err
			}
			printKey(w, k)
		default:
			fmt.Fprintf(w, "skipping PEM block %q\n", b.Type)
		}
	}
	return nil
}

func printBundle(w io.Writer, b *Bundle, now time.Time) {
	if b.Key != nil {
		printKey(w, b.Key)
	}
	if b.Certificate != nil {
		printCert(w, b.Certificate, now)
	}
	for _, c := range b.Chain {
		printCert(w, c, now)
	}
}

var extKeyUsageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:             "any",
	x509.ExtKeyUsageServerAuth:      "serverAuth",
	x509.ExtKeyUsageClientAuth:      "clientAuth",
	x509.ExtKeyUsageCodeSigning:     "codeSigning",
	x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageIPSECEndSystem:  "ipsecEndSystem",
	x509.ExtKeyUsageIPSECTunnel:     "ipsecTunnel",
	x509.ExtKeyUsageIPSECUser:       "ipsecUser",
	x509.ExtKeyUsageTimeStamping:    "timeStamping",
	x509.ExtKeyUsageOCSPSigning:     "ocspSigning",
}

// printCert prints a certificate in the layout of strongSwan's `pki --print`.
func printCert(w io.Writer, c *x509.Certificate, now time.Time) {
	fmt.Fprintf(w, "cert:      X509\n")
	fmt.Fprintf(w, "subject:   %q\n", subjectString(c))
	fmt.Fprintf(w, "issuer:    %q\n", Identity{Type: IDTypeDERASN1DN, Data: c.RawIssuer}.String())
	var alt []string
	for _, id := range CertificateIdentities(c) {
		if !(id.Type == IDTypeDERASN1DN && string(id.Data) == string(c.RawSubject)) {
			alt = append(alt, id.String())
		}
	}
	if len(alt) > 0 {
		fmt.Fprintf(w, "altNames:  %s\n", strings.Join(alt, ", "))
	}
	var flags []string
	if c.IsCA {
		flags = append(flags, "CA")
	}
	if c.KeyUsage&x509.KeyUsageCRLSign != 0 {
		flags = append(flags, "CRLSign")
	}
	for _, u := range c.ExtKeyUsage {
		if n, ok := extKeyUsageNames[u]; ok {
			flags = append(flags, n)
		}
	}
	for _, u := range c.UnknownExtKeyUsage {
		if u.Equal(OIDExtKeyUsageIKEIntermediate) {
			flags = append(flags, "ikeIntermediate")
		} else {
			flags = append(flags, u.String())
		}
	}
	if len(flags) > 0 {
		fmt.Fprintf(w, "flags:     %s\n", strings.Join(flags, " "))
	}
	for _, u := range c.CRLDistributionPoints {
		fmt.Fprintf(w, "CRL URIs:  %s\n", u)
	}
	state := "ok"
	if now.Before(c.NotBefore) {
		state = "not valid yet"
	}
	fmt.Fprintf(w, "validity:  not before %s, %s\n", c.NotBefore.UTC().Format(time.RFC3339), state)
	switch {
	case now.After(c.NotAfter):
		state = "expired"
	default:
		state = fmt.Sprintf("ok (expires in %d days)", int(c.NotAfter.Sub(now).Hours()/24))
	}
	fmt.Fprintf(w, "           not after  %s, %s\n", c.NotAfter.UTC().Format(time.RFC3339), state)
	fmt.Fprintf(w, "serial:    %s\n", formatSerial(c.SerialNumber.Bytes()))
	printPubKey(w, c.PublicKey)
	if len(c.SubjectKeyId) > 0 {
		fmt.Fprintf(w, "subjkeyId: %s\n", formatSerial(c.SubjectKeyId))
	}
	if len(c.AuthorityKeyId) > 0 {
		fmt.Fprintf(w, "authkeyId: %s\n", formatSerial(c.AuthorityKeyId))
	}
	fmt.Fprintln(w)
}

func printPubKey(w io.Writer, pub crypto.PublicKey) {
	desc, err := describeKey(pub)
	if err != nil {
		desc = err.Error()
	}
	fmt.Fprintf(w, "pubkey:    %s\n", desc)
	printKeyIDs(w, pub)
}

// printKeyIDs prints the key's fingerprints as `pki --print` does: keyid
// is the SHA-1 of the SubjectPublicKeyInfo, subjkey that of the public key
// bits (the usual subjectKeyIdentifier). Both match an ID_KEY_ID.
func printKeyIDs(w io.Writer, pub crypto.PublicKey) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return
	}
	h := sha1.Sum(spki)
	fmt.Fprintf(w, "keyid:     %s\n", formatSerial(h[:]))
	if kid, err := keyID(pub); err == nil {
		fmt.Fprintf(w, "subjkey:   %s\n", formatSerial(kid))
	}
}

func printCSR(w io.Writer, csr *x509.CertificateRequest) {
	fmt.Fprintf(w, "cert:      PKCS10 request\n")
	fmt.Fprintf(w, "subject:   %q\n", Identity{Type: IDTypeDERASN1DN, Data: csr.RawSubject}.String())
	var alt []string
	alt = append(alt, csr.DNSNames...)
	alt = append(alt, csr.EmailAddresses...)
	for _, ip := range csr.IPAddresses {
		alt = append(alt, ip.String())
	}
	if len(alt) > 0 {
		fmt.Fprintf(w, "altNames:  %s\n", strings.Join(alt, ", "))
	}
	printPubKey(w, csr.PublicKey)
	fmt.Fprintf(w, "signature: ok (self-signed)\n\n")
}

func printCRL(w io.Writer, crl *x509.RevocationList) {
	fmt.Fprintf(w, "cert:      X509 CRL\n")
	fmt.Fprintf(w, "issuer:    %q\n", Identity{Type: IDTypeDERASN1DN, Data: crl.RawIssuer}.String())
	if crl.Number != nil {
		fmt.Fprintf(w, "serial:    %s\n", crl.Number)
	}
	fmt.Fprintf(w, "update:    this on %s\n", crl.ThisUpdate.UTC().Format(time.RFC3339))
	if !crl.NextUpdate.IsZero() {
		fmt.Fprintf(w, "           next on %s\n", crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "revoked:   %d certificate(s)\n", len(crl.RevokedCertificateEntries))
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber == nil {
			continue
		}
		fmt.Fprintf(w, "           %s: %s, %s\n", formatSerial(e.SerialNumber.Bytes()),
			e.RevocationTime.UTC().Format(time.RFC3339), RevocationReason(e.ReasonCode))
	}
	if len(crl.AuthorityKeyId) > 0 {
		fmt.Fprintf(w, "authkey:   %s\n", formatSerial(crl.AuthorityKeyId))
	}
	fmt.Fprintln(w)
}

func printKey(w io.Writer, k crypto.Signer) {
	fmt.Fprintf(w, "privkey:   ")
	desc, err := describeKey(k.Public())
	if err != nil {
		desc = err.Error()
	}
	fmt.Fprintln(w, desc)
	printKeyIDs(w, k.Public())
	fmt.Fprintln(w)
}
