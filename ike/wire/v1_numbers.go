package wire

import "fmt"

// V1PayloadType is the type of an IKEv1 payload, as carried in the Next
// Payload field of the preceding header (RFC 2408 Section 3.1; IANA "ISAKMP
// Next Payload Types"). The names are those of charon's logs.
type V1PayloadType uint8

// IKEv1 payload types. Proposal and Transform only appear inside an SA
// payload. 130 and 131 are the NAT-D and NAT-OA of
// draft-ietf-ipsec-nat-t-ike-02/03, sent by older peers; 132 is the IKE
// fragment of Cisco, Microsoft and strongSwan.
const (
	V1PayloadNone       V1PayloadType = 0   // NONE
	V1PayloadSA         V1PayloadType = 1   // SA
	V1PayloadProposal   V1PayloadType = 2   // PROP
	V1PayloadTransform  V1PayloadType = 3   // TRANS
	V1PayloadKE         V1PayloadType = 4   // KE
	V1PayloadID         V1PayloadType = 5   // ID
	V1PayloadCert       V1PayloadType = 6   // CERT
	V1PayloadCertReq    V1PayloadType = 7   // CERTREQ
	V1PayloadHash       V1PayloadType = 8   // HASH
	V1PayloadSignature  V1PayloadType = 9   // SIG
	V1PayloadNonce      V1PayloadType = 10  // No
	V1PayloadNotify     V1PayloadType = 11  // N
	V1PayloadDelete     V1PayloadType = 12  // D
	V1PayloadVendorID   V1PayloadType = 13  // V
	V1PayloadAttributes V1PayloadType = 14  // CP
	V1PayloadNATD       V1PayloadType = 20  // NAT-D
	V1PayloadNATOA      V1PayloadType = 21  // NAT-OA
	V1PayloadNATDDraft  V1PayloadType = 130 // NAT-D (draft)
	V1PayloadNATOADraft V1PayloadType = 131 // NAT-OA (draft)
	V1PayloadFragment   V1PayloadType = 132 // FRAG
)

// String returns the name of the payload type, such as "SA" or "NAT-D".
func (t V1PayloadType) String() string {
	switch t {
	case V1PayloadNone:
		return "NONE"
	case V1PayloadSA:
		return "SA"
	case V1PayloadProposal:
		return "PROP"
	case V1PayloadTransform:
		return "TRANS"
	case V1PayloadKE:
		return "KE"
	case V1PayloadID:
		return "ID"
	case V1PayloadCert:
		return "CERT"
	case V1PayloadCertReq:
		return "CERTREQ"
	case V1PayloadHash:
		return "HASH"
	case V1PayloadSignature:
		return "SIG"
	case V1PayloadNonce:
		return "No"
	case V1PayloadNotify:
		return "N"
	case V1PayloadDelete:
		return "D"
	case V1PayloadVendorID:
		return "V"
	case V1PayloadAttributes:
		return "CP"
	case V1PayloadNATD:
		return "NAT-D"
	case V1PayloadNATOA:
		return "NAT-OA"
	case V1PayloadNATDDraft:
		return "NAT-D (draft)"
	case V1PayloadNATOADraft:
		return "NAT-OA (draft)"
	case V1PayloadFragment:
		return "FRAG"
	}
	return fmt.Sprintf("V1PayloadType(%d)", uint8(t))
}

// V1Exchange is the IKEv1 exchange type (RFC 2408 Section 3.1, RFC 2409
// Section 5; IANA "ISAKMP Exchange Types"). The names are those of charon's
// logs.
type V1Exchange uint8

// IKEv1 exchange types. Transaction is that of
// draft-dukes-ike-mode-cfg, used by XAuth and Mode Config.
const (
	V1ExchangeNone          V1Exchange = 0  // NONE
	V1ExchangeBase          V1Exchange = 1  // BASE
	V1ExchangeIDProt        V1Exchange = 2  // ID_PROT (Main Mode)
	V1ExchangeAuthOnly      V1Exchange = 3  // AUTH_ONLY
	V1ExchangeAggressive    V1Exchange = 4  // AGGRESSIVE
	V1ExchangeInformational V1Exchange = 5  // INFORMATIONAL_V1
	V1ExchangeTransaction   V1Exchange = 6  // TRANSACTION
	V1ExchangeQuickMode     V1Exchange = 32 // QUICK_MODE
	V1ExchangeNewGroup      V1Exchange = 33 // NEW_GROUP_MODE
)

// String returns the name of the exchange type, such as "ID_PROT".
func (e V1Exchange) String() string {
	switch e {
	case V1ExchangeNone:
		return "NONE"
	case V1ExchangeBase:
		return "BASE"
	case V1ExchangeIDProt:
		return "ID_PROT"
	case V1ExchangeAuthOnly:
		return "AUTH_ONLY"
	case V1ExchangeAggressive:
		return "AGGRESSIVE"
	case V1ExchangeInformational:
		return "INFORMATIONAL_V1"
	case V1ExchangeTransaction:
		return "TRANSACTION"
	case V1ExchangeQuickMode:
		return "QUICK_MODE"
	case V1ExchangeNewGroup:
		return "NEW_GROUP_MODE"
	}
	return fmt.Sprintf("V1Exchange(%d)", uint8(e))
}

// V1Flags are the flags of the ISAKMP header (RFC 2408 Section 3.1). The
// other bits are cleared when sending and ignored on receipt.
type V1Flags uint8

