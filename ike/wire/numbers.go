package wire

// ProtocolID identifies the security protocol of a proposal, Notify or
// Delete payload (RFC 7296 Section 3.3.1; IANA "IKEv2 Security Protocol
// Identifiers").
type ProtocolID uint8

// Security protocols.
const (
	ProtocolNone ProtocolID = 0 // NONE
	ProtocolIKE  ProtocolID = 1 // IKE
	ProtocolAH   ProtocolID = 2 // AH
	ProtocolESP  ProtocolID = 3 // ESP
)

// IDType is the type of an identification payload (RFC 7296 Section 3.5;
// IANA "IKEv2 Identification Payload ID Types").
type IDType uint8

// Identification types.
const (
	IDIPv4Addr  IDType = 1  // ID_IPV4_ADDR
	IDFQDN      IDType = 2  // ID_FQDN
	IDRFC822    IDType = 3  // ID_RFC822_ADDR
	IDIPv6Addr  IDType = 5  // ID_IPV6_ADDR
	IDDERASN1DN IDType = 9  // ID_DER_ASN1_DN
	IDDERASN1GN IDType = 10 // ID_DER_ASN1_GN
	IDKeyID     IDType = 11 // ID_KEY_ID
	IDFCName    IDType = 12 // ID_FC_NAME
	IDNull      IDType = 13 // ID_NULL
)

// AuthMethod is the authentication method of an AUTH payload (RFC 7296
// Section 3.8; IANA "IKEv2 Authentication Method").
type AuthMethod uint8

// Authentication methods. 9-11 are RFC 4754's, 12 RFC 6467's, 13 RFC
// 7619's and 14 RFC 7427's, which carries its signature algorithm in the
// data.
const (
	AuthRSASig           AuthMethod = 1  // RSA_SIG
	AuthPSK              AuthMethod = 2  // PSK
	AuthDSS              AuthMethod = 3  // DSS_SIG
	AuthECDSA256         AuthMethod = 9  // ECDSA_256
	AuthECDSA384         AuthMethod = 10 // ECDSA_384
	AuthECDSA521         AuthMethod = 11 // ECDSA_521
	AuthGSPM             AuthMethod = 12 // GSPM
	AuthNull             AuthMethod = 13 // NULL
	AuthDigitalSignature AuthMethod = 14 // DIGITAL_SIGNATURE
)

// CertEncoding is the encoding of a CERT or CERTREQ payload (RFC 7296
// Section 3.6; IANA "IKEv2 Certificate Encodings").
type CertEncoding uint8

// Certificate encodings.
const (
	CertPKCS7         CertEncoding = 1  // PKCS7_WRAPPED_X509
	CertPGP           CertEncoding = 2  // PGP
	CertDNSSignedKey  CertEncoding = 3  // DNS_SIGNED_KEY
	CertX509Signature CertEncoding = 4  // X509_SIGNATURE
	CertKerberosToken CertEncoding = 6  // KERBEROS_TOKEN
	CertCRL           CertEncoding = 7  // CRL
	CertARL           CertEncoding = 8  // ARL
	CertSPKI          CertEncoding = 9  // SPKI
	CertX509Attribute CertEncoding = 10 // X509_ATTRIBUTE
	CertRawRSAKey     CertEncoding = 11 // RAW_RSA_KEY
	CertHashURLX509   CertEncoding = 12 // X509_HASH_URL
	CertHashURLBundle CertEncoding = 13 // X509_BUNDLE_HASH_URL
	CertOCSPContent   CertEncoding = 14 // OCSP_CONTENT
	CertRawPublicKey  CertEncoding = 15 // RAW_PUBLIC_KEY
)

// CfgType is the type of a configuration payload (RFC 7296 Section 3.15;
// IANA "IKEv2 Configuration Payload CFG Types").
type CfgType uint8

// Configuration payload types.
const (
	CfgRequest CfgType = 1 // CFG_REQUEST
	CfgReply   CfgType = 2 // CFG_REPLY
	CfgSet     CfgType = 3 // CFG_SET
	CfgAck     CfgType = 4 // CFG_ACK
)

// CPAttrType is the type of a configuration attribute (RFC 7296
// Section 3.15.1; IANA "IKEv2 Configuration Payload Attribute Types"). It
// has 15 bits.
type CPAttrType uint16

