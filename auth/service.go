package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gathering-dev/gathering/store"
)

// Defaults for [Config] fields left zero.
const (
	DefaultTokenTTL         = 24 * time.Hour
	DefaultRecheck          = 500 * time.Millisecond
	DefaultFailureWindow    = 15 * time.Minute
	DefaultMaxEmailFailures = 10
	DefaultMaxAddrFailures  = 100
	DefaultLoginRate        = 2 // per second per address, on one instance
	DefaultLoginBurst       = 10
	DefaultLoginBackoff     = 5 // failed password logins in a row from an address
	DefaultLoginBackoffBase = time.Second
	DefaultLoginBackoffMax  = time.Minute
)

// Config configures a [Service]. A nil *Config means all defaults.
type Config struct {
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// TokenTTL is the lifetime of tokens issued by [Service.Login] (default 24h).
	TokenTTL time.Duration
	// Recheck is how old a cached token check may be before the token and
	// its user are read again (default 500 ms): the bound on how long a
	// revocation made elsewhere goes unseen.
	Recheck time.Duration
	// FailureWindow is how far back failed logins count (default 15m).
	FailureWindow time.Duration
	// MaxEmailFailures and MaxAddrFailures are how many failed logins
	// within FailureWindow an email, or a client address, may have before
	// further logins are refused, on every instance (default 10 and 100).
	MaxEmailFailures, MaxAddrFailures int
	// LoginRate and LoginBurst limit login attempts per client address on
	// this instance, before any store read or password hash (default 2/s,
	// bursts of 10).
	LoginRate  float64
	LoginBurst int
	// LoginBackoff is how many password logins in a row may fail from a
	// client address on this instance before it must wait between
	// attempts (default 5; less than 0: never). The wait is
	// LoginBackoffBase (default 1 s) after that many failures and doubles
	// with each further one, up to LoginBackoffMax (default 1 minute). An
	// attempt made sooner is refused before any store read or password
	// hash; a successful login from the address, or FailureWindow without
	// a failure, ends the wait. Tokens are not held back by it.
	LoginBackoff                      int
	LoginBackoffBase, LoginBackoffMax time.Duration
}

// Identity is an authenticated user, as of the last check.
type Identity struct {
	UserID string
	Email  string
	Name   string
	Role   store.Role
	// TokenID names the token the identity was proven with.
	TokenID   string
	ExpiresAt time.Time
}

// Actor is who performs an administrative action, for the audit log.
type Actor struct {
	Name   string // email, or the local user's name
	Remote string // network address, "" when local
}

// Errors callers branch on.
var (
	// ErrBadCredentials is a failed login or an unusable token. Its message
	// never says which part was wrong.
	ErrBadCredentials = errors.New("invalid credentials")
)

// LimitError is returned when a login is refused for too many attempts.
type LimitError struct {
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("too many login attempts; retry after %s", e.RetryAfter.Round(time.Second))
}

// Service authenticates users and tokens against a store. Its methods are
// safe for concurrent use.
type Service struct {
	st    store.Store
	cfg   Config
	log   *slog.Logger
	dummy string // a hash to check unknown emails against: dummyHash
	hash  chan struct{}
	login *Limiter
	// backoff holds back password logins from addresses that keep failing.
	backoff *backoff
	now     func() time.Time
	// verifies counts password checks, so tests can see that an unknown
	// email is checked like a known one.
	verifies atomic.Int64

	mu      sync.Mutex
	tokens  map[TokenHash]*cachedToken
	members map[[2]string]cachedMember
	pruned  time.Time
}

type cachedToken struct {
	id      Identity
	checked time.Time
}

type cachedMember struct {
	ok      bool
	checked time.Time
}

// maxCached bounds each cache; entries past it evict stale ones.
const maxCached = 100_000

