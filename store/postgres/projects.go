package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/internal/page"
	"github.com/gathering-dev/gathering/store/internal/record"
)

// projectColumns are the columns scanProject reads, in its order.
const projectColumns = "id::text, name, root, created_at, updated_at"

// Roots are found and kept unique through root_hash; see
// migrations/0001_init.sql. sha256 of a NULL root is NULL, so an update
// that leaves the root alone leaves its hash alone.

// querier is what the pool, a pooled connection and a transaction have in
// common.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CreateProject stores a new project; see [store.Store.CreateProject]. Its
// times come from the database's clock, which all instances share.
func (s *Store) CreateProject(ctx context.Context, p store.Project) (store.Project, error) {
	if err := record.CheckProject(p); err != nil {
		return store.Project{}, fmt.Errorf("create project: %w", err)
	}
	id, err := record.NewID()
	if err != nil {
		return store.Project{}, fmt.Errorf("create project: %w", err)
	}
	created, err := scanProject(s.pool.QueryRow(ctx,
		`INSERT INTO projects (id, name, root, root_hash, created_at, updated_at)
		 VALUES ($1, $2, $3, sha256(convert_to($3::text, 'UTF8')), statement_timestamp(), statement_timestamp())
		 RETURNING `+projectColumns,
		id, p.Name, p.Root))
	if err != nil {
		return store.Project{}, translate(ctx, "create project", err)
	}
	return created, nil
}

// GetProject returns a project by ID; see [store.Store.GetProject].
func (s *Store) GetProject(ctx context.Context, id string) (store.Project, error) {
	cid, ok := record.ParseID(id)
	if !ok {
		return store.Project{}, fmt.Errorf("get project %q: %w", id, store.ErrNotFound)
	}
	p, err := scanProject(s.pool.QueryRow(ctx, "SELECT "+projectColumns+" FROM projects WHERE id = $1", cid))
	if err != nil {
		return store.Project{}, translate(ctx, fmt.Sprintf("get project %s", cid), err)
	}
	return p, nil
}

// GetProjectByRoot returns a project by root; see [store.Store.GetProjectByRoot].
func (s *Store) GetProjectByRoot(ctx context.Context, root string) (store.Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, "SELECT "+projectColumns+" FROM projects WHERE root_hash = sha256(convert_to($1::text, 'UTF8')) AND root = $1", root))
	if err != nil {
		return store.Project{}, translate(ctx, fmt.Sprintf("get project by root %q", root), err)
	}
	return p, nil
}

// ListProjects returns a page of projects; see [store.Store.ListProjects].
func (s *Store) ListProjects(ctx context.Context, opt store.ListOptions) ([]store.Project, string, error) {
	r, err := page.Parse(opt)
	if err != nil {
		return nil, "", fmt.Errorf("list projects: %w", err)
	}
	var rows pgx.Rows
	if opt.MemberOf == "" {
		rows, err = s.pool.Query(ctx,
			"SELECT "+projectColumns+" FROM projects WHERE id > $1 ORDER BY id LIMIT $2", r.After, r.Limit+1)
	} else {
		uid, ok := record.ParseID(opt.MemberOf)
		if !ok {
			return nil, "", nil // no user, no memberships
		}
		rows, err = s.pool.Query(ctx,
			`SELECT `+projectColumns+` FROM projects p
			  WHERE id > $1 AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = $2)
			  ORDER BY id LIMIT $3`, r.After, uid, r.Limit+1)
	}
	if err != nil {
		return nil, "", translate(ctx, "list projects", err)
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Project, error) { return scanProject(row) })
	if err != nil {
		return nil, "", translate(ctx, "list projects", err)
	}
	ps, next := page.Finish(r, ps)
	return ps, next, nil
}

// UpdateProject changes a project; see [store.Store.UpdateProject].
func (s *Store) UpdateProject(ctx context.Context, id string, u store.ProjectUpdate) (store.Project, error) {
	if err := record.CheckUpdate(u); err != nil {
		return store.Project{}, fmt.Errorf("update project %q: %w", id, err)
	}
	if u.Name == nil && u.Root == nil {
		return s.GetProject(ctx, id)
	}
	cid, ok := record.ParseID(id)
	if !ok {
		return store.Project{}, fmt.Errorf("update project %q: %w", id, store.ErrNotFound)
	}
	// updated_at moves forward by at least a microsecond, even if the clock
	// has not, or has stepped back.
	p, err := scanProject(s.pool.QueryRow(ctx,
		`UPDATE projects
		    SET name = coalesce($2, name), root = coalesce($3, root),
		        root_hash = coalesce(sha256(convert_to($3::text, 'UTF8')), root_hash),
		        updated_at = greatest(statement_timestamp(), updated_at + interval '1 microsecond')
		  WHERE id = $1
		RETURNING `+projectColumns,
		cid, u.Name, u.Root))
	if err != nil {
		return store.Project{}, translate(ctx, fmt.Sprintf("update project %s", cid), err)
	}
	return p, nil
}

// DeleteProject removes a project; see [store.Store.DeleteProject].
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	cid, ok := record.ParseID(id)
	if !ok {
		return fmt.Errorf("delete project %q: %w", id, store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM projects WHERE id = $1", cid)
	if err != nil {
		return translate(ctx, fmt.Sprintf("delete project %s", cid), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete project %s: %w", cid, store.ErrNotFound)
	}
	return nil
}

// scanProject reads a row of projectColumns.
func scanProject(row pgx.Row) (store.Project, error) {
	var p store.Project
	var created, updated time.Time
	if err := row.Scan(&p.ID, &p.Name, &p.Root, &created, &updated); err != nil {
		return store.Project{}, err
	}
	p.CreatedAt = created.UTC()
	p.UpdatedAt = updated.UTC()
	return p, nil
}