// Configuration attributes. Types 5, 9 and 11 were removed by RFC 5996.
const (
	CPInternalIP4Address            CPAttrType = 1  // INTERNAL_IP4_ADDRESS
	CPInternalIP4Netmask            CPAttrType = 2  // INTERNAL_IP4_NETMASK
	CPInternalIP4DNS                CPAttrType = 3  // INTERNAL_IP4_DNS
	CPInternalIP4NBNS               CPAttrType = 4  // INTERNAL_IP4_NBNS
	CPInternalIP4DHCP               CPAttrType = 6  // INTERNAL_IP4_DHCP
	CPApplicationVersion            CPAttrType = 7  // APPLICATION_VERSION
	CPInternalIP6Address            CPAttrType = 8  // INTERNAL_IP6_ADDRESS
	CPInternalIP6DNS                CPAttrType = 10 // INTERNAL_IP6_DNS
	CPInternalIP6DHCP               CPAttrType = 12 // INTERNAL_IP6_DHCP
	CPInternalIP4Subnet             CPAttrType = 13 // INTERNAL_IP4_SUBNET
	CPSupportedAttributes           CPAttrType = 14 // SUPPORTED_ATTRIBUTES
	CPInternalIP6Subnet             CPAttrType = 15 // INTERNAL_IP6_SUBNET
	CPMIP6HomePrefix                CPAttrType = 16 // MIP6_HOME_PREFIX
	CPInternalIP6Link               CPAttrType = 17 // INTERNAL_IP6_LINK
	CPInternalIP6Prefix             CPAttrType = 18 // INTERNAL_IP6_PREFIX
	CPHomeAgentAddress              CPAttrType = 19 // HOME_AGENT_ADDRESS
	CPPCSCFIP4Address               CPAttrType = 20 // P_CSCF_IP4_ADDRESS
	CPPCSCFIP6Address               CPAttrType = 21 // P_CSCF_IP6_ADDRESS
	CPFTTKAT                        CPAttrType = 22 // FTT_KAT
	CPExternalSourceIP4NATInfo      CPAttrType = 23 // EXTERNAL_SOURCE_IP4_NAT_INFO
	CPTimeoutPeriodForLivenessCheck CPAttrType = 24 // TIMEOUT_PERIOD_FOR_LIVENESS_CHECK
	CPInternalDNSDomain             CPAttrType = 25 // INTERNAL_DNS_DOMAIN
	CPInternalDNSSECTA              CPAttrType = 26 // INTERNAL_DNSSEC_TA

	// Private use: Microsoft's server attributes (strongSwan
	// attributes.h) and Cisco Unity's, which strongSwan's unity plugin
	// also accepts in IKEv2 configuration payloads.
	CPMSInternalIP4Server CPAttrType = 23456 // INTERNAL_IP4_SERVER
	CPMSInternalIP6Server CPAttrType = 23457 // INTERNAL_IP6_SERVER
	CPUnityBanner         CPAttrType = 28672 // UNITY_BANNER
	CPUnitySavePasswd     CPAttrType = 28673 // UNITY_SAVE_PASSWD
	CPUnityDefDomain      CPAttrType = 28674 // UNITY_DEF_DOMAIN
	CPUnitySplitDNSName   CPAttrType = 28675 // UNITY_SPLITDNS_NAME
	CPUnitySplitInclude   CPAttrType = 28676 // UNITY_SPLIT_INCLUDE
	CPUnityNATTPort       CPAttrType = 28677 // UNITY_NATT_PORT
	CPUnityLocalLAN       CPAttrType = 28678 // UNITY_LOCAL_LAN
	CPUnityPFS            CPAttrType = 28679 // UNITY_PFS
	CPUnityFWType         CPAttrType = 28680 // UNITY_FW_TYPE
	CPUnityBackupServers  CPAttrType = 28681 // UNITY_BACKUP_SERVERS
	CPUnityDDNSHostname   CPAttrType = 28682 // UNITY_DDNS_HOSTNAME
)

// TSType is the type of a traffic selector (RFC 7296 Section 3.13.1; IANA
// "IKEv2 Traffic Selector Types").
type TSType uint8

// Traffic selector types.
const (
	TSIPv4AddrRange TSType = 7  // TS_IPV4_ADDR_RANGE
	TSIPv6AddrRange TSType = 8  // TS_IPV6_ADDR_RANGE
	TSFCAddrRange   TSType = 9  // TS_FC_ADDR_RANGE
	TSSecLabel      TSType = 10 // TS_SECLABEL
)