// New returns a service over st.
func New(st store.Store, cfg *Config) (*Service, error) {
	s := &Service{st: st, tokens: map[TokenHash]*cachedToken{}, members: map[[2]string]cachedMember{}, now: time.Now}
	if cfg != nil {
		s.cfg = *cfg
	}
	c := &s.cfg
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.TokenTTL = or(c.TokenTTL, DefaultTokenTTL)
	c.Recheck = or(c.Recheck, DefaultRecheck)
	c.FailureWindow = or(c.FailureWindow, DefaultFailureWindow)
	c.MaxEmailFailures = or(c.MaxEmailFailures, DefaultMaxEmailFailures)
	c.MaxAddrFailures = or(c.MaxAddrFailures, DefaultMaxAddrFailures)
	c.LoginRate = or(c.LoginRate, DefaultLoginRate)
	c.LoginBurst = or(c.LoginBurst, DefaultLoginBurst)
	c.LoginBackoff = or(c.LoginBackoff, DefaultLoginBackoff)
	c.LoginBackoffBase = or(c.LoginBackoffBase, DefaultLoginBackoffBase)
	c.LoginBackoffMax = or(c.LoginBackoffMax, DefaultLoginBackoffMax)
	if c.TokenTTL < 0 || c.Recheck < 0 || c.FailureWindow < 0 || c.LoginBackoffBase < 0 || c.LoginBackoffMax < 0 {
		return nil, errors.New("auth config: negative duration")
	}
	s.log = c.Logger
	s.login = NewLimiter(c.LoginRate, c.LoginBurst)
	s.backoff = newBackoff(c.LoginBackoff, c.LoginBackoffBase, c.LoginBackoffMax, c.FailureWindow)
	// Hashing may use at most half the CPUs, so a login flood that gets
	// past the limits still leaves the other half to everyone else.
	s.hash = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))
	s.dummy = dummyHash
	return s, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// NormalizeEmail returns the form emails are stored and compared in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CheckEmail returns an error unless email, normalized, is plausible.
func CheckEmail(email string) error {
	if len(email) > 254 || strings.Count(email, "@") != 1 || strings.HasPrefix(email, "@") || strings.HasSuffix(email, "@") || strings.ContainsAny(email, " \t\r\n\x00") {
		return fmt.Errorf("%q is not an email address", email)
	}
	return nil
}

