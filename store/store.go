package store

import (
	"context"
	"errors"
	"time"
)

// Kind names a storage driver.
type Kind string

// The storage drivers.
const (
	// KindSQLite is the embedded single-file store, the default for one user.
	KindSQLite Kind = "sqlite"
	// KindPostgres is the server store that several instances share.
	KindPostgres Kind = "postgres"
)

// Sentinel errors. Drivers wrap them, so test with [errors.Is].
var (
	// ErrNotFound means the record named by the call does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write would break a uniqueness rule, such as
	// two projects sharing a root.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means an argument or record cannot be stored as given: a
	// required field is empty, a text holds a NUL byte or invalid UTF-8, or a
	// list cursor or limit is malformed.
	ErrInvalid = errors.New("invalid")
)

// Page sizes for [Store.ListProjects].
const (
	// DefaultListLimit is the page size used when [ListOptions.Limit] is 0.
	DefaultListLimit = 100
	// MaxListLimit is the largest page size; larger limits are clamped to it.
	MaxListLimit = 1000
)

// Project is a workspace root known to gathering.
type Project struct {
	// ID is a UUID version 7 in canonical lower-case form, assigned by the
	// store; IDs sort in creation order.
	ID string `json:"id"`
	// Name is the display name; the store requires it to be non-empty.
	Name string `json:"name"`
	// Root is the project's directory; the store requires it to be non-empty
	// and unique among projects. The store compares roots byte for byte:
	// cleaning and resolving the path is the caller's job.
	Root string `json:"root"`
	// CreatedAt is when the project was created, in UTC, to the microsecond.
	CreatedAt time.Time `json:"createdAt"`
	// UpdatedAt is when the project last changed, in UTC, to the microsecond.
	// Every update moves it forward, even within one microsecond.
	UpdatedAt time.Time `json:"updatedAt"`
}

// ProjectUpdate names the fields [Store.UpdateProject] changes. A nil field is
// left as it is.
type ProjectUpdate struct {
	// Name, if not nil, is the new name.
	Name *string
	// Root, if not nil, is the new root.
	Root *string
}

// ListOptions selects a page of a list.
type ListOptions struct {
	// After is the opaque cursor returned with the previous page; "" starts
	// at the beginning. A cursor stays valid when the record it came from is
	// deleted.
	After string
	// Limit is the page size: 0 means [DefaultListLimit], values above
	// [MaxListLimit] are clamped to it, and negative values are invalid.
	Limit int
	// MemberOf, when not empty, restricts [Store.ListProjects] to the
	// projects the user with this ID is a member of. Other lists ignore it.
	MemberOf string
}

// MigrationStatus reports a database's schema version.
type MigrationStatus struct {
	// Current is the highest migration applied to the database, 0 if none.
	Current int
	// Latest is the highest migration this build knows. Current above Latest
	// means a newer build has migrated the database.
	Latest int
}

// Store is the storage API the rest of gathering consumes. Implementations
// are safe for concurrent use by multiple goroutines, and several processes
// may use the same database at once.
//
// Every method that takes a context stops waiting and returns an error when
// the context is done. Records are returned by value; mutating one changes
// nothing stored.
type Store interface {
	// Kind reports which driver this is.
	Kind() Kind

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	// Migrate applies the migrations the database lacks, each in its own
	// transaction, under a lock that makes it safe for several processes to
	// migrate the same database at once. It is idempotent, and fails without
	// changing anything if the database is newer than this build.
	Migrate(ctx context.Context) (MigrationStatus, error)

	// MigrationStatus reports the database's schema version without
	// changing it.
	MigrationStatus(ctx context.Context) (MigrationStatus, error)

	// Close releases the store's connections. It is safe to call more than
	// once; other methods fail after it.
	Close() error

	// CreateProject stores a new project from p's Name and Root and returns
	// it. The store assigns ID, CreatedAt and UpdatedAt; the values in p are
	// ignored. It returns [ErrInvalid] for an empty name or root and
	// [ErrConflict] if another project has the same root.
	CreateProject(ctx context.Context, p Project) (Project, error)

	// GetProject returns the project with the given ID, or [ErrNotFound]. An
	// id that is not a UUID is not found.
	GetProject(ctx context.Context, id string) (Project, error)

	// GetProjectByRoot returns the project whose root is exactly root, or
	// [ErrNotFound].
	GetProjectByRoot(ctx context.Context, root string) (Project, error)

	// ListProjects returns a page of projects ordered by ID, and the cursor
	// for the next page, which is "" after the last page. A malformed
	// cursor or negative limit is [ErrInvalid].
	ListProjects(ctx context.Context, opt ListOptions) (projects []Project, next string, err error)

	// UpdateProject changes the non-nil fields of u and returns the project
	// as stored. It returns [ErrNotFound] if there is no such project,
	// [ErrInvalid] if a field would become empty, and [ErrConflict] if the
	// new root belongs to another project. An update with no fields returns
	// the project unchanged.
	UpdateProject(ctx context.Context, id string, u ProjectUpdate) (Project, error)

	// DeleteProject removes the project and its memberships, or returns
	// [ErrNotFound].
	DeleteProject(ctx context.Context, id string) error

	AuthStore
}
