// Package fuzz will hold fuzz harnesses that cross packages, such as
// datagrams into an ike.Manager once it exists. Fuzz targets of one package
// live beside it: esp's FuzzOpen, FuzzOpenVerified, FuzzSealOpen,
// FuzzDecapUDP, FuzzParseFlow, FuzzParseCmsg and the engine's
// FuzzEngineReceive and FuzzEngineSend (which need the engine's unexported
// stages), esp/ipcomp's FuzzDecompress, ike/wire's FuzzParse, pki's import
// parsers, tuntest's packet parsers. .ci/run runs them all.
//
// Nothing is here yet: the Manager comes with issue 5.
package fuzz