// ISAKMP header flags.
const (
	V1FlagEncryption V1Flags = 0x01 // E: the payloads after the header are encrypted
	V1FlagCommit     V1Flags = 0x02 // C: commit bit (key exchange synchronization)
	V1FlagAuthOnly   V1Flags = 0x04 // A: authentication only, no encryption

	v1FlagsMask = V1FlagEncryption | V1FlagCommit | V1FlagAuthOnly
)

// String returns the set flags as "E", "C" and "A" joined by "|", or "0".
func (f V1Flags) String() string {
	s := ""
	for _, x := range []struct {
		f V1Flags
		n string
	}{{V1FlagEncryption, "E"}, {V1FlagCommit, "C"}, {V1FlagAuthOnly, "A"}} {
		if f&x.f != 0 {
			if s != "" {
				s += "|"
			}
			s += x.n
		}
	}
	if s == "" {
		return "0"
	}
	return s
}

// V1DOI is a Domain of Interpretation (RFC 2408 Section 2.1).
type V1DOI uint32

// Domains of interpretation.
const (
	V1DOIISAKMP V1DOI = 0 // ISAKMP
	V1DOIIPsec  V1DOI = 1 // IPSEC (RFC 2407)
)

// String returns the name of the DOI.
func (d V1DOI) String() string {
	switch d {
	case V1DOIISAKMP:
		return "ISAKMP"
	case V1DOIIPsec:
		return "IPSEC"
	}
	return fmt.Sprintf("V1DOI(%d)", uint32(d))
}

// V1SitIdentityOnly is the IPsec DOI situation SIT_IDENTITY_ONLY (RFC 2407
// Section 4.2). SIT_SECRECY (2) and SIT_INTEGRITY (4) add labeled domain
// data that this package does not support.
const V1SitIdentityOnly uint32 = 1

// V1ProtocolID is the protocol of a proposal, Notification or Delete
// payload (RFC 2407 Section 4.4.1).
type V1ProtocolID uint8

// IPsec DOI security protocols.
const (
	V1ProtocolNone   V1ProtocolID = 0 // NONE
	V1ProtocolISAKMP V1ProtocolID = 1 // ISAKMP
	V1ProtocolAH     V1ProtocolID = 2 // AH
	V1ProtocolESP    V1ProtocolID = 3 // ESP
	V1ProtocolIPComp V1ProtocolID = 4 // IPCOMP
)

// String returns the name of the protocol, such as "ESP".
func (p V1ProtocolID) String() string {
	switch p {
	case V1ProtocolNone:
		return "NONE"
	case V1ProtocolISAKMP:
		return "ISAKMP"
	case V1ProtocolAH:
		return "AH"
	case V1ProtocolESP:
		return "ESP"
	case V1ProtocolIPComp:
		return "IPCOMP"
	}
	return fmt.Sprintf("V1ProtocolID(%d)", uint8(p))
}

// V1KeyIKE is the only transform ID of the ISAKMP protocol, KEY_IKE (RFC
// 2407 Section 4.4.2).
const V1KeyIKE uint8 = 1

// V1ESPTransformID is the transform ID of an ESP transform (RFC 2407
// Section 4.4.4; IANA "IPSEC ESP Transform Identifiers").
type V1ESPTransformID uint8

// ESP transform IDs. 18-20 are RFC 4106's AES-GCM with an 8, 12 and 16
// octet ICV; 13 is RFC 3686's AES-CTR.
const (
	V1ESPDES       V1ESPTransformID = 2  // ESP_DES
	V1ESP3DES      V1ESPTransformID = 3  // ESP_3DES
	V1ESPNull      V1ESPTransformID = 11 // ESP_NULL
	V1ESPAESCBC    V1ESPTransformID = 12 // ESP_AES-CBC
	V1ESPAESCTR    V1ESPTransformID = 13 // ESP_AES-CTR
	V1ESPAESGCM8   V1ESPTransformID = 18 // ESP_AES-GCM-8
	V1ESPAESGCM12  V1ESPTransformID = 19 // ESP_AES-GCM-12
	V1ESPAESGCM16  V1ESPTransformID = 20 // ESP_AES-GCM-16
	V1ESPNullAuthG V1ESPTransformID = 23 // ESP_NULL_AUTH_AES-GMAC
)

// String returns the name of the ESP transform, such as "ESP_AES-CBC".
func (id V1ESPTransformID) String() string {
	switch id {
	case V1ESPDES:
		return "ESP_DES"
	case V1ESP3DES:
		return "ESP_3DES"
	case V1ESPNull:
		return "ESP_NULL"
	case V1ESPAESCBC:
		return "ESP_AES-CBC"
	case V1ESPAESCTR:
		return "ESP_AES-CTR"
	case V1ESPAESGCM8:
		return "ESP_AES-GCM-8"
	case V1ESPAESGCM12:
		return "ESP_AES-GCM-12"
	case V1ESPAESGCM16:
		return "ESP_AES-GCM-16"
	case V1ESPNullAuthG:
		return "ESP_NULL_AUTH_AES-GMAC"
	}
	return fmt.Sprintf("V1ESPTransformID(%d)", uint8(id))
}

// V1AttrType is the 15-bit type of a data attribute (RFC 2408 Section
// 3.3). Its meaning depends on where the attribute is: a Phase 1
// transform (the V1Attr constants, RFC 2409 Appendix A), an IPsec DOI
// transform (the V1IPsecAttr constants, RFC 2407 Section 4.5) or a
// configuration payload (the V1Cfg constants); its String is therefore
// only the number. Use Phase1String, IPsecString or CfgString to name it.
type V1AttrType uint16

