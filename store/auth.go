package store

import (
	"context"
	"time"
)

// Role is a user's server-wide role.
type Role string

// The roles, weakest first. A viewer reads the projects it is a member of, a
// member also changes them, and an admin does anything, in every project.
const (
	RoleViewer Role = "viewer"
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool {
	return r == RoleViewer || r == RoleMember || r == RoleAdmin
}

// User is an account that TCP clients authenticate as.
type User struct {
	// ID is a UUID version 7 assigned by the store.
	ID string
	// Email identifies the user at login. The store keeps it as given and
	// keeps it unique; normalizing it (lower case, no spaces) is the
	// caller's job.
	Email string
	// Name is the display name; it may be empty.
	Name string
	Role Role
	// PasswordHash is the encoded password hash (argon2id, PHC form); the
	// store never sees a password.
	PasswordHash string
	// Disabled users cannot log in, and their tokens stop working.
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UserUpdate names the fields [Store.UpdateUser] changes; nil fields are
// left as they are.
type UserUpdate struct {
	Role         *Role
	Disabled     *bool
	PasswordHash *string
}

// Token is an access token. The store holds only the SHA-256 hash of the
// secret, which is shown once, when it is created.
type Token struct {
	// ID is a UUID version 7 assigned by the store; it names the token in
	// lists and revocations and reveals nothing of the secret.
	ID     string
	UserID string
	// Name says what the token is for ("login", "ci"); it may be empty.
	Name string
	// Hash is the SHA-256 of the secret, 32 bytes, unique among tokens.
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	// RevokedAt is when the token was revoked; zero while it is not.
	RevokedAt time.Time
}

// Member is a user's membership of a project.
type Member struct {
	ProjectID string
	UserID    string
	Email     string
	Role      Role // the user's server-wide role
	AddedAt   time.Time
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	// ID is a UUID version 7 assigned by the store; events list newest first.
	ID string
	// At is when the event was recorded, assigned by the store.
	At time.Time
	// Kind names what happened: "login", "login_failed", "logout",
	// "token_create", "token_revoke", "user_create", "user_update",
	// "member_add", "member_remove", "denied".
	Kind string
	// Actor is the email (or local user name) of who acted; empty when
	// unknown, as for a failed login of an unknown email.
	Actor string
	// Remote is the client's network address, or "" for a local caller.
	Remote string
	// Target names what was acted on: a user's email, a token ID, a method.
	Target string
	// Detail is free text for people.
	Detail string
}

// AuditQuery selects audit events; empty fields select everything.
type AuditQuery struct {
	Kind   string
	Actor  string
	Target string
	// Since and Until bound At: Since <= At < Until. Zero means unbounded.
	Since, Until time.Time
	// Before is the cursor returned with the previous page ("" starts at the
	// newest event); Limit is as in [ListOptions].
	Before string
	Limit  int
}

// AuthStore is the part of [Store] that keeps accounts, tokens, project
// membership, the audit log and failed logins.
type AuthStore interface {
	// CreateUser stores a new user from u's Email, Name, Role, PasswordHash
	// and Disabled. It returns [ErrInvalid] for an empty email or hash or an
	// unknown role, and [ErrConflict] if the email is taken.
	CreateUser(ctx context.Context, u User) (User, error)
	// GetUser returns a user by ID, or [ErrNotFound].
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByEmail returns the user with exactly this email, or [ErrNotFound].
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// ListUsers returns a page of users ordered by ID.
	ListUsers(ctx context.Context, opt ListOptions) (users []User, next string, err error)
	// UpdateUser changes the non-nil fields of u and returns the user as
	// stored, or [ErrNotFound], or [ErrInvalid] for an unknown role or an
	// empty hash.
	UpdateUser(ctx context.Context, id string, u UserUpdate) (User, error)

	// CreateToken stores a token from t's UserID, Name, Hash and ExpiresAt.
	// It returns [ErrInvalid] unless Hash is 32 bytes and ExpiresAt is set,
	// [ErrNotFound] if the user does not exist, and [ErrConflict] if the
	// hash is taken.
	CreateToken(ctx context.Context, t Token) (Token, error)
	// GetTokenByHash returns the token with this hash and its user, or
	// [ErrNotFound]. Revoked and expired tokens are returned too: judging
	// them is the caller's job.
	GetTokenByHash(ctx context.Context, hash []byte) (Token, User, error)
	// ListTokens returns a page of tokens ordered by ID, of one user when
	// userID is not empty. Hashes are not returned.
	ListTokens(ctx context.Context, userID string, opt ListOptions) (tokens []Token, next string, err error)
	// RevokeToken marks the token revoked and returns it. Revoking a revoked
	// token keeps its first revocation time. It returns [ErrNotFound] for an
	// unknown ID.
	RevokeToken(ctx context.Context, id string) (Token, error)

	// AddProjectMember makes the user a member of the project; adding a
	// member again changes nothing. It returns [ErrNotFound] if either does
	// not exist.
	AddProjectMember(ctx context.Context, projectID, userID string) error
	// RemoveProjectMember ends a membership, or returns [ErrNotFound].
	RemoveProjectMember(ctx context.Context, projectID, userID string) error
	// IsProjectMember reports whether the user is a member of the project.
	IsProjectMember(ctx context.Context, projectID, userID string) (bool, error)
	// ListProjectMembers returns the project's members ordered by user ID.
	// An unknown project has none.
	ListProjectMembers(ctx context.Context, projectID string) ([]Member, error)

	// AppendAudit records an event; the store assigns ID and At.
	AppendAudit(ctx context.Context, e AuditEvent) (AuditEvent, error)
	// ListAudit returns a page of events matching q, newest first, and the
	// cursor of the next page ("" after the last).
	ListAudit(ctx context.Context, q AuditQuery) (events []AuditEvent, next string, err error)

	// RecordLoginFailure counts one failed login against each key (such as
	// "email:a@b.c" and "addr:192.0.2.1"), at the store's clock.
	RecordLoginFailure(ctx context.Context, keys ...string) error
	// LoginFailures returns how many failures were counted against key at or
	// after since, and the time of the oldest of them.
	LoginFailures(ctx context.Context, key string, since time.Time) (n int, oldest time.Time, err error)
	// ClearLoginFailures forgets the failures counted against key.
	ClearLoginFailures(ctx context.Context, key string) error
	// PruneLoginFailures forgets failures counted before before.
	PruneLoginFailures(ctx context.Context, before time.Time) error
}
