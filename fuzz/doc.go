// Package fuzz documents where ikego's fuzz targets are; it holds no code.
// Each target lives beside the code it drives, because most need unexported
// state (the engine's stages, a session's keys), and .ci/run finds and runs
// every one of them (FUZZTIME=30s bash .ci/run for longer runs):
//
//   - esp: FuzzOpen, FuzzOpenVerified (past the ICV with hostile content),
//     FuzzSealOpen, FuzzDecapUDP, FuzzParseFlow, FuzzParseSelector,
//     FuzzParseCmsg, and the engine's FuzzEngineReceive and FuzzEngineSend;
//     esp/ipcomp: FuzzDecompress, FuzzRoundTrip.
//   - ike/wire: FuzzParse, FuzzParseV1, FuzzParseV1Payloads; ike: the
//     Manager fed arbitrary datagrams (FuzzManager, FuzzHandleDatagram),
//     IKE_SA_INIT both ways, AUTH verification, fragment reassembly, our
//     EAP initiator against a hostile gateway (FuzzEAPInitiator), the
//     IKEv1 responder and initiator at every stage (FuzzV1Responder,
//     FuzzV1Initiator, FuzzV1Decrypt), proposals and key shares.
//   - l2tp: FuzzParse, FuzzServer; ppp: FuzzPacket, FuzzSession.
//   - the root package: FuzzL2TPService, across packages: sequences of
//     datagrams from clients' transport-mode SAs into a running Gateway's
//     L2TP service, l2tp.Server, PPP and the engine's address routing.
//   - pki: the certificate, key, CSR, CRL, PKCS #12, bundle and identity
//     parsers; examples/roadwarrior: FuzzConfig; tun/tuntest: FuzzParseEcho.
package fuzz
