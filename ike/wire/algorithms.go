package wire

import "strconv"

// TransformType is the type of a transform in a proposal (RFC 7296
// Section 3.3.2; IANA "Transform Type Values").
type TransformType uint8

// Transform types. Types 6-12 are RFC 9370's additional key exchanges.
const (
	TransformEncr   TransformType = 1  // ENCR
	TransformPRF    TransformType = 2  // PRF
	TransformInteg  TransformType = 3  // INTEG
	TransformKE     TransformType = 4  // KE
	TransformESN    TransformType = 5  // ESN
	TransformAddKE1 TransformType = 6  // ADDKE1
	TransformAddKE2 TransformType = 7  // ADDKE2
	TransformAddKE3 TransformType = 8  // ADDKE3
	TransformAddKE4 TransformType = 9  // ADDKE4
	TransformAddKE5 TransformType = 10 // ADDKE5
	TransformAddKE6 TransformType = 11 // ADDKE6
	TransformAddKE7 TransformType = 12 // ADDKE7
)

// EncrID is a Transform Type 1 (encryption algorithm) transform ID (IANA
// "Transform Type 1 - Encryption Algorithm Transform IDs").
type EncrID uint16

// Encryption algorithms. AES-CCM and AES-GCM are RFC 5282's for IKE and
// RFC 4309/4106's for ESP; ChaCha20-Poly1305 is RFC 7634's; the _IIV
// variants (RFC 8750) are for ESP only.
const (
	EncrDESIV64             EncrID = 1  // ENCR_DES_IV64
	EncrDES                 EncrID = 2  // ENCR_DES
	Encr3DES                EncrID = 3  // ENCR_3DES
	EncrRC5                 EncrID = 4  // ENCR_RC5
	EncrIDEA                EncrID = 5  // ENCR_IDEA
	EncrCAST                EncrID = 6  // ENCR_CAST
	EncrBlowfish            EncrID = 7  // ENCR_BLOWFISH
	Encr3IDEA               EncrID = 8  // ENCR_3IDEA
	EncrDESIV32             EncrID = 9  // ENCR_DES_IV32
	EncrNull                EncrID = 11 // ENCR_NULL
	EncrAESCBC              EncrID = 12 // ENCR_AES_CBC
	EncrAESCTR              EncrID = 13 // ENCR_AES_CTR
	EncrAESCCM8             EncrID = 14 // ENCR_AES_CCM_8
	EncrAESCCM12            EncrID = 15 // ENCR_AES_CCM_12
	EncrAESCCM16            EncrID = 16 // ENCR_AES_CCM_16
	EncrAESGCM8             EncrID = 18 // ENCR_AES_GCM_8
	EncrAESGCM12            EncrID = 19 // ENCR_AES_GCM_12
	EncrAESGCM16            EncrID = 20 // ENCR_AES_GCM_16
	EncrNullAuthAESGMAC     EncrID = 21 // ENCR_NULL_AUTH_AES_GMAC
	EncrCamelliaCBC         EncrID = 23 // ENCR_CAMELLIA_CBC
	EncrCamelliaCTR         EncrID = 24 // ENCR_CAMELLIA_CTR
	EncrCamelliaCCM8        EncrID = 25 // ENCR_CAMELLIA_CCM_8
	EncrCamelliaCCM12       EncrID = 26 // ENCR_CAMELLIA_CCM_12
	EncrCamelliaCCM16       EncrID = 27 // ENCR_CAMELLIA_CCM_16
	EncrChaCha20Poly1305    EncrID = 28 // ENCR_CHACHA20_POLY1305
	EncrAESCCM8IIV          EncrID = 29 // ENCR_AES_CCM_8_IIV
	EncrAESGCM16IIV         EncrID = 30 // ENCR_AES_GCM_16_IIV
	EncrChaCha20Poly1305IIV EncrID = 31 // ENCR_CHACHA20_POLY1305_IIV
)

// PRFID is a Transform Type 2 (pseudorandom function) transform ID (IANA
// "Transform Type 2 - Pseudorandom Function Transform IDs").
type PRFID uint16

// Pseudorandom functions.
const (
	PRFHMACMD5      PRFID = 1 // PRF_HMAC_MD5
	PRFHMACSHA1     PRFID = 2 // PRF_HMAC_SHA1
	PRFHMACTiger    PRFID = 3 // PRF_HMAC_TIGER
	PRFAES128XCBC   PRFID = 4 // PRF_AES128_XCBC
	PRFHMACSHA2_256 PRFID = 5 // PRF_HMAC_SHA2_256
	PRFHMACSHA2_384 PRFID = 6 // PRF_HMAC_SHA2_384
	PRFHMACSHA2_512 PRFID = 7 // PRF_HMAC_SHA2_512
	PRFAES128CMAC   PRFID = 8 // PRF_AES128_CMAC
)

