package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/auth"
	"github.com/gathering-dev/gathering/internal/rpc"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/protocol/lsp"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace"
)

type authBundle struct {
	st      store.Store
	auth    *auth.Service
	project store.Project
	admin   auth.Actor
}

// setupAuth starts a server with accounts on a SQLite store, with one
// project, and users admin@, member@ (a member of the project), viewer@ (a
// member too) and outsider@ (a member user who is not), all with the
// password "password-1".
func setupAuth(t *testing.T, cfg *Config, acfg *auth.Config) (*Server, *authBundle) {
	t.Helper()
	dir := t.TempDir()
	st := openStore(t, dir)
	a, err := auth.New(st, acfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		cfg = &Config{}
	}
	cfg.DebugMethods = true
	cfg.Auth = a
	srv := New(workspace.NewProjects(st, nil), cfg)
	b := &authBundle{st: st, auth: a, admin: auth.Actor{Name: "test"}}
	if b.project, err = st.CreateProject(t.Context(), store.Project{Name: "p", Root: dir}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		email  string
		role   store.Role
		member bool
	}{{"admin@example.com", store.RoleAdmin, false}, {"member@example.com", store.RoleMember, true}, {"viewer@example.com", store.RoleViewer, true}, {"outsider@example.com", store.RoleMember, false}} {
		if _, err := a.CreateUser(t.Context(), u.email, "", u.role, "password-1", b.admin); err != nil {
			t.Fatal(err)
		}
		if u.member {
			if _, err := a.AddMember(t.Context(), b.project.ID, u.email, b.admin); err != nil {
				t.Fatal(err)
			}
		}
	}
	return srv, b
}

// principal returns the principal of a stored user, as a token would make it.
func (b *authBundle) principal(t *testing.T, email string) Principal {
	t.Helper()
	u, err := b.st.GetUserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return principalOf(auth.Identity{UserID: u.ID, Email: u.Email, Role: u.Role})
}

func (b *authBundle) token(t *testing.T, email string) string {
	t.Helper()
	tok, _, err := b.auth.CreateToken(t.Context(), email, "test", time.Hour, b.admin)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func initParams(token string) map[string]any {
	return map[string]any{"processId": nil, "rootUri": nil, "capabilities": map[string]any{},
		"initializationOptions": map[string]any{"token": token}}
}

func TestUnauthenticatedSessionMustLogIn(t *testing.T) {
	srv, b := setupAuth(t, nil, nil)
	c := connect(t, srv, Principal{})
	c.initialize(nil)
	wantCode(t, c.call(protocol.MethodStatus, nil, nil), protocol.CodeUnauthorized, protocol.Unauthorized)
	wantCode(t, c.call(protocol.MethodProjectList, nil, nil), protocol.CodeUnauthorized, protocol.Unauthorized)
	wantCode(t, c.call(protocol.MethodAuthLogin, protocol.LoginParams{Email: "member@example.com", Password: "wrong-one"}, nil),
		protocol.CodeUnauthorized, protocol.Unauthorized)
	var res protocol.LoginResult
	c.mustCall(protocol.MethodAuthLogin, protocol.LoginParams{Email: "Member@Example.com", Password: "password-1"}, &res)
	if !strings.HasPrefix(res.Token, "gat_") || res.User.Role != "member" || res.ExpiresAt.Before(time.Now()) {
		t.Errorf("login = %+v", res)
	}
	var who protocol.WhoamiResult
	c.mustCall(protocol.MethodAuthWhoami, nil, &who)
	if who.Name != "member@example.com" || who.Role != "member" || who.Local || who.ExpiresAt == nil {
		t.Errorf("whoami = %+v", who)
	}
	var list protocol.ProjectListResult
	c.mustCall(protocol.MethodProjectList, nil, &list)
	if len(list.Projects) != 1 || list.Projects[0].ID != b.project.ID {
		t.Errorf("project/list of a member = %+v, want its one project", list)
	}
	// The token works on another session, until logout revokes it.
	other := connect(t, srv, Principal{})
	other.initialize(initParams(res.Token))
	other.mustCall(protocol.MethodStatus, nil, nil)
	var out protocol.LogoutResult
	c.mustCall(protocol.MethodAuthLogout, nil, &out)
	wantCode(t, c.call(protocol.MethodStatus, nil, nil), protocol.CodeUnauthorized, protocol.Unauthorized)
	wantCode(t, other.call(protocol.MethodStatus, nil, nil), protocol.CodeUnauthorized, protocol.Unauthorized)
	for _, kind := range []string{"login", "login_failed", "logout"} {
		if es, _, _ := b.st.ListAudit(t.Context(), store.AuditQuery{Kind: kind}); len(es) == 0 {
			t.Errorf("no %s event in the audit log", kind)
		}
	}
}

// TestLoginAuditedWithRemoteAddress checks, over real TCP, that a
// successful login by token and by password records the client's address.
func TestLoginAuditedWithRemoteAddress(t *testing.T) {
	srv, b := setupAuth(t, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, Principal{}) }()
	t.Cleanup(func() { cancel(); <-served })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, notes: make(chan note, 64)}
	c.conn = rpc.NewConn(t.Context(), conn, c, nil)
	c.conn.Start()
	t.Cleanup(func() { c.conn.Close() })

	c.initialize(initParams(b.token(t, "viewer@example.com")))
	c.mustCall(protocol.MethodAuthLogin, protocol.LoginParams{Email: "member@example.com", Password: "password-1"}, nil)
	es, _, err := b.st.ListAudit(t.Context(), store.AuditQuery{Kind: "login"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Actor+" "+e.Detail+" from "+e.Remote)
	}
	want := []string{"member@example.com password from " + conn.LocalAddr().String(), "viewer@example.com token from " + conn.LocalAddr().String()}
	if !slices.Equal(got, want) {
		t.Errorf("login events = %q, want %q", got, want)
	}
}

