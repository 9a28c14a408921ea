// Package esptest provides in-memory implementations of esp.Bind for tests
// that need neither privileges nor sockets: a Network switches datagrams
// between the binds of its hosts, keyed by address, and can drop,
// duplicate and reorder them (SetFilter) or put hosts behind a NAT (NAT),
// so that NAT traversal is testable in one process.
//
// Each host "listens" on UDP 500 and 4500 and on raw ESP. Send copies each
// datagram into a pooled buffer and queues it at the destination bind, up to
// QueueLen datagrams; beyond that, and to addresses or ports nobody listens
// on, datagrams are dropped and counted (Stats), as a real network would.
// In steady state neither Send nor a ReceiveFunc allocates.
//
// Concurrency: every method of a Network and of its binds is safe for
// concurrent use.
package esptest
