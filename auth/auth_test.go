package auth

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/sqlite"
)

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

type bundle struct {
	st    store.Store
	path  string
	admin Actor
}

func setup(t *testing.T, cfg *Config) (*Service, *bundle) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "g.db")
	st := openStore(t, path)
	s, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, &bundle{st: st, path: path, admin: Actor{Name: "root"}}
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("HashPassword() = %q, want PHC argon2id with OWASP parameters", h)
	}
	if h2, _ := HashPassword("correct horse"); h2 == h {
		t.Error("two hashes of one password are equal; want a fresh salt each time")
	}
	for _, test := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse", true},
		{h, "correct horsE", false},
		{h, "", false},
		{"", "correct horse", false},
		{strings.Replace(h, "m=19456", "m=99999999", 1), "correct horse", false},
		{h[:len(h)-4], "correct horse", false},
	} {
		if got := VerifyPassword(test.hash, test.pw); got != test.want {
			t.Errorf("VerifyPassword(%q, %q) = %v, want %v", test.hash, test.pw, got, test.want)
		}
	}
	for _, pw := range []string{"short", strings.Repeat("x", MaxPasswordLen+1), "bad\xffutf8!"} {
		if _, err := HashPassword(pw); !errors.Is(err, ErrWeakPassword) {
			t.Errorf("HashPassword(%q) error = %v, want ErrWeakPassword", pw, err)
		}
	}
}

func TestToken(t *testing.T) {
	a, ha := NewToken()
	b, _ := NewToken()
	if a == b || !wellFormed(a) || len(a) != 4+43 || HashToken(a) != ha {
		t.Errorf("NewToken() = %q, %q", a, b)
	}
	for _, bad := range []string{"", "gat_", a[:len(a)-1], "xyz" + a[3:], a + "A", strings.Replace(a, a[5:6], "*", 1)} {
		if wellFormed(bad) {
			t.Errorf("wellFormed(%q) = true", bad)
		}
	}
}

func TestLoginAndCheck(t *testing.T) {
	s, b := setup(t, nil)
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, " Ann@Example.com ", "Ann", store.RoleMember, "s3cret-pass", b.admin); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "ann@example.com", "", store.RoleMember, "s3cret-pass", b.admin); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateUser(same email, other case) error = %v, want ErrConflict", err)
	}
	tok, id, err := s.Login(ctx, "ANN@example.com", "s3cret-pass", "192.0.2.1:4000")
	if err != nil {
		t.Fatalf("Login() error: %v", err)
	}
	if id.Email != "ann@example.com" || id.Role != store.RoleMember || !wellFormed(tok) {
		t.Errorf("Login() = %q, %+v", tok, id)
	}
	if got, err := s.Check(ctx, HashToken(tok)); err != nil || got != id {
		t.Errorf("Check() = %+v, %v, want %+v", got, err, id)
	}
	// The store holds the hash, never the token.
	tt, _, err := b.st.GetTokenByHash(ctx, func() []byte { h := HashToken(tok); return h[:] }())
	if err != nil || tt.ID != id.TokenID {
		t.Errorf("token in store = %+v, %v", tt, err)
	}

	before := s.verifies.Load()
	for _, test := range []struct{ email, pw string }{
		{"ann@example.com", "wrong-pass"},
		{"nobody@example.com", "s3cret-pass"},
		{"not an email", "s3cret-pass"},
	} {
		if _, _, err := s.Login(ctx, test.email, test.pw, "192.0.2.1:4000"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Login(%q, %q) error = %v, want ErrBadCredentials", test.email, test.pw, err)
		}
	}
	if n := s.verifies.Load() - before; n != 3 {
		t.Errorf("%d password checks for 3 failed logins; an unknown email must cost a check too", n)
	}
	es, _, err := b.st.ListAudit(ctx, store.AuditQuery{Kind: "login_failed"})
	if err != nil || len(es) != 3 || es[0].Remote != "192.0.2.1:4000" || es[1].Actor != "nobody@example.com" {
		t.Errorf("login_failed audit = %+v, %v", es, err)
	}
	if n, _, _ := b.st.LoginFailures(ctx, "addr:192.0.2.1", time.Now().Add(-time.Minute)); n != 3 {
		t.Errorf("failures counted for the address = %d, want 3", n)
	}
}

