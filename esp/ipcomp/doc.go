// Package ipcomp implements the IP Payload Compression Protocol (IPComp,
// RFC 3173) with the DEFLATE algorithm (RFC 2394), for use beside ESP in a
// userspace IPsec stack.
//
// # What it does
//
// A [Compressor] turns an IP payload into an IPComp header followed by the
// raw DEFLATE data (RFC 1951 format, no zlib or gzip wrapper). Every payload
// is compressed on its own with a freshly reset compressor: no history is
// kept between packets, as RFC 3173 §2 requires ("stateless compression"),
// because datagrams may be lost or reordered. Following the non-expansion
// policy of RFC 3173 §2.2, Compress reports failure when the IPComp header
// plus the compressed data would not be smaller than the original payload;
// the caller then sends the payload unchanged and without an IPComp header.
// Payloads shorter than a threshold (90 bytes by default, the figure given
// in RFC 2394 §3) are not compressed at all.
//
// [Decompress] parses the IPComp header and inflates the data into a buffer
// supplied by the caller. The output is bounded by the length of that
// buffer: a "decompression bomb" (a few hundred bytes that inflate to
// megabytes) yields [ErrTooBig] after at most about one DEFLATE window
// (32 KiB) of work beyond the limit, and never an allocation proportional
// to the inflated size.
//
// The package only handles the IPComp header and payload. Building or
// rewriting the surrounding IP header (protocol number [Protocol], lengths,
// checksums), matching the CPI to an IPComp association and choosing which
// packets to try are the caller's job.
//
// # What it does not do
//
// Only DEFLATE (IPCOMP_DEFLATE, [TransformDeflate]) is implemented. LZS
// (RFC 2395), V.44 (RFC 3051) and any stateful or history-keeping
// compression are not supported. The adaptive back-off of RFC 3173 §2.2
// (stop trying for a while after repeated failures to compress) is left to
// the caller, who sees every failure as a false result from Compress.
//
// # Concurrency
//
// A [Compressor] may be used by many goroutines at once; it keeps a
// sync.Pool of flate writers, so it must not be copied after first use, and
// its exported fields must not be changed while it is in use. [Decompress]
// is a plain function that is safe for concurrent use; it draws its flate
// readers from a package-level sync.Pool, the only package-level mutable
// state. In steady state neither Compress nor Decompress allocates beyond
// what compress/flate itself allocates (see the package tests).
package ipcomp
