package protocol

import "time"

// The accounts, tokens, audit and membership methods, each documented with
// an example in docs/protocol.md.
const (
	MethodAuthLogin  = "gathering/auth/login"
	MethodAuthLogout = "gathering/auth/logout"
	MethodAuthWhoami = "gathering/auth/whoami"

	MethodUserList   = "gathering/user/list"
	MethodUserCreate = "gathering/user/create"
	MethodUserUpdate = "gathering/user/update"

	MethodTokenCreate = "gathering/token/create"
	MethodTokenList   = "gathering/token/list"
	MethodTokenRevoke = "gathering/token/revoke"

	MethodAuditList = "gathering/audit/list"

	MethodProjectMembers      = "gathering/project/members"
	MethodProjectMemberAdd    = "gathering/project/members/add"
	MethodProjectMemberRemove = "gathering/project/members/remove"
)

// ProjectScoped is implemented by the params of every method that acts on
// one project. The server checks that the caller is a member of the project
// ProjectScope names (admins and the local owner are members of all) before
// the method runs; a method whose params name a project must implement it.
type ProjectScoped interface {
	ProjectScope() string
}

// ProjectScope implements [ProjectScoped].
func (p *ProjectIDParams) ProjectScope() string { return p.ID }

// ProjectScope implements [ProjectScoped].
func (p *ProjectUpdateParams) ProjectScope() string { return p.ID }

// LoginParams log in with an email and a password.
type LoginParams struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// LoginResult carries the session's new token, shown this once; the session
// is authenticated with it, and other sessions may present it in
// initializationOptions.token until it expires or is revoked.
type LoginResult struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      User      `json:"user"`
}

// LogoutParams are the params of gathering/auth/logout; it takes none.
type LogoutParams struct{}

// LogoutResult confirms that the session's token is revoked.
type LogoutResult struct {
	Revoked string `json:"revoked"` // the token's ID
}

// WhoamiParams are the params of gathering/auth/whoami; it takes none.
type WhoamiParams struct{}

// WhoamiResult says whom the session acts for.
type WhoamiResult struct {
	// Name is the user's email, or the local user's name.
	Name string `json:"name"`
	Role string `json:"role"`
	// Local is true for the owner of the machine (a stdio session).
	Local     bool       `json:"local"`
	UserID    string     `json:"userId,omitempty"`
	TokenID   string     `json:"tokenId,omitempty"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// User is an account; its password hash is never sent.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name,omitempty"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"createdAt"`
}

// UserListParams page through users as [ProjectListParams] do.
type UserListParams struct {
	After string `json:"after,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// UserListResult is one page of users.
type UserListResult struct {
	Users []User `json:"users"`
	Next  string `json:"next,omitempty"`
}

// UserCreateParams create a user. Role is admin, member or viewer; the
// password is 8 to 1024 bytes.
type UserCreateParams struct {
	Email    string `json:"email"`
	Name     string `json:"name,omitempty"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// UserUpdateParams change the fields that are present.
type UserUpdateParams struct {
	Email    string  `json:"email"`
	Role     *string `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	Password *string `json:"password,omitempty"`
}

// Token describes an access token, never its secret.
type Token struct {
	ID        string     `json:"id"`
	UserID    string     `json:"userId"`
	Name      string     `json:"name,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt time.Time  `json:"expiresAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// TokenCreateParams issue a token for a user. TTLSeconds 0 means the
// server's default (24 h); at most a year.
type TokenCreateParams struct {
	Email      string `json:"email"`
	Name       string `json:"name,omitempty"`
	TTLSeconds int64  `json:"ttlSeconds,omitempty"`
}

// TokenCreateResult carries the token's secret, shown this once.
type TokenCreateResult struct {
	Secret string `json:"secret"`
	Token  Token  `json:"token"`
}

// TokenListParams page through tokens, of one user when Email is set.
type TokenListParams struct {
	Email string `json:"email,omitempty"`
	After string `json:"after,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// TokenListResult is one page of tokens.
type TokenListResult struct {
	Tokens []Token `json:"tokens"`
	Next   string  `json:"next,omitempty"`
}

// TokenRevokeParams name a token by its ID.
type TokenRevokeParams struct {
	ID string `json:"id"`
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor,omitempty"`
	Remote string    `json:"remote,omitempty"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// AuditListParams filter the audit log; every field is optional. Events come
// newest first; Before is the previous page's Next.
type AuditListParams struct {
	Kind   string     `json:"kind,omitempty"`
	Actor  string     `json:"actor,omitempty"`
	Target string     `json:"target,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
	Before string     `json:"before,omitempty"`
	Limit  int        `json:"limit,omitempty"`
}

// AuditListResult is one page of events.
type AuditListResult struct {
	Events []AuditEvent `json:"events"`
	Next   string       `json:"next,omitempty"`
}

// ProjectMembersParams name a project whose members to list.
type ProjectMembersParams struct {
	Project string `json:"project"`
}

// ProjectScope implements [ProjectScoped].
func (p *ProjectMembersParams) ProjectScope() string { return p.Project }

// ProjectMemberParams name a project and a user by email.
type ProjectMemberParams struct {
	Project string `json:"project"`
	Email   string `json:"email"`
}

// ProjectScope implements [ProjectScoped].
func (p *ProjectMemberParams) ProjectScope() string { return p.Project }

// Member is a user's membership of a project.
type Member struct {
	UserID  string    `json:"userId"`
	Email   string    `json:"email"`
	Role    string    `json:"role"`
	AddedAt time.Time `json:"addedAt"`
}

// ProjectMembersResult lists a project's members.
type ProjectMembersResult struct {
	Members []Member `json:"members"`
}
