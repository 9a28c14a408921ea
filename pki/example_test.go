package pki_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/ikego/ikego/pki"
)

func ExampleNewCA() {
	cfg := pki.Config{Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}
	ca, err := pki.NewCA(cfg, pki.CAOptions{Subject: "C=CH, O=ikego, CN=ikego CA", KeyType: pki.KeyTypeECDSAP256})
	if err != nil {
		log.Fatal(err)
	}
	// A VPN gateway certificate that Windows, macOS/iOS and Android accept.
	cert, key, err := ca.Issue(pki.Request{
		Profile: pki.ProfileServer,
		Subject: "C=CH, O=ikego, CN=vpn.example.org",
		Names:   []string{"vpn.example.org", "198.51.100.2"},
		KeyType: pki.KeyTypeECDSAP256,
	})
	if err != nil {
		log.Fatal(err)
	}
	keyPEM, _ := pki.EncodePrivateKeyPEM(key)
	_ = keyPEM // write it with mode 0600, or use a pki.Store

	fmt.Println("DNS:", cert.DNSNames, "IP:", cert.IPAddresses)
	fmt.Println("serverAuth:", cert.ExtKeyUsage[0] == x509.ExtKeyUsageServerAuth,
		"ikeIntermediate:", cert.UnknownExtKeyUsage[0].Equal(pki.OIDExtKeyUsageIKEIntermediate))
	fmt.Println("valid:", cert.NotBefore.Format(time.RFC3339), "to", cert.NotAfter.Format(time.RFC3339))

	chain, err := pki.Verify(cert, pki.VerifyOptions{Roots: []*x509.Certificate{ca.Cert}, Time: cfg.Now()})
	fmt.Println("chain:", len(chain), err)
	fmt.Println("matches vpn.example.org:", pki.MatchCertificate(mustParse("vpn.example.org"), cert))
	// Output:
	// DNS: [vpn.example.org] IP: [198.51.100.2]
	// serverAuth: true ikeIntermediate: true
	// valid: 2025-12-31T23:00:00Z to 2028-01-01T00:00:00Z
	// chain: 2 <nil>
	// matches vpn.example.org: true
}

func mustParse(s string) pki.Identity {
	id, err := pki.ParseIdentity(s)
	if err != nil {
		log.Fatal(err)
	}
	return id
}

func ExampleParseIdentity() {
	for _, s := range []string{
		"198.51.100.2",
		"vpn.example.org",
		"alice@example.org",
		"C=CH, O=ikego, CN=vpn.example.org",
		"keyid:ikego-group",
		"@1.2.3.4",
	} {
		id, err := pki.ParseIdentity(s)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-15v %s\n", id.Type, id)
	}
	// Output:
	// ID_IPV4_ADDR    198.51.100.2
	// ID_FQDN         vpn.example.org
	// ID_RFC822_ADDR  alice@example.org
	// ID_DER_ASN1_DN  C=CH, O=ikego, CN=vpn.example.org
	// ID_KEY_ID       keyid:ikego-group
	// ID_FQDN         fqdn:1.2.3.4
}

func ExampleIdentity_Matches() {
	peer := mustParse("C=CH, O=ikego, CN=alice")
	for _, pattern := range []string{
		"C=CH, O=ikego, CN=*", // a wildcard RDN value
		"O=ikego, C=CH, CN=*", // strongSwan's default: the order counts
		"C=CH, CN=*",          // ... and the number of RDNs
		"%any",
	} {
		fmt.Printf("%-22s %v\n", pattern, peer.Matches(mustParse(pattern)))
	}
	fmt.Println(mustParse("vpn.example.org").Matches(mustParse("*.example.org")))
	fmt.Println(mustParse("bob@example.org").Matches(mustParse("*@example.org")))
	// With strongSwan's charon.rdn_matching = reordered:
	fmt.Println(peer.Match(mustParse("O=ikego, C=CH, CN=*"), pki.RDNReordered) == pki.MatchOneWildcard)
	// Output:
	// C=CH, O=ikego, CN=*    true
	// O=ikego, C=CH, CN=*    false
	// C=CH, CN=*             false
	// %any                   true
	// true
	// true
	// true
}

func ExampleCommand() {
	dir, err := os.MkdirTemp("", "pki-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	for _, args := range [][]string{
		{"init-ca", "-dir", dir, "-dn", "C=CH, O=ikego, CN=ikego CA", "-type", "ecdsa256"},
		{"issue", "-dir", dir, "-name", "vpn", "-profile", "server", "-san", "vpn.example.org", "-type", "ecdsa256"},
		{"revoke", "-dir", dir, "-name", "vpn"},
	} {
		if err := pki.Command(ctx, args, io.Discard, os.Stderr); err != nil {
			log.Fatal(err)
		}
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			rel, _ := filepath.Rel(dir, p)
			fmt.Println(info.Mode(), filepath.ToSlash(rel))
		}
		return err
	})
	// Output:
	// -rw-r--r-- ca/ca.cert.pem
	// -rw------- ca/ca.key.pem
	// -rw-r--r-- certs/vpn.cert.pem
	// -rw-r--r-- crl/ca.crl.pem
	// -rw------- private/vpn.key.pem
}