// Phase 1 (ISAKMP SA) attribute classes, RFC 2409 Appendix A.
const (
	V1AttrEncryption   V1AttrType = 1  // Encryption Algorithm (V1EncrAlg)
	V1AttrHash         V1AttrType = 2  // Hash Algorithm (V1HashAlg)
	V1AttrAuthMethod   V1AttrType = 3  // Authentication Method (V1AuthMethod)
	V1AttrGroup        V1AttrType = 4  // Group Description (the IANA group number, as DHGroup)
	V1AttrGroupType    V1AttrType = 5  // Group Type
	V1AttrGroupPrime   V1AttrType = 6  // Group Prime/Irreducible Polynomial
	V1AttrGroupGen1    V1AttrType = 7  // Group Generator One
	V1AttrGroupGen2    V1AttrType = 8  // Group Generator Two
	V1AttrGroupCurveA  V1AttrType = 9  // Group Curve A
	V1AttrGroupCurveB  V1AttrType = 10 // Group Curve B
	V1AttrLifeType     V1AttrType = 11 // Life Type (V1LifeType)
	V1AttrLifeDuration V1AttrType = 12 // Life Duration
	V1AttrPRF          V1AttrType = 13 // PRF
	V1AttrKeyLength    V1AttrType = 14 // Key Length, in bits
	V1AttrFieldSize    V1AttrType = 15 // Field Size
	V1AttrGroupOrder   V1AttrType = 16 // Group Order
)

// IPsec DOI (Phase 2) attribute types, RFC 2407 Section 4.5.
const (
	V1IPsecAttrLifeType     V1AttrType = 1 // SA Life Type (V1LifeType)
	V1IPsecAttrLifeDuration V1AttrType = 2 // SA Life Duration
	V1IPsecAttrGroup        V1AttrType = 3 // Group Description (PFS group)
	V1IPsecAttrEncapMode    V1AttrType = 4 // Encapsulation Mode (V1EncapMode)
	V1IPsecAttrAuthAlg      V1AttrType = 5 // Authentication Algorithm (V1IPsecAuthAlg)
	V1IPsecAttrKeyLength    V1AttrType = 6 // Key Length, in bits
	V1IPsecAttrKeyRounds    V1AttrType = 7 // Key Rounds
	V1IPsecAttrCompDictSize V1AttrType = 8 // Compress Dictionary Size
	V1IPsecAttrCompPrivAlg  V1AttrType = 9 // Compress Private Algorithm
)

// Configuration attribute types of the ISAKMP Configuration payload:
// draft-dukes-ike-mode-cfg Section 3.3, the XAuth attributes of
// draft-beaulieu-ike-xauth-02 Section 6.1, and the Cisco Unity attributes
// as strongSwan and Wireshark name them.
const (
	V1CfgInternalIP4Address V1AttrType = 1     // INTERNAL_IP4_ADDRESS
	V1CfgInternalIP4Netmask V1AttrType = 2     // INTERNAL_IP4_NETMASK
	V1CfgInternalIP4DNS     V1AttrType = 3     // INTERNAL_IP4_DNS
	V1CfgInternalIP4NBNS    V1AttrType = 4     // INTERNAL_IP4_NBNS
	V1CfgInternalAddrExpiry V1AttrType = 5     // INTERNAL_ADDRESS_EXPIRY
	V1CfgInternalIP4DHCP    V1AttrType = 6     // INTERNAL_IP4_DHCP
	V1CfgApplicationVersion V1AttrType = 7     // APPLICATION_VERSION
	V1CfgInternalIP6Address V1AttrType = 8     // INTERNAL_IP6_ADDRESS
	V1CfgInternalIP6Netmask V1AttrType = 9     // INTERNAL_IP6_NETMASK
	V1CfgInternalIP6DNS     V1AttrType = 10    // INTERNAL_IP6_DNS
	V1CfgInternalIP6NBNS    V1AttrType = 11    // INTERNAL_IP6_NBNS
	V1CfgInternalIP6DHCP    V1AttrType = 12    // INTERNAL_IP6_DHCP
	V1CfgInternalIP4Subnet  V1AttrType = 13    // INTERNAL_IP4_SUBNET
	V1CfgSupportedAttrs     V1AttrType = 14    // SUPPORTED_ATTRIBUTES
	V1CfgInternalIP6Subnet  V1AttrType = 15    // INTERNAL_IP6_SUBNET
	V1CfgXAuthType          V1AttrType = 16520 // XAUTH-TYPE
	V1CfgXAuthUserName      V1AttrType = 16521 // XAUTH-USER-NAME
	V1CfgXAuthUserPassword  V1AttrType = 16522 // XAUTH-USER-PASSWORD
	V1CfgXAuthPasscode      V1AttrType = 16523 // XAUTH-PASSCODE
	V1CfgXAuthMessage       V1AttrType = 16524 // XAUTH-MESSAGE
	V1CfgXAuthChallenge     V1AttrType = 16525 // XAUTH-CHALLENGE
	V1CfgXAuthDomain        V1AttrType = 16526 // XAUTH-DOMAIN
	V1CfgXAuthStatus        V1AttrType = 16527 // XAUTH-STATUS
	V1CfgXAuthNextPin       V1AttrType = 16528 // XAUTH-NEXT-PIN
	V1CfgXAuthAnswer        V1AttrType = 16529 // XAUTH-ANSWER
	V1CfgUnityBanner        V1AttrType = 28672 // UNITY_BANNER
	V1CfgUnitySavePasswd    V1AttrType = 28673 // UNITY_SAVE_PASSWD
	V1CfgUnityDefDomain     V1AttrType = 28674 // UNITY_DEF_DOMAIN
	V1CfgUnitySplitDNSName  V1AttrType = 28675 // UNITY_SPLITDNS_NAME
	V1CfgUnitySplitInclude  V1AttrType = 28676 // UNITY_SPLIT_INCLUDE
	V1CfgUnityNATTPort      V1AttrType = 28677 // UNITY_NATT_PORT
	V1CfgUnityLocalLAN      V1AttrType = 28678 // UNITY_LOCAL_LAN
	V1CfgUnityPFS           V1AttrType = 28679 // UNITY_PFS
	V1CfgUnityFWType        V1AttrType = 28680 // UNITY_FW_TYPE
	V1CfgUnityBackupServers V1AttrType = 28681 // UNITY_BACKUP_SERVERS
	V1CfgUnityDDNSHostname  V1AttrType = 28682 // UNITY_DDNS_HOSTNAME
)

