// Package bench holds ikego's end-to-end benchmarks, which measure its
// dataplane against wireguard-go's in the same run on the same machine, so
// that the ratios mean something on a noisy one. Micro-benchmarks of single
// stages live beside their code (esp's Seal and Open, for example).
//
//   - BenchmarkTunnel (inproc_test.go): two ikego gateways, and two
//     wireguard-go devices, joined by in-memory devices and an in-memory
//     network; IPv4 UDP packets of 64, 512 and 1420 octets go in at one
//     end and are counted at the other, in packets per second, Gbit/s and
//     allocations per packet. TestTunnelSmoke checks both rigs carry 1000
//     packets intact, and runs in CI.
//
//     go test -run '^$' -bench . -benchmem ./bench/
//
//   - tunnel.sh: two gateway processes (examples/static) in two network
//     namespaces over a veth pair with real TUN devices, against
//     wireguard-go and the bare veth, measured with iperf3 TCP: Gbit/s and
//     daemon CPU time per inner packet. Needs root.
//
//     bash bench/tunnel.sh --quick
//
//   - esp-ratio.sh: esp's Seal and Open against the bare AEAD.
//
// The package has no API; everything is in its tests and scripts.
package bench
