package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Writing changes back to the configuration file (enable, disable,
// delete). The YAML tree (go.yaml.in/yaml/v3) finds the connection, and
// the change is made in the text at the positions the tree gives, so that
// everything else stays byte for byte: comments, blank lines, alignment,
// quoting. Re-encoding the tree would keep the comments but lose blank
// lines and alignment; it is the fallback for layouts the text edit does
// not handle. Either result is checked: decoded, it must be the old file's
// configuration with exactly the one change.

// editOp is a change of one connection in the file.
type editOp int

const (
	editEnable  editOp = iota // enabled: true, where it says false
	editDisable               // enabled: false
	editDelete                // the connection is removed
)

// editConfig returns the configuration file data with connection name
// changed by op.
func editConfig(data []byte, name string, op editOp) ([]byte, error) {
	before, err := Parse(data)
	if err != nil {
		return nil, errors.New("the file has errors (reload lists them): fix it first")
	}
	i := slices.IndexFunc(before.Connections, func(c *Connection) bool { return c.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("connection %q is not in the file (was the file edited since the last reload?)", name)
	}
	want := withConnections(before, func(cs Connections) Connections {
		if op == editDelete {
			return slices.Delete(cs, i, i+1)
		}
		n := *cs[i]
		on := op == editEnable
		n.Enabled = &on
		cs[i] = &n
		return cs
	})
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	conns, ki := findConnection(&doc, name)
	if conns == nil {
		return nil, fmt.Errorf("connection %q: cannot find it in the YAML tree", name)
	}
	if out, ok := spliceEdit(data, conns, ki, op); ok && sameConfig(out, want) {
		return out, nil
	}
	out, err := treeEdit(&doc, conns, ki, op)
	if err == nil && sameConfig(out, want) {
		return out, nil
	}
	return nil, fmt.Errorf("connection %q: cannot edit the file without changing other settings", name)
}

// findConnection returns the connections mapping and the index of the key
// of connection name in its Content.
func findConnection(doc *yaml.Node, name string) (*yaml.Node, int) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, 0
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "connections" {
			continue
		}
		conns := root.Content[i+1]
		if conns.Kind != yaml.MappingNode {
			return nil, 0
		}
		for j := 0; j+1 < len(conns.Content); j += 2 {
			if conns.Content[j].Value == name {
				return conns, j
			}
		}
	}
	return nil, 0
}

// sameConfig reports whether data decodes to want.
func sameConfig(data []byte, want *Config) bool {
	got, err := Parse(data)
	return err == nil && reflect.DeepEqual(normalConfig(got), normalConfig(want))
}

// normalConfig returns cfg without what Parse records besides the values,
// the optional booleans spelt out.
func normalConfig(cfg *Config) Config {
	n := *cfg
	n.lines, n.parseErrs, n.Dir = nil, nil, ""
	n.Connections = nil
	for _, c := range cfg.Connections {
		nc := normalConn(c)
		n.Connections = append(n.Connections, &nc)
	}
	return n
}

// text is a file split into lines.
type text struct {
	data  []byte
	start []int // the offset of each line, and len(data) after the last
}

func newText(data []byte) *text {
	t := &text{data: data, start: []int{0}}
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			t.start = append(t.start, i+1)
		}
	}
	t.start = append(t.start, len(data))
	return t
}

func (t *text) lines() int { return len(t.start) - 1 }

// line returns line i (0-based) without its newline.
func (t *text) line(i int) []byte {
	return bytes.TrimSuffix(t.data[t.start[i]:t.start[i+1]], []byte("\n"))
}

// offset returns the offset of a node position (1-based line and column,
// the column counted in characters), or -1.
func (t *text) offset(line, col int) int {
	if line < 1 || line > t.lines() || col < 1 {
		return -1
	}
	l := t.line(line - 1)
	off := 0
	for range col - 1 {
		if off >= len(l) {
			return -1
		}
		_, n := utf8.DecodeRune(l[off:])
		off += n
	}
	return t.start[line-1] + off
}

func splice(data []byte, from, to int, insert string) []byte {
	return slices.Concat(data[:from], []byte(insert), data[to:])
}

func indentOf(l []byte) int { return len(l) - len(bytes.TrimLeft(l, " ")) }

func blank(l []byte) bool { return len(bytes.TrimSpace(l)) == 0 }

