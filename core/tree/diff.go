package tree

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Difference is one way two trees differ at a path: present in only one
// (Field "presence"), or one field with both values.
type Difference struct {
	Path  string `json:"path"`
	Field string `json:"field"` // presence, type, mode, uid, gid, size, content, target, device, links, xattrs
	A     string `json:"a"`
	B     string `json:"b"`
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: %s differs: %s ≠ %s", d.Path, d.Field, d.A, d.B)
}

// absent is how a side that lacks a path is shown.
const absent = "(absent)"

// Diff compares two manifests path by path, in path order.
func Diff(a, b Manifest) []Difference {
	var out []Difference
	paths := slices.Sorted(maps.Keys(union(a, b)))
	for _, p := range paths {
		ea, inA := a[p]
		eb, inB := b[p]
		switch {
		case !inA:
			out = append(out, Difference{Path: p, Field: "presence", A: absent, B: eb.Type})
		case !inB:
			out = append(out, Difference{Path: p, Field: "presence", A: ea.Type, B: absent})
		default:
			out = append(out, fields(ea, eb)...)
		}
	}
	return out
}

// fields compares two entries of one path. A type change says it all: the
// other fields of different types are not compared.
func fields(a, b Entry) []Difference {
	d := func(field, va, vb string) []Difference {
		if va == vb {
			return nil
		}
		return []Difference{{Path: a.Path, Field: field, A: va, B: vb}}
	}
	if a.Type != b.Type {
		return d("type", a.Type, b.Type)
	}
	var out []Difference
	out = append(out, d("mode", a.Mode.String(), b.Mode.String())...)
	out = append(out, d("uid", fmt.Sprint(a.UID), fmt.Sprint(b.UID))...)
	out = append(out, d("gid", fmt.Sprint(a.GID), fmt.Sprint(b.GID))...)
	if a.Size != b.Size {
		out = append(out, d("size", fmt.Sprint(a.Size), fmt.Sprint(b.Size))...)
	}
	out = append(out, d("content", a.Digest, b.Digest)...)
	out = append(out, d("target", a.Target, b.Target)...)
	out = append(out, d("device", a.Device, b.Device)...)
	out = append(out, d("links", strings.Join(a.Links, ","), strings.Join(b.Links, ","))...)
	out = append(out, d("xattrs", xattrString(a.Xattrs), xattrString(b.Xattrs))...)
	return out
}

func xattrString(x map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(x)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, x[k]))
	}
	return strings.Join(parts, " ")
}

func union(a, b Manifest) map[string]bool {
	u := make(map[string]bool, len(a)+len(b))
	for p := range a {
		u[p] = true
	}
	for p := range b {
		u[p] = true
	}
	return u
}
