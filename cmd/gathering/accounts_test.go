package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/internal/rpc"
	"github.com/gathering-dev/gathering/protocol"
)

// gather runs a command in process and returns its exit code and output.
func gather(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAccountCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	cfg := writeConfig(t, "")
	common := []string{"--database", db, "--config", cfg}
	if code, _, errs := gather(t, "", append([]string{"user", "add", "--email", "a@example.com"}, common...)...); code == 0 {
		t.Errorf("user add without a password on stdin succeeded: %s", errs)
	}
	// A password given in the environment is not read: there is no such setting.
	t.Setenv("GATHERING_PASSWORD", "from-the-env-1")
	code, out, errs := gather(t, "s3cret-pass\n", append([]string{"user", "add", "--email", "Admin@Example.com", "--role", "admin"}, common...)...)
	if code != 0 || !strings.Contains(out, "created admin user admin@example.com") {
		t.Fatalf("user add = %d, %q, %q", code, out, errs)
	}
	if code, out, _ := gather(t, "", append([]string{"user", "list"}, common...)...); code != 0 || !strings.Contains(out, "admin@example.com") || strings.Contains(out, "argon2") {
		t.Errorf("user list = %d, %q", code, out)
	}
	if code, out, _ := gather(t, "", append([]string{"user", "set-role", "--email", "admin@example.com", "--role", "viewer"}, common...)...); code != 0 || !strings.Contains(out, "now viewer") {
		t.Errorf("user set-role = %d, %q", code, out)
	}
	code, out, errs = gather(t, "", append([]string{"token", "create", "--email", "admin@example.com", "--ttl", "1h"}, common...)...)
	tok := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(tok, "gat_") || !strings.Contains(errs, "shown only now") {
		t.Fatalf("token create = %d, %q, %q", code, out, errs)
	}
	code, out, _ = gather(t, "", append([]string{"token", "list"}, common...)...)
	id := regexp.MustCompile(`(?m)^([0-9a-f-]{36})\s`).FindStringSubmatch(out)
	if code != 0 || id == nil || strings.Contains(out, tok) {
		t.Fatalf("token list = %d, %q", code, out)
	}
	if code, out, _ := gather(t, "", append([]string{"token", "revoke", "--id", id[1]}, common...)...); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("token revoke = %d, %q", code, out)
	}
	beforeDisable := time.Now().Format(time.RFC3339Nano)
	if code, out, _ := gather(t, "", append([]string{"user", "disable", "--email", "admin@example.com"}, common...)...); code != 0 || !strings.Contains(out, "disabled: true") {
		t.Errorf("user disable = %d, %q", code, out)
	}
	code, out, _ = gather(t, "", append([]string{"audit", "--kind", "token_revoke"}, common...)...)
	if code != 0 || !strings.Contains(out, id[1]) || strings.Count(out, "\n") != 2 {
		t.Errorf("audit --kind token_revoke = %d, %q; want the one revocation", code, out)
	}
	if code, out, _ := gather(t, "", append([]string{"audit"}, common...)...); code != 0 || strings.Count(out, "\n") != 6 {
		t.Errorf("audit = %d, %q; want 5 events (user_create, user_update ×2, token_create, token_revoke)", code, out)
	}
	code, out, _ = gather(t, "", append([]string{"audit", "--until", beforeDisable}, common...)...)
	if code != 0 || strings.Count(out, "\n") != 5 || strings.Contains(out, "disabled true") || !strings.Contains(out, "token_revoke") {
		t.Errorf("audit --until %s = %d, %q; want the 4 events before the disable", beforeDisable, code, out)
	}
	code, out, _ = gather(t, "", append([]string{"audit", "--since", beforeDisable, "--until", "0s"}, common...)...)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "disabled true") {
		t.Errorf("audit --since %s --until 0s = %d, %q; want the disable alone", beforeDisable, code, out)
	}
	if code, _, errs := gather(t, "", append([]string{"audit", "--until", "yesterday"}, common...)...); code == 0 || !strings.Contains(errs, "RFC 3339") {
		t.Errorf("audit --until yesterday = %d, %q; want a usage error naming the forms", code, errs)
	}
}