// String returns the number, since the name depends on the context.
func (t V1AttrType) String() string { return fmt.Sprintf("%d", uint16(t)) }

// Phase1String names t as a Phase 1 attribute class (RFC 2409 Appendix A),
// such as "Encryption Algorithm".
func (t V1AttrType) Phase1String() string {
	names := [...]string{1: "Encryption Algorithm", 2: "Hash Algorithm", 3: "Authentication Method",
		4: "Group Description", 5: "Group Type", 6: "Group Prime/Irreducible Polynomial",
		7: "Group Generator One", 8: "Group Generator Two", 9: "Group Curve A", 10: "Group Curve B",
		11: "Life Type", 12: "Life Duration", 13: "PRF", 14: "Key Length", 15: "Field Size", 16: "Group Order"}
	if int(t) < len(names) && names[t] != "" {
		return names[t]
	}
	return fmt.Sprintf("V1AttrType(%d)", uint16(t))
}

// IPsecString names t as an IPsec DOI attribute (RFC 2407 Section 4.5),
// such as "Encapsulation Mode".
func (t V1AttrType) IPsecString() string {
	names := [...]string{1: "SA Life Type", 2: "SA Life Duration", 3: "Group Description",
		4: "Encapsulation Mode", 5: "Authentication Algorithm", 6: "Key Length", 7: "Key Rounds",
		8: "Compress Dictionary Size", 9: "Compress Private Algorithm"}
	if int(t) < len(names) && names[t] != "" {
		return names[t]
	}
	return fmt.Sprintf("V1AttrType(%d)", uint16(t))
}

// CfgString names t as a configuration attribute, such as
// "INTERNAL_IP4_ADDRESS" or "XAUTH-USER-NAME".
func (t V1AttrType) CfgString() string {
	low := [...]string{1: "INTERNAL_IP4_ADDRESS", 2: "INTERNAL_IP4_NETMASK", 3: "INTERNAL_IP4_DNS",
		4: "INTERNAL_IP4_NBNS", 5: "INTERNAL_ADDRESS_EXPIRY", 6: "INTERNAL_IP4_DHCP",
		7: "APPLICATION_VERSION", 8: "INTERNAL_IP6_ADDRESS", 9: "INTERNAL_IP6_NETMASK",
		10: "INTERNAL_IP6_DNS", 11: "INTERNAL_IP6_NBNS", 12: "INTERNAL_IP6_DHCP",
		13: "INTERNAL_IP4_SUBNET", 14: "SUPPORTED_ATTRIBUTES", 15: "INTERNAL_IP6_SUBNET"}
	xauth := [...]string{"XAUTH-TYPE", "XAUTH-USER-NAME", "XAUTH-USER-PASSWORD", "XAUTH-PASSCODE",
		"XAUTH-MESSAGE", "XAUTH-CHALLENGE", "XAUTH-DOMAIN", "XAUTH-STATUS", "XAUTH-NEXT-PIN", "XAUTH-ANSWER"}
	unity := [...]string{"UNITY_BANNER", "UNITY_SAVE_PASSWD", "UNITY_DEF_DOMAIN", "UNITY_SPLITDNS_NAME",
		"UNITY_SPLIT_INCLUDE", "UNITY_NATT_PORT", "UNITY_LOCAL_LAN", "UNITY_PFS", "UNITY_FW_TYPE",
		"UNITY_BACKUP_SERVERS", "UNITY_DDNS_HOSTNAME"}
	switch {
	case int(t) < len(low) && low[t] != "":
		return low[t]
	case t >= V1CfgXAuthType && int(t-V1CfgXAuthType) < len(xauth):
		return xauth[t-V1CfgXAuthType]
	case t >= V1CfgUnityBanner && int(t-V1CfgUnityBanner) < len(unity):
		return unity[t-V1CfgUnityBanner]
	}
	return fmt.Sprintf("V1AttrType(%d)", uint16(t))
}

// V1EncrAlg is the value of the Phase 1 Encryption Algorithm attribute
// (RFC 2409 Appendix A; IANA "IPSEC Encryption Algorithm").
type V1EncrAlg uint16

