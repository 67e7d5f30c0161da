package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gathering-dev/gathering/auth"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace/document"
)

// authMethods lists the accounts, tokens, audit and membership methods.
func authMethods() []*method {
	return []*method{
		request(protocol.MethodAuthLogin, accessPublic, (*Session).authLogin),
		request(protocol.MethodAuthLogout, accessRead, (*Session).authLogout),
		request(protocol.MethodAuthWhoami, accessRead, (*Session).authWhoami),
		request(protocol.MethodUserList, accessAdmin, (*Session).userList),
		request(protocol.MethodUserCreate, accessAdmin, (*Session).userCreate),
		request(protocol.MethodUserUpdate, accessAdmin, (*Session).userUpdate),
		request(protocol.MethodTokenCreate, accessAdmin, (*Session).tokenCreate),
		request(protocol.MethodTokenList, accessAdmin, (*Session).tokenList),
		request(protocol.MethodTokenRevoke, accessAdmin, (*Session).tokenRevoke),
		request(protocol.MethodAuditList, accessAdmin, (*Session).auditList),
		request(protocol.MethodProjectMembers, accessRead, (*Session).projectMembers),
		request(protocol.MethodProjectMemberAdd, accessAdmin, (*Session).projectMemberAdd),
		request(protocol.MethodProjectMemberRemove, accessAdmin, (*Session).projectMemberRemove),
	}
}

// who returns whom the session acts for, and the token it proved it with.
func (s *Session) who() (Principal, *auth.TokenHash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.principal, s.token
}

func (s *Session) setPrincipal(p Principal, tok *auth.TokenHash) {
	s.mu.Lock()
	s.principal, s.token = p, tok
	s.mu.Unlock()
}

func principalOf(id auth.Identity) Principal {
	role := RoleViewer
	switch id.Role {
	case store.RoleAdmin:
		role = RoleAdmin
	case store.RoleMember:
		role = RoleMember
	}
	return Principal{Name: id.Email, Role: role, UserID: id.UserID}
}

func roleName(r Role) string {
	switch r {
	case RoleAdmin:
		return string(store.RoleAdmin)
	case RoleMember:
		return string(store.RoleMember)
	case RoleViewer:
		return string(store.RoleViewer)
	}
	return ""
}

// notificationCost is what one notification takes from its connection's
// request limit, in requests: a tenth, so a connection may send ten
// notifications for every request --rate-limit allows, in a bucket of its
// own — 2,000 a second in bursts of 4,000 at the default 200/s. That is
// more than an editor's didChange storm (a keystroke each, a paste or a
// replace-all of a few thousand at once) and less than a flood. A
// notification cannot be answered, so one over the limit is dropped.
const notificationCost = 0.1

// reportWindow bounds the reports of refusals that a flood could repeat:
// one connection's unauthenticated or rate-limited calls are audited, and
// its dropped notifications logged, at most once per window each.
const reportWindow = time.Minute

// reportLimit allows one report per key per reportWindow. Its keys begin
// with a session ID, random across every server of the process, so one
// limiter serves them all.
var reportLimit = auth.NewLimiter(1/reportWindow.Seconds(), 1)

// authorize decides whether the session may call m now. For a session
// authenticated with a token it rechecks the token (from the cache, or the
// store once per Recheck), so a revocation, a disabled user or a new role
// takes effect within Recheck on every instance. Calls of anyone but the
// local owner are rate limited: requests per connection and per user,
// notifications per connection at notificationCost.
func (s *Session) authorize(ctx context.Context, m *method, isRequest bool) error {
	p, tok := s.who()
	return s.authorizeAs(ctx, m, p, tok, isRequest)
}

// authorizeAs is authorize for the caller p, with its token tok, as the
// caller read them from the session.
func (s *Session) authorizeAs(ctx context.Context, m *method, p Principal, tok *auth.TokenHash, isRequest bool) error {
	if tok != nil {
		id, err := s.srv.cfg.Auth.Check(ctx, *tok)
		if errors.Is(err, auth.ErrBadCredentials) {
			s.setPrincipal(Principal{}, nil)
			return protocol.Errorf(protocol.ErrUnauthorized, "%v; log in again", err)
		}
		if err != nil {
			return err
		}
		if np := principalOf(id); np != p {
			p = np
			s.setPrincipal(p, tok)
		}
	}
	if err := s.limit(m, p, isRequest); err != nil {
		if !isRequest {
			s.reportDropped(m.name, err)
		}
		s.reportRefused(ctx, p, m.name, err)
		return err
	}
	if m.access != accessPublic && !p.authenticated() {
		err := protocol.Errorf(protocol.ErrUnauthorized,
			"authenticate first: present a token in initializationOptions.token or call %s", protocol.MethodAuthLogin)
		if isRequest {
			// Notifications are not: every client that logs in after
			// initialize sends "initialized" before it has.
			s.reportRefused(ctx, p, m.name, err)
		}
		return err
	}
	if err := p.may(m.access); err != nil {
		s.auditDenied(ctx, p, m.name, err)
		return err
	}
	return nil
}