// spliceEdit makes the edit in the text; it reports false for a layout it
// does not handle.
func spliceEdit(data []byte, conns *yaml.Node, ki int, op editOp) ([]byte, bool) {
	t := newText(data)
	key, val := conns.Content[ki], conns.Content[ki+1]
	if op == editDelete {
		return spliceDelete(t, conns, key)
	}
	if val.Kind != yaml.MappingNode {
		return nil, false
	}
	word := "false"
	if op == editEnable {
		word = "true"
	}
	for i := 0; i+1 < len(val.Content); i += 2 {
		if val.Content[i].Value != "enabled" {
			continue
		}
		v := val.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, false
		}
		off := t.offset(v.Line, v.Column)
		if off < 0 {
			return nil, false
		}
		end := off + len(v.Value)
		if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			q := data[off]
			j := bytes.IndexByte(data[off+1:t.start[v.Line]], q)
			if j < 0 {
				return nil, false
			}
			end = off + 1 + j + 1
		} else if !bytes.HasPrefix(data[off:], []byte(v.Value)) {
			return nil, false
		}
		return splice(data, off, end, word), true
	}
	if op == editEnable {
		return data, true // enabled is the default
	}
	if val.Style&yaml.FlowStyle != 0 {
		off := t.offset(val.Line, val.Column)
		if off < 0 || data[off] != '{' {
			return nil, false
		}
		ins := "enabled: false, "
		if len(val.Content) == 0 {
			ins = "enabled: false"
		}
		return splice(data, off+1, off+1, ins), true
	}
	// A block mapping: a line of its own after the connection's name, with
	// the indentation of the connection's fields.
	if len(val.Content) == 0 || val.Content[0].Line <= key.Line || key.Line >= t.lines() {
		return nil, false
	}
	at := t.start[key.Line]
	return splice(data, at, at, string(bytes.Repeat([]byte(" "), val.Content[0].Column-1))+"enabled: false\n"), true
}

// spliceDelete removes the lines of a connection of a block mapping: the
// comment lines just above its name at its indentation, its name, and the
// lines indented deeper or blank that follow.
func spliceDelete(t *text, conns, key *yaml.Node) ([]byte, bool) {
	if conns.Style&yaml.FlowStyle != 0 || key.Line < 1 || key.Line > t.lines() {
		return nil, false
	}
	kl := key.Line - 1
	indent := key.Column - 1
	if indentOf(t.line(kl)) != indent {
		return nil, false // not at the start of its line
	}
	comment := func(i int) bool {
		l := t.line(i)
		return indentOf(l) == indent && bytes.HasPrefix(l[indent:], []byte("#"))
	}
	start := kl
	for start > 0 && comment(start-1) {
		start--
	}
	end := kl + 1
	for end < t.lines() && (blank(t.line(end)) || indentOf(t.line(end)) > indent) {
		end++
	}
	for end > kl+1 && blank(t.line(end-1)) {
		end--
	}
	// One blank line between the neighbours is enough.
	if start > 0 && blank(t.line(start-1)) && end < t.lines() && blank(t.line(end)) {
		end++
	}
	return splice(t.data, t.start[start], t.start[end], ""), true
}

// treeEdit makes the edit in the YAML tree and encodes it.
func treeEdit(doc *yaml.Node, conns *yaml.Node, ki int, op editOp) ([]byte, error) {
	if op == editDelete {
		conns.Content = slices.Delete(conns.Content, ki, ki+2)
	} else {
		val := conns.Content[ki+1]
		if val.Kind != yaml.MappingNode {
			return nil, errors.New("the connection is not a mapping")
		}
		word := "false"
		if op == editEnable {
			word = "true"
		}
		found := false
		for i := 0; i+1 < len(val.Content); i += 2 {
			if val.Content[i].Value == "enabled" {
				val.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: word}
				found = true
			}
		}
		if !found && op == editDisable {
			val.Content = slices.Insert(val.Content, 0,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "enabled"},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: word})
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeFileAtomic replaces the file at path (the target, when path is a
// symbolic link) with data: a temporary file in the same directory gets
// the data, the file's mode and owner, and is synced and renamed over the
// file; then the directory is synced, so that the new file survives a
// crash and a reader never sees half of it.
func writeFileAtomic(path string, data []byte) (err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(st.Mode().Perm()); err != nil {
		return err
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok && (int(s.Uid) != os.Geteuid() || int(s.Gid) != os.Getegid()) {
		if err = f.Chown(int(s.Uid), int(s.Gid)); err != nil {
			return err
		}
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
