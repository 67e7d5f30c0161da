package storetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/store"
)

// authTests are the conformance tests of [store.AuthStore].
var authTests = []struct {
	name string
	run  func(t *testing.T, open func(t *testing.T) store.Store)
}{
	{"Users", testUsers},
	{"UserInvalid", testUserInvalid},
	{"Tokens", testTokens},
	{"TokenInvalid", testTokenInvalid},
	{"Members", testMembers},
	{"Audit", testAudit},
	{"LoginFailures", testLoginFailures},
}

func newUser(t testing.TB, s store.Store, email string, role store.Role) store.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), store.User{Email: email, Name: "N " + email, Role: role, PasswordHash: "$argon2id$x"})
	if err != nil {
		t.Fatalf("CreateUser(%q) error: %v", email, err)
	}
	return u
}

func testUsers(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	a := newUser(t, s, "a@example.com", store.RoleAdmin)
	if a.ID == "" || a.CreatedAt.IsZero() || a.Role != store.RoleAdmin || a.Disabled {
		t.Fatalf("CreateUser() = %+v", a)
	}
	if _, err := s.CreateUser(ctx, store.User{Email: "a@example.com", Role: store.RoleViewer, PasswordHash: "h"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateUser(same email) error = %v, want ErrConflict", err)
	}
	got, err := s.GetUserByEmail(ctx, "a@example.com")
	if err != nil || got != a {
		t.Errorf("GetUserByEmail() = %+v, %v, want %+v", got, err, a)
	}
	if got, err := s.GetUser(ctx, a.ID); err != nil || got != a {
		t.Errorf("GetUser() = %+v, %v, want %+v", got, err, a)
	}
	for _, id := range []string{"nope", "01890000-0000-7000-8000-000000000000"} {
		if _, err := s.GetUser(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUser(%q) error = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.GetUserByEmail(ctx, "A@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUserByEmail(other case) error = %v, want ErrNotFound: the store compares exactly", err)
	}

	role, off, hash := store.RoleViewer, true, "$argon2id$y"
	u, err := s.UpdateUser(ctx, a.ID, store.UserUpdate{Role: &role, Disabled: &off, PasswordHash: &hash})
	if err != nil || u.Role != role || !u.Disabled || u.PasswordHash != hash || !u.UpdatedAt.After(a.UpdatedAt) || u.Email != a.Email {
		t.Errorf("UpdateUser() = %+v, %v", u, err)
	}
	if got := mustGetUser(t, s, a.ID); got != u {
		t.Errorf("GetUser() after update = %+v, want %+v", got, u)
	}
	if _, err := s.UpdateUser(ctx, "01890000-0000-7000-8000-000000000000", store.UserUpdate{Role: &role}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser(missing) error = %v, want ErrNotFound", err)
	}

	for i := range 5 {
		newUser(t, s, fmt.Sprintf("u%d@example.com", i), store.RoleMember)
	}
	var all []store.User
	after := ""
	for {
		us, next, err := s.ListUsers(ctx, store.ListOptions{After: after, Limit: 2})
		if err != nil {
			t.Fatalf("ListUsers() error: %v", err)
		}
		all = append(all, us...)
		if next == "" {
			break
		}
		after = next
	}
	if len(all) != 6 || all[0].ID != a.ID {
		t.Errorf("ListUsers() paged = %d users, first %v; want 6, first %s", len(all), all[0].ID, a.ID)
	}
}

func mustGetUser(t testing.TB, s store.Store, id string) store.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), id)
	if err != nil {
		t.Fatalf("GetUser(%q) error: %v", id, err)
	}
	return u
}

func testUserInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	for _, u := range []store.User{
		{Email: "", Role: store.RoleAdmin, PasswordHash: "h"},
		{Email: "a@b", Role: "root", PasswordHash: "h"},
		{Email: "a@b", Role: store.RoleAdmin, PasswordHash: ""},
		{Email: "a\x00@b", Role: store.RoleAdmin, PasswordHash: "h"},
		{Email: "a\xff@b", Role: store.RoleAdmin, PasswordHash: "h"},
	} {
		if _, err := s.CreateUser(ctx, u); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CreateUser(%+v) error = %v, want ErrInvalid", u, err)
		}
	}
	a := newUser(t, s, "a@b", store.RoleMember)
	bad := store.Role("root")
	if _, err := s.UpdateUser(ctx, a.ID, store.UserUpdate{Role: &bad}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("UpdateUser(role root) error = %v, want ErrInvalid", err)
	}
}

func newHash(t testing.TB) []byte {
	t.Helper()
	h := sha256.Sum256([]byte(rand.Text()))
	return h[:]
}

func testTokens(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	a := newUser(t, s, "a@example.com", store.RoleMember)
	b := newUser(t, s, "b@example.com", store.RoleViewer)
	hash := newHash(t)
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	tok, err := s.CreateToken(ctx, store.Token{UserID: a.ID, Name: "ci", Hash: hash, ExpiresAt: exp})
	if err != nil {
		t.Fatalf("CreateToken() error: %v", err)
	}
	if tok.ID == "" || tok.UserID != a.ID || tok.Name != "ci" || !tok.ExpiresAt.Equal(exp) || !tok.RevokedAt.IsZero() || tok.CreatedAt.IsZero() {
		t.Errorf("CreateToken() = %+v", tok)
	}
	if _, err := s.CreateToken(ctx, store.Token{UserID: b.ID, Hash: hash, ExpiresAt: exp}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateToken(same hash) error = %v, want ErrConflict", err)
	}
	if _, err := s.CreateToken(ctx, store.Token{UserID: "01890000-0000-7000-8000-000000000000", Hash: newHash(t), ExpiresAt: exp}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateToken(unknown user) error = %v, want ErrNotFound", err)
	}
	got, u, err := s.GetTokenByHash(ctx, hash)
	if err != nil || got.ID != tok.ID || !bytes.Equal(got.Hash, hash) || u.ID != a.ID || u.Email != a.Email || u.Role != a.Role {
		t.Errorf("GetTokenByHash() = %+v, %+v, %v", got, u, err)
	}
	if _, _, err := s.GetTokenByHash(ctx, newHash(t)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTokenByHash(unknown) error = %v, want ErrNotFound", err)
	}
	tb, err := s.CreateToken(ctx, store.Token{UserID: b.ID, Hash: newHash(t), ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if ts, _, err := s.ListTokens(ctx, "", store.ListOptions{}); err != nil || len(ts) != 2 || ts[0].ID != tok.ID || ts[1].ID != tb.ID || ts[0].Hash != nil {
		t.Errorf("ListTokens(all) = %+v, %v; want both tokens, without hashes", ts, err)
	}
	if ts, _, err := s.ListTokens(ctx, b.ID, store.ListOptions{}); err != nil || len(ts) != 1 || ts[0].ID != tb.ID {
		t.Errorf("ListTokens(b) = %+v, %v; want b's token", ts, err)
	}

	r1, err := s.RevokeToken(ctx, tok.ID)
	if err != nil || r1.RevokedAt.IsZero() {
		t.Fatalf("RevokeToken() = %+v, %v", r1, err)
	}
	r2, err := s.RevokeToken(ctx, tok.ID)
	if err != nil || !r2.RevokedAt.Equal(r1.RevokedAt) {
		t.Errorf("RevokeToken() again = %+v, %v; want the first revocation time %v kept", r2, err, r1.RevokedAt)
	}
	if got, _, err := s.GetTokenByHash(ctx, hash); err != nil || !got.RevokedAt.Equal(r1.RevokedAt) {
		t.Errorf("GetTokenByHash() after revoke = %+v, %v; want revoked at %v", got, err, r1.RevokedAt)
	}
	if _, err := s.RevokeToken(ctx, "01890000-0000-7000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeToken(unknown) error = %v, want ErrNotFound", err)
	}
}

func testTokenInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	a := newUser(t, s, "a@example.com", store.RoleMember)
	exp := time.Now().Add(time.Hour)
	for _, tok := range []store.Token{
		{UserID: a.ID, Hash: []byte("short"), ExpiresAt: exp},
		{UserID: a.ID, Hash: newHash(t)},
		{UserID: a.ID, Hash: newHash(t), ExpiresAt: exp, Name: "x\x00"},
	} {
		if _, err := s.CreateToken(ctx, tok); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CreateToken(%+v) error = %v, want ErrInvalid", tok, err)
		}
	}
}

