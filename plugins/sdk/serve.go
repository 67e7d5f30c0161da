package sdk

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

// Serve is a plugin's main: it does go-plugin's handshake (gRPC only,
// pluginv1.Handshake, version pluginv1.APIVersion), answers GetInfo from
// s.Info and serves s on every Session stream the host opens (each one a
// session of its own, see Server.Run). It returns when the host shuts the
// plugin down, and exits the process when the host dies without doing so.
// It writes nothing to stdout but the handshake line. Run by hand, without
// the host's magic cookie, it prints a notice and exits 1.
func Serve(s *Server, opts ...Option) {
	ServeRaw(s.Info, func(ctx context.Context, t Transport) error {
		return s.Run(ctx, t, opts...)
	}, opts...)
}

// ServeRaw is Serve for plugins that handle the JSON-RPC messages
// themselves, such as a bridge to an LSP server: run is called once per
// Session stream with that stream's messages; its ctx ends when the host
// closes the stream, and when run returns the stream ends (with run's error,
// if any). The transport refuses, with a *TooLargeError, to write a message
// over the cap.
func ServeRaw(info Info, run func(ctx context.Context, t Transport) error, opts ...Option) {
	o := collect(opts)
	watchHost(time.Second / 2)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginv1.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			pluginv1.APIVersion: {pluginv1.PluginKey: &pluginv1.GRPCPlugin{Impl: &service{info: info, run: run, maxBytes: o.maxBytes}}},
		},
		GRPCServer: func(gopts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(gopts, pluginv1.ServerOptions(o.maxBytes)...)...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: info.Name, Level: hclog.Warn, Output: os.Stderr, JSONFormat: true}),
	})
}

// ServeStdio serves s over LSP's Content-Length framing on r and w, for
// tests and for peers that talk stdio directly. It returns nil after "exit"
// or when r reaches EOF, and an error when r breaks or is badly framed.
func ServeStdio(s *Server, r io.Reader, w io.Writer, opts ...Option) error {
	o := collect(opts)
	return s.Run(context.Background(), newStdioTransport(r, w, o.maxBytes), opts...)
}

// service is the plugin's LanguagePlugin.
type service struct {
	pluginv1.UnimplementedLanguagePluginServer
	info     Info
	run      func(context.Context, Transport) error
	maxBytes int
}

func (s *service) GetInfo(context.Context, *pluginv1.GetInfoRequest) (*pluginv1.Info, error) {
	return &pluginv1.Info{Name: s.info.Name, Version: s.info.Version, Api: pluginv1.APIVersion}, nil
}

func (s *service) Session(stream grpc.BidiStreamingServer[pluginv1.Frame, pluginv1.Frame]) error {
	return s.run(stream.Context(), &streamTransport{s: stream, maxBytes: s.maxBytes})
}

// watchHost exits the process once its parent, the host, is gone: the
// plugin is then re-parented and its parent pid changes. go-plugin would not
// notice, since nothing reads the socket of a dead host. A plugin started
// as the first process of its own pid namespace sees parent pid 0; it is left
// to the parent-death signal the host's sandbox sets.
func watchHost(every time.Duration) {
	parent := os.Getppid()
	if parent == 0 {
		return
	}
	go func() {
		for range time.Tick(every) {
			if os.Getppid() != parent {
				logf("the host (pid %d) is gone; exiting", parent)
				os.Exit(0)
			}
		}
	}()
}
