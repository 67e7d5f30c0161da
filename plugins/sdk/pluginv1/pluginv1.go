package pluginv1

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

// APIVersion is the version of this wire, the key under which both sides
// register the plugin in go-plugin's VersionedPlugins. A host and a plugin
// that share no version refuse each other at the handshake.
const APIVersion = 1

// PluginKey is the name of the language plugin in go-plugin's plugin set
// (what the host passes to ClientProtocol.Dispense).
const PluginKey = "language"

// DefaultMaxMessageBytes is the largest JSON-RPC message either side accepts
// or sends when no other cap is given: 16 MiB.
const DefaultMaxMessageBytes = 16 << 20

// Handshake is the go-plugin handshake of gathering language plugins. The
// magic cookie only keeps a plugin binary run by hand from waiting for a host
// that will never come; it is not a security measure (the host verifies the
// binary before it runs it).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "GATHERING_PLUGIN",
	MagicCookieValue: "6a698c248694ae3400a78028ab42cf73a71626e5460a626991a0dd4a0c6fb716",
}

// GRPCPlugin adapts LanguagePlugin to go-plugin. The plugin side sets Impl
// and passes the GRPCPlugin to plugin.Serve; the host side leaves Impl nil
// and gets a LanguagePluginClient from Dispense(PluginKey).
//
// The field is Impl, not Server: the embedded NetRPCUnsupportedPlugin has a
// method named Server that a field of that name would hide, and then
// GRPCPlugin would no longer be a plugin.Plugin.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl answers the host's calls; only the plugin side sets it.
	Impl LanguagePluginServer
}

// GRPCServer registers p.Impl on s. It fails when Impl is nil, which means
// a host-side GRPCPlugin was handed to plugin.Serve by mistake.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("pluginv1: GRPCPlugin.Impl is nil; a plugin must set it before plugin.Serve")
	}
	RegisterLanguagePluginServer(s, p.Impl)
	return nil
}

// GRPCClient returns a LanguagePluginClient over the plugin's connection.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewLanguagePluginClient(c), nil
}

// ServerOptions caps the messages a plugin's gRPC server receives and sends
// so that one JSON-RPC message of at most maxBytes passes and anything larger
// is refused (0 or less means DefaultMaxMessageBytes). A plugin passes them to
// the grpc.NewServer that plugin.ServeConfig.GRPCServer builds.
func ServerOptions(maxBytes int) []grpc.ServerOption {
	n := wireLimit(maxBytes)
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(n), grpc.MaxSendMsgSize(n)}
}

// DialOptions caps the messages the host's client receives and sends, as
// ServerOptions does for the plugin (0 or less means DefaultMaxMessageBytes).
// The host passes them in plugin.ClientConfig.GRPCDialOptions, which go-plugin
// applies after its own unlimited defaults, so these win.
func DialOptions(maxBytes int) []grpc.DialOption {
	n := wireLimit(maxBytes)
	return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(n), grpc.MaxCallSendMsgSize(n))}
}

// wireLimit turns a cap on one JSON-RPC message into a cap on the encoded
// Frame that carries it: the message plus its field tag and length prefix.
// A message of exactly maxBytes fits; one byte more does not.
func wireLimit(maxBytes int) int {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxMessageBytes
	}
	return protowire.SizeTag(1) + protowire.SizeBytes(maxBytes)
}