// Phase 1 encryption algorithms.
const (
	V1EncrDES      V1EncrAlg = 1 // DES-CBC
	V1EncrIDEA     V1EncrAlg = 2 // IDEA-CBC
	V1EncrBlowfish V1EncrAlg = 3 // Blowfish-CBC
	V1EncrRC5      V1EncrAlg = 4 // RC5-R16-B64-CBC
	V1Encr3DES     V1EncrAlg = 5 // 3DES-CBC
	V1EncrCAST     V1EncrAlg = 6 // CAST-CBC
	V1EncrAESCBC   V1EncrAlg = 7 // AES-CBC (RFC 3602)
	V1EncrCamellia V1EncrAlg = 8 // CAMELLIA-CBC (RFC 4312)
)

// String returns the name of the algorithm, such as "AES-CBC".
func (a V1EncrAlg) String() string {
	names := [...]string{1: "DES-CBC", 2: "IDEA-CBC", 3: "Blowfish-CBC", 4: "RC5-R16-B64-CBC",
		5: "3DES-CBC", 6: "CAST-CBC", 7: "AES-CBC", 8: "CAMELLIA-CBC"}
	if int(a) < len(names) && names[a] != "" {
		return names[a]
	}
	return fmt.Sprintf("V1EncrAlg(%d)", uint16(a))
}

// V1HashAlg is the value of the Phase 1 Hash Algorithm attribute (RFC 2409
// Appendix A, RFC 4868; IANA "IPSEC Hash Algorithm").
type V1HashAlg uint16

// Phase 1 hash algorithms.
const (
	V1HashMD5     V1HashAlg = 1 // MD5
	V1HashSHA1    V1HashAlg = 2 // SHA
	V1HashTiger   V1HashAlg = 3 // Tiger
	V1HashSHA2256 V1HashAlg = 4 // SHA2-256
	V1HashSHA2384 V1HashAlg = 5 // SHA2-384
	V1HashSHA2512 V1HashAlg = 6 // SHA2-512
)

// String returns the name of the algorithm, such as "SHA2-256".
func (a V1HashAlg) String() string {
	names := [...]string{1: "MD5", 2: "SHA", 3: "Tiger", 4: "SHA2-256", 5: "SHA2-384", 6: "SHA2-512"}
	if int(a) < len(names) && names[a] != "" {
		return names[a]
	}
	return fmt.Sprintf("V1HashAlg(%d)", uint16(a))
}

// V1AuthMethod is the value of the Phase 1 Authentication Method attribute
// (RFC 2409 Appendix A; the XAuth values of draft-beaulieu-ike-xauth-02
// Section 7.2 and the hybrid ones of draft-ietf-ipsec-isakmp-hybrid-auth).
type V1AuthMethod uint16

// Phase 1 authentication methods. The "Init" and "Resp" variants name the
// side that is authenticated with XAuth.
const (
	V1AuthPSK                V1AuthMethod = 1     // PSK
	V1AuthDSS                V1AuthMethod = 2     // DSS-SIG
	V1AuthRSASig             V1AuthMethod = 3     // RSA-SIG
	V1AuthRSAEnc             V1AuthMethod = 4     // RSA-ENC
	V1AuthRSARevisedEnc      V1AuthMethod = 5     // RSA-ENC-REV
	V1AuthECDSA256           V1AuthMethod = 9     // ECDSA-256 (RFC 4754)
	V1AuthECDSA384           V1AuthMethod = 10    // ECDSA-384
	V1AuthECDSA521           V1AuthMethod = 11    // ECDSA-521
	V1AuthHybridInitRSA      V1AuthMethod = 64221 // HybridInitRSA
	V1AuthHybridRespRSA      V1AuthMethod = 64222 // HybridRespRSA
	V1AuthHybridInitDSS      V1AuthMethod = 64223 // HybridInitDSS
	V1AuthHybridRespDSS      V1AuthMethod = 64224 // HybridRespDSS
	V1AuthXAuthInitPSK       V1AuthMethod = 65001 // XAUTHInitPreShared
	V1AuthXAuthRespPSK       V1AuthMethod = 65002 // XAUTHRespPreShared
	V1AuthXAuthInitDSS       V1AuthMethod = 65003 // XAUTHInitDSS
	V1AuthXAuthRespDSS       V1AuthMethod = 65004 // XAUTHRespDSS
	V1AuthXAuthInitRSA       V1AuthMethod = 65005 // XAUTHInitRSA
	V1AuthXAuthRespRSA       V1AuthMethod = 65006 // XAUTHRespRSA
	V1AuthXAuthInitRSAEnc    V1AuthMethod = 65007 // XAUTHInitRSAEncryption
	V1AuthXAuthRespRSAEnc    V1AuthMethod = 65008 // XAUTHRespRSAEncryption
	V1AuthXAuthInitRSARevEnc V1AuthMethod = 65009 // XAUTHInitRSARevisedEncryption
	V1AuthXAuthRespRSARevEnc V1AuthMethod = 65010 // XAUTHRespRSARevisedEncryption
)

// String returns the name of the method, such as "XAUTHInitPreShared".
func (m V1AuthMethod) String() string {
	low := [...]string{1: "PSK", 2: "DSS-SIG", 3: "RSA-SIG", 4: "RSA-ENC", 5: "RSA-ENC-REV",
		9: "ECDSA-256", 10: "ECDSA-384", 11: "ECDSA-521"}
	hybrid := [...]string{"HybridInitRSA", "HybridRespRSA", "HybridInitDSS", "HybridRespDSS"}
	xauth := [...]string{"XAUTHInitPreShared", "XAUTHRespPreShared", "XAUTHInitDSS", "XAUTHRespDSS",
		"XAUTHInitRSA", "XAUTHRespRSA", "XAUTHInitRSAEncryption", "XAUTHRespRSAEncryption",
		"XAUTHInitRSARevisedEncryption", "XAUTHRespRSARevisedEncryption"}
	switch {
	case int(m) < len(low) && low[m] != "":
		return low[m]
	case m >= V1AuthHybridInitRSA && int(m-V1AuthHybridInitRSA) < len(hybrid):
		return hybrid[m-V1AuthHybridInitRSA]
	case m >= V1AuthXAuthInitPSK && int(m-V1AuthXAuthInitPSK) < len(xauth):
		return xauth[m-V1AuthXAuthInitPSK]
	}
	return fmt.Sprintf("V1AuthMethod(%d)", uint16(m))
}

