package pluginv1_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

// pluginCapEnv, when set, makes the test binary the plugin: it serves an
// echo LanguagePlugin whose gRPC server caps messages at the given size.
const pluginCapEnv = "PLUGINV1_TEST_PLUGIN_CAP"

func TestMain(m *testing.M) {
	if v := os.Getenv(pluginCapEnv); v != "" {
		limit, err := strconv.Atoi(v)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad", pluginCapEnv, v)
			os.Exit(2)
		}
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: pluginv1.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{
				pluginv1.APIVersion: {pluginv1.PluginKey: &pluginv1.GRPCPlugin{Impl: echoServer{}}},
			},
			GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
				return grpc.NewServer(append(opts, pluginv1.ServerOptions(limit)...)...)
			},
			Logger: hclog.NewNullLogger(),
		})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// echoServer answers GetInfo with a fixed identity and echoes every Session
// frame, except "send:N", which it answers with N bytes of 'x' (so the test
// can make the plugin send a message of a chosen size).
type echoServer struct {
	pluginv1.UnimplementedLanguagePluginServer
}

func (echoServer) GetInfo(context.Context, *pluginv1.GetInfoRequest) (*pluginv1.Info, error) {
	return &pluginv1.Info{Name: "echo", Version: "0.1.0", Api: pluginv1.APIVersion}, nil
}

func (echoServer) Session(s grpc.BidiStreamingServer[pluginv1.Frame, pluginv1.Frame]) error {
	for {
		f, err := s.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n, ok := strings.CutPrefix(string(f.Message), "send:"); ok {
			size, _ := strconv.Atoi(n)
			f = &pluginv1.Frame{Message: bytes.Repeat([]byte("x"), size)}
		}
		if err := s.Send(f); err != nil {
			return err
		}
	}
}

// start launches the test binary as a plugin through go-plugin, the plugin
// capping at pluginCap and the host at hostCap, and returns the host's client.
func start(t *testing.T, pluginCap, hostCap int) pluginv1.LanguagePluginClient {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	// atexit_sleep_ms=0: a race-built plugin would otherwise linger 1 s at exit.
	cmd.Env = []string{pluginCapEnv + "=" + strconv.Itoa(pluginCap), "GORACE=atexit_sleep_ms=0"}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginv1.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.APIVersion: {pluginv1.PluginKey: &pluginv1.GRPCPlugin{}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  pluginv1.DialOptions(hostCap),
		Logger:           hclog.NewNullLogger(),
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	raw, err := rpc.Dispense(pluginv1.PluginKey)
	if err != nil {
		t.Fatalf("dispense %q: %v", pluginv1.PluginKey, err)
	}
	lp, ok := raw.(pluginv1.LanguagePluginClient)
	if !ok {
		t.Fatalf("dispense gave %T, want LanguagePluginClient", raw)
	}
	return lp
}

func session(t *testing.T, c pluginv1.LanguagePluginClient) grpc.BidiStreamingClient[pluginv1.Frame, pluginv1.Frame] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := c.Session(ctx)
	if err != nil {
		t.Fatalf("open session: %v", err)
	}
	return s
}

func roundTrip(s grpc.BidiStreamingClient[pluginv1.Frame, pluginv1.Frame], msg []byte) ([]byte, error) {
	if err := s.Send(&pluginv1.Frame{Message: msg}); err != nil {
		return nil, err
	}
	f, err := s.Recv()
	if err != nil {
		return nil, err
	}
	return f.Message, nil
}

func TestGetInfoAndSessionEcho(t *testing.T) {
	c := start(t, 0, 0)
	info, err := c.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	if info.Name != "echo" || info.Version != "0.1.0" || info.Api != pluginv1.APIVersion {
		t.Fatalf("GetInfo = %v, want echo 0.1.0 api %d", info, pluginv1.APIVersion)
	}
	s := session(t, c)
	for i := range 3 {
		msg := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`, i)
		got, err := roundTrip(s, msg)
		if err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("round trip %d: got %q, want %q", i, got, msg)
		}
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: Recv = %v, want io.EOF", err)
	}
}

// TestDefaultCapIs16MiB checks that 0 means DefaultMaxMessageBytes on both
// sides: a message of exactly that size goes there and back.
func TestDefaultCapIs16MiB(t *testing.T) {
	c := start(t, 0, 0)
	s := session(t, c)
	msg := bytes.Repeat([]byte("y"), pluginv1.DefaultMaxMessageBytes)
	got, err := roundTrip(s, msg)
	if err != nil {
		t.Fatalf("round trip of DefaultMaxMessageBytes: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
	}
	_, err = roundTrip(session(t, c), bytes.Repeat([]byte("y"), pluginv1.DefaultMaxMessageBytes+1))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("DefaultMaxMessageBytes+1: err = %v, want ResourceExhausted", err)
	}
}

// TestMessageCaps checks that each side enforces its own cap whatever the
// other side's is: a message of exactly the cap passes, one byte more ends
// that Session with ResourceExhausted, and the connection still answers
// GetInfo and carries a new Session afterwards.
func TestMessageCaps(t *testing.T) {
	const limit = 64 << 10
	cases := []struct {
		name               string
		pluginCap, hostCap int
		plugin             bool // the plugin sends the message (else the host does)
	}{
		{"host refuses to send", 4 * limit, limit, false},
		{"plugin refuses to receive", limit, 4 * limit, false},
		{"plugin refuses to send", limit, 4 * limit, true},
		{"host refuses to receive", 4 * limit, limit, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := start(t, tc.pluginCap, tc.hostCap)
			exchange := func(size int) ([]byte, error) {
				if tc.plugin {
					return roundTrip(session(t, c), fmt.Appendf(nil, "send:%d", size))
				}
				return roundTrip(session(t, c), bytes.Repeat([]byte("z"), size))
			}
			got, err := exchange(limit)
			if err != nil || len(got) != limit {
				t.Fatalf("message of exactly the cap: got %d bytes, err %v", len(got), err)
			}
			if _, err := exchange(limit + 1); status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("message one byte over the cap: err = %v, want ResourceExhausted", err)
			}
			if _, err := c.GetInfo(context.Background(), &pluginv1.GetInfoRequest{}); err != nil {
				t.Fatalf("GetInfo after the refusal: %v", err)
			}
			if got, err := roundTrip(session(t, c), []byte("still here")); err != nil || string(got) != "still here" {
				t.Fatalf("new Session after the refusal: %q, %v", got, err)
			}
		})
	}
}

func TestGRPCServerWithoutServerFails(t *testing.T) {
	p := &pluginv1.GRPCPlugin{}
	if err := p.GRPCServer(nil, grpc.NewServer()); err == nil {
		t.Fatal("GRPCServer with a nil Impl succeeded")
	}
}
