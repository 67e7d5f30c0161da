package protocol

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// plainTree is WorkspaceTreeResult without its methods: what encoding/json
// makes of it.
type plainTree WorkspaceTreeResult

var treePages = []WorkspaceTreeResult{
	{},
	{Entries: []TreeEntry{}, Git: true},
	{Entries: []TreeEntry{
		{Path: "src", Type: "dir", Mtime: 1764217293000},
		{Path: "src/main.go", Type: "file", Size: 13, Mtime: 1764217293123, GitStatus: " M"},
		{Path: "link", Type: "symlink", Size: 7, Mtime: -1},
		{Path: "names only"},
	}, Cursor: "c3JjL21haW4uZ28", Git: true},
	{Entries: []TreeEntry{
		{Path: `quote"back\slash`},
		{Path: "<html>&amp;"},
		{Path: "tab\tnewline\ncontrol\x01del\x7f"},
		{Path: "ünïcödé/文件.go", GitStatus: "??"},
		{Path: "bad\xffutf8\xc3"},
		{Path: "line\u2028separator"},
		{Path: ""},
	}},
}

// TestTreeResultMarshal checks that the hand-written encoder writes what
// encoding/json writes, byte for byte.
func TestTreeResultMarshal(t *testing.T) {
	for _, page := range treePages {
		want, err := json.Marshal((*plainTree)(&page))
		if err != nil {
			t.Fatal(err)
		}
		got, err := page.MarshalJSON()
		if err != nil || string(got) != string(want) {
			t.Errorf("MarshalJSON(%+v) = %s, %v, want %s", page, got, err, want)
		}
	}
}

// TestTreeResultUnmarshal checks that the hand-written decoder, called
// directly or through json.Unmarshal, agrees with encoding/json, on the
// server's JSON and on JSON it leaves to encoding/json.
func TestTreeResultUnmarshal(t *testing.T) {
	inputs := []string{
		`null`,
		`{}`,
		` { "entries" : [ { "path" : "a" , "type" : "file" , "size" : 0 } ] , "git" : false } `,
		`{"git":true,"cursor":"x","entries":null}`,
		`{"entries":[{"path":"a","path":"b","size":1,"size":-20}]}`,
		`{"entries":[{"path":"a\"b"}]}`,          // an escape
		`{"entries":[{"path":"a","extra":1}]}`,   // an unknown member
		`{"Entries":[{"PATH":"a"}]}`,             // another case
		`{"entries":[{"path":"a","size":1.0}]}`,  // not an integer
		`{"entries":[{"path":"a","mtime":1e3}]}`, // nor this
		`{"entries":[{"path":"a","size":0123}]}`, // invalid
		`{"entries":[{"path":"a","size":99999999999999999999}]}`,
		`{"entries":[{"path":"a",}]}`,                // invalid
		`{"entries":[{"path":"a"}],}`,                // invalid
		`{"entries":[{"path":"a"}]} x`,               // invalid
		`{"entries":[{"path":"bad` + "\xff" + `"}]}`, // replaced by encoding/json
		`{"entries":[{"path":"tab` + "\t" + `"}]}`,   // invalid
		`{"entries":[{"path":null}]}`,
		`{"git":tru}`,
		`[]`,
		``,
	}
	for _, page := range treePages {
		b, err := page.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		var want plainTree
		wantErr := json.Unmarshal([]byte(in), &want)
		var direct, viaJSON WorkspaceTreeResult
		directErr := direct.UnmarshalJSON([]byte(in))
		jsonErr := json.Unmarshal([]byte(in), &viaJSON)
		if (directErr != nil) != (wantErr != nil) || (jsonErr != nil) != (wantErr != nil) {
			t.Errorf("decode %q: errors %v (direct) and %v (json.Unmarshal), want %v", in, directErr, jsonErr, wantErr)
			continue
		}
		if wantErr == nil && (!reflect.DeepEqual(direct, WorkspaceTreeResult(want)) || !reflect.DeepEqual(viaJSON, WorkspaceTreeResult(want))) {
			t.Errorf("decode %q = %+v (direct), %+v (json.Unmarshal), want %+v", in, direct, viaJSON, want)
		}
	}
}

// TestTreeResultUnmarshalKeeps checks that members absent from the JSON
// leave the fields as they were, as encoding/json does.
func TestTreeResultUnmarshalKeeps(t *testing.T) {
	r := WorkspaceTreeResult{Entries: []TreeEntry{{Path: "old"}}, Cursor: "old", Git: true}
	if err := r.UnmarshalJSON([]byte(`{"cursor":"new"}`)); err != nil {
		t.Fatal(err)
	}
	if want := (WorkspaceTreeResult{Entries: []TreeEntry{{Path: "old"}}, Cursor: "new", Git: true}); !reflect.DeepEqual(r, want) {
		t.Errorf("after decoding a cursor alone: %+v, want %+v", r, want)
	}
}

// FuzzTreeResultJSON checks that the decoder agrees with encoding/json on
// any input, and that the encoder's output decodes to what it encoded.
func FuzzTreeResultJSON(f *testing.F) {
	for _, page := range treePages {
		b, _ := page.MarshalJSON()
		f.Add(b)
	}
	f.Add([]byte(`{"entries":[{"path":"a","size":-0,"mtime":12}],"git":false}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var want plainTree
		wantErr := json.Unmarshal(in, &want)
		var got WorkspaceTreeResult
		err := got.UnmarshalJSON(in)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decode %q: error %v, want %v", in, err, wantErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(got, WorkspaceTreeResult(want)) {
			t.Fatalf("decode %q = %+v, want %+v", in, got, want)
		}
		b, err := got.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		wantB, _ := json.Marshal(&want)
		if string(b) != string(wantB) {
			t.Fatalf("encode %+v = %s, want %s", got, b, wantB)
		}
	})
}

// benchPage is a page of 10,000 entries as the server answers it, with
// every field or (names) with path and type alone.
func benchPage(names bool) *WorkspaceTreeResult {
	r := &WorkspaceTreeResult{Cursor: "ZDAwMC9zOTkvZjA5OS5nbw", Git: true}
	for i := range 10_000 {
		e := TreeEntry{Path: fmt.Sprintf("d%03d/s%02d/f%03d.go", i/10_000, i/100%100, i%100), Type: "file", Size: 123, Mtime: 1764217293412}
		if i%100 == 0 {
			e = TreeEntry{Path: e.Path[:8], Type: "dir", Mtime: e.Mtime}
		}
		if names {
			e.Size, e.Mtime = 0, 0
		}
		r.Entries = append(r.Entries, e)
	}
	return r
}

func BenchmarkTreeResultMarshal(b *testing.B) {
	for _, names := range []bool{true, false} {
		page := benchPage(names)
		b.Run(fmt.Sprintf("names=%v", names), func(b *testing.B) {
			for b.Loop() {
				if _, err := page.MarshalJSON(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTreeResultUnmarshal(b *testing.B) {
	for _, names := range []bool{true, false} {
		data, _ := benchPage(names).MarshalJSON()
		b.Run(fmt.Sprintf("names=%v", names), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var r WorkspaceTreeResult
				if err := r.UnmarshalJSON(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
