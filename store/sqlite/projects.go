package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/internal/page"
	"github.com/gathering-dev/gathering/store/internal/record"
)

const projectColumns = "id, name, root, created_at, updated_at"

// now returns the current time at the precision the store keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// CreateProject stores a new project; see [store.Store.CreateProject].
func (s *Store) CreateProject(ctx context.Context, p store.Project) (store.Project, error) {
	if err := record.CheckProject(p); err != nil {
		return store.Project{}, fmt.Errorf("create project: %w", err)
	}
	id, err := record.NewID()
	if err != nil {
		return store.Project{}, fmt.Errorf("create project: %w", err)
	}
	t := now()
	created := store.Project{ID: id, Name: p.Name, Root: p.Root, CreatedAt: t, UpdatedAt: t}
	_, err = s.writer.ExecContext(ctx,
		"INSERT INTO projects ("+projectColumns+") VALUES (?, ?, ?, ?, ?)",
		created.ID, created.Name, created.Root, t.UnixMicro(), t.UnixMicro())
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
	p, err := scanProject(s.reader.QueryRowContext(ctx, "SELECT "+projectColumns+" FROM projects WHERE id = ?", cid))
	if err != nil {
		return store.Project{}, translate(ctx, fmt.Sprintf("get project %s", cid), err)
	}
	return p, nil
}

// GetProjectByRoot returns a project by root; see [store.Store.GetProjectByRoot].
func (s *Store) GetProjectByRoot(ctx context.Context, root string) (store.Project, error) {
	p, err := scanProject(s.reader.QueryRowContext(ctx, "SELECT "+projectColumns+" FROM projects WHERE root = ?", root))
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
	var rows *sql.Rows
	if opt.MemberOf == "" {
		rows, err = s.reader.QueryContext(ctx,
			"SELECT "+projectColumns+" FROM projects WHERE id > ? ORDER BY id LIMIT ?", r.After, r.Limit+1)
	} else {
		uid, ok := record.ParseID(opt.MemberOf)
		if !ok {
			return nil, "", nil // no user, no memberships
		}
		rows, err = s.reader.QueryContext(ctx,
			`SELECT `+projectColumns+` FROM projects
			  WHERE id > ? AND id IN (SELECT project_id FROM project_members WHERE user_id = ?)
			  ORDER BY id LIMIT ?`, r.After, uid, r.Limit+1)
	}
	if err != nil {
		return nil, "", translate(ctx, "list projects", err)
	}
	defer rows.Close()
	ps := make([]store.Project, 0, min(r.Limit+1, 128))
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, "", translate(ctx, "list projects", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
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
	p, err := scanProject(s.writer.QueryRowContext(ctx,
		`UPDATE projects
		    SET name = coalesce(?, name), root = coalesce(?, root), updated_at = max(?, updated_at + 1)
		  WHERE id = ?
		RETURNING `+projectColumns,
		u.Name, u.Root, now().UnixMicro(), cid))
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
	res, err := s.writer.ExecContext(ctx, "DELETE FROM projects WHERE id = ?", cid)
	if err != nil {
		return translate(ctx, fmt.Sprintf("delete project %s", cid), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return translate(ctx, fmt.Sprintf("delete project %s", cid), err)
	}
	if n == 0 {
		return fmt.Errorf("delete project %s: %w", cid, store.ErrNotFound)
	}
	return nil
}

// scanProject reads a row of projectColumns.
func scanProject(row interface{ Scan(...any) error }) (store.Project, error) {
	var p store.Project
	var created, updated int64
	if err := row.Scan(&p.ID, &p.Name, &p.Root, &created, &updated); err != nil {
		return store.Project{}, err
	}
	p.CreatedAt = time.UnixMicro(created).UTC()
	p.UpdatedAt = time.UnixMicro(updated).UTC()
	return p, nil
}