// V1LifeType is the value of the Life Type (Phase 1) and SA Life Type
// (IPsec DOI) attributes (RFC 2409 Appendix A, RFC 2407 Section 4.5).
type V1LifeType uint16

// Life types.
const (
	V1LifeSeconds   V1LifeType = 1 // seconds
	V1LifeKilobytes V1LifeType = 2 // kilobytes
)

// String returns "seconds" or "kilobytes".
func (t V1LifeType) String() string {
	switch t {
	case V1LifeSeconds:
		return "seconds"
	case V1LifeKilobytes:
		return "kilobytes"
	}
	return fmt.Sprintf("V1LifeType(%d)", uint16(t))
}

// V1EncapMode is the value of the IPsec DOI Encapsulation Mode attribute
// (RFC 2407 Section 4.5, RFC 3947 Section 5.3).
type V1EncapMode uint16

// Encapsulation modes. The UDP modes 61443 and 61444 are those of
// draft-ietf-ipsec-nat-t-ike-00 to -03, sent by older peers.
const (
	V1EncapTunnel            V1EncapMode = 1     // Tunnel
	V1EncapTransport         V1EncapMode = 2     // Transport
	V1EncapUDPTunnel         V1EncapMode = 3     // UDP-Encapsulated-Tunnel
	V1EncapUDPTransport      V1EncapMode = 4     // UDP-Encapsulated-Transport
	V1EncapUDPTunnelDraft    V1EncapMode = 61443 // UDP-Encapsulated-Tunnel (draft)
	V1EncapUDPTransportDraft V1EncapMode = 61444 // UDP-Encapsulated-Transport (draft)
)

// String returns the name of the mode, such as "Tunnel".
func (m V1EncapMode) String() string {
	switch m {
	case V1EncapTunnel:
		return "Tunnel"
	case V1EncapTransport:
		return "Transport"
	case V1EncapUDPTunnel:
		return "UDP-Encapsulated-Tunnel"
	case V1EncapUDPTransport:
		return "UDP-Encapsulated-Transport"
	case V1EncapUDPTunnelDraft:
		return "UDP-Encapsulated-Tunnel (draft)"
	case V1EncapUDPTransportDraft:
		return "UDP-Encapsulated-Transport (draft)"
	}
	return fmt.Sprintf("V1EncapMode(%d)", uint16(m))
}

// V1IPsecAuthAlg is the value of the IPsec DOI Authentication Algorithm
// attribute (RFC 2407 Section 4.5, RFC 4868; IANA "IPSEC Authentication
// Algorithms").
type V1IPsecAuthAlg uint16

// IPsec authentication algorithms.
const (
	V1AuthAlgHMACMD5     V1IPsecAuthAlg = 1 // HMAC-MD5
	V1AuthAlgHMACSHA1    V1IPsecAuthAlg = 2 // HMAC-SHA
	V1AuthAlgDESMAC      V1IPsecAuthAlg = 3 // DES-MAC
	V1AuthAlgKPDK        V1IPsecAuthAlg = 4 // KPDK
	V1AuthAlgHMACSHA2256 V1IPsecAuthAlg = 5 // HMAC-SHA2-256
	V1AuthAlgHMACSHA2384 V1IPsecAuthAlg = 6 // HMAC-SHA2-384
	V1AuthAlgHMACSHA2512 V1IPsecAuthAlg = 7 // HMAC-SHA2-512
	V1AuthAlgAESXCBC     V1IPsecAuthAlg = 9 // AES-XCBC-MAC
)

// String returns the name of the algorithm, such as "HMAC-SHA2-256".
func (a V1IPsecAuthAlg) String() string {
	names := [...]string{1: "HMAC-MD5", 2: "HMAC-SHA", 3: "DES-MAC", 4: "KPDK", 5: "HMAC-SHA2-256",
		6: "HMAC-SHA2-384", 7: "HMAC-SHA2-512", 9: "AES-XCBC-MAC"}
	if int(a) < len(names) && names[a] != "" {
		return names[a]
	}
	return fmt.Sprintf("V1IPsecAuthAlg(%d)", uint16(a))
}

// V1IDType is the type of an IPsec DOI Identification payload (RFC 2407
// Section 4.6.2.1), also used by NAT-OA (RFC 3947 Section 5.2).
type V1IDType uint8