// host returns the address part of a remote "host:port" for per-address
// limits; remote itself when it has no port.
func host(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// verify checks pw against encoded with at most half of GOMAXPROCS hashes at
// once.
func (s *Service) verify(ctx context.Context, encoded, pw string) (bool, error) {
	select {
	case s.hash <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hash }()
	s.verifies.Add(1)
	return VerifyPassword(encoded, pw), nil
}

// limitLogin refuses an attempt from remote (and for email, if not empty)
// when the per-address rate or the failures counted in the store are over
// their limits.
func (s *Service) limitLogin(ctx context.Context, remote, email string) error {
	addr := host(remote)
	if ok, wait := s.login.Allow(addr); !ok {
		return &LimitError{RetryAfter: wait}
	}
	since := s.now().Add(-s.cfg.FailureWindow)
	keys := []struct {
		key string
		max int
	}{{"addr:" + addr, s.cfg.MaxAddrFailures}}
	if email != "" {
		keys = append(keys, struct {
			key string
			max int
		}{"email:" + email, s.cfg.MaxEmailFailures})
	}
	for _, k := range keys {
		n, oldest, err := s.st.LoginFailures(ctx, k.key, since)
		if err != nil {
			return fmt.Errorf("count failed logins: %w", err)
		}
		if n >= k.max {
			return s.limitError(oldest)
		}
	}
	return nil
}

// limitError refuses a login until the oldest failure counted leaves the
// window.
func (s *Service) limitError(oldest time.Time) *LimitError {
	return &LimitError{RetryAfter: max(time.Second, oldest.Add(s.cfg.FailureWindow).Sub(s.now()))}
}

// claimAttempt counts a login for email as failed before its password is
// checked, then counts the email's failures again, its own included: of
// logins that passed limitLogin together, on any instance, only those
// within the limit go on to be checked, where checking the count and
// counting after the check would let them all through. A successful login
// clears the count.
func (s *Service) claimAttempt(ctx context.Context, email string) error {
	key := "email:" + email
	if err := s.st.RecordLoginFailure(ctx, key); err != nil {
		return fmt.Errorf("count login attempt: %w", err)
	}
	n, oldest, err := s.st.LoginFailures(ctx, key, s.now().Add(-s.cfg.FailureWindow))
	if err != nil {
		return fmt.Errorf("count failed logins: %w", err)
	}
	if n > s.cfg.MaxEmailFailures {
		return s.limitError(oldest)
	}
	return nil
}

// fail counts a failed login against remote's address in the store (the
// email's was counted by claimAttempt) and audits it.
func (s *Service) fail(ctx context.Context, remote, email, detail string) {
	if err := s.st.RecordLoginFailure(ctx, "addr:"+host(remote)); err != nil {
		s.log.ErrorContext(ctx, "record failed login", slog.Any("error", err))
	}
	s.Audit(ctx, store.AuditEvent{Kind: "login_failed", Actor: email, Remote: remote, Detail: detail})
	s.prune(ctx)
}

// prune forgets failed logins older than a day, at most once an hour.
func (s *Service) prune(ctx context.Context) {
	s.mu.Lock()
	due := s.now().Sub(s.pruned) > time.Hour
	if due {
		s.pruned = s.now()
	}
	s.mu.Unlock()
	if due {
		if err := s.st.PruneLoginFailures(ctx, s.now().Add(-max(24*time.Hour, s.cfg.FailureWindow))); err != nil {
			s.log.WarnContext(ctx, "prune failed logins", slog.Any("error", err))
		}
	}
}

// Login checks email and password and returns a new token for the user,
// valid for [Config.TokenTTL]. remote is the client's address. It returns
// [ErrBadCredentials] for an unknown email, a wrong password or a disabled
// user alike, each at the cost of one password hash, and a *[LimitError]
// when the address or email has failed too often, or the address is
// backing off after failures in a row ([Config.LoginBackoff]).
func (s *Service) Login(ctx context.Context, email, password, remote string) (string, Identity, error) {
	addr := host(remote)
	if ok, wait := s.backoff.allow(addr); !ok {
		return "", Identity{}, &LimitError{RetryAfter: wait}
	}
	email = NormalizeEmail(email)
	if CheckEmail(email) != nil || !utf8.ValidString(email) {
		// Not an address any user can have: counted and audited without
		// it, so garbage never reaches the store's keys.
		email = ""
	}
	if err := s.limitLogin(ctx, remote, email); err != nil {
		return "", Identity{}, err
	}
	if email != "" {
		if err := s.claimAttempt(ctx, email); err != nil {
			return "", Identity{}, err
		}
	}
	var u store.User
	err := store.ErrNotFound
	if email != "" {
		u, err = s.st.GetUserByEmail(ctx, email)
	}
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", Identity{}, fmt.Errorf("login: %w", err)
	}
	encoded := s.dummy
	if known {
		encoded = u.PasswordHash
	}
	ok, err := s.verify(ctx, encoded, password)
	if err != nil {
		return "", Identity{}, err
	}
	var why string
	switch {
	case !known:
		why = "unknown email"
	case !ok:
		why = "wrong password"
	case u.Disabled:
		why = "user disabled"
	}
	if why != "" {
		s.backoff.fail(addr)
		s.fail(ctx, remote, email, why)
		return "", Identity{}, ErrBadCredentials
	}
	tok, t, err := s.issue(ctx, u, "login", s.cfg.TokenTTL)
	if err != nil {
		return "", Identity{}, err
	}
	s.backoff.succeed(addr)
	if err := s.st.ClearLoginFailures(ctx, "email:"+email); err != nil {
		s.log.WarnContext(ctx, "clear failed logins", slog.Any("error", err))
	}
	s.Audit(ctx, store.AuditEvent{Kind: "login", Actor: u.Email, Remote: remote, Target: t.ID, Detail: "password"})
	return tok, identity(u, t), nil
}

