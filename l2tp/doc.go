// Package l2tp will implement an L2TP network server (RFC 2661 LNS) for the
// L2TP/IPsec clients built into Windows, iOS and Android, carrying PPP from
// package ppp over transport-mode ESP.
//
// Nothing is implemented yet.
package l2tp