// IPsec DOI identification types.
const (
	V1IDIPv4Addr       V1IDType = 1  // ID_IPV4_ADDR
	V1IDFQDN           V1IDType = 2  // ID_FQDN
	V1IDUserFQDN       V1IDType = 3  // ID_USER_FQDN
	V1IDIPv4AddrSubnet V1IDType = 4  // ID_IPV4_ADDR_SUBNET
	V1IDIPv6Addr       V1IDType = 5  // ID_IPV6_ADDR
	V1IDIPv6AddrSubnet V1IDType = 6  // ID_IPV6_ADDR_SUBNET
	V1IDIPv4AddrRange  V1IDType = 7  // ID_IPV4_ADDR_RANGE
	V1IDIPv6AddrRange  V1IDType = 8  // ID_IPV6_ADDR_RANGE
	V1IDDERASN1DN      V1IDType = 9  // ID_DER_ASN1_DN
	V1IDDERASN1GN      V1IDType = 10 // ID_DER_ASN1_GN
	V1IDKeyID          V1IDType = 11 // ID_KEY_ID
)

// String returns the name of the type, such as "ID_FQDN".
func (t V1IDType) String() string {
	names := [...]string{1: "ID_IPV4_ADDR", 2: "ID_FQDN", 3: "ID_USER_FQDN", 4: "ID_IPV4_ADDR_SUBNET",
		5: "ID_IPV6_ADDR", 6: "ID_IPV6_ADDR_SUBNET", 7: "ID_IPV4_ADDR_RANGE", 8: "ID_IPV6_ADDR_RANGE",
		9: "ID_DER_ASN1_DN", 10: "ID_DER_ASN1_GN", 11: "ID_KEY_ID"}
	if int(t) < len(names) && names[t] != "" {
		return names[t]
	}
	return fmt.Sprintf("V1IDType(%d)", uint8(t))
}

// v1AddrLen returns the length of the identification data of the address
// ID types, or 0 for the others.
func v1AddrLen(t V1IDType) int {
	switch t {
	case V1IDIPv4Addr:
		return 4
	case V1IDIPv4AddrSubnet, V1IDIPv4AddrRange:
		return 8
	case V1IDIPv6Addr:
		return 16
	case V1IDIPv6AddrSubnet, V1IDIPv6AddrRange:
		return 32
	}
	return 0
}

// V1CertEncoding is the encoding of a CERT or CR payload (RFC 2408
// Section 3.9).
type V1CertEncoding uint8

// Certificate encodings.
const (
	V1CertPKCS7     V1CertEncoding = 1  // PKCS #7 wrapped X.509 certificate
	V1CertPGP       V1CertEncoding = 2  // PGP Certificate
	V1CertDNSKey    V1CertEncoding = 3  // DNS Signed Key
	V1CertX509Sig   V1CertEncoding = 4  // X.509 Certificate - Signature
	V1CertX509KeyEx V1CertEncoding = 5  // X.509 Certificate - Key Exchange
	V1CertKerberos  V1CertEncoding = 6  // Kerberos Tokens
	V1CertCRL       V1CertEncoding = 7  // Certificate Revocation List (CRL)
	V1CertARL       V1CertEncoding = 8  // Authority Revocation List (ARL)
	V1CertSPKI      V1CertEncoding = 9  // SPKI Certificate
	V1CertX509Attr  V1CertEncoding = 10 // X.509 Certificate - Attribute
)

// String returns the name of the encoding, such as "X509_SIG".
func (e V1CertEncoding) String() string {
	names := [...]string{1: "PKCS7", 2: "PGP", 3: "DNS_KEY", 4: "X509_SIG", 5: "X509_KE", 6: "KERBEROS",
		7: "CRL", 8: "ARL", 9: "SPKI", 10: "X509_ATTR"}
	if int(e) < len(names) && names[e] != "" {
		return names[e]
	}
	return fmt.Sprintf("V1CertEncoding(%d)", uint8(e))
}

// V1NotifyType is the Notify Message Type of an IKEv1 Notification payload
// (RFC 2408 Section 3.14.1, RFC 2407 Section 4.6.3, RFC 3706 Section 5.1).
type V1NotifyType uint16