func TestInitializeWithToken(t *testing.T) {
	srv, b := setupAuth(t, nil, nil)
	c := connect(t, srv, Principal{})
	err := c.call("initialize", initParams("gat_not-a-real-token"), nil)
	wantCode(t, err, protocol.CodeUnauthorized, protocol.Unauthorized)
	c.initialize(initParams(b.token(t, "viewer@example.com")))
	c.mustCall(protocol.MethodProjectGet, protocol.ProjectIDParams{ID: b.project.ID}, nil)
	wantCode(t, c.call(protocol.MethodProjectCreate, protocol.ProjectCreateParams{Name: "x", Root: "/"}, nil), protocol.CodeForbidden, protocol.Forbidden)
	es, _, err := b.st.ListAudit(t.Context(), store.AuditQuery{Kind: "denied"})
	if err != nil || len(es) != 1 || es[0].Actor != "viewer@example.com" || es[0].Target != protocol.MethodProjectCreate {
		t.Errorf("denied audit = %+v, %v", es, err)
	}
	// A stdio session (the local owner) ignores a token.
	local := connect(t, srv, LocalOwner("me"))
	local.initialize(initParams("gat_garbage"))
	var who protocol.WhoamiResult
	local.mustCall(protocol.MethodAuthWhoami, nil, &who)
	if !who.Local || who.Role != "admin" || who.Name != "me" {
		t.Errorf("whoami of the local owner = %+v", who)
	}
}