// limit takes m's call from the session's rate limits, or returns a
// rate_limited error. The local owner is not limited.
func (s *Session) limit(m *method, p Principal, isRequest bool) error {
	switch {
	case p.Local:
		return nil
	case !isRequest:
		if ok, wait := s.srv.connLimit.AllowN(s.id+"\x00notifications", notificationCost); !ok {
			return rateLimited(wait, "notifications on this connection")
		}
	case m.access == accessPublic:
		if ok, wait := s.srv.loginLimit.Allow(s.id); !ok {
			return rateLimited(wait, "logins on this connection")
		}
	default:
		if ok, wait := s.srv.connLimit.Allow(s.id); !ok {
			return rateLimited(wait, "requests on this connection")
		}
		if p.UserID != "" {
			if ok, wait := s.srv.userLimit.Allow(p.UserID); !ok {
				return rateLimited(wait, "requests of "+p.Name)
			}
		}
	}
	return nil
}

// reportDropped logs that the session's notifications are being dropped
// over its limit, once per reportWindow.
func (s *Session) reportDropped(method string, why error) {
	if ok, _ := reportLimit.Allow(s.id + "\x00dropped"); ok {
		s.log.Warn("dropping notifications over the connection's limit; logged once a minute at most",
			slog.String("method", method), slog.String("remote", s.remote), slog.Any("error", why))
	}
}

// reportRefused audits a call refused before the caller's role was
// considered (an unauthenticated request, or a call over a rate limit) once
// per reportWindow per session: enough to see who knocks, too little for a
// flood of refusals to flood the store.
func (s *Session) reportRefused(ctx context.Context, p Principal, method string, why error) {
	if s.srv.cfg.Auth == nil || p.Local {
		return
	}
	if ok, _ := reportLimit.Allow(s.id + "\x00refused"); ok {
		s.srv.cfg.Auth.Audit(ctx, store.AuditEvent{Kind: "denied", Actor: p.Name, Remote: s.remote, Target: method,
			Detail: why.Error() + " (one recorded per connection per minute)"})
	}
}

// mayProject checks that the session may act on the project: admins and
// the local owner on every one, others on those they are members of.
func (s *Session) mayProject(ctx context.Context, method, projectID string) error {
	p, _ := s.who()
	if p.allProjects() {
		return nil
	}
	ok := false
	if p.UserID != "" && s.srv.cfg.Auth != nil {
		var err error
		if ok, err = s.srv.cfg.Auth.MemberOf(ctx, p.UserID, projectID); err != nil {
			return fmt.Errorf("check membership: %w", err)
		}
	}
	if !ok {
		err := protocol.Errorf(protocol.ErrForbidden, "%s is not a member of project %q", p.describe(), projectID)
		s.auditDenied(ctx, p, method, err)
		return err
	}
	return nil
}

// auditDenied records a refused call of an authenticated user.
func (s *Session) auditDenied(ctx context.Context, p Principal, method string, why error) {
	if s.srv.cfg.Auth == nil || p.Local {
		return
	}
	s.srv.cfg.Auth.Audit(ctx, store.AuditEvent{Kind: "denied", Actor: p.Name, Remote: s.remote, Target: method, Detail: why.Error()})
}

func rateLimited(wait time.Duration, what string) error {
	e := protocol.NewError(protocol.CodeRateLimited, protocol.RateLimited,
		fmt.Sprintf("rate limited: too many %s; retry after %d ms", what, wait.Milliseconds()))
	e.Data.RetryAfterMS = max(1, (wait + time.Millisecond - 1).Milliseconds())
	return e
}

// authError turns the auth package's errors into coded protocol errors.
func authError(err error) error {
	if le, ok := errors.AsType[*auth.LimitError](err); ok {
		return rateLimited(le.RetryAfter, "failed logins")
	}
	if errors.Is(err, auth.ErrBadCredentials) {
		return fmt.Errorf("%w: %w", protocol.ErrUnauthorized, err)
	}
	return storeError(err)
}

