package auth

import (
	"math"
	"sync"
	"time"
)

// Limiter is a set of token buckets, one per key: each allows Burst calls at
// once and refills at Rate calls per second. Its methods are safe for
// concurrent use. A nil *Limiter allows everything.
type Limiter struct {
	rate, burst float64
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds a Limiter's memory: when it is reached, buckets that
// have refilled (idle keys) are dropped.
const maxBuckets = 100_000

// NewLimiter returns a limiter of rate calls per second with bursts of burst
// (at least 1). A rate of 0 or less returns nil: no limit.
func NewLimiter(rate float64, burst int) *Limiter {
	if rate <= 0 {
		return nil
	}
	return &Limiter{rate: rate, burst: max(1, float64(burst)), now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes one call from key's bucket. When the bucket is empty it
// returns false and how long until a call would be allowed.
func (l *Limiter) Allow(key string) (bool, time.Duration) { return l.AllowN(key, 1) }

// AllowN takes n calls from key's bucket, where n may be a fraction: a call
// that costs a tenth of those the limiter was set for may come ten times as
// often. When the bucket holds less than n it returns false and how long
// until it will hold n.
func (l *Limiter) AllowN(key string, n float64) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	// The slack absorbs the rounding of fractional costs: ten calls of 0.1
	// from a bucket of 1 all pass.
	if b.tokens+1e-9 >= n {
		b.tokens -= n
		return true, 0
	}
	wait := time.Duration((n - b.tokens) / l.rate * float64(time.Second))
	return false, max(wait, time.Millisecond)
}

// Forget drops key's bucket, as when its connection ends.
func (l *Limiter) Forget(key string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.buckets, key)
	l.mu.Unlock()
}

// sweep drops the buckets that are full again; if none are, it drops all,
// which only makes the limiter briefly more lenient.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}
