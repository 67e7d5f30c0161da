package main

import (
	"testing"
	"time"
)

func TestMedianRound(t *testing.T) {
	us := func(ds ...int) []time.Duration {
		out := make([]time.Duration, len(ds))
		for i, d := range ds {
			out[i] = time.Duration(d) * time.Microsecond
		}
		return out
	}
	for _, c := range []struct {
		ours, peer []time.Duration
		want       [2]int
	}{
		// Ratios 1.11, 2.00, 0.97: the first round's is the median, and
		// its figures go together, not the medians of each side (200, 100).
		{us(100, 200, 300), us(90, 100, 310), [2]int{100, 90}},
		// An even count takes the upper middle ratio: 1.2 of 1.0 1.1 1.2 1.3.
		{us(100, 110, 120, 130), us(100, 100, 100, 100), [2]int{120, 100}},
		{us(7), us(5), [2]int{7, 5}},
	} {
		ours, peer := medianRound(c.ours, c.peer)
		if got := [2]int{int(ours.Microseconds()), int(peer.Microseconds())}; got != c.want {
			t.Errorf("medianRound(%v, %v) = %v, want %v", c.ours, c.peer, got, c.want)
		}
	}
}
