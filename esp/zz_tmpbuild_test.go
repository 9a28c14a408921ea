package esp

import (
	"testing"
	"time"
)

func TestTmpBuildCost(t *testing.T) {
	for _, n := range []int{1000, 10000} {
		t0 := time.Now()
		d, _, _ := benchSPD(&testing.B{}, n)
		el := time.Since(t0)
		t0 = time.Now()
		p, v, _ := d.Get(1)
		for range 100 {
			d.Set(p, v)
		}
		t.Logf("n=%d: build %v, one Set at this size %v", n, el, time.Since(t0)/100)
	}
}
