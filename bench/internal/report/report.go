// Package report holds the benchmarks' figures: the rows that set gathering's
// figure beside its peer's with the target and whether it was met, the table
// they print as, and the order statistics they are computed with.
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Row is one figure of gathering's beside its peer's, measured in the same
// run.
type Row struct {
	// Bench names the benchmark, Metric the figure.
	Bench  string  `json:"bench"`
	Metric string  `json:"metric"`
	Unit   string  `json:"unit"`
	Ours   float64 `json:"ours"`
	// Peer is the peer's figure when HasPeer is set.
	Peer    float64 `json:"peer"`
	HasPeer bool    `json:"has_peer"`
	// Target says what Ours must be, in words ("≤ 1.5× peer", "< 50 ms");
	// empty when the figure is informational.
	Target string `json:"target,omitempty"`
	Met    bool   `json:"met"`
}

// Ratio returns Ours divided by Peer, or NaN when there is no peer.
func (r Row) Ratio() float64 {
	if !r.HasPeer || r.Peer == 0 {
		return math.NaN()
	}
	return r.Ours / r.Peer
}

// Status is "met", "NOT MET", or "" when the row has no target.
func (r Row) Status() string {
	switch {
	case r.Target == "":
		return ""
	case r.Met:
		return "met"
	default:
		return "NOT MET"
	}
}

// Print writes rows as an aligned table to w: names and words left-aligned,
// figures right-aligned.
func Print(w io.Writer, rows []Row) error {
	table := [][]string{{"benchmark", "figure", "ours", "peer", "ours/peer", "target", "status"}}
	for _, r := range rows {
		peer, ratio := "-", "-"
		if r.HasPeer {
			peer = num(r.Peer) + " " + r.Unit
			ratio = fmt.Sprintf("%.2f×", r.Ratio())
		}
		table = append(table, []string{r.Bench, r.Metric, num(r.Ours) + " " + r.Unit, peer, ratio, orDash(r.Target), orDash(r.Status())})
	}
	width := make([]int, len(table[0]))
	for _, line := range table {
		for i, cell := range line {
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, line := range table {
		var l strings.Builder
		for i, cell := range line {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell))
			if i > 0 {
				l.WriteString("  ")
			}
			if i >= 2 && i <= 4 { // figures
				l.WriteString(pad + cell)
			} else {
				l.WriteString(cell + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// num prints v with three significant digits, or as an integer when it is
// large.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Append adds rows to the JSON-lines file at path, creating it if needed.
// An empty path does nothing.
func Append(path string, rows []Row) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open rows file: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return fmt.Errorf("write rows: %w", err)
		}
	}
	return f.Close()
}

// Load reads the rows [Append] wrote to path.
func Load(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r Row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// Quantile returns the q-quantile (0 < q <= 1) of sorted by the nearest-rank
// method: the smallest sample that at least q of the samples do not exceed.
// sorted must be in ascending order and non-empty.
func Quantile[T int64 | float64 | time.Duration](sorted []T, q float64) T {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Median returns the median of xs, which it sorts.
func Median[T int64 | float64 | time.Duration](xs []T) T {
	slices.Sort(xs)
	return Quantile(xs, 0.5)
}

// Micros returns d in microseconds.
func Micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// Millis returns d in milliseconds.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
