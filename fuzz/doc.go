// Package fuzz will hold fuzz harnesses that cross packages: datagrams into
// an ike.Manager, packets into an esp.Engine. Fuzz targets of a single codec
// live beside it (for example esp's FuzzOpen and FuzzDecapUDP, and
// esp/ipcomp's FuzzDecompress); .ci/run runs them all.
//
// Nothing is here yet: the Manager and the Engine come with issues 3 and 5.
package fuzz
