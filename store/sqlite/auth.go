package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/internal/page"
	"github.com/gathering-dev/gathering/store/internal/record"
)

const userColumns = "id, email, name, role, password_hash, disabled, created_at, updated_at"

// CreateUser stores a new user; see [store.AuthStore.CreateUser].
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	if err := record.CheckUser(u); err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	id, err := record.NewID()
	if err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	t := now()
	u.ID, u.CreatedAt, u.UpdatedAt = id, t, t
	_, err = s.writer.ExecContext(ctx, "INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.Disabled, t.UnixMicro(), t.UnixMicro())
	if err != nil {
		return store.User{}, translate(ctx, "create user", err)
	}
	return u, nil
}

// GetUser returns a user by ID; see [store.AuthStore.GetUser].
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	cid, ok := record.ParseID(id)
	if !ok {
		return store.User{}, fmt.Errorf("get user %q: %w", id, store.ErrNotFound)
	}
	u, err := scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", cid))
	if err != nil {
		return store.User{}, translate(ctx, "get user "+cid, err)
	}
	return u, nil
}

// GetUserByEmail returns a user by email; see [store.AuthStore.GetUserByEmail].
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", email))
	if err != nil {
		return store.User{}, translate(ctx, fmt.Sprintf("get user by email %q", email), err)
	}
	return u, nil
}

// ListUsers returns a page of users; see [store.AuthStore.ListUsers].
func (s *Store) ListUsers(ctx context.Context, opt store.ListOptions) ([]store.User, string, error) {
	r, err := page.Parse(opt)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT "+userColumns+" FROM users WHERE id > ? ORDER BY id LIMIT ?", r.After, r.Limit+1)
	if err != nil {
		return nil, "", translate(ctx, "list users", err)
	}
	us, err := collect(rows, scanUser)
	if err != nil {
		return nil, "", translate(ctx, "list users", err)
	}
	us, next := page.FinishBy(r, us, func(u store.User) string { return u.ID })
	return us, next, nil
}

// UpdateUser changes a user; see [store.AuthStore.UpdateUser].
func (s *Store) UpdateUser(ctx context.Context, id string, u store.UserUpdate) (store.User, error) {
	if err := record.CheckUserUpdate(u); err != nil {
		return store.User{}, fmt.Errorf("update user %q: %w", id, err)
	}
	cid, ok := record.ParseID(id)
	if !ok {
		return store.User{}, fmt.Errorf("update user %q: %w", id, store.ErrNotFound)
	}
	var role *string
	if u.Role != nil {
		r := string(*u.Role)
		role = &r
	}
	got, err := scanUser(s.writer.QueryRowContext(ctx,
		`UPDATE users
		    SET role = coalesce(?, role), disabled = coalesce(?, disabled),
		        password_hash = coalesce(?, password_hash), updated_at = max(?, updated_at + 1)
		  WHERE id = ?
		RETURNING `+userColumns,
		role, u.Disabled, u.PasswordHash, now().UnixMicro(), cid))
	if err != nil {
		return store.User{}, translate(ctx, "update user "+cid, err)
	}
	return got, nil
}

const tokenColumns = "id, user_id, name, created_at, expires_at, revoked_at"

