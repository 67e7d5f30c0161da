package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/internal/page"
	"github.com/gathering-dev/gathering/store/internal/record"
)

// Times in these tables come from the database's clock, which every
// instance shares, so expiries and failure windows agree across instances.

const userColumns = "id::text, email, name, role, password_hash, disabled, created_at, updated_at"

// CreateUser stores a new user; see [store.AuthStore.CreateUser].
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	if err := record.CheckUser(u); err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	id, err := record.NewID()
	if err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	got, err := scanUser(s.pool.QueryRow(ctx,
		`INSERT INTO users (id, email, name, role, password_hash, disabled, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, statement_timestamp(), statement_timestamp())
		 RETURNING `+userColumns,
		id, u.Email, u.Name, string(u.Role), u.PasswordHash, u.Disabled))
	if err != nil {
		return store.User{}, translate(ctx, "create user", err)
	}
	return got, nil
}

// GetUser returns a user by ID; see [store.AuthStore.GetUser].
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	cid, ok := record.ParseID(id)
	if !ok {
		return store.User{}, fmt.Errorf("get user %q: %w", id, store.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", cid))
	if err != nil {
		return store.User{}, translate(ctx, "get user "+cid, err)
	}
	return u, nil
}

// GetUserByEmail returns a user by email; see [store.AuthStore.GetUserByEmail].
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE email = $1", email))
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
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+" FROM users WHERE id > $1 ORDER BY id LIMIT $2", r.After, r.Limit+1)
	if err != nil {
		return nil, "", translate(ctx, "list users", err)
	}
	us, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.User, error) { return scanUser(row) })
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
	got, err := scanUser(s.pool.QueryRow(ctx,
		`UPDATE users
		    SET role = coalesce($2, role), disabled = coalesce($3, disabled),
		        password_hash = coalesce($4, password_hash),
		        updated_at = greatest(statement_timestamp(), updated_at + interval '1 microsecond')
		  WHERE id = $1
		RETURNING `+userColumns,
		cid, role, u.Disabled, u.PasswordHash))
	if err != nil {
		return store.User{}, translate(ctx, "update user "+cid, err)
	}
	return got, nil
}

const tokenColumns = "id::text, user_id::text, name, created_at, expires_at, revoked_at"

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
	got, err := scanToken(s.pool.QueryRow(ctx,
		`INSERT INTO tokens (id, user_id, name, hash, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, statement_timestamp(), $5)
		 RETURNING `+tokenColumns,
		id, uid, t.Name, t.Hash, t.ExpiresAt.UTC().Truncate(time.Microsecond)))
	if err != nil {
		return store.Token{}, translate(ctx, "create token", err)
	}
	return got, nil
}

// GetTokenByHash returns a token and its user; see [store.AuthStore.GetTokenByHash].
func (s *Store) GetTokenByHash(ctx context.Context, hash []byte) (store.Token, store.User, error) {
	row := s.pool.QueryRow(ctx, `SELECT t.id::text, t.user_id::text, t.name, t.created_at, t.expires_at, t.revoked_at,
	        u.id::text, u.email, u.name, u.role, u.password_hash, u.disabled, u.created_at, u.updated_at
	   FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, hash)
	var t store.Token
	var u store.User
	var revoked *time.Time
	var role string
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.CreatedAt, &t.ExpiresAt, &revoked,
		&u.ID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.Disabled, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return store.Token{}, store.User{}, translate(ctx, "get token", err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), utc(revoked)
	t.Hash = append([]byte(nil), hash...)
	u.Role, u.CreatedAt, u.UpdatedAt = store.Role(role), u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return t, u, nil
}

// ListTokens returns a page of tokens; see [store.AuthStore.ListTokens].
func (s *Store) ListTokens(ctx context.Context, userID string, opt store.ListOptions) ([]store.Token, string, error) {
	r, err := page.Parse(opt)
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	var rows pgx.Rows
	if userID == "" {
		rows, err = s.pool.Query(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE id > $1 ORDER BY id LIMIT $2", r.After, r.Limit+1)
	} else {
		uid, ok := record.ParseID(userID)
		if !ok {
			return nil, "", nil
		}
		rows, err = s.pool.Query(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE id > $1 AND user_id = $2 ORDER BY id LIMIT $3", r.After, uid, r.Limit+1)
	}
	if err != nil {
		return nil, "", translate(ctx, "list tokens", err)
	}
	ts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Token, error) { return scanToken(row) })
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
	t, err := scanToken(s.pool.QueryRow(ctx,
		"UPDATE tokens SET revoked_at = coalesce(revoked_at, statement_timestamp()) WHERE id = $1 RETURNING "+tokenColumns, cid))
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
	_, err := s.pool.Exec(ctx,
		"INSERT INTO project_members (project_id, user_id, added_at) VALUES ($1, $2, statement_timestamp()) ON CONFLICT DO NOTHING",
		pid, uid)
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
	tag, err := s.pool.Exec(ctx, "DELETE FROM project_members WHERE project_id = $1 AND user_id = $2", pid, uid)
	if err != nil {
		return translate(ctx, "remove member", err)
	}
	if tag.RowsAffected() == 0 {
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
	var ok bool
	err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2)", pid, uid).Scan(&ok)
	if err != nil {
		return false, translate(ctx, "check membership", err)
	}
	return ok, nil
}

// ListProjectMembers lists a project's members; see [store.AuthStore.ListProjectMembers].
func (s *Store) ListProjectMembers(ctx context.Context, projectID string) ([]store.Member, error) {
	pid, ok := record.ParseID(projectID)
	if !ok {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT m.project_id::text, m.user_id::text, u.email, u.role, m.added_at
	   FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY m.user_id`, pid)
	if err != nil {
		return nil, translate(ctx, "list members", err)
	}
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Member, error) {
		var m store.Member
		var role string
		err := row.Scan(&m.ProjectID, &m.UserID, &m.Email, &role, &m.AddedAt)
		m.Role, m.AddedAt = store.Role(role), m.AddedAt.UTC()
		return m, err
	})
	if err != nil {
		return nil, translate(ctx, "list members", err)
	}
	return ms, nil
}