func TestLoginLimits(t *testing.T) {
	s, b := setup(t, &Config{MaxEmailFailures: 3, LoginRate: 1000, LoginBurst: 1000})
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, "a@example.com", "", store.RoleViewer, "s3cret-pass", b.admin); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := s.Login(ctx, "a@example.com", "nope-nope", "192.0.2.1:1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("Login() error = %v", err)
		}
	}
	// The email is locked, even with the right password and from elsewhere,
	// and even on another instance sharing the store.
	other, err := New(openStore(t, b.path), &Config{MaxEmailFailures: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*Service{s, other} {
		_, _, err := svc.Login(ctx, "a@example.com", "s3cret-pass", "198.51.100.7:1")
		var le *LimitError
		if !errors.As(err, &le) || le.RetryAfter <= 0 || le.RetryAfter > DefaultFailureWindow {
			t.Errorf("Login() after 3 failures error = %v, want a LimitError with a retry-after", err)
		}
	}

	// The per-address rate refuses before any store read or hash.
	fast, _ := setup(t, &Config{LoginRate: 1, LoginBurst: 2})
	before := fast.verifies.Load()
	var limited int
	for range 10 {
		_, _, err := fast.Login(ctx, "x@example.com", "whatever-pw", "203.0.113.9:1")
		var le *LimitError
		if errors.As(err, &le) {
			limited++
		}
	}
	if limited < 7 || fast.verifies.Load()-before > 3 {
		t.Errorf("10 quick logins from one address: %d limited, %d hashed; want at least 7 limited before hashing", limited, fast.verifies.Load()-before)
	}
}

// TestConcurrentLoginsStayWithinTheLimit checks that logins for one email
// that arrive together, from many addresses, cannot all pass the failure
// limit before any has failed: no more of them are checked than the limit
// allows, and the email is locked afterwards.
func TestConcurrentLoginsStayWithinTheLimit(t *testing.T) {
	s, b := setup(t, &Config{MaxEmailFailures: 3, LoginRate: -1})
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, "a@example.com", "", store.RoleViewer, "s3cret-pass", b.admin); err != nil {
		t.Fatal(err)
	}
	before := s.verifies.Load()
	errs := make([]error, 12)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, _, errs[i] = s.Login(ctx, "a@example.com", "wrong-pass", fmt.Sprintf("192.0.2.%d:1", i+1))
		})
	}
	wg.Wait()
	for i, err := range errs {
		var le *LimitError
		if !errors.Is(err, ErrBadCredentials) && !errors.As(err, &le) {
			t.Errorf("login %d: %v, want invalid credentials or a limit", i, err)
		}
	}
	if hashed := s.verifies.Load() - before; hashed > 3 {
		t.Errorf("12 concurrent logins with a limit of 3 failures: %d passwords checked, want at most 3", hashed)
	}
	if _, _, err := s.Login(ctx, "a@example.com", "s3cret-pass", "198.51.100.7:1"); !errors.As(err, new(*LimitError)) {
		t.Errorf("login with the right password after them: %v, want a LimitError", err)
	}
}

func TestRevocationSeenByAnotherInstance(t *testing.T) {
	s, b := setup(t, &Config{Recheck: 50 * time.Millisecond})
	ctx := t.Context()
	other, err := New(openStore(t, b.path), &Config{Recheck: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "a@example.com", "", store.RoleAdmin, "s3cret-pass", b.admin); err != nil {
		t.Fatal(err)
	}
	tok, tt, err := s.CreateToken(ctx, "a@example.com", "ci", time.Hour, b.admin)
	if err != nil {
		t.Fatal(err)
	}
	id, h, err := other.Authenticate(ctx, tok, "192.0.2.1:1")
	if err != nil || id.TokenID != tt.ID {
		t.Fatalf("Authenticate() = %+v, %v", id, err)
	}
	if _, err := s.RevokeToken(ctx, tt.ID, b.admin); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(ctx, h); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Check() on the revoking instance = %v, want refused at once", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := other.Check(ctx, h)
		if errors.Is(err, ErrBadCredentials) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other instance still accepts the revoked token after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// After a restart (a new service on the same store) it stays revoked.
	again, err := New(openStore(t, b.path), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := again.Authenticate(ctx, tok, "192.0.2.1:1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Authenticate(revoked) after restart = %v, want ErrBadCredentials", err)
	}
}

func TestDisableAndRole(t *testing.T) {
	s, b := setup(t, nil)
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, "a@example.com", "", store.RoleMember, "s3cret-pass", b.admin); err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.Login(ctx, "a@example.com", "s3cret-pass", "192.0.2.1:1")
	if err != nil {
		t.Fatal(err)
	}
	viewer := store.RoleViewer
	if _, err := s.UpdateUser(ctx, "a@example.com", &viewer, nil, nil, b.admin); err != nil {
		t.Fatal(err)
	}
	if id, err := s.Check(ctx, HashToken(tok)); err != nil || id.Role != store.RoleViewer {
		t.Errorf("Check() after set-role = %+v, %v; want viewer", id, err)
	}
	off := true
	if _, err := s.UpdateUser(ctx, "a@example.com", nil, &off, nil, b.admin); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(ctx, HashToken(tok)); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Check() of a disabled user's token = %v, want ErrBadCredentials", err)
	}
	if _, _, err := s.Login(ctx, "a@example.com", "s3cret-pass", "192.0.2.1:1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Login() of a disabled user = %v, want ErrBadCredentials", err)
	}
	if es, _, _ := b.st.ListAudit(ctx, store.AuditQuery{Kind: "user_update"}); len(es) != 2 || es[0].Detail != "disabled true" {
		t.Errorf("user_update audit = %+v", es)
	}
}

