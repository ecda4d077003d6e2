package client

import (
	"math/rand/v2"
	"time"
)

// backoff returns how long to wait before reconnect attempt n (from 0):
// exponential from lo up to hi, with full jitter.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := hi
	if n < 30 {
		d = min(hi, lo<<n)
	}
	return lo/2 + rand.N(d-lo/2+1)
}
