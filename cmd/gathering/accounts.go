package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/gathering-dev/gathering/auth"
	"github.com/gathering-dev/gathering/store"
)

// The account commands work on the store directly, as the local owner of
// the machine: whoever can run them can read the database anyway. Passwords
// are read from the terminal (without echo) or from stdin, never from flags
// or the environment, where other users and logs could see them.

const userSynopsis = `Usage:
  gathering user add --email E [--name N] [--role admin|member|viewer] [settings]
      the password is read from the terminal, or from the first line of stdin
  gathering user list [settings]
  gathering user disable --email E [--enable] [settings]
  gathering user set-role --email E --role R [settings]`

const tokenSynopsis = `Usage:
  gathering token create --email E [--name N] [--ttl 720h] [settings]
      prints the token on stdout, once; the store keeps only its hash
  gathering token list [--email E] [settings]
  gathering token revoke --id ID [settings]`

const auditSynopsis = `Usage: gathering audit [--kind K] [--actor A] [--target T] [--since 24h] [--until T] [--limit N] [settings]

Prints the audit log, newest first: logins and failed logins with the
client's address, logouts, token and user changes, refused calls.`

// accountFlags are the arguments of the account commands.
type accountFlags struct {
	email, name, role, id, kind, actor, target string
	ttl                                        time.Duration
	since, until                               when
	limit                                      int
	enable                                     bool
}

// openAccounts parses a command's flags and settings, opens and migrates
// the store, and returns the auth service over it.
func openAccounts(ctx context.Context, name, synopsis string, args []string, stderr io.Writer, def func(*flag.FlagSet, *accountFlags)) (*auth.Service, *accountFlags, func(), error) {
	var c config
	var a accountFlags
	fs := newFlagSet(name, &c, scopeAll, stderr, synopsis)
	def(fs, &a)
	if err := parseSettings(fs, &c, args, os.Getenv); err != nil {
		return nil, nil, nil, err
	}
	log, closeLog, err := newLogger(&c, stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := openStore(ctx, &c, log)
	if err != nil {
		closeLog()
		return nil, nil, nil, err
	}
	closeAll := func() { st.Close(); closeLog() }
	if _, err := st.Migrate(ctx); err != nil {
		closeAll()
		return nil, nil, nil, fmt.Errorf("migrate store: %w", err)
	}
	svc, err := auth.New(st, &auth.Config{Logger: log})
	if err != nil {
		closeAll()
		return nil, nil, nil, err
	}
	return svc, &a, closeAll, nil
}

// localActor is who runs an account command, for the audit log.
func localActor() auth.Actor { return auth.Actor{Name: "local:" + localUser()} }

func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, userSynopsis)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	svc, a, done, err := openAccounts(ctx, "user "+sub, userSynopsis, rest, stderr, func(fs *flag.FlagSet, a *accountFlags) {
		switch sub {
		case "add":
			fs.StringVar(&a.email, "email", "", "the user's `email`, used to log in")
			fs.StringVar(&a.name, "name", "", "display `name`")
			fs.StringVar(&a.role, "role", "member", "`role`: admin, member or viewer")
		case "disable":
			fs.StringVar(&a.email, "email", "", "the user's `email`")
			fs.BoolVar(&a.enable, "enable", false, "enable the user again instead")
		case "set-role":
			fs.StringVar(&a.email, "email", "", "the user's `email`")
			fs.StringVar(&a.role, "role", "", "new `role`: admin, member or viewer")
		}
	})
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "add":
		if a.email == "" {
			return errors.New("--email is required")
		}
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		u, err := svc.CreateUser(ctx, a.email, a.name, store.Role(a.role), pw, localActor())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s user %s (%s)\n", u.Role, u.Email, u.ID)
	case "list":
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "EMAIL\tROLE\tDISABLED\tNAME\tID")
		after := ""
		for {
			us, next, err := svc.Store().ListUsers(ctx, store.ListOptions{After: after, Limit: store.MaxListLimit})
			if err != nil {
				return err
			}
			for _, u := range us {
				fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\n", u.Email, u.Role, u.Disabled, u.Name, u.ID)
			}
			if after = next; next == "" {
				break
			}
		}
		return w.Flush()
	case "disable":
		if a.email == "" {
			return errors.New("--email is required")
		}
		off := !a.enable
		u, err := svc.UpdateUser(ctx, a.email, nil, &off, nil, localActor())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s disabled: %v\n", u.Email, u.Disabled)
	case "set-role":
		if a.email == "" || a.role == "" {
			return errors.New("--email and --role are required")
		}
		r := store.Role(a.role)
		if !r.Valid() {
			return fmt.Errorf("role %q: want admin, member or viewer", a.role)
		}
		u, err := svc.UpdateUser(ctx, a.email, &r, nil, nil, localActor())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s is now %s\n", u.Email, u.Role)
	default:
		fmt.Fprintf(stderr, "gathering user: unknown subcommand %q\n\n%s\n", sub, userSynopsis)
		return errUsage
	}
	return nil
}