// CreateToken stores a token; see [store.AuthStore.CreateToken].
func (s *Store) CreateToken(ctx context.Context, t store.Token) (store.Token, error) {
	if err := record.CheckToken(t); err != nil {
		return store.Token{}, fmt.Errorf("create token: %w", err)
	}
	uid, ok := record.ParseID(t.UserID)
	if !ok {
		return store.Token{}, fmt.Errorf("create token: user %q: %w", t.UserID, store.ErrNotFound)
	}
	id, err := record.NewID()
	if err != nil {
		return store.Token{}, fmt.Errorf("create token: %w", err)
	}
	created := now()
	out := store.Token{ID: id, UserID: uid, Name: t.Name, CreatedAt: created, ExpiresAt: t.ExpiresAt.UTC().Truncate(time.Microsecond)}
	_, err = s.writer.ExecContext(ctx, "INSERT INTO tokens (id, user_id, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		id, uid, t.Name, t.Hash, created.UnixMicro(), out.ExpiresAt.UnixMicro())
	if err != nil {
		return store.Token{}, translate(ctx, "create token", err)
	}
	return out, nil
}

// GetTokenByHash returns a token and its user; see [store.AuthStore.GetTokenByHash].
func (s *Store) GetTokenByHash(ctx context.Context, hash []byte) (store.Token, store.User, error) {
	row := s.reader.QueryRowContext(ctx, `SELECT t.id, t.user_id, t.name, t.created_at, t.expires_at, t.revoked_at,
	        u.id, u.email, u.name, u.role, u.password_hash, u.disabled, u.created_at, u.updated_at
	   FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, hash)
	var t store.Token
	var u store.User
	var tc, te int64
	var tr sql.NullInt64
	var uc, uu int64
	var role string
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &tc, &te, &tr, &u.ID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.Disabled, &uc, &uu); err != nil {
		return store.Token{}, store.User{}, translate(ctx, "get token", err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = micros(tc), micros(te), nullMicros(tr)
	t.Hash = append([]byte(nil), hash...)
	u.Role, u.CreatedAt, u.UpdatedAt = store.Role(role), micros(uc), micros(uu)
	return t, u, nil
}

// ListTokens returns a page of tokens; see [store.AuthStore.ListTokens].
func (s *Store) ListTokens(ctx context.Context, userID string, opt store.ListOptions) ([]store.Token, string, error) {
	r, err := page.Parse(opt)
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	if userID != "" {
		uid, ok := record.ParseID(userID)
		if !ok {
			return nil, "", nil
		}
		userID = uid
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE id > ? AND (? = '' OR user_id = ?) ORDER BY id LIMIT ?",
		r.After, userID, userID, r.Limit+1)
	if err != nil {
		return nil, "", translate(ctx, "list tokens", err)
	}
	ts, err := collect(rows, scanToken)
	if err != nil {
		return nil, "", translate(ctx, "list tokens", err)
	}
	ts, next := page.FinishBy(r, ts, func(t store.Token) string { return t.ID })
	return ts, next, nil
}

// RevokeToken revokes a token; see [store.AuthStore.RevokeToken].
func (s *Store) RevokeToken(ctx context.Context, id string) (store.Token, error) {
	cid, ok := record.ParseID(id)
	if !ok {
		return store.Token{}, fmt.Errorf("revoke token %q: %w", id, store.ErrNotFound)
	}
	t, err := scanToken(s.writer.QueryRowContext(ctx,
		"UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING "+tokenColumns, now().UnixMicro(), cid))
	if err != nil {
		return store.Token{}, translate(ctx, "revoke token "+cid, err)
	}
	return t, nil
}

// AddProjectMember adds a member; see [store.AuthStore.AddProjectMember].
func (s *Store) AddProjectMember(ctx context.Context, projectID, userID string) error {
	pid, ok1 := record.ParseID(projectID)
	uid, ok2 := record.ParseID(userID)
	if !ok1 || !ok2 {
		return fmt.Errorf("add member %q to project %q: %w", userID, projectID, store.ErrNotFound)
	}
	_, err := s.writer.ExecContext(ctx,
		"INSERT INTO project_members (project_id, user_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		pid, uid, now().UnixMicro())
	if err != nil {
		return translate(ctx, fmt.Sprintf("add member %s to project %s", uid, pid), err)
	}
	return nil
}

// RemoveProjectMember ends a membership; see [store.AuthStore.RemoveProjectMember].
func (s *Store) RemoveProjectMember(ctx context.Context, projectID, userID string) error {
	pid, ok1 := record.ParseID(projectID)
	uid, ok2 := record.ParseID(userID)
	if !ok1 || !ok2 {
		return fmt.Errorf("remove member %q from project %q: %w", userID, projectID, store.ErrNotFound)
	}
	res, err := s.writer.ExecContext(ctx, "DELETE FROM project_members WHERE project_id = ? AND user_id = ?", pid, uid)
	if err != nil {
		return translate(ctx, "remove member", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return translate(ctx, "remove member", err)
	} else if n == 0 {
		return fmt.Errorf("remove member %s from project %s: %w", uid, pid, store.ErrNotFound)
	}
	return nil
}

// IsProjectMember reports a membership; see [store.AuthStore.IsProjectMember].
func (s *Store) IsProjectMember(ctx context.Context, projectID, userID string) (bool, error) {
	pid, ok1 := record.ParseID(projectID)
	uid, ok2 := record.ParseID(userID)
	if !ok1 || !ok2 {
		return false, nil
	}
	var n int
	err := s.reader.QueryRowContext(ctx, "SELECT count(*) FROM project_members WHERE project_id = ? AND user_id = ?", pid, uid).Scan(&n)
	if err != nil {
		return false, translate(ctx, "check membership", err)
	}
	return n > 0, nil
}

// ListProjectMembers lists a project's members; see [store.AuthStore.ListProjectMembers].
func (s *Store) ListProjectMembers(ctx context.Context, projectID string) ([]store.Member, error) {
	pid, ok := record.ParseID(projectID)
	if !ok {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT m.project_id, m.user_id, u.email, u.role, m.added_at
	   FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = ? ORDER BY m.user_id`, pid)
	if err != nil {
		return nil, translate(ctx, "list members", err)
	}
	ms, err := collect(rows, func(row interface{ Scan(...any) error }) (store.Member, error) {
		var m store.Member
		var role string
		var added int64
		err := row.Scan(&m.ProjectID, &m.UserID, &m.Email, &role, &added)
		m.Role, m.AddedAt = store.Role(role), micros(added)
		return m, err
	})
	if err != nil {
		return nil, translate(ctx, "list members", err)
	}
	return ms, nil
}

const auditColumns = "id, at, kind, actor, remote, target, detail"

// AppendAudit records an event; see [store.AuthStore.AppendAudit].
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	if err := record.CheckAudit(e); err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit: %w", err)
	}
	id, err := record.NewID()
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit: %w", err)
	}
	e.ID, e.At = id, now()
	_, err = s.writer.ExecContext(ctx, "INSERT INTO audit_events ("+auditColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		e.ID, e.At.UnixMicro(), e.Kind, e.Actor, e.Remote, e.Target, e.Detail)
	if err != nil {
		return store.AuditEvent{}, translate(ctx, "append audit", err)
	}
	return e, nil
}