// issue creates a token for u and caches it.
func (s *Service) issue(ctx context.Context, u store.User, name string, ttl time.Duration) (string, store.Token, error) {
	tok, h := NewToken()
	t, err := s.st.CreateToken(ctx, store.Token{UserID: u.ID, Name: name, Hash: h[:], ExpiresAt: s.now().Add(ttl)})
	if err != nil {
		return "", store.Token{}, fmt.Errorf("create token: %w", err)
	}
	s.cache(h, identity(u, t))
	return tok, t, nil
}

func identity(u store.User, t store.Token) Identity {
	return Identity{UserID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, TokenID: t.ID, ExpiresAt: t.ExpiresAt}
}

// Authenticate proves a session with a token, as initialize does with
// initializationOptions.token. A token that is malformed, unknown, revoked,
// expired or of a disabled user is [ErrBadCredentials] and counts as a
// failed login of remote; too many of those is a *[LimitError]. It shares
// the address's token bucket and stored count with [Service.Login], but not
// its back-off ([Config.LoginBackoff]): clients behind an address that
// floods password logins still authenticate with their tokens, and a bad
// token, which costs no hash, does not lengthen it.
func (s *Service) Authenticate(ctx context.Context, token, remote string) (Identity, TokenHash, error) {
	if err := s.limitLogin(ctx, remote, ""); err != nil {
		return Identity{}, TokenHash{}, err
	}
	h := HashToken(token)
	if !wellFormed(token) {
		s.fail(ctx, remote, "", "malformed token")
		return Identity{}, TokenHash{}, ErrBadCredentials
	}
	id, err := s.refresh(ctx, h)
	if errors.Is(err, ErrBadCredentials) {
		s.fail(ctx, remote, "", err.Error())
		return Identity{}, TokenHash{}, ErrBadCredentials
	}
	if err != nil {
		return Identity{}, TokenHash{}, err
	}
	s.Audit(ctx, store.AuditEvent{Kind: "login", Actor: id.Email, Remote: remote, Target: id.TokenID, Detail: "token"})
	return id, h, nil
}

// Check returns the identity a token proves, for every request of a session
// that authenticated with it. It answers from the cache while the cached
// check is younger than [Config.Recheck], and reads the store otherwise.
// It returns an error wrapping [ErrBadCredentials] once the token is
// revoked or expired or its user disabled.
func (s *Service) Check(ctx context.Context, h TokenHash) (Identity, error) {
	now := s.now()
	s.mu.Lock()
	c := s.tokens[h]
	if c != nil && now.Sub(c.checked) < s.cfg.Recheck && now.Before(c.id.ExpiresAt) {
		id := c.id
		s.mu.Unlock()
		return id, nil
	}
	s.mu.Unlock()
	return s.refresh(ctx, h)
}

// refreshTimeout bounds the store read of a token check, which runs on a
// session's read goroutine.
const refreshTimeout = 5 * time.Second

// refresh reads the token and its user and caches the answer. The timeout
// is set here, not by the caller: a check the cache answers arms no timer.
func (s *Service) refresh(ctx context.Context, h TokenHash) (Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	t, u, err := s.st.GetTokenByHash(ctx, h[:])
	var why string
	switch {
	case errors.Is(err, store.ErrNotFound):
		why = "unknown token"
	case err != nil:
		return Identity{}, fmt.Errorf("check token: %w", err)
	case !t.RevokedAt.IsZero():
		why = "token revoked"
	case !s.now().Before(t.ExpiresAt):
		why = "token expired"
	case u.Disabled:
		why = "user disabled"
	}
	if why != "" {
		s.mu.Lock()
		delete(s.tokens, h)
		s.mu.Unlock()
		return Identity{}, fmt.Errorf("%w: %s", ErrBadCredentials, why)
	}
	id := identity(u, t)
	s.cache(h, id)
	return id, nil
}