func TestRevokedTokenRefusedAtOnceAndRoleChangesApply(t *testing.T) {
	srv, b := setupAuth(t, nil, &auth.Config{Recheck: 20 * time.Millisecond})
	c := connect(t, srv, Principal{})
	c.initialize(initParams(b.token(t, "member@example.com")))
	c.mustCall(protocol.MethodStatus, nil, nil)

	admin := connect(t, srv, Principal{})
	admin.initialize(initParams(b.token(t, "admin@example.com")))
	viewer := "viewer"
	admin.mustCall(protocol.MethodUserUpdate, protocol.UserUpdateParams{Email: "member@example.com", Role: &viewer}, nil)
	var who protocol.WhoamiResult
	c.mustCall(protocol.MethodAuthWhoami, nil, &who)
	if who.Role != "viewer" {
		t.Errorf("role after set-role = %q, want viewer", who.Role)
	}
	var tokens protocol.TokenListResult
	admin.mustCall(protocol.MethodTokenList, protocol.TokenListParams{Email: "member@example.com"}, &tokens)
	if len(tokens.Tokens) != 1 {
		t.Fatalf("token/list = %+v, want the member's one token", tokens)
	}
	admin.mustCall(protocol.MethodTokenRevoke, protocol.TokenRevokeParams{ID: tokens.Tokens[0].ID}, nil)
	wantCode(t, c.call(protocol.MethodStatus, nil, nil), protocol.CodeUnauthorized, protocol.Unauthorized)
}

func TestRateLimited(t *testing.T) {
	srv, b := setupAuth(t, &Config{RequestRate: 1, RequestBurst: 3, LoginRate: 1, LoginBurst: 2}, nil)
	c := connect(t, srv, Principal{})
	c.initialize(initParams(b.token(t, "member@example.com")))
	var last error
	for range 4 {
		last = c.call(protocol.MethodStatus, nil, nil)
	}
	wantCode(t, last, protocol.CodeRateLimited, protocol.RateLimited)
	var e *protocol.Error
	if !errors.As(last, &e) || e.Data.RetryAfterMS <= 0 || e.Data.RetryAfterMS > 1000 {
		t.Errorf("rate_limited error = %+v, want retryAfterMs in (0, 1000]", e)
	}
	// Logins are limited harder, and on their own.
	anon := connect(t, srv, Principal{})
	anon.initialize(nil)
	for range 2 {
		anon.call(protocol.MethodAuthLogin, protocol.LoginParams{Email: "x@example.com", Password: "password-x"}, nil)
	}
	wantCode(t, anon.call(protocol.MethodAuthLogin, protocol.LoginParams{Email: "x@example.com", Password: "password-x"}, nil),
		protocol.CodeRateLimited, protocol.RateLimited)
	// The local owner is not limited.
	local := connect(t, srv, LocalOwner("me"))
	local.initialize(nil)
	for range 10 {
		local.mustCall(protocol.MethodStatus, nil, nil)
	}
}

// TestLoginBackoff checks that an address whose password logins keep
// failing is answered rate_limited with a retry-after, even with the right
// password, while a client behind the same address still gets in with a
// token.
func TestLoginBackoff(t *testing.T) {
	srv, b := setupAuth(t, &Config{LoginRate: -1}, nil)
	anon := connect(t, srv, Principal{})
	anon.initialize(nil)
	for range auth.DefaultLoginBackoff {
		wantCode(t, anon.call(protocol.MethodAuthLogin, protocol.LoginParams{Email: "member@example.com", Password: "wrong-one"}, nil),
			protocol.CodeUnauthorized, protocol.Unauthorized)
	}
	err := anon.call(protocol.MethodAuthLogin, protocol.LoginParams{Email: "member@example.com", Password: "password-1"}, nil)
	wantCode(t, err, protocol.CodeRateLimited, protocol.RateLimited)
	var e *protocol.Error
	if !errors.As(err, &e) || e.Data.RetryAfterMS <= 0 || e.Data.RetryAfterMS > 1000 {
		t.Errorf("rate_limited error = %+v, want retryAfterMs in (0, 1000]", e)
	}
	c := connect(t, srv, Principal{})
	c.initialize(initParams(b.token(t, "member@example.com")))
	c.mustCall(protocol.MethodStatus, nil, nil)
}

