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

// backoff refuses password logins from an address that keeps failing: once
// it has failed after times in a row, each further attempt must wait a delay
// that starts at base and doubles with each further failure, up to ceiling.
// A success ends the streak, and so does a pause: failures older than
// forget are not counted. Its methods are safe for concurrent use; a nil
// *backoff refuses nothing.
type backoff struct {
	after         int
	base, ceiling time.Duration
	forget        time.Duration
	maxEntries    int
	now           func() time.Time

	mu      sync.Mutex
	streaks map[string]*streak
	swept   time.Time
}

// streak is an address's failures in a row: how many, when the last was,
// and until when its attempts are refused.
type streak struct {
	failures int
	last     time.Time
	until    time.Time
}

// maxStreaks bounds a backoff's memory, as maxBuckets does a Limiter's.
const maxStreaks = 100_000

// newBackoff returns a back-off after failures in a row, from base to
// ceiling, forgetting a streak once its last failure is older than forget
// (at least ceiling). An after of 0 or less returns nil: no back-off.
func newBackoff(after int, base, ceiling, forget time.Duration) *backoff {
	if after <= 0 {
		return nil
	}
	ceiling = max(base, ceiling)
	return &backoff{after: after, base: base, ceiling: ceiling, forget: max(forget, ceiling),
		maxEntries: maxStreaks, now: time.Now, streaks: map[string]*streak{}}
}

// allow reports whether an attempt from addr may go on, and if not how long
// until one may. An attempt it lets through while addr is backing off
// claims the next delay at once, as though it failed: of attempts that
// arrive together when a delay ends, only the first goes on.
func (b *backoff) allow(addr string) (bool, time.Duration) {
	if b == nil {
		return true, 0
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.streaks[addr]
	switch {
	case s == nil:
		return true, 0
	case b.stale(s, now):
		delete(b.streaks, addr)
		return true, 0
	case now.Before(s.until):
		return false, s.until.Sub(now)
	}
	if s.failures >= b.after {
		s.until = now.Add(b.delay(s.failures + 1))
	}
	return true, 0
}

// fail counts a failed attempt from addr and starts its delay once it has
// failed after times in a row.
func (b *backoff) fail(addr string) {
	if b == nil {
		return
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.streaks[addr]
	if s == nil || b.stale(s, now) {
		if len(b.streaks) >= b.maxEntries || now.Sub(b.swept) > b.forget {
			b.sweep(now)
		}
		s = &streak{}
		b.streaks[addr] = s
	}
	s.failures++
	s.last = now
	if s.failures >= b.after {
		s.until = now.Add(b.delay(s.failures))
	}
}

// succeed ends addr's streak.
func (b *backoff) succeed(addr string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	delete(b.streaks, addr)
	b.mu.Unlock()
}

// delay is the wait after the given number of failures in a row (at least
// after): base, doubled for each failure past after, at most ceiling.
func (b *backoff) delay(failures int) time.Duration {
	d := b.base
	for range failures - b.after {
		if d >= b.ceiling {
			break
		}
		d *= 2
	}
	return min(d, b.ceiling)
}

// stale reports whether s no longer counts: its last failure is older than
// forget, and so (forget being at least ceiling) its delay has long passed.
func (b *backoff) stale(s *streak, now time.Time) bool {
	return now.Sub(s.last) > b.forget && !now.Before(s.until)
}

// sweep drops the stale streaks. Run when the map is full, and otherwise at
// most once per forget, it keeps the map to the addresses that failed
// lately; if they alone fill it, it drops all, which only makes the
// back-off briefly more lenient (the token bucket and the failures counted
// in the store still apply).
func (b *backoff) sweep(now time.Time) {
	b.swept = now
	for k, s := range b.streaks {
		if b.stale(s, now) {
			delete(b.streaks, k)
		}
	}
	if len(b.streaks) >= b.maxEntries {
		clear(b.streaks)
	}
}