func (s *Service) cache(h TokenHash, id Identity) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) >= maxCached {
		for k, c := range s.tokens {
			if now.Sub(c.checked) >= s.cfg.Recheck {
				delete(s.tokens, k)
			}
		}
	}
	s.tokens[h] = &cachedToken{id: id, checked: now}
}

// forgetToken drops every cached check of the token with this ID.
func (s *Service) forgetToken(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.tokens {
		if c.id.TokenID == id {
			delete(s.tokens, k)
		}
	}
}

// Logout revokes the token a session authenticated with.
func (s *Service) Logout(ctx context.Context, h TokenHash, remote string) error {
	id, err := s.Check(ctx, h)
	if err != nil {
		return err
	}
	if _, err := s.st.RevokeToken(ctx, id.TokenID); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.forgetToken(id.TokenID)
	s.Audit(ctx, store.AuditEvent{Kind: "logout", Actor: id.Email, Remote: remote, Target: id.TokenID})
	return nil
}

// CreateToken issues a token for the user with this email, valid for ttl
// (at most a year; 0 means [Config.TokenTTL]). The token is returned once and
// never stored.
func (s *Service) CreateToken(ctx context.Context, email, name string, ttl time.Duration, by Actor) (string, store.Token, error) {
	if ttl == 0 {
		ttl = s.cfg.TokenTTL
	}
	if ttl < 0 || ttl > 366*24*time.Hour {
		return "", store.Token{}, fmt.Errorf("token lifetime %s: %w", ttl, store.ErrInvalid)
	}
	u, err := s.st.GetUserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return "", store.Token{}, fmt.Errorf("user %s: %w", email, err)
	}
	tok, t, err := s.issue(ctx, u, name, ttl)
	if err != nil {
		return "", store.Token{}, err
	}
	if err := s.auditStrict(ctx, store.AuditEvent{Kind: "token_create", Actor: by.Name, Remote: by.Remote, Target: t.ID, Detail: "for " + u.Email}); err != nil {
		return "", store.Token{}, err
	}
	return tok, t, nil
}

// RevokeToken revokes the token with this ID, here at once and on other
// instances within [Config.Recheck].
func (s *Service) RevokeToken(ctx context.Context, id string, by Actor) (store.Token, error) {
	t, err := s.st.RevokeToken(ctx, id)
	if err != nil {
		return store.Token{}, err
	}
	s.forgetToken(t.ID)
	return t, s.auditStrict(ctx, store.AuditEvent{Kind: "token_revoke", Actor: by.Name, Remote: by.Remote, Target: t.ID})
}