// IntegID is a Transform Type 3 (integrity algorithm) transform ID (IANA
// "Transform Type 3 - Integrity Algorithm Transform IDs").
type IntegID uint16

// Integrity algorithms.
const (
	IntegNone             IntegID = 0  // NONE
	IntegHMACMD5_96       IntegID = 1  // AUTH_HMAC_MD5_96
	IntegHMACSHA1_96      IntegID = 2  // AUTH_HMAC_SHA1_96
	IntegDESMAC           IntegID = 3  // AUTH_DES_MAC
	IntegKPDKMD5          IntegID = 4  // AUTH_KPDK_MD5
	IntegAESXCBC_96       IntegID = 5  // AUTH_AES_XCBC_96
	IntegHMACMD5_128      IntegID = 6  // AUTH_HMAC_MD5_128
	IntegHMACSHA1_160     IntegID = 7  // AUTH_HMAC_SHA1_160
	IntegAESCMAC_96       IntegID = 8  // AUTH_AES_CMAC_96
	IntegAES128GMAC       IntegID = 9  // AUTH_AES_128_GMAC
	IntegAES192GMAC       IntegID = 10 // AUTH_AES_192_GMAC
	IntegAES256GMAC       IntegID = 11 // AUTH_AES_256_GMAC
	IntegHMACSHA2_256_128 IntegID = 12 // AUTH_HMAC_SHA2_256_128
	IntegHMACSHA2_384_192 IntegID = 13 // AUTH_HMAC_SHA2_384_192
	IntegHMACSHA2_512_256 IntegID = 14 // AUTH_HMAC_SHA2_512_256
)

// DHGroup is a Transform Type 4 (key exchange method, formerly
// Diffie-Hellman group) transform ID (IANA "Transform Type 4 - Key Exchange
// Method Transform IDs"). It is also the group of a KE payload.
type DHGroup uint16

// Key exchange methods.
const (
	DHGroupNone          DHGroup = 0  // NONE
	DHGroupMODP768       DHGroup = 1  // MODP_768
	DHGroupMODP1024      DHGroup = 2  // MODP_1024
	DHGroupMODP1536      DHGroup = 5  // MODP_1536
	DHGroupMODP2048      DHGroup = 14 // MODP_2048
	DHGroupMODP3072      DHGroup = 15 // MODP_3072
	DHGroupMODP4096      DHGroup = 16 // MODP_4096
	DHGroupMODP6144      DHGroup = 17 // MODP_6144
	DHGroupMODP8192      DHGroup = 18 // MODP_8192
	DHGroupECP256        DHGroup = 19 // ECP_256
	DHGroupECP384        DHGroup = 20 // ECP_384
	DHGroupECP521        DHGroup = 21 // ECP_521
	DHGroupMODP1024S160  DHGroup = 22 // MODP_1024_160
	DHGroupMODP2048S224  DHGroup = 23 // MODP_2048_224
	DHGroupMODP2048S256  DHGroup = 24 // MODP_2048_256
	DHGroupECP192        DHGroup = 25 // ECP_192
	DHGroupECP224        DHGroup = 26 // ECP_224
	DHGroupBrainpoolP224 DHGroup = 27 // ECP_224_BP
	DHGroupBrainpoolP256 DHGroup = 28 // ECP_256_BP
	DHGroupBrainpoolP384 DHGroup = 29 // ECP_384_BP
	DHGroupBrainpoolP512 DHGroup = 30 // ECP_512_BP
	DHGroupCurve25519    DHGroup = 31 // CURVE_25519
	DHGroupCurve448      DHGroup = 32 // CURVE_448
)

// ESNID is a Transform Type 5 (extended sequence numbers) transform ID
// (IANA "Transform Type 5 - Extended Sequence Numbers Transform IDs").
type ESNID uint16

// Extended sequence numbers.
const (
	ESNNo  ESNID = 0 // NO_EXT_SEQ
	ESNYes ESNID = 1 // EXT_SEQ
)

// AttributeType is the type of a transform attribute (RFC 7296
// Section 3.3.5; IANA "IKEv2 Transform Attribute Types").
type AttributeType uint16

// Transform attribute types.
const (
	// AttributeKeyLength is the key length in bits of a variable-length
	// cipher, always in TV format.
	AttributeKeyLength AttributeType = 14 // KEY_LENGTH
)

// TransformIDString names the transform ID id of a transform of type t, or
// returns its number if it is unknown.
func TransformIDString(t TransformType, id uint16) string {
	switch t {
	case TransformEncr:
		return EncrID(id).String()
	case TransformPRF:
		return PRFID(id).String()
	case TransformInteg:
		return IntegID(id).String()
	case TransformKE, TransformAddKE1, TransformAddKE2, TransformAddKE3,
		TransformAddKE4, TransformAddKE5, TransformAddKE6, TransformAddKE7:
		return DHGroup(id).String()
	case TransformESN:
		return ESNID(id).String()
	}
	return strconv.Itoa(int(id))
}