// IKEv1 notify message types: errors below 16384, status messages above.
const (
	V1NotifyInvalidPayloadType     V1NotifyType = 1     // INVALID-PAYLOAD-TYPE
	V1NotifyDOINotSupported        V1NotifyType = 2     // DOI-NOT-SUPPORTED
	V1NotifySituationNotSupported  V1NotifyType = 3     // SITUATION-NOT-SUPPORTED
	V1NotifyInvalidCookie          V1NotifyType = 4     // INVALID-COOKIE
	V1NotifyInvalidMajorVersion    V1NotifyType = 5     // INVALID-MAJOR-VERSION
	V1NotifyInvalidMinorVersion    V1NotifyType = 6     // INVALID-MINOR-VERSION
	V1NotifyInvalidExchangeType    V1NotifyType = 7     // INVALID-EXCHANGE-TYPE
	V1NotifyInvalidFlags           V1NotifyType = 8     // INVALID-FLAGS
	V1NotifyInvalidMessageID       V1NotifyType = 9     // INVALID-MESSAGE-ID
	V1NotifyInvalidProtocolID      V1NotifyType = 10    // INVALID-PROTOCOL-ID
	V1NotifyInvalidSPI             V1NotifyType = 11    // INVALID-SPI
	V1NotifyInvalidTransformID     V1NotifyType = 12    // INVALID-TRANSFORM-ID
	V1NotifyAttributesNotSupported V1NotifyType = 13    // ATTRIBUTES-NOT-SUPPORTED
	V1NotifyNoProposalChosen       V1NotifyType = 14    // NO-PROPOSAL-CHOSEN
	V1NotifyBadProposalSyntax      V1NotifyType = 15    // BAD-PROPOSAL-SYNTAX
	V1NotifyPayloadMalformed       V1NotifyType = 16    // PAYLOAD-MALFORMED
	V1NotifyInvalidKeyInformation  V1NotifyType = 17    // INVALID-KEY-INFORMATION
	V1NotifyInvalidIDInformation   V1NotifyType = 18    // INVALID-ID-INFORMATION
	V1NotifyInvalidCertEncoding    V1NotifyType = 19    // INVALID-CERT-ENCODING
	V1NotifyInvalidCertificate     V1NotifyType = 20    // INVALID-CERTIFICATE
	V1NotifyCertTypeUnsupported    V1NotifyType = 21    // CERT-TYPE-UNSUPPORTED
	V1NotifyInvalidCertAuthority   V1NotifyType = 22    // INVALID-CERT-AUTHORITY
	V1NotifyInvalidHashInformation V1NotifyType = 23    // INVALID-HASH-INFORMATION
	V1NotifyAuthenticationFailed   V1NotifyType = 24    // AUTHENTICATION-FAILED
	V1NotifyInvalidSignature       V1NotifyType = 25    // INVALID-SIGNATURE
	V1NotifyAddressNotification    V1NotifyType = 26    // ADDRESS-NOTIFICATION
	V1NotifySALifetime             V1NotifyType = 27    // NOTIFY-SA-LIFETIME
	V1NotifyCertificateUnavailable V1NotifyType = 28    // CERTIFICATE-UNAVAILABLE
	V1NotifyUnsupportedExchange    V1NotifyType = 29    // UNSUPPORTED-EXCHANGE-TYPE
	V1NotifyUnequalPayloadLengths  V1NotifyType = 30    // UNEQUAL-PAYLOAD-LENGTHS
	V1NotifyConnected              V1NotifyType = 16384 // CONNECTED
	V1NotifyResponderLifetime      V1NotifyType = 24576 // RESPONDER-LIFETIME
	V1NotifyReplayStatus           V1NotifyType = 24577 // REPLAY-STATUS
	V1NotifyInitialContact         V1NotifyType = 24578 // INITIAL-CONTACT
	V1NotifyRUThere                V1NotifyType = 36136 // R-U-THERE
	V1NotifyRUThereAck             V1NotifyType = 36137 // R-U-THERE-ACK
)

// String returns the name of the type, such as "INITIAL-CONTACT".
func (t V1NotifyType) String() string {
	errs := [...]string{1: "INVALID-PAYLOAD-TYPE", 2: "DOI-NOT-SUPPORTED", 3: "SITUATION-NOT-SUPPORTED",
		4: "INVALID-COOKIE", 5: "INVALID-MAJOR-VERSION", 6: "INVALID-MINOR-VERSION",
		7: "INVALID-EXCHANGE-TYPE", 8: "INVALID-FLAGS", 9: "INVALID-MESSAGE-ID", 10: "INVALID-PROTOCOL-ID",
		11: "INVALID-SPI", 12: "INVALID-TRANSFORM-ID", 13: "ATTRIBUTES-NOT-SUPPORTED",
		14: "NO-PROPOSAL-CHOSEN", 15: "BAD-PROPOSAL-SYNTAX", 16: "PAYLOAD-MALFORMED",
		17: "INVALID-KEY-INFORMATION", 18: "INVALID-ID-INFORMATION", 19: "INVALID-CERT-ENCODING",
		20: "INVALID-CERTIFICATE", 21: "CERT-TYPE-UNSUPPORTED", 22: "INVALID-CERT-AUTHORITY",
		23: "INVALID-HASH-INFORMATION", 24: "AUTHENTICATION-FAILED", 25: "INVALID-SIGNATURE",
		26: "ADDRESS-NOTIFICATION", 27: "NOTIFY-SA-LIFETIME", 28: "CERTIFICATE-UNAVAILABLE",
		29: "UNSUPPORTED-EXCHANGE-TYPE", 30: "UNEQUAL-PAYLOAD-LENGTHS"}
	if int(t) < len(errs) && errs[t] != "" {
		return errs[t]
	}
	switch t {
	case V1NotifyConnected:
		return "CONNECTED"
	case V1NotifyResponderLifetime:
		return "RESPONDER-LIFETIME"
	case V1NotifyReplayStatus:
		return "REPLAY-STATUS"
	case V1NotifyInitialContact:
		return "INITIAL-CONTACT"
	case V1NotifyRUThere:
		return "R-U-THERE"
	case V1NotifyRUThereAck:
		return "R-U-THERE-ACK"
	}
	return fmt.Sprintf("V1NotifyType(%d)", uint16(t))
}

// V1CfgType is the type of an ISAKMP Configuration (Attributes) payload
// (draft-dukes-ike-mode-cfg Section 3.2).
type V1CfgType uint8

// Configuration message types.
const (
	V1CfgRequest V1CfgType = 1 // ISAKMP_CFG_REQUEST
	V1CfgReply   V1CfgType = 2 // ISAKMP_CFG_REPLY
	V1CfgSet     V1CfgType = 3 // ISAKMP_CFG_SET
	V1CfgAck     V1CfgType = 4 // ISAKMP_CFG_ACK
)

// String returns the type as charon logs it: "CPRQ", "CPRP", "CPS" or
// "CPA".
func (t V1CfgType) String() string {
	switch t {
	case V1CfgRequest:
		return "CPRQ"
	case V1CfgReply:
		return "CPRP"
	case V1CfgSet:
		return "CPS"
	case V1CfgAck:
		return "CPA"
	}
	return fmt.Sprintf("V1CfgType(%d)", uint8(t))
}