// authenticateInitialize proves the session with
// initializationOptions.token when it has one. The local owner's sessions
// ignore it: they are already the strongest principal.
func (s *Session) authenticateInitialize(ctx context.Context, raw json.RawMessage) error {
	var params struct {
		Options json.RawMessage `json:"initializationOptions"`
	}
	var opts struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(raw, &params) != nil || json.Unmarshal(params.Options, &opts) != nil || opts.Token == "" {
		return nil // no token: initialize reports malformed params itself
	}
	if p, _ := s.who(); p.Local {
		return nil
	}
	a := s.srv.cfg.Auth
	if a == nil {
		return protocol.Errorf(protocol.ErrUnauthorized, "this server has no accounts")
	}
	id, h, err := a.Authenticate(ctx, opts.Token, s.remote)
	if err != nil {
		return fmt.Errorf("initialize: %w", authError(err))
	}
	s.setPrincipal(principalOf(id), &h)
	s.log.Info("authenticated", slog.String("user", id.Email), slog.String("with", "token"))
	return nil
}

// accounts returns the auth service, or an error when there is none.
func (s *Session) accounts() (*auth.Service, error) {
	if s.srv.cfg.Auth == nil {
		return nil, protocol.Errorf(protocol.ErrInvalidRequest, "this server has no accounts")
	}
	return s.srv.cfg.Auth, nil
}

// actor is the session's principal for the audit log.
func (s *Session) actor() auth.Actor {
	p, _ := s.who()
	return auth.Actor{Name: p.Name, Remote: s.remote}
}

func (s *Session) authLogin(ctx context.Context, _ *document.Snapshot, p *protocol.LoginParams) (*protocol.LoginResult, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	tok, id, err := a.Login(ctx, p.Email, p.Password, s.remote)
	if err != nil {
		return nil, authError(err)
	}
	h := auth.HashToken(tok)
	s.setPrincipal(principalOf(id), &h)
	s.log.Info("authenticated", slog.String("user", id.Email), slog.String("with", "password"))
	u, err := a.Store().GetUser(ctx, id.UserID)
	if err != nil {
		return nil, storeError(err)
	}
	return &protocol.LoginResult{Token: tok, ExpiresAt: id.ExpiresAt.UTC(), User: wireUser(u)}, nil
}

func (s *Session) authLogout(ctx context.Context, _ *document.Snapshot, _ *protocol.LogoutParams) (*protocol.LogoutResult, error) {
	_, tok := s.who()
	if tok == nil {
		return nil, protocol.Errorf(protocol.ErrInvalidRequest, "this session did not log in with a token")
	}
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	id, err := a.Check(ctx, *tok)
	if err != nil {
		return nil, authError(err)
	}
	if err := a.Logout(ctx, *tok, s.remote); err != nil {
		return nil, authError(err)
	}
	s.setPrincipal(Principal{}, nil)
	return &protocol.LogoutResult{Revoked: id.TokenID}, nil
}

func (s *Session) authWhoami(ctx context.Context, _ *document.Snapshot, _ *protocol.WhoamiParams) (*protocol.WhoamiResult, error) {
	p, tok := s.who()
	res := &protocol.WhoamiResult{Name: p.Name, Role: roleName(p.Role), Local: p.Local, UserID: p.UserID}
	if tok != nil {
		id, err := s.srv.cfg.Auth.Check(ctx, *tok)
		if err != nil {
			return nil, authError(err)
		}
		exp := id.ExpiresAt.UTC()
		res.TokenID, res.ExpiresAt = id.TokenID, &exp
	}
	return res, nil
}

func wireUser(u store.User) protocol.User {
	return protocol.User{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC()}
}

func wireToken(t store.Token) protocol.Token {
	w := protocol.Token{ID: t.ID, UserID: t.UserID, Name: t.Name, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC()}
	if !t.RevokedAt.IsZero() {
		r := t.RevokedAt.UTC()
		w.RevokedAt = &r
	}
	return w
}

func (s *Session) userList(ctx context.Context, _ *document.Snapshot, p *protocol.UserListParams) (*protocol.UserListResult, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	us, next, err := a.Store().ListUsers(ctx, store.ListOptions{After: p.After, Limit: p.Limit})
	if err != nil {
		return nil, storeError(err)
	}
	out := &protocol.UserListResult{Users: make([]protocol.User, len(us)), Next: next}
	for i, u := range us {
		out.Users[i] = wireUser(u)
	}
	return out, nil
}

func (s *Session) userCreate(ctx context.Context, _ *document.Snapshot, p *protocol.UserCreateParams) (*protocol.User, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	u, err := a.CreateUser(ctx, p.Email, p.Name, store.Role(p.Role), p.Password, s.actor())
	if err != nil {
		return nil, storeError(err)
	}
	w := wireUser(u)
	return &w, nil
}

