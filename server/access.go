package server

import "github.com/gathering-dev/gathering/protocol"

// Role is what a caller is allowed to do across the server.
type Role int

// Roles, weakest first.
const (
	RoleViewer Role = iota + 1
	RoleMember
	RoleAdmin
)

// Principal is who a session acts for. The zero Principal is a session
// that has not authenticated yet: TCP sessions start so, and may call only
// gathering/auth/login (or present a token in initialize) until they have.
type Principal struct {
	// Name identifies the caller in logs and audit: the user's email, or
	// the local user's name.
	Name string
	Role Role
	// Local marks the owner of the machine the server runs on: a stdio
	// session.
	Local bool
	// UserID is the store's ID of an authenticated user; "" for the local
	// owner.
	UserID string
}

// authenticated reports whether p is anyone at all.
func (p Principal) authenticated() bool { return p.Local || p.Role >= RoleViewer }

// allProjects reports whether p may act on every project without being a
// member: admins and the local owner.
func (p Principal) allProjects() bool { return p.Local || p.Role >= RoleAdmin }

// LocalOwner is the principal of sessions started by the local user.
func LocalOwner(name string) Principal {
	return Principal{Name: name, Role: RoleAdmin, Local: true}
}

// access is what a method requires of its caller.
type access int

const (
	accessNone   access = iota // no rule: a method registered like this fails TestEveryMethodHasAnAccessRule
	accessPublic               // gathering/auth/login: callable before authenticating
	accessAny                  // LSP lifecycle and text sync: any authenticated session
	accessRead                 // read shared state: viewer and up
	accessWrite                // change shared state: member and up
	accessAdmin                // server-wide administration
	accessLocal                // the local owner only
)

// may reports whether p holds a.
func (p Principal) may(a access) error {
	ok := false
	switch a {
	case accessPublic:
		ok = true
	case accessAny:
		ok = p.Role >= RoleViewer
	case accessRead:
		ok = p.Role >= RoleViewer
	case accessWrite:
		ok = p.Role >= RoleMember
	case accessAdmin:
		ok = p.Role >= RoleAdmin
	case accessLocal:
		ok = p.Local
	}
	if !ok {
		return protocol.Errorf(protocol.ErrForbidden, "%s may not do this", p.describe())
	}
	return nil
}

func (p Principal) describe() string {
	if p.Name == "" {
		return "an anonymous caller"
	}
	return p.Name
}