const auditColumns = "id::text, at, kind, actor, remote, target, detail"

// AppendAudit records an event; see [store.AuthStore.AppendAudit].
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	if err := record.CheckAudit(e); err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit: %w", err)
	}
	id, err := record.NewID()
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit: %w", err)
	}
	got, err := scanAudit(s.pool.QueryRow(ctx,
		`INSERT INTO audit_events (id, at, kind, actor, remote, target, detail)
		 VALUES ($1, statement_timestamp(), $2, $3, $4, $5, $6) RETURNING `+auditColumns,
		id, e.Kind, e.Actor, e.Remote, e.Target, e.Detail))
	if err != nil {
		return store.AuditEvent{}, translate(ctx, "append audit", err)
	}
	return got, nil
}

// ListAudit lists audit events; see [store.AuthStore.ListAudit].
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, string, error) {
	r, err := page.Parse(store.ListOptions{After: q.Before, Limit: q.Limit})
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.Before != "" {
		add("id < ?", r.After)
	}
	if q.Kind != "" {
		add("kind = ?", q.Kind)
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
	}
	if q.Target != "" {
		add("target = ?", q.Target)
	}
	if !q.Since.IsZero() {
		add("at >= ?", q.Since)
	}
	if !q.Until.IsZero() {
		add("at < ?", q.Until)
	}
	query := "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		// Only fixed conditions are joined in; every value is a parameter.
		query += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, r.Limit+1)
	rows, err := s.pool.Query(ctx, query+" ORDER BY id DESC LIMIT $"+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", translate(ctx, "list audit", err)
	}
	es, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AuditEvent, error) { return scanAudit(row) })
	if err != nil {
		return nil, "", translate(ctx, "list audit", err)
	}
	es, next := page.FinishBy(r, es, func(e store.AuditEvent) string { return e.ID })
	return es, next, nil
}

// RecordLoginFailure counts failed logins; see [store.AuthStore.RecordLoginFailure].
func (s *Store) RecordLoginFailure(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if err := record.CheckKey(k); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
	}
	if _, err := s.pool.Exec(ctx, "INSERT INTO login_failures (key, at) SELECT k, statement_timestamp() FROM unnest($1::text[]) AS k", keys); err != nil {
		return translate(ctx, "record login failure", err)
	}
	return nil
}

// LoginFailures counts failed logins; see [store.AuthStore.LoginFailures].
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest *time.Time
	if err := s.pool.QueryRow(ctx, "SELECT count(*), min(at) FROM login_failures WHERE key = $1 AND at >= $2", key, since).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, translate(ctx, "count login failures", err)
	}
	return n, utc(oldest), nil
}

// ClearLoginFailures forgets a key's failures; see [store.AuthStore.ClearLoginFailures].
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM login_failures WHERE key = $1", key); err != nil {
		return translate(ctx, "clear login failures", err)
	}
	return nil
}

// PruneLoginFailures forgets old failures; see [store.AuthStore.PruneLoginFailures].
func (s *Store) PruneLoginFailures(ctx context.Context, before time.Time) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM login_failures WHERE at < $1", before); err != nil {
		return translate(ctx, "prune login failures", err)
	}
	return nil
}

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var role string
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.Disabled, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return store.User{}, err
	}
	u.Role, u.CreatedAt, u.UpdatedAt = store.Role(role), u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}

func scanToken(row pgx.Row) (store.Token, error) {
	var t store.Token
	var revoked *time.Time
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.CreatedAt, &t.ExpiresAt, &revoked); err != nil {
		return store.Token{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), utc(revoked)
	return t, nil
}

func scanAudit(row pgx.Row) (store.AuditEvent, error) {
	var e store.AuditEvent
	if err := row.Scan(&e.ID, &e.At, &e.Kind, &e.Actor, &e.Remote, &e.Target, &e.Detail); err != nil {
		return store.AuditEvent{}, err
	}
	e.At = e.At.UTC()
	return e, nil
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