func (s *Session) userUpdate(ctx context.Context, _ *document.Snapshot, p *protocol.UserUpdateParams) (*protocol.User, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	var role *store.Role
	if p.Role != nil {
		r := store.Role(*p.Role)
		role = &r
	}
	u, err := a.UpdateUser(ctx, p.Email, role, p.Disabled, p.Password, s.actor())
	if err != nil {
		return nil, storeError(err)
	}
	w := wireUser(u)
	return &w, nil
}

func (s *Session) tokenCreate(ctx context.Context, _ *document.Snapshot, p *protocol.TokenCreateParams) (*protocol.TokenCreateResult, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	if p.TTLSeconds < 0 {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "ttlSeconds must not be negative")
	}
	secret, t, err := a.CreateToken(ctx, p.Email, p.Name, time.Duration(min(p.TTLSeconds, 1<<32))*time.Second, s.actor())
	if err != nil {
		return nil, storeError(err)
	}
	return &protocol.TokenCreateResult{Secret: secret, Token: wireToken(t)}, nil
}

func (s *Session) tokenList(ctx context.Context, _ *document.Snapshot, p *protocol.TokenListParams) (*protocol.TokenListResult, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	userID := ""
	if p.Email != "" {
		u, err := a.Store().GetUserByEmail(ctx, auth.NormalizeEmail(p.Email))
		if err != nil {
			return nil, storeError(err)
		}
		userID = u.ID
	}
	ts, next, err := a.Store().ListTokens(ctx, userID, store.ListOptions{After: p.After, Limit: p.Limit})
	if err != nil {
		return nil, storeError(err)
	}
	out := &protocol.TokenListResult{Tokens: make([]protocol.Token, len(ts)), Next: next}
	for i, t := range ts {
		out.Tokens[i] = wireToken(t)
	}
	return out, nil
}

func (s *Session) tokenRevoke(ctx context.Context, _ *document.Snapshot, p *protocol.TokenRevokeParams) (*protocol.Token, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	t, err := a.RevokeToken(ctx, p.ID, s.actor())
	if err != nil {
		return nil, storeError(err)
	}
	w := wireToken(t)
	return &w, nil
}

func (s *Session) auditList(ctx context.Context, _ *document.Snapshot, p *protocol.AuditListParams) (*protocol.AuditListResult, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	q := store.AuditQuery{Kind: p.Kind, Actor: p.Actor, Target: p.Target, Before: p.Before, Limit: p.Limit}
	if p.Since != nil {
		q.Since = *p.Since
	}
	if p.Until != nil {
		q.Until = *p.Until
	}
	es, next, err := a.Store().ListAudit(ctx, q)
	if err != nil {
		return nil, storeError(err)
	}
	out := &protocol.AuditListResult{Events: make([]protocol.AuditEvent, len(es)), Next: next}
	for i, e := range es {
		out.Events[i] = protocol.AuditEvent{ID: e.ID, At: e.At.UTC(), Kind: e.Kind, Actor: e.Actor, Remote: e.Remote, Target: e.Target, Detail: e.Detail}
	}
	return out, nil
}

func (s *Session) projectMembers(ctx context.Context, _ *document.Snapshot, p *protocol.ProjectMembersParams) (*protocol.ProjectMembersResult, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	if _, err := s.srv.projects.Get(ctx, p.Project); err != nil {
		return nil, storeError(err)
	}
	ms, err := a.Store().ListProjectMembers(ctx, p.Project)
	if err != nil {
		return nil, storeError(err)
	}
	out := &protocol.ProjectMembersResult{Members: make([]protocol.Member, len(ms))}
	for i, m := range ms {
		out.Members[i] = protocol.Member{UserID: m.UserID, Email: m.Email, Role: string(m.Role), AddedAt: m.AddedAt.UTC()}
	}
	return out, nil
}

func (s *Session) projectMemberAdd(ctx context.Context, _ *document.Snapshot, p *protocol.ProjectMemberParams) (*protocol.Member, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	u, err := a.AddMember(ctx, p.Project, p.Email, s.actor())
	if err != nil {
		return nil, storeError(err)
	}
	return &protocol.Member{UserID: u.ID, Email: u.Email, Role: string(u.Role), AddedAt: time.Now().UTC()}, nil
}

func (s *Session) projectMemberRemove(ctx context.Context, _ *document.Snapshot, p *protocol.ProjectMemberParams) (*protocol.ProjectDeleteResult, error) {
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	if err := a.RemoveMember(ctx, p.Project, p.Email, s.actor()); err != nil {
		return nil, storeError(err)
	}
	return &protocol.ProjectDeleteResult{ID: p.Project}, nil
}

// orDefault returns v, or def when v is zero.
func orDefault[T int | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