func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, tokenSynopsis)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	svc, a, done, err := openAccounts(ctx, "token "+sub, tokenSynopsis, rest, stderr, func(fs *flag.FlagSet, a *accountFlags) {
		switch sub {
		case "create":
			fs.StringVar(&a.email, "email", "", "the `email` of the user the token acts for")
			fs.StringVar(&a.name, "name", "cli", "what the token is for (`name`)")
			fs.DurationVar(&a.ttl, "ttl", 30*24*time.Hour, "lifetime (`duration`, at most a year)")
		case "list":
			fs.StringVar(&a.email, "email", "", "only this user's tokens (`email`)")
		case "revoke":
			fs.StringVar(&a.id, "id", "", "the token's `id` (from token list)")
		}
	})
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "create":
		if a.email == "" {
			return errors.New("--email is required")
		}
		tok, t, err := svc.CreateToken(ctx, a.email, a.name, a.ttl, localActor())
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		fmt.Fprintf(stderr, "token %s for %s expires %s; it is shown only now\n", t.ID, a.email, t.ExpiresAt.Format(time.RFC3339))
	case "list":
		userID := ""
		if a.email != "" {
			u, err := svc.Store().GetUserByEmail(ctx, auth.NormalizeEmail(a.email))
			if err != nil {
				return err
			}
			userID = u.ID
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tUSER\tNAME\tEXPIRES\tREVOKED")
		after := ""
		for {
			ts, next, err := svc.Store().ListTokens(ctx, userID, store.ListOptions{After: after, Limit: store.MaxListLimit})
			if err != nil {
				return err
			}
			for _, t := range ts {
				revoked := "-"
				if !t.RevokedAt.IsZero() {
					revoked = t.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.UserID, t.Name, t.ExpiresAt.Format(time.RFC3339), revoked)
			}
			if after = next; next == "" {
				break
			}
		}
		return w.Flush()
	case "revoke":
		if a.id == "" {
			return errors.New("--id is required")
		}
		t, err := svc.RevokeToken(ctx, a.id, localActor())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %s revoked at %s\n", t.ID, t.RevokedAt.Format(time.RFC3339))
	default:
		fmt.Fprintf(stderr, "gathering token: unknown subcommand %q\n\n%s\n", sub, tokenSynopsis)
		return errUsage
	}
	return nil
}

func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	svc, a, done, err := openAccounts(ctx, "audit", auditSynopsis, args, stderr, func(fs *flag.FlagSet, a *accountFlags) {
		fs.StringVar(&a.kind, "kind", "", "only events of this `kind` (login, login_failed, logout, token_create, token_revoke, user_create, user_update, member_add, member_remove, denied)")
		fs.StringVar(&a.actor, "actor", "", "only events of this `actor` (an email)")
		fs.StringVar(&a.target, "target", "", "only events on this `target`")
		fs.Var(&a.since, "since", "only events at or after this `time`: RFC 3339 (2025-01-02T15:04:05Z) or a duration ago (24h)")
		fs.Var(&a.until, "until", "only events before this `time`: RFC 3339 or a duration ago")
		fs.IntVar(&a.limit, "limit", 100, "at most `n` events")
	})
	if err != nil {
		return err
	}
	defer done()
	q := store.AuditQuery{Kind: a.kind, Actor: a.actor, Target: a.target, Since: a.since.t, Until: a.until.t, Limit: a.limit}
	es, _, err := svc.Store().ListAudit(ctx, q)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AT\tKIND\tACTOR\tREMOTE\tTARGET\tDETAIL")
	for _, e := range es {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Kind, dash(e.Actor), dash(e.Remote), dash(e.Target), e.Detail)
	}
	return w.Flush()
}

// when is a flag naming a point in time, as an RFC 3339 time or as a
// duration before now ("24h": a day ago). Its zero value is no time.
type when struct{ t time.Time }

func (w *when) String() string {
	if w == nil || w.t.IsZero() {
		return ""
	}
	return w.t.Format(time.RFC3339Nano)
}

func (w *when) Set(s string) error {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return fmt.Errorf("%s: a duration ago must not be negative", s)
		}
		w.t = time.Now().Add(-d)
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("%q is neither an RFC 3339 time (2025-01-02T15:04:05Z) nor a duration (24h)", s)
	}
	w.t = t
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readPassword reads a new password: from the terminal without echo, asked
// twice, when stdin is one, else the first line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	if stdin == nil {
		return "", errors.New("no password: stdin is closed")
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, auth.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin")
	}
	return pw, nil
}
