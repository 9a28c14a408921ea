package wire

// NotifyType is a Notify Message Type (RFC 7296 Section 3.10.1; IANA "IKEv2
// Notify Message Types - Error Types" and "- Status Types"). Types below
// 16384 report errors; an unrecognized error type in a response means the
// request failed, while unrecognized status types are ignored. String
// returns the IANA name.
type NotifyType uint16

// NotifyNone is not a notification: a ProtocolError with it means "drop the
// message, send nothing".
const NotifyNone NotifyType = 0 // NONE

// Error types, from IANA "IKEv2 Notify Message Types - Error Types"; RFC 7296
// unless a comment names another document.
const (
	NotifyUnsupportedCriticalPayload NotifyType = 1  // UNSUPPORTED_CRITICAL_PAYLOAD
	NotifyInvalidIKESPI              NotifyType = 4  // INVALID_IKE_SPI
	NotifyInvalidMajorVersion        NotifyType = 5  // INVALID_MAJOR_VERSION
	NotifyInvalidSyntax              NotifyType = 7  // INVALID_SYNTAX
	NotifyInvalidMessageID           NotifyType = 9  // INVALID_MESSAGE_ID
	NotifyInvalidSPI                 NotifyType = 11 // INVALID_SPI
	NotifyNoProposalChosen           NotifyType = 14 // NO_PROPOSAL_CHOSEN
	NotifyInvalidKEPayload           NotifyType = 17 // INVALID_KE_PAYLOAD
	NotifyAuthenticationFailed       NotifyType = 24 // AUTHENTICATION_FAILED
	NotifySinglePairRequired         NotifyType = 34 // SINGLE_PAIR_REQUIRED
	NotifyNoAdditionalSAs            NotifyType = 35 // NO_ADDITIONAL_SAS
	NotifyInternalAddressFailure     NotifyType = 36 // INTERNAL_ADDRESS_FAILURE
	NotifyFailedCPRequired           NotifyType = 37 // FAILED_CP_REQUIRED
	NotifyTSUnacceptable             NotifyType = 38 // TS_UNACCEPTABLE
	NotifyInvalidSelectors           NotifyType = 39 // INVALID_SELECTORS
	NotifyTemporaryFailure           NotifyType = 43 // TEMPORARY_FAILURE
	NotifyChildSANotFound            NotifyType = 44 // CHILD_SA_NOT_FOUND

	// RFC 4555 (MOBIKE).
	NotifyUnacceptableAddresses NotifyType = 40 // UNACCEPTABLE_ADDRESSES
	NotifyUnexpectedNATDetected NotifyType = 41 // UNEXPECTED_NAT_DETECTED

	// RFC 5026 (Mobile IPv6 bootstrapping).
	NotifyUseAssignedHoA NotifyType = 42 // USE_ASSIGNED_HoA

	// G-IKEv2 (group key management).
	NotifyInvalidGroupID      NotifyType = 45 // INVALID_GROUP_ID
	NotifyAuthorizationFailed NotifyType = 46 // AUTHORIZATION_FAILED

	// RFC 9370 (multiple key exchanges).
	NotifyStateNotFound NotifyType = 47 // STATE_NOT_FOUND

	// NotifyMSNotifyStatus is the private-use error type Windows sends
	// with a Windows error code (strongSwan's MS_NOTIFY_STATUS).
	NotifyMSNotifyStatus NotifyType = 12345 // MS_NOTIFY_STATUS
)