// TestAdminMethods drives the administration methods as an admin's editor
// would: create a user, issue it a token whose secret works in a new
// session and never shows again, and read the audit log through each of
// its filters and its paging cursor.
func TestAdminMethods(t *testing.T) {
	srv, b := setupAuth(t, nil, nil)
	admin := connectOver(t, srv, "tcp", Principal{})
	admin.initialize(initParams(b.token(t, "admin@example.com")))

	var u protocol.User
	admin.mustCall(protocol.MethodUserCreate, protocol.UserCreateParams{Email: "New@Example.com", Name: "New", Role: "member", Password: "password-2"}, &u)
	if u.ID == "" || u.Email != "new@example.com" || u.Name != "New" || u.Role != "member" || u.Disabled {
		t.Errorf("user/create = %+v", u)
	}
	wantCode(t, admin.call(protocol.MethodUserCreate, protocol.UserCreateParams{Email: "new@example.com", Role: "member", Password: "password-2"}, nil), protocol.CodeConflict, protocol.Conflict)
	wantCode(t, admin.call(protocol.MethodUserCreate, protocol.UserCreateParams{Email: "other@example.com", Role: "root", Password: "password-2"}, nil), protocol.CodeInvalidParams, protocol.InvalidParams)

	var created protocol.TokenCreateResult
	admin.mustCall(protocol.MethodTokenCreate, protocol.TokenCreateParams{Email: "new@example.com", Name: "ci", TTLSeconds: 3600}, &created)
	if !strings.HasPrefix(created.Secret, "gat_") || created.Token.UserID != u.ID || created.Token.Name != "ci" ||
		created.Token.ExpiresAt.Sub(created.Token.CreatedAt).Round(time.Minute) != time.Hour {
		t.Errorf("token/create = %+v", created.Token)
	}
	user := connect(t, srv, Principal{})
	user.initialize(initParams(created.Secret))
	var who protocol.WhoamiResult
	user.mustCall(protocol.MethodAuthWhoami, nil, &who)
	if who.Name != "new@example.com" || who.Role != "member" || who.TokenID != created.Token.ID {
		t.Errorf("whoami with the new token = %+v", who)
	}
	var listed json.RawMessage
	admin.mustCall(protocol.MethodTokenList, protocol.TokenListParams{Email: "new@example.com"}, &listed)
	if !strings.Contains(string(listed), created.Token.ID) || strings.Contains(string(listed), created.Secret) ||
		strings.Contains(string(listed), strings.TrimPrefix(created.Secret, "gat_")) {
		t.Errorf("token/list = %s, want the token without its secret", listed)
	}

	audit := func(p protocol.AuditListParams) []protocol.AuditEvent {
		t.Helper()
		var res protocol.AuditListResult
		admin.mustCall(protocol.MethodAuditList, p, &res)
		return res.Events
	}
	ids := func(es []protocol.AuditEvent) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	// Five users were created, each a password hash (tens of milliseconds)
	// after the one before, so their times differ.
	creates := audit(protocol.AuditListParams{Kind: "user_create"})
	if len(creates) != 5 || creates[0].Target != "new@example.com" || creates[0].Actor != "admin@example.com" || creates[0].Remote != "pipe" {
		t.Fatalf("audit/list kind user_create = %+v, want 5, the admin's newest", creates)
	}
	if got := audit(protocol.AuditListParams{Actor: "admin@example.com"}); !slices.Equal(kinds(got), []string{"token_create", "user_create", "login"}) {
		t.Errorf("audit/list actor admin = %q, want the admin's token_create, user_create and login", kinds(got))
	}
	if got := audit(protocol.AuditListParams{Target: created.Token.ID}); !slices.Equal(kinds(got), []string{"login", "token_create"}) {
		t.Errorf("audit/list target of the new token = %q, want its creation and the login with it", kinds(got))
	}
	mid, old := creates[2].At, creates[4].At
	if got := audit(protocol.AuditListParams{Kind: "user_create", Since: &mid}); !slices.Equal(ids(got), ids(creates[:3])) {
		t.Errorf("audit/list since the third newest = %v, want %v", ids(got), ids(creates[:3]))
	}
	if got := audit(protocol.AuditListParams{Kind: "user_create", Until: &mid}); !slices.Equal(ids(got), ids(creates[3:])) {
		t.Errorf("audit/list until the third newest = %v, want %v (until is exclusive)", ids(got), ids(creates[3:]))
	}
	if got := audit(protocol.AuditListParams{Kind: "user_create", Since: &old, Until: &mid}); !slices.Equal(ids(got), ids(creates[3:])) {
		t.Errorf("audit/list between = %v, want %v", ids(got), ids(creates[3:]))
	}
	all := audit(protocol.AuditListParams{})
	var paged []protocol.AuditEvent
	for p := (protocol.AuditListParams{Limit: 2}); ; {
		var res protocol.AuditListResult
		admin.mustCall(protocol.MethodAuditList, p, &res)
		if len(res.Events) > 2 {
			t.Fatalf("a page of %d events, want at most 2", len(res.Events))
		}
		paged = append(paged, res.Events...)
		if res.Next == "" {
			break
		}
		p.Before = res.Next
	}
	if len(all) < 10 || !slices.Equal(ids(paged), ids(all)) {
		t.Errorf("audit/list in pages of 2 = %d events, unpaged %d; want the same, at least 10", len(paged), len(all))
	}
}