func testMembers(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	a := newUser(t, s, "a@example.com", store.RoleMember)
	b := newUser(t, s, "b@example.com", store.RoleViewer)
	p1 := create(t, s, "one", "/one")
	p2 := create(t, s, "two", "/two")
	create(t, s, "three", "/three")
	for range 2 { // adding twice is no error
		if err := s.AddProjectMember(ctx, p1.ID, a.ID); err != nil {
			t.Fatalf("AddProjectMember() error: %v", err)
		}
	}
	if err := s.AddProjectMember(ctx, p2.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AddProjectMember(ctx, p1.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AddProjectMember(ctx, p1.ID, "01890000-0000-7000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddProjectMember(unknown user) error = %v, want ErrNotFound", err)
	}
	if err := s.AddProjectMember(ctx, "01890000-0000-7000-8000-000000000000", a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddProjectMember(unknown project) error = %v, want ErrNotFound", err)
	}
	for _, c := range []struct {
		p, u string
		want bool
	}{{p1.ID, a.ID, true}, {p2.ID, a.ID, true}, {p2.ID, b.ID, false}, {"x", a.ID, false}} {
		if got, err := s.IsProjectMember(ctx, c.p, c.u); err != nil || got != c.want {
			t.Errorf("IsProjectMember(%s, %s) = %v, %v, want %v", c.p, c.u, got, err, c.want)
		}
	}
	ms, err := s.ListProjectMembers(ctx, p1.ID)
	if err != nil || len(ms) != 2 || ms[0].UserID != a.ID || ms[0].Email != a.Email || ms[1].Role != store.RoleViewer || ms[0].AddedAt.IsZero() {
		t.Errorf("ListProjectMembers() = %+v, %v", ms, err)
	}
	ps, _, err := s.ListProjects(ctx, store.ListOptions{MemberOf: a.ID})
	if err != nil || len(ps) != 2 || ps[0].ID != p1.ID || ps[1].ID != p2.ID {
		t.Errorf("ListProjects(MemberOf a) = %+v, %v; want one and two", ps, err)
	}
	if ps, _, err := s.ListProjects(ctx, store.ListOptions{MemberOf: a.ID, Limit: 1}); err != nil || len(ps) != 1 {
		t.Errorf("ListProjects(MemberOf a, limit 1) = %+v, %v", ps, err)
	}
	if err := s.RemoveProjectMember(ctx, p2.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveProjectMember(ctx, p2.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveProjectMember() again error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteProject(ctx, p1.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.IsProjectMember(ctx, p1.ID, a.ID); err != nil || ok {
		t.Errorf("IsProjectMember() after the project was deleted = %v, %v", ok, err)
	}
	if ps, _, err := s.ListProjects(ctx, store.ListOptions{MemberOf: a.ID}); err != nil || len(ps) != 0 {
		t.Errorf("ListProjects(MemberOf a) at the end = %+v, %v; want none", ps, err)
	}
}

func testAudit(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	start := time.Now().Add(-time.Second)
	var ids []string
	for i := range 7 {
		kind := "login"
		if i%2 == 1 {
			kind = "login_failed"
		}
		e, err := s.AppendAudit(ctx, store.AuditEvent{Kind: kind, Actor: fmt.Sprintf("u%d", i%3), Remote: "192.0.2.1:5", Target: "t", Detail: "d"})
		if err != nil {
			t.Fatalf("AppendAudit() error: %v", err)
		}
		if e.ID == "" || e.At.Before(start) {
			t.Fatalf("AppendAudit() = %+v", e)
		}
		ids = append(ids, e.ID)
	}
	if _, err := s.AppendAudit(ctx, store.AuditEvent{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AppendAudit(no kind) error = %v, want ErrInvalid", err)
	}
	var all []store.AuditEvent
	before := ""
	for {
		es, next, err := s.ListAudit(ctx, store.AuditQuery{Before: before, Limit: 3})
		if err != nil {
			t.Fatalf("ListAudit() error: %v", err)
		}
		all = append(all, es...)
		if next == "" {
			break
		}
		before = next
	}
	if len(all) != 7 || all[0].ID != ids[6] || all[6].ID != ids[0] {
		t.Errorf("ListAudit() paged = %d events; want 7, newest first", len(all))
	}
	if es, _, err := s.ListAudit(ctx, store.AuditQuery{Kind: "login_failed"}); err != nil || len(es) != 3 {
		t.Errorf("ListAudit(kind login_failed) = %d events, %v; want 3", len(es), err)
	}
	if es, _, err := s.ListAudit(ctx, store.AuditQuery{Kind: "login", Actor: "u0"}); err != nil || len(es) != 2 {
		t.Errorf("ListAudit(kind login, actor u0) = %d events, %v; want 2 (events 0 and 6)", len(es), err)
	}
	if es, _, err := s.ListAudit(ctx, store.AuditQuery{Since: time.Now().Add(time.Hour)}); err != nil || len(es) != 0 {
		t.Errorf("ListAudit(since the future) = %d events, %v; want 0", len(es), err)
	}
	if es, _, err := s.ListAudit(ctx, store.AuditQuery{Since: start, Until: time.Now().Add(time.Hour)}); err != nil || len(es) != 7 {
		t.Errorf("ListAudit(since start) = %d events, %v; want 7", len(es), err)
	}
	if _, _, err := s.ListAudit(ctx, store.AuditQuery{Before: "!!"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ListAudit(bad cursor) error = %v, want ErrInvalid", err)
	}
}

func testLoginFailures(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	since := time.Now().Add(-time.Minute)
	for range 3 {
		if err := s.RecordLoginFailure(ctx, "email:a@b", "addr:192.0.2.1"); err != nil {
			t.Fatalf("RecordLoginFailure() error: %v", err)
		}
	}
	if err := s.RecordLoginFailure(ctx, "addr:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	n, oldest, err := s.LoginFailures(ctx, "addr:192.0.2.1", since)
	if err != nil || n != 4 || oldest.Before(since) {
		t.Errorf("LoginFailures(addr) = %d, %v, %v; want 4 since %v", n, oldest, err, since)
	}
	if n, _, err := s.LoginFailures(ctx, "email:a@b", time.Now().Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("LoginFailures(from the future) = %d, %v; want 0", n, err)
	}
	if err := s.ClearLoginFailures(ctx, "email:a@b"); err != nil {
		t.Fatal(err)
	}
	if n, oldest, err := s.LoginFailures(ctx, "email:a@b", since); err != nil || n != 0 || !oldest.IsZero() {
		t.Errorf("LoginFailures(email) after clear = %d, %v, %v; want 0", n, oldest, err)
	}
	if err := s.PruneLoginFailures(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.LoginFailures(ctx, "addr:192.0.2.1", since); err != nil || n != 0 {
		t.Errorf("LoginFailures(addr) after prune = %d, %v; want 0", n, err)
	}
	if err := s.RecordLoginFailure(ctx, "bad\x00"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RecordLoginFailure(NUL) error = %v, want ErrInvalid", err)
	}
}
