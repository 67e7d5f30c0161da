package launch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
)

// logHandler prints what the plugin sends the host.
type logHandler struct{}

func (logHandler) Notification(_ context.Context, method string, params json.RawMessage) {
	fmt.Println("plugin says", method)
}

func (logHandler) Request(_ context.Context, method string, _ json.RawMessage) (any, error) {
	return nil, fmt.Errorf("not supported: %s", method)
}

// Load verifies the plugins, Start runs one sandboxed and initialised, Call
// talks to it with a deadline, Close stops it and everything it started.
func ExampleStart() {
	set, err := launch.Load(launch.Config{Dirs: []string{"/usr/lib/gathering/plugins"}, Builtins: []string{"go"}})
	if err != nil {
		log.Fatal(err)
	}
	defer set.Close()
	for _, p := range set.Plugins() {
		if p.Refused != nil {
			fmt.Printf("%s refused at step %s: %v\n", p.Name(), p.Step(), p.Refused)
		}
	}
	inst, err := launch.Start(context.Background(), set.Lookup("go"), launch.StartOptions{
		Handler: logHandler{},
		Folders: []launch.Folder{{URI: "file:///home/me/project", Path: "/home/me/project"}},
		Init: func(ctx context.Context, i *launch.Instance) error {
			// Runs again after every restart: initialize, then replay didOpen.
			_, err := i.Call(ctx, "initialize", map[string]any{"capabilities": map[string]any{}})
			return err
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer inst.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hover, err := inst.Call(ctx, "textDocument/hover", map[string]any{
		"textDocument": map[string]any{"uri": "file:///home/me/project/main.go"},
		"position":     map[string]any{"line": 3, "character": 5},
	})
	fmt.Println(string(hover), err, inst.Status().State)
}