// CreateUser adds a user with a password, which it hashes.
func (s *Service) CreateUser(ctx context.Context, email, name string, role store.Role, password string, by Actor) (store.User, error) {
	email = NormalizeEmail(email)
	if err := CheckEmail(email); err != nil {
		return store.User{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	if !role.Valid() {
		return store.User{}, fmt.Errorf("role %q is not admin, member or viewer: %w", role, store.ErrInvalid)
	}
	if err := CheckPassword(password); err != nil {
		return store.User{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.st.CreateUser(ctx, store.User{Email: email, Name: name, Role: role, PasswordHash: hash})
	if err != nil {
		return store.User{}, err
	}
	return u, s.auditStrict(ctx, store.AuditEvent{Kind: "user_create", Actor: by.Name, Remote: by.Remote, Target: u.Email, Detail: "role " + string(role)})
}

// UpdateUser changes a user's role, disabled flag or password (nil: kept).
// Tokens of a disabled user stop working within [Config.Recheck].
func (s *Service) UpdateUser(ctx context.Context, email string, role *store.Role, disabled *bool, password *string, by Actor) (store.User, error) {
	u, err := s.st.GetUserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return store.User{}, fmt.Errorf("user %s: %w", email, err)
	}
	up := store.UserUpdate{Role: role, Disabled: disabled}
	var changes []string
	if role != nil {
		changes = append(changes, "role "+string(*role))
	}
	if disabled != nil {
		changes = append(changes, fmt.Sprintf("disabled %v", *disabled))
	}
	if password != nil {
		hash, err := HashPassword(*password)
		if err != nil {
			return store.User{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
		}
		up.PasswordHash = &hash
		changes = append(changes, "password changed")
	}
	u, err = s.st.UpdateUser(ctx, u.ID, up)
	if err != nil {
		return store.User{}, err
	}
	s.mu.Lock()
	for k, c := range s.tokens {
		if c.id.UserID == u.ID {
			delete(s.tokens, k)
		}
	}
	s.mu.Unlock()
	return u, s.auditStrict(ctx, store.AuditEvent{Kind: "user_update", Actor: by.Name, Remote: by.Remote, Target: u.Email, Detail: strings.Join(changes, ", ")})
}

// MemberOf reports whether the user is a member of the project, from a
// cache as fresh as [Config.Recheck].
func (s *Service) MemberOf(ctx context.Context, userID, projectID string) (bool, error) {
	key := [2]string{userID, projectID}
	now := s.now()
	s.mu.Lock()
	c, ok := s.members[key]
	s.mu.Unlock()
	if ok && now.Sub(c.checked) < s.cfg.Recheck {
		return c.ok, nil
	}
	member, err := s.st.IsProjectMember(ctx, projectID, userID)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	if len(s.members) >= maxCached {
		clear(s.members)
	}
	s.members[key] = cachedMember{ok: member, checked: now}
	s.mu.Unlock()
	return member, nil
}

// AddMember makes the user with this email a member of the project.
func (s *Service) AddMember(ctx context.Context, projectID, email string, by Actor) (store.User, error) {
	u, err := s.st.GetUserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return store.User{}, fmt.Errorf("user %s: %w", email, err)
	}
	if err := s.st.AddProjectMember(ctx, projectID, u.ID); err != nil {
		return store.User{}, err
	}
	s.forgetMember(u.ID, projectID)
	return u, s.auditStrict(ctx, store.AuditEvent{Kind: "member_add", Actor: by.Name, Remote: by.Remote, Target: u.Email, Detail: "project " + projectID})
}

// RemoveMember ends the membership of the user with this email.
func (s *Service) RemoveMember(ctx context.Context, projectID, email string, by Actor) error {
	u, err := s.st.GetUserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return fmt.Errorf("user %s: %w", email, err)
	}
	if err := s.st.RemoveProjectMember(ctx, projectID, u.ID); err != nil {
		return err
	}
	s.forgetMember(u.ID, projectID)
	return s.auditStrict(ctx, store.AuditEvent{Kind: "member_remove", Actor: by.Name, Remote: by.Remote, Target: u.Email, Detail: "project " + projectID})
}

func (s *Service) forgetMember(userID, projectID string) {
	s.mu.Lock()
	delete(s.members, [2]string{userID, projectID})
	s.mu.Unlock()
}

// Store returns the store the service reads and writes.
func (s *Service) Store() store.Store { return s.st }

// Audit records e, logging rather than returning a failure: it is used where
// the action audited has already been answered (logins, denied calls).
func (s *Service) Audit(ctx context.Context, e store.AuditEvent) {
	if err := s.auditStrict(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit event not recorded", slog.String("kind", e.Kind), slog.Any("error", err))
	}
}

// auditStrict records e and returns a failure, for administrative actions,
// whose caller must learn that the audit trail is incomplete.
func (s *Service) auditStrict(ctx context.Context, e store.AuditEvent) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.st.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("record audit event %s: %w", e.Kind, err)
	}
	return nil
}

// dummyHash is what a login for an unknown email is checked against, so it
// costs what a wrong password costs. It is the argon2id hash, with the
// parameters HashPassword uses, of 24 random bytes that were thrown away;
// being a constant, it costs nothing at start (hashing one there took about
// 40 ms and 19 MiB of resident memory on every server start).
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$n3BQK+FraOge5llHdeAfbQ$kQQItx3bRJXdIS/aALOv2G/QxH+VxF8UF+ueB3+SjDQ"