func TestLogoutAndExpiry(t *testing.T) {
	s, b := setup(t, nil)
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, "a@example.com", "", store.RoleMember, "s3cret-pass", b.admin); err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.Login(ctx, "a@example.com", "s3cret-pass", "192.0.2.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx, HashToken(tok), "192.0.2.1:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(ctx, HashToken(tok)); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Check() after logout = %v, want ErrBadCredentials", err)
	}
	short, _, err := s.CreateToken(ctx, "a@example.com", "", time.Millisecond, b.admin)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, _, err := s.Authenticate(ctx, short, "192.0.2.1:1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Authenticate(expired) = %v, want ErrBadCredentials", err)
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(10, 3)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("call %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := l.Allow("k")
	if ok || wait != 100*time.Millisecond {
		t.Errorf("4th call = %v, %v; want refused, retry after 100ms", ok, wait)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Error("another key shares the bucket")
	}
	now = now.Add(100 * time.Millisecond)
	if ok, _ := l.Allow("k"); !ok {
		t.Error("refused after the refill time")
	}
	// Calls of a tenth of the cost come ten times as often: a burst of 30.
	for i := range 30 {
		if ok, _ := l.AllowN("tenths", 0.1); !ok {
			t.Fatalf("tenth %d of a burst of 30 refused", i+1)
		}
	}
	if ok, wait := l.AllowN("tenths", 0.1); ok || wait != 10*time.Millisecond {
		t.Errorf("31st tenth = %v, %v; want refused, retry after 10ms", ok, wait)
	}
	if NewLimiter(0, 1) != nil {
		t.Error("NewLimiter(0) is a limit; want nil, no limit")
	}
}

// readCounter is a store that counts the reads and writes a login makes
// before it hashes: user lookups and failure counts.
type readCounter struct {
	store.Store
	n atomic.Int64
}

func (r *readCounter) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	r.n.Add(1)
	return r.Store.GetUserByEmail(ctx, email)
}

func (r *readCounter) LoginFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	r.n.Add(1)
	return r.Store.LoginFailures(ctx, key, since)
}

func (r *readCounter) RecordLoginFailure(ctx context.Context, keys ...string) error {
	r.n.Add(1)
	return r.Store.RecordLoginFailure(ctx, keys...)
}

// fakeClock makes s, its token bucket and its back-off read the time from
// *now.
func fakeClock(s *Service, now *time.Time) {
	f := func() time.Time { return *now }
	s.now, s.backoff.now = f, f
	if s.login != nil {
		s.login.now = f
	}
}