// ListAudit lists audit events; see [store.AuthStore.ListAudit].
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, string, error) {
	r, err := page.Parse(store.ListOptions{After: q.Before, Limit: q.Limit})
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	var where []string
	var args []any
	if q.Before != "" {
		where, args = append(where, "id < ?"), append(args, r.After)
	}
	for _, f := range []struct{ col, v string }{{"kind", q.Kind}, {"actor", q.Actor}, {"target", q.Target}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	if !q.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, q.Until.UnixMicro())
	}
	query := "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		// Only fixed column names are joined in; every value is a parameter.
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.reader.QueryContext(ctx, query+" ORDER BY id DESC LIMIT ?", append(args, r.Limit+1)...)
	if err != nil {
		return nil, "", translate(ctx, "list audit", err)
	}
	es, err := collect(rows, func(row interface{ Scan(...any) error }) (store.AuditEvent, error) {
		var e store.AuditEvent
		var at int64
		err := row.Scan(&e.ID, &at, &e.Kind, &e.Actor, &e.Remote, &e.Target, &e.Detail)
		e.At = micros(at)
		return e, err
	})
	if err != nil {
		return nil, "", translate(ctx, "list audit", err)
	}
	es, next := page.FinishBy(r, es, func(e store.AuditEvent) string { return e.ID })
	return es, next, nil
}

// RecordLoginFailure counts failed logins; see [store.AuthStore.RecordLoginFailure].
func (s *Store) RecordLoginFailure(ctx context.Context, keys ...string) error {
	at := now().UnixMicro()
	for _, k := range keys {
		if err := record.CheckKey(k); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
		if _, err := s.writer.ExecContext(ctx, "INSERT INTO login_failures (key, at) VALUES (?, ?)", k, at); err != nil {
			return translate(ctx, "record login failure", err)
		}
	}
	return nil
}

// LoginFailures counts failed logins; see [store.AuthStore.LoginFailures].
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := s.reader.QueryRowContext(ctx, "SELECT count(*), min(at) FROM login_failures WHERE key = ? AND at >= ?",
		key, since.UnixMicro()).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, translate(ctx, "count login failures", err)
	}
	return n, nullMicros(oldest), nil
}

// ClearLoginFailures forgets a key's failures; see [store.AuthStore.ClearLoginFailures].
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.writer.ExecContext(ctx, "DELETE FROM login_failures WHERE key = ?", key); err != nil {
		return translate(ctx, "clear login failures", err)
	}
	return nil
}

// PruneLoginFailures forgets old failures; see [store.AuthStore.PruneLoginFailures].
func (s *Store) PruneLoginFailures(ctx context.Context, before time.Time) error {
	if _, err := s.writer.ExecContext(ctx, "DELETE FROM login_failures WHERE at < ?", before.UnixMicro()); err != nil {
		return translate(ctx, "prune login failures", err)
	}
	return nil
}

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var role string
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.Disabled, &created, &updated); err != nil {
		return store.User{}, err
	}
	u.Role, u.CreatedAt, u.UpdatedAt = store.Role(role), micros(created), micros(updated)
	return u, nil
}

func scanToken(row interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var created, expires int64
	var revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &created, &expires, &revoked); err != nil {
		return store.Token{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = micros(created), micros(expires), nullMicros(revoked)
	return t, nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func micros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return micros(v.Int64)
}
