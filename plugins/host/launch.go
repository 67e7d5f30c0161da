package host

import (
	"context"
	"fmt"

	"github.com/gathering-dev/gathering/plugins/host/launch"
)

// New loads the plugins cfg names (verifying every plugin directory and
// listing the built-ins, through the launch layer) and returns a host that
// starts them for sessions. Plugins that fail verification are kept, refused,
// for [Host.Plugins] to show; only a configuration error fails New.
func New(cfg Config) (*Host, error) {
	set, err := launch.Load(launch.Config{
		Logger: cfg.Logger, Dirs: cfg.Dirs, DevOverrides: cfg.DevOverrides, Trust: cfg.Trust, Policy: cfg.Policy,
		Builtins: cfg.Builtins, ServerPaths: cfg.ServerPaths, CacheDir: cfg.CacheDir, DisableNamespaces: cfg.DisableNamespaces, Test: cfg.launchTest,
	})
	if err != nil {
		return nil, fmt.Errorf("load plugins: %w", err)
	}
	var plugins []*plugin
	for _, lp := range set.Plugins() {
		p := &plugin{name: lp.Name(), manifest: lp.Manifest, source: lp.Source, keyID: lp.KeyID, warnings: lp.Warnings, refused: lp.Refused}
		if p.refused == nil && p.manifest == nil {
			p.refused = fmt.Errorf("plugin %s has no manifest", p.name)
		}
		if p.refused == nil {
			p.start = launchStarter(lp)
		}
		plugins = append(plugins, p)
	}
	return newHost(cfg, plugins, set.Close), nil
}

// launchStarter starts instances of lp through the launch layer: sandboxed,
// supervised, restarted after crashes with init run again.
func launchStarter(lp *launch.Plugin) starter {
	return func(ctx context.Context, opts startOptions) (instance, error) {
		folders := make([]launch.Folder, len(opts.folders))
		for i, f := range opts.folders {
			folders[i] = launch.Folder{URI: f.URI, Path: f.Path}
		}
		li, err := launch.Start(ctx, lp, launch.StartOptions{
			Handler: opts.handler,
			Folders: folders,
			Init: func(ctx context.Context, i *launch.Instance) error {
				return opts.init(ctx, launched{i})
			},
		})
		if err != nil {
			return nil, err
		}
		return launched{li}, nil
	}
}

// The router's side of the launch layer's contract.
var (
	_ launch.Handler = (*pluginInstance)(nil)
	_ instance       = launched{}
)

// launched is a launch.Instance as the router sees it.
type launched struct{ *launch.Instance }

// Status reports the launched instance.
func (l launched) Status() InstanceStatus {
	s := l.Instance.Status()
	return InstanceStatus{State: string(s.State), Reason: s.Reason, PID: s.PID, Restarts: s.Restarts, Sandbox: s.Sandbox, Started: s.Started}
}
