package record

import (
	"fmt"

	"github.com/gathering-dev/gathering/store"
)

// CheckUser returns [store.ErrInvalid] unless u's fields can be stored.
func CheckUser(u store.User) error {
	if err := checkText("user email", u.Email); err != nil {
		return err
	}
	if u.Name != "" {
		if err := checkText("user name", u.Name); err != nil {
			return err
		}
	}
	if !u.Role.Valid() {
		return fmt.Errorf("user role %q: %w", u.Role, store.ErrInvalid)
	}
	return checkText("user password hash", u.PasswordHash)
}

// CheckUserUpdate returns [store.ErrInvalid] unless every field u sets can be
// stored.
func CheckUserUpdate(u store.UserUpdate) error {
	if u.Role != nil && !u.Role.Valid() {
		return fmt.Errorf("user role %q: %w", *u.Role, store.ErrInvalid)
	}
	if u.PasswordHash != nil {
		return checkText("user password hash", *u.PasswordHash)
	}
	return nil
}

// CheckToken returns [store.ErrInvalid] unless t's fields can be stored.
func CheckToken(t store.Token) error {
	if len(t.Hash) != 32 {
		return fmt.Errorf("token hash of %d bytes, want 32: %w", len(t.Hash), store.ErrInvalid)
	}
	if t.ExpiresAt.IsZero() {
		return fmt.Errorf("token has no expiry: %w", store.ErrInvalid)
	}
	if t.Name != "" {
		return checkText("token name", t.Name)
	}
	return nil
}

// CheckAudit returns [store.ErrInvalid] unless e's texts can be stored.
func CheckAudit(e store.AuditEvent) error {
	if err := checkText("audit kind", e.Kind); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"actor", e.Actor}, {"remote", e.Remote}, {"target", e.Target}, {"detail", e.Detail}} {
		if f.v != "" {
			if err := checkText("audit "+f.name, f.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckKey returns [store.ErrInvalid] unless key can be stored as a login
// failure key.
func CheckKey(key string) error {
	return checkText("login failure key", key)
}