func kinds(es []protocol.AuditEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

// TestProjectListShowsOnlyMembersProjects checks that project/list of a
// user who is not an admin lists the projects it is a member of and no
// other, while an admin's lists every one.
func TestProjectListShowsOnlyMembersProjects(t *testing.T) {
	srv, b := setupAuth(t, nil, nil)
	second, err := b.st.CreateProject(t.Context(), store.Project{Name: "second", Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	list := func(email string) []string {
		t.Helper()
		c := connect(t, srv, Principal{})
		c.initialize(initParams(b.token(t, email)))
		var res protocol.ProjectListResult
		c.mustCall(protocol.MethodProjectList, nil, &res)
		var ids []string
		for _, p := range res.Projects {
			ids = append(ids, p.ID)
		}
		slices.Sort(ids)
		return ids
	}
	all := []string{b.project.ID, second.ID}
	slices.Sort(all)
	if got := list("outsider@example.com"); len(got) != 0 {
		t.Errorf("project/list of a member of none = %v, want none", got)
	}
	if got := list("viewer@example.com"); !slices.Equal(got, []string{b.project.ID}) {
		t.Errorf("project/list of the first project's viewer = %v, want only it", got)
	}
	if got := list("admin@example.com"); !slices.Equal(got, all) {
		t.Errorf("project/list of an admin = %v, want %v", got, all)
	}
	if _, err := b.auth.AddMember(t.Context(), second.ID, "outsider@example.com", b.admin); err != nil {
		t.Fatal(err)
	}
	if got := list("outsider@example.com"); !slices.Equal(got, []string{second.ID}) {
		t.Errorf("project/list of the second project's member = %v, want only it", got)
	}
}

// TestUserRateLimited checks the limit on one user over all its
// connections: two connections with the same user's token share it, though
// each has room of its own.
func TestUserRateLimited(t *testing.T) {
	srv, b := setupAuth(t, &Config{RequestRate: 1000, RequestBurst: 1000, UserRequestRate: 0.01, UserRequestBurst: 3}, nil)
	tok := b.token(t, "member@example.com")
	first, second := connect(t, srv, Principal{}), connect(t, srv, Principal{})
	first.initialize(initParams(tok))
	second.initialize(initParams(tok))
	for range 3 {
		first.mustCall(protocol.MethodStatus, nil, nil)
	}
	err := second.call(protocol.MethodStatus, nil, nil)
	wantCode(t, err, protocol.CodeRateLimited, protocol.RateLimited)
	if e, ok := errors.AsType[*protocol.Error](err); !ok || e.Data.RetryAfterMS <= 0 || !strings.Contains(e.Message, "member@example.com") {
		t.Errorf("rate_limited error = %+v, want the user named and a retryAfterMs", e)
	}
	// Another user is not held back by the first one's bucket.
	other := connect(t, srv, Principal{})
	other.initialize(initParams(b.token(t, "viewer@example.com")))
	other.mustCall(protocol.MethodStatus, nil, nil)
}

// TestNotificationsRateLimited checks that notifications of anyone but the
// local owner are limited per connection at notificationCost of its
// request limit: those over it are dropped, logged once and audited once,
// and the connection's requests keep their own bucket.
func TestNotificationsRateLimited(t *testing.T) {
	logs := &lockedBuffer{}
	// A request a hundred seconds, bursts of 3: notifications come in
	// bursts of 30 and refill at one every ten seconds.
	srv, b := setupAuth(t, &Config{RequestRate: 0.01, RequestBurst: 3, Logger: slog.New(slog.NewTextHandler(logs, nil))}, nil)
	uri := func(i int) string { return fmt.Sprintf("file:///n%d.txt", i) }
	for _, who := range []string{"viewer", "local owner"} {
		var c *client
		if who == "viewer" {
			c = connect(t, srv, Principal{})
			c.initialize(initParams(b.token(t, "viewer@example.com"))) // and "initialized": 1 of 30
		} else {
			c = connect(t, srv, LocalOwner("me"))
			c.initialize(nil)
		}
		for i := range 40 {
			c.notify(lsp.MethodDidOpen, openParams(uri(i), "x"))
		}
		// Requests after the notifications see them applied or dropped.
		c.mustCall(protocol.MethodDocumentGet, protocol.DocumentGetParams{URI: uri(28)}, nil)
		err := c.call(protocol.MethodDocumentGet, protocol.DocumentGetParams{URI: uri(29)}, nil)
		if who == "viewer" {
			wantCode(t, err, protocol.CodeNotFound, protocol.NotFound)
		} else if err != nil {
			t.Errorf("the local owner's 30th didOpen: %v; want it applied, unlimited", err)
		}
	}
	if n := strings.Count(logs.String(), "dropping notifications over the connection's limit"); n != 1 {
		t.Errorf("%d log lines about dropped notifications, want 1 for 11 dropped:\n%s", n, logs)
	}
	es, _, err := b.st.ListAudit(t.Context(), store.AuditQuery{Kind: "denied"})
	if err != nil || len(es) != 1 || es[0].Actor != "viewer@example.com" || es[0].Target != lsp.MethodDidOpen || !strings.Contains(es[0].Detail, "rate limited") {
		t.Errorf("denied events = %+v, %v; want one, of the viewer's first dropped didOpen", es, err)
	}
}

// TestRefusalsAudited checks that refused calls reach the audit log: one of
// an unauthenticated connection (its first, not each), and each refusal of
// an authenticated user by role or by project membership.
func TestRefusalsAudited(t *testing.T) {
	srv, b := setupAuth(t, nil, nil)
	anon := connectOver(t, srv, "tcp", Principal{})
	anon.initialize(nil)
	for range 3 {
		wantCode(t, anon.call(protocol.MethodProjectList, nil, nil), protocol.CodeUnauthorized, protocol.Unauthorized)
	}
	outsider := connect(t, srv, Principal{})
	outsider.initialize(initParams(b.token(t, "outsider@example.com")))
	read := protocol.WorkspaceReadParams{ProjectID: b.project.ID, Path: "x"}
	for range 2 {
		wantCode(t, outsider.call(protocol.MethodWorkspaceRead, read, nil), protocol.CodeForbidden, protocol.Forbidden)
	}
	es, _, err := b.st.ListAudit(t.Context(), store.AuditQuery{Kind: "denied"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range slices.Backward(es) { // oldest first
		got = append(got, e.Actor+" "+e.Target)
		if e.Remote != "pipe" {
			t.Errorf("denied event %+v: remote %q, want the connection's (pipe)", e, e.Remote)
		}
	}
	want := []string{" " + protocol.MethodProjectList, "outsider@example.com " + protocol.MethodWorkspaceRead, "outsider@example.com " + protocol.MethodWorkspaceRead}
	if !slices.Equal(got, want) {
		t.Errorf("denied events = %q, want %q", got, want)
	}
	if len(es) > 0 && !strings.Contains(es[0].Detail, b.project.ID) {
		t.Errorf("membership refusal detail %q does not name the project", es[0].Detail)
	}
}

// authzRules is the authorization rule of every registered method, as this
// test expects it: whether a viewer and a member may call it at all, and
// whether it acts on one project, so that only the project's members (and
// admins) may. A method missing here fails TestAuthorizationOfEveryMethod:
// adding a method means deciding its rule.
var authzRules = map[string]struct{ viewer, member, scoped bool }{
	lsp.MethodInitialized:               {true, true, false},
	lsp.MethodCancelRequest:             {true, true, false},
	lsp.MethodSetTrace:                  {true, true, false},
	lsp.MethodDidOpen:                   {true, true, false},
	lsp.MethodDidChange:                 {true, true, false},
	lsp.MethodDidClose:                  {true, true, false},
	lsp.MethodDidSave:                   {true, true, false},
	lsp.MethodDidChangeWorkspaceFolders: {false, true, false},
	lsp.MethodDidChangeConfiguration:    {true, true, false},

	protocol.MethodStatus:        {true, true, false},
	protocol.MethodDocumentGet:   {true, true, false},
	protocol.MethodProjectList:   {true, true, false},
	protocol.MethodProjectGet:    {true, true, true},
	protocol.MethodProjectCreate: {false, false, false},
	protocol.MethodProjectUpdate: {false, false, true},
	protocol.MethodProjectDelete: {false, false, true},
	protocol.MethodDebugEcho:     {false, false, false},
	protocol.MethodDebugSleep:    {false, false, false},
	protocol.MethodPluginList:    {true, true, false},

	protocol.MethodAuthLogin:           {true, true, false},
	protocol.MethodAuthLogout:          {true, true, false},
	protocol.MethodAuthWhoami:          {true, true, false},
	protocol.MethodUserList:            {false, false, false},
	protocol.MethodUserCreate:          {false, false, false},
	protocol.MethodUserUpdate:          {false, false, false},
	protocol.MethodTokenCreate:         {false, false, false},
	protocol.MethodTokenList:           {false, false, false},
	protocol.MethodTokenRevoke:         {false, false, false},
	protocol.MethodAuditList:           {false, false, false},
	protocol.MethodProjectMembers:      {true, true, true},
	protocol.MethodProjectMemberAdd:    {false, false, true},
	protocol.MethodProjectMemberRemove: {false, false, true},

	protocol.MethodWorkspaceTree:   {true, true, true},
	protocol.MethodWorkspaceRead:   {true, true, true},
	protocol.MethodWorkspaceSearch: {true, true, true},
	protocol.MethodWorkspaceWrite:  {false, true, true},
	protocol.MethodWorkspaceDelete: {false, true, true},
	protocol.MethodWorkspaceRename: {false, true, true},
	protocol.MethodWorkspaceMkdir:  {false, true, true},
	protocol.MethodGitStatus:       {true, true, true},
	protocol.MethodGitDiff:         {true, true, true},
	protocol.MethodGitLog:          {true, true, true},
	protocol.MethodGitBranches:     {true, true, true},
	protocol.MethodGitStage:        {false, true, true},
	protocol.MethodGitUnstage:      {false, true, true},
	protocol.MethodGitCommit:       {false, true, true},
}

// scopedParams returns params for m naming project, found by setting each
// string field of a fresh params value until ProjectScope returns it.
func scopedParams(t *testing.T, m *method, project string) json.RawMessage {
	t.Helper()
	if m.params == nil {
		return json.RawMessage(`{}`) // raw LSP params: the language requests
	}
	v := reflect.New(m.params)
	scoped, ok := v.Interface().(protocol.ProjectScoped)
	if !ok {
		return json.RawMessage(`{}`)
	}
	for i := range m.params.NumField() {
		f := v.Elem().Field(i)
		if f.Kind() == reflect.String && f.CanSet() {
			f.SetString(project)
			if scoped.ProjectScope() == project {
				raw, err := json.Marshal(v.Interface())
				if err != nil {
					t.Fatal(err)
				}
				return raw
			}
			f.SetString("")
		}
	}
	t.Fatalf("%s: no string field of %s sets its ProjectScope", m.name, m.params)
	return nil
}

// TestAuthorizationOfEveryMethod enumerates the method table and proves
// that viewers and non-members are refused where the rules say, by calling
// each request as each kind of caller.
func TestAuthorizationOfEveryMethod(t *testing.T) {
	srv, b := setupAuth(t, nil, nil)
	callers := map[string]*client{}
	for _, email := range []string{"admin@example.com", "member@example.com", "viewer@example.com", "outsider@example.com"} {
		c := connect(t, srv, b.principal(t, email))
		c.initialize(nil)
		callers[email] = c
	}
	anon := connect(t, srv, Principal{})
	anon.initialize(nil)

	table := methodTable(true)
	// Admins' calls run last, gathering/project/delete (which deletes the
	// project the others need) very last.
	var adminCalls []func()
	names := slices.Sorted(maps.Keys(table))
	for _, name := range names {
		m := table[name]
		rule, ok := authzRules[name]
		if !ok {
			t.Errorf("%s has no entry in authzRules: decide who may call it", name)
			continue
		}
		if m.access == accessNone {
			t.Errorf("%s has no access rule in the method table", name)
		}
		// Params that name a project must make the method check membership.
		if m.params != nil {
			_, scoped := reflect.New(m.params).Interface().(protocol.ProjectScoped)
			for i := range m.params.NumField() {
				tag := strings.ToLower(m.params.Field(i).Tag.Get("json"))
				if strings.HasPrefix(tag, "project") && !scoped {
					t.Errorf("%s: params %s name a project (field %s) but do not implement protocol.ProjectScoped", name, m.params, m.params.Field(i).Name)
				}
			}
			if scoped != rule.scoped {
				t.Errorf("%s: project-scoped = %v, authzRules says %v", name, scoped, rule.scoped)
			}
		}
		levelViewer := RoleViewer.principal().may(m.access) == nil
		levelMember := RoleMember.principal().may(m.access) == nil
		if levelViewer != rule.viewer || levelMember != rule.member {
			t.Errorf("%s: viewer allowed %v, member allowed %v; authzRules says %v, %v", name, levelViewer, levelMember, rule.viewer, rule.member)
		}
		if m.notification {
			continue
		}
		params := scopedParams(t, m, b.project.ID)
		call := func(c *client) error {
			var res json.RawMessage
			return c.call(name, params, &res)
		}
		refused := func(err error) bool {
			var e *protocol.Error
			return errors.As(err, &e) && (e.Data.Code == protocol.Forbidden || e.Data.Code == protocol.Unauthorized)
		}
		if m.access != accessPublic {
			if err := call(anon); !refused(err) {
				t.Errorf("%s before authenticating: %v, want unauthorized", name, err)
			}
		}
		if name == protocol.MethodAuthLogin || name == protocol.MethodAuthLogout {
			continue // they change the caller; tested on their own
		}
		for _, test := range []struct {
			email string
			want  bool
		}{
			{"viewer@example.com", rule.viewer},
			{"member@example.com", rule.member},
			{"outsider@example.com", rule.member && !rule.scoped},
		} {
			err := call(callers[test.email])
			if refused(err) == test.want {
				t.Errorf("%s as %s: %v; want allowed %v", name, test.email, err, test.want)
			}
		}
		adminCall := func() {
			if err := call(callers["admin@example.com"]); refused(err) == (m.access != accessLocal) {
				t.Errorf("%s as admin: %v; want allowed %v", name, err, m.access != accessLocal)
			}
		}
		if name == protocol.MethodProjectDelete {
			defer adminCall()
		} else {
			adminCalls = append(adminCalls, adminCall)
		}
	}
	for _, call := range adminCalls {
		call()
	}
}

func init() {
	// The language requests read only the caller's own documents, and
	// plugins read only the folders the caller may read: any
	// authenticated session may make them.
	for _, name := range languageMethods {
		authzRules[name] = struct{ viewer, member, scoped bool }{true, true, false}
	}
}

func (r Role) principal() Principal { return Principal{Name: "x", Role: r, UserID: "u"} }