// Status types, from IANA "IKEv2 Notify Message Types - Status Types"; RFC
// 7296 unless a comment names another document.
const (
	NotifyInitialContact            NotifyType = 16384 // INITIAL_CONTACT
	NotifySetWindowSize             NotifyType = 16385 // SET_WINDOW_SIZE
	NotifyAdditionalTSPossible      NotifyType = 16386 // ADDITIONAL_TS_POSSIBLE
	NotifyIPCompSupported           NotifyType = 16387 // IPCOMP_SUPPORTED
	NotifyNATDetectionSourceIP      NotifyType = 16388 // NAT_DETECTION_SOURCE_IP
	NotifyNATDetectionDestinationIP NotifyType = 16389 // NAT_DETECTION_DESTINATION_IP
	NotifyCookie                    NotifyType = 16390 // COOKIE
	NotifyUseTransportMode          NotifyType = 16391 // USE_TRANSPORT_MODE
	NotifyHTTPCertLookupSupported   NotifyType = 16392 // HTTP_CERT_LOOKUP_SUPPORTED
	NotifyRekeySA                   NotifyType = 16393 // REKEY_SA
	NotifyESPTFCPaddingNotSupported NotifyType = 16394 // ESP_TFC_PADDING_NOT_SUPPORTED
	NotifyNonFirstFragmentsAlso     NotifyType = 16395 // NON_FIRST_FRAGMENTS_ALSO

	// RFC 4555 (MOBIKE).
	NotifyMOBIKESupported       NotifyType = 16396 // MOBIKE_SUPPORTED
	NotifyAdditionalIP4Address  NotifyType = 16397 // ADDITIONAL_IP4_ADDRESS
	NotifyAdditionalIP6Address  NotifyType = 16398 // ADDITIONAL_IP6_ADDRESS
	NotifyNoAdditionalAddresses NotifyType = 16399 // NO_ADDITIONAL_ADDRESSES
	NotifyUpdateSAAddresses     NotifyType = 16400 // UPDATE_SA_ADDRESSES
	NotifyCookie2               NotifyType = 16401 // COOKIE2
	NotifyNoNATsAllowed         NotifyType = 16402 // NO_NATS_ALLOWED

	// RFC 4478 (repeated authentication).
	NotifyAuthLifetime NotifyType = 16403 // AUTH_LIFETIME

	// RFC 4739 (multiple authentication exchanges).
	NotifyMultipleAuthSupported NotifyType = 16404 // MULTIPLE_AUTH_SUPPORTED
	NotifyAnotherAuthFollows    NotifyType = 16405 // ANOTHER_AUTH_FOLLOWS

	// RFC 5685 (redirect).
	NotifyRedirectSupported NotifyType = 16406 // REDIRECT_SUPPORTED
	NotifyRedirect          NotifyType = 16407 // REDIRECT
	NotifyRedirectedFrom    NotifyType = 16408 // REDIRECTED_FROM

	// RFC 5723 (session resumption).
	NotifyTicketLTOpaque NotifyType = 16409 // TICKET_LT_OPAQUE
	NotifyTicketRequest  NotifyType = 16410 // TICKET_REQUEST
	NotifyTicketAck      NotifyType = 16411 // TICKET_ACK
	NotifyTicketNack     NotifyType = 16412 // TICKET_NACK
	NotifyTicketOpaque   NotifyType = 16413 // TICKET_OPAQUE

	// RFC 5739, RFC 5840, RFC 5857.
	NotifyLinkID        NotifyType = 16414 // LINK_ID
	NotifyUseWESPMode   NotifyType = 16415 // USE_WESP_MODE
	NotifyROHCSupported NotifyType = 16416 // ROHC_SUPPORTED

	// RFC 5998 (EAP-only authentication), RFC 6023 (childless IKE SA),
	// RFC 6290 (quick crash detection).
	NotifyEAPOnlyAuthentication   NotifyType = 16417 // EAP_ONLY_AUTHENTICATION
	NotifyChildlessIKEv2Supported NotifyType = 16418 // CHILDLESS_IKEV2_SUPPORTED
	NotifyQuickCrashDetection     NotifyType = 16419 // QUICK_CRASH_DETECTION

	// RFC 6311 (high availability).
	NotifyMessageIDSyncSupported     NotifyType = 16420 // IKEV2_MESSAGE_ID_SYNC_SUPPORTED
	NotifyReplayCounterSyncSupported NotifyType = 16421 // IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED
	NotifyMessageIDSync              NotifyType = 16422 // IKEV2_MESSAGE_ID_SYNC
	NotifyReplayCounterSync          NotifyType = 16423 // IPSEC_REPLAY_COUNTER_SYNC

	// RFC 6467, RFC 6631, RFC 6867, 3GPP TS 24.303, draft-yeung-g-ikev2.
	NotifySecurePasswordMethods NotifyType = 16424 // SECURE_PASSWORD_METHODS
	NotifyPSKPersist            NotifyType = 16425 // PSK_PERSIST
	NotifyPSKConfirm            NotifyType = 16426 // PSK_CONFIRM
	NotifyERXSupported          NotifyType = 16427 // ERX_SUPPORTED
	NotifyIFOMCapability        NotifyType = 16428 // IFOM_CAPABILITY
	NotifySenderRequestID       NotifyType = 16429 // SENDER_REQUEST_ID

	// RFC 7383 (fragmentation), RFC 7427 (signature authentication).
	NotifyFragmentationSupported  NotifyType = 16430 // IKEV2_FRAGMENTATION_SUPPORTED
	NotifySignatureHashAlgorithms NotifyType = 16431 // SIGNATURE_HASH_ALGORITHMS

	// RFC 7791 (clone), RFC 8019 (puzzles), RFC 8784 (PPK).
	NotifyCloneIKESASupported NotifyType = 16432 // CLONE_IKE_SA_SUPPORTED
	NotifyCloneIKESA          NotifyType = 16433 // CLONE_IKE_SA
	NotifyPuzzle              NotifyType = 16434 // PUZZLE
	NotifyUsePPK              NotifyType = 16435 // USE_PPK
	NotifyPPKIdentity         NotifyType = 16436 // PPK_IDENTITY
	NotifyNoPPKAuth           NotifyType = 16437 // NO_PPK_AUTH

	// RFC 9242 (IKE_INTERMEDIATE), RFC 8983, RFC 9370, RFC 9347, RFC 9593.
	NotifyIntermediateSupported NotifyType = 16438 // INTERMEDIATE_EXCHANGE_SUPPORTED
	NotifyIP4Allowed            NotifyType = 16439 // IP4_ALLOWED
	NotifyIP6Allowed            NotifyType = 16440 // IP6_ALLOWED
	NotifyAdditionalKeyExchange NotifyType = 16441 // ADDITIONAL_KEY_EXCHANGE
	NotifyUseAggfrag            NotifyType = 16442 // USE_AGGFRAG
	NotifySupportedAuthMethods  NotifyType = 16443 // SUPPORTED_AUTH_METHODS
	NotifySAResourceInfo        NotifyType = 16444 // SA_RESOURCE_INFO
)

// IsError reports whether t is an error type (below 16384, RFC 7296
// Section 3.10.1), NotifyNone excluded.
func (t NotifyType) IsError() bool { return t != NotifyNone && t < 16384 }
