package store_test

import (
	"strings"
	"testing"

	"github.com/gathering-dev/gathering/store"
)

func TestRedactDSN(t *testing.T) {
	for _, test := range []struct {
		dsn, want string
	}{
		{"", ""},
		{"/var/lib/gathering/store.db", "/var/lib/gathering/store.db"},
		{"postgres://localhost/db", "postgres://localhost/db"},
		{"postgres://alice@localhost/db", "postgres://alice@localhost/db"},
		{"postgres://alice:s3cret@localhost:5432/db?sslmode=disable", "postgres://alice:xxxxx@localhost:5432/db?sslmode=disable"},
		{"postgresql://alice:s3cret@h1:5432,h2:5433/db", "postgresql://alice:xxxxx@h1:5432,h2:5433/db"},
		{"postgres://alice:p%40ss@localhost/db", "postgres://alice:xxxxx@localhost/db"},
		{"postgres://alice:p@ss/w?rd@localhost/db", "postgres://alice:xxxxx@localhost/db"},
		{"postgres://alice:@localhost/db", "postgres://alice:xxxxx@localhost/db"},
		{"postgres://localhost/db?user=alice&password=s3cret&sslmode=require", "postgres://localhost/db?user=alice&password=xxxxx&sslmode=require"},
		{"postgres://localhost/db?sslpassword=s3cret", "postgres://localhost/db?sslpassword=xxxxx"},
		{"postgres://localhost/db?PASSWORD=s3cret#frag", "postgres://localhost/db?PASSWORD=xxxxx#frag"},
		{"postgres://localhost/db?search_path=t_1&password=s3cret", "postgres://localhost/db?search_path=t_1&password=xxxxx"},
		{"host=localhost password=s3cret dbname=db", "host=localhost password=xxxxx dbname=db"},
		{"host=localhost password = s3cret dbname=db", "host=localhost password=xxxxx dbname=db"},
		{"host=localhost password='s3 cr\\'et' dbname=db", "host=localhost password=xxxxx dbname=db"},
		{"host=localhost password='unterminated secret", "host=localhost password=xxxxx"},
		{"host=localhost password=", "host=localhost password=xxxxx"},
		// libpq skips the blanks after "=", so the password here is "dbname=db".
		{"host=localhost password= dbname=db", "host=localhost password=xxxxx"},
		{"password=a sslpassword=b user=c", "password=xxxxx sslpassword=xxxxx user=c"},
		{"Password=s3cret", "Password=xxxxx"},
		{"user=password_owner dbname=db", "user=password_owner dbname=db"},
	} {
		if got := store.RedactDSN(test.dsn); got != test.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", test.dsn, got, test.want)
		}
	}
}

func TestRedactDSNHidesSecrets(t *testing.T) {
	// Whatever shape the string has, the secret must not survive.
	const secret = "hunter2"
	for _, dsn := range []string{
		"postgres://u:" + secret + "@h/db",
		"postgres://u:" + secret + "@h/db?password=" + secret,
		"postgres://u:a" + secret + "@b@h/db",
		"postgres://u:" + secret + "?x@h/db",
		"host=h password=" + secret,
		"host=h password='" + secret + " and more'",
		"host=h\tpassword\t=\t" + secret,
		"host=h sslpassword=" + secret + " password=" + secret,
	} {
		if got := store.RedactDSN(dsn); strings.Contains(got, secret) {
			t.Errorf("RedactDSN(%q) = %q, which still holds the secret", dsn, got)
		}
	}
}