// startTCP starts `gathering serve` on TCP with args and returns its address.
func startTCP(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "GATHERING_CONFIG=")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`listening on (\S+:\d+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return m[1]
		}
	}
	t.Fatal("server never said where it listens")
	return ""
}

func dialRPC(t *testing.T, conn net.Conn) *rpc.Conn {
	t.Helper()
	c := rpc.NewConn(t.Context(), conn, nopHandler{}, nil)
	c.Start()
	t.Cleanup(func() { c.Close() })
	return c
}

func callRPC(t *testing.T, c *rpc.Conn, method string, params, result any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return c.Call(ctx, method, params, result)
}

func TestTCPNeedsAToken(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	cfg := writeConfig(t, "")
	if code, _, errs := gather(t, "s3cret-pass\n", "user", "add", "--email", "m@example.com", "--role", "member", "--database", db, "--config", cfg); code != 0 {
		t.Fatal(errs)
	}
	_, out, _ := gather(t, "", "token", "create", "--email", "m@example.com", "--database", db, "--config", cfg)
	tok := strings.TrimSpace(out)

	certFile, keyFile := selfSigned(t, dir)
	addr := startTCP(t, "--listen", "127.0.0.1:0", "--database", db, "--tls-cert", certFile, "--tls-key", keyFile)
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // the test's own self-signed certificate
	if err != nil {
		t.Fatal(err)
	}
	c := dialRPC(t, conn)
	init := func(token string) error {
		p := map[string]any{"capabilities": map[string]any{}}
		if token != "" {
			p["initializationOptions"] = map[string]any{"token": token}
		}
		return callRPC(t, c, "initialize", p, nil)
	}
	if err := init("gat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !isCode(err, protocol.Unauthorized) {
		t.Errorf("initialize with a wrong token = %v, want unauthorized", err)
	}
	if err := init(tok); err != nil {
		t.Fatalf("initialize with the token: %v", err)
	}
	var who protocol.WhoamiResult
	if err := callRPC(t, c, protocol.MethodAuthWhoami, nil, &who); err != nil || who.Name != "m@example.com" || who.Role != "member" {
		t.Errorf("whoami = %+v, %v", who, err)
	}

	// Without a token, only login works.
	conn2, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	c2 := dialRPC(t, conn2)
	if err := callRPC(t, c2, "initialize", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := callRPC(t, c2, protocol.MethodStatus, nil, nil); !isCode(err, protocol.Unauthorized) {
		t.Errorf("status before login = %v, want unauthorized", err)
	}
	var login protocol.LoginResult
	if err := callRPC(t, c2, protocol.MethodAuthLogin, protocol.LoginParams{Email: "m@example.com", Password: "s3cret-pass"}, &login); err != nil {
		t.Fatalf("login: %v", err)
	}
	if err := callRPC(t, c2, protocol.MethodStatus, nil, nil); err != nil {
		t.Errorf("status after login = %v", err)
	}
}

// isCode reports whether err is a protocol error with this data code.
func isCode(err error, code protocol.Code) bool {
	e := protocol.AsError(err)
	return e != nil && e.Data.Code == code
}

func TestListenRules(t *testing.T) {
	cfg := writeConfig(t, "")
	db := filepath.Join(t.TempDir(), "g.db")
	for _, test := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:0"}, "no TLS"},
		{[]string{"--listen", "127.0.0.1:0", "--tls-cert", "x.pem"}, "go together"},
	} {
		code, _, errs := gather(t, "", append([]string{"serve", "--config", cfg, "--database", db}, test.args...)...)
		if code != 1 || !strings.Contains(errs, test.want) {
			t.Errorf("serve %v = %d, %q; want a refusal naming %q", test.args, code, errs, test.want)
		}
	}
	// --insecure allows a non-loopback bind without TLS.
	startTCP(t, "--listen", "0.0.0.0:0", "--insecure", "--database", db)
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}