// TestLoginBackoff checks that an address whose password logins keep
// failing waits 1 s, 2 s, 4 s … up to a minute between attempts, that an
// attempt made sooner costs no store access and no hash, and that a
// success ends the wait.
func TestLoginBackoff(t *testing.T) {
	s, b := setup(t, &Config{LoginRate: -1, MaxAddrFailures: 1000})
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, "a@example.com", "", store.RoleViewer, "s3cret-pass", b.admin); err != nil {
		t.Fatal(err)
	}
	counter := &readCounter{Store: b.st}
	s.st = counter
	now := time.Now()
	fakeClock(s, &now)
	const addr = "192.0.2.1"
	attempt := 0
	login := func(pw string) error {
		t.Helper()
		attempt++
		// A new email each time, so that only the address's limits apply.
		_, _, err := s.Login(ctx, fmt.Sprintf("u%d@example.com", attempt), pw, addr+":1")
		return err
	}
	wantRefused := func(wait time.Duration) {
		t.Helper()
		hashed, accessed := s.verifies.Load(), counter.n.Load()
		err := login("wrong-pass")
		var le *LimitError
		if !errors.As(err, &le) || le.RetryAfter != wait {
			t.Fatalf("attempt %d: %v, want a LimitError with retry after %s", attempt, err, wait)
		}
		if s.verifies.Load() != hashed || counter.n.Load() != accessed {
			t.Errorf("attempt %d was refused after %d hashes and %d store accesses, want none", attempt, s.verifies.Load()-hashed, counter.n.Load()-accessed)
		}
	}

	for range DefaultLoginBackoff {
		if err := login("wrong-pass"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v, want ErrBadCredentials", attempt, err)
		}
	}
	for _, wait := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} {
		wait *= time.Second
		wantRefused(wait)
		now = now.Add(wait - time.Millisecond)
		wantRefused(time.Millisecond)
		now = now.Add(time.Millisecond)
		if err := login("wrong-pass"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d, once %s had passed: %v, want ErrBadCredentials", attempt, wait, err)
		}
	}

	// Other addresses, and tokens from this one, are not held back.
	if _, _, err := s.Login(ctx, "v@example.com", "wrong-pass", "192.0.2.2:1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("login from another address: %v, want ErrBadCredentials", err)
	}
	tok, _, err := s.CreateToken(ctx, "a@example.com", "ci", time.Hour, b.admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, tok, addr+":2"); err != nil {
		t.Errorf("token authentication from the backing-off address: %v", err)
	}

	// Of the attempts that come together when the wait ends, one is checked.
	now = now.Add(time.Minute)
	hashed := s.verifies.Load()
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = s.Login(ctx, fmt.Sprintf("c%d@example.com", i), "wrong-pass", addr+":3") })
	}
	wg.Wait()
	if n := s.verifies.Load() - hashed; n != 1 {
		t.Errorf("10 attempts together when the wait ended: %d hashed, want 1 (errors %v)", n, errs)
	}

	// A success ends the streak: the next failures start it again.
	now = now.Add(time.Minute)
	if _, _, err := s.Login(ctx, "a@example.com", "s3cret-pass", addr+":4"); err != nil {
		t.Fatalf("login with the right password once the wait ended: %v", err)
	}
	for range DefaultLoginBackoff {
		if err := login("wrong-pass"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d after a success: %v, want ErrBadCredentials", attempt, err)
		}
	}
	wantRefused(time.Second)

	// So does a pause of FailureWindow.
	now = now.Add(DefaultFailureWindow + time.Second)
	for range DefaultLoginBackoff {
		if err := login("wrong-pass"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d after a pause: %v, want ErrBadCredentials", attempt, err)
		}
	}
	wantRefused(time.Second)
}

// TestLoginBackoffSparesTokens checks that logins refused by the back-off
// take nothing from the address's token bucket, which token authentication
// shares: a flood of them leaves the tokens of clients behind the same
// address working.
func TestLoginBackoffSparesTokens(t *testing.T) {
	s, b := setup(t, &Config{LoginRate: 1, LoginBurst: DefaultLoginBackoff + 1})
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, "a@example.com", "", store.RoleViewer, "s3cret-pass", b.admin); err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.CreateToken(ctx, "a@example.com", "ci", time.Hour, b.admin)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	fakeClock(s, &now)
	var refused int
	for i := range 200 {
		_, _, err := s.Login(ctx, fmt.Sprintf("u%d@example.com", i), "wrong-pass", "192.0.2.1:1")
		if errors.As(err, new(*LimitError)) {
			refused++
		}
	}
	if refused != 200-DefaultLoginBackoff {
		t.Errorf("200 failing logins at once: %d refused, want all but the first %d", refused, DefaultLoginBackoff)
	}
	if _, _, err := s.Authenticate(ctx, tok, "192.0.2.1:2"); err != nil {
		t.Errorf("token authentication from the flooding address: %v, want it to pass", err)
	}
}

func TestBackoffDelayAndMemory(t *testing.T) {
	b := newBackoff(5, time.Second, time.Minute, 15*time.Minute)
	for _, test := range []struct {
		failures int
		want     time.Duration
	}{{5, time.Second}, {6, 2 * time.Second}, {10, 32 * time.Second}, {11, time.Minute}, {12, time.Minute}, {1 << 30, time.Minute}} {
		if got := b.delay(test.failures); got != test.want {
			t.Errorf("delay(%d) = %s, want %s", test.failures, got, test.want)
		}
	}
	if newBackoff(-1, time.Second, time.Minute, 0) != nil {
		t.Error("newBackoff(-1) is a back-off; want nil, none")
	}

	now := time.Unix(0, 0)
	b.now = func() time.Time { return now }
	b.maxEntries = 100
	for i := range 1000 {
		b.fail(fmt.Sprintf("192.0.2.%d", i))
		if len(b.streaks) > b.maxEntries {
			t.Fatalf("%d streaks after %d addresses failed, want at most %d", len(b.streaks), i+1, b.maxEntries)
		}
	}
	// Streaks whose last failure is older than forget are dropped by the
	// next failure of a new address, well before the map fills.
	for i := range 5 {
		b.fail("198.51.100.1")
		b.fail(fmt.Sprintf("203.0.113.%d", i))
	}
	now = now.Add(15*time.Minute + time.Second)
	b.fail("198.51.100.2")
	if len(b.streaks) != 1 {
		t.Errorf("%d streaks after the others went stale, want 1", len(b.streaks))
	}
}
