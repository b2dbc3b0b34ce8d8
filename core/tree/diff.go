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

// Absent is how a tree that lacks a path shows in a difference.
const Absent = "(absent)"

// Diff compares two manifests path by path, in path order.
func Diff(a, b Manifest) []Difference {
	var out []Difference
	for _, d := range DiffN([]Manifest{a, b}) {
		out = append(out, Difference{Path: d.Path, Field: d.Field, A: d.Values[0], B: d.Values[1]})
	}
	return out
}

// MultiDifference is one way several trees differ at a path: the field's
// value in each tree, in the order the trees were given.
type MultiDifference struct {
	Path   string
	Field  string
	Values []string
}

// DiffN compares any number of manifests path by path, in path order: a
// path some lack is one "presence" difference; otherwise each field whose
// values are not all equal is one. A type change says it all: the other
// fields of entries of different types are not compared.
func DiffN(ms []Manifest) []MultiDifference {
	all := map[string]bool{}
	for _, m := range ms {
		for p := range m {
			all[p] = true
		}
	}
	var out []MultiDifference
	for _, p := range slices.Sorted(maps.Keys(all)) {
		entries := make([]*Entry, len(ms))
		present := 0
		for i, m := range ms {
			if e, ok := m[p]; ok {
				entries[i] = &e
				present++
			}
		}
		if present < len(ms) {
			out = append(out, MultiDifference{Path: p, Field: "presence", Values: column(entries, func(e Entry) string { return e.Type })})
			continue
		}
		for _, f := range fieldsOf {
			values := column(entries, f.value)
			if !allEqual(values) {
				out = append(out, MultiDifference{Path: p, Field: f.name, Values: values})
				if f.name == "type" {
					break
				}
			}
		}
	}
	return out
}

// fieldsOf are an entry's compared fields, in the order they are shown.
var fieldsOf = []struct {
	name  string
	value func(Entry) string
}{
	{"type", func(e Entry) string { return e.Type }},
	{"mode", func(e Entry) string { return e.Mode.String() }},
	{"uid", func(e Entry) string { return fmt.Sprint(e.UID) }},
	{"gid", func(e Entry) string { return fmt.Sprint(e.GID) }},
	{"size", func(e Entry) string { return fmt.Sprint(e.Size) }},
	{"content", func(e Entry) string { return e.Digest }},
	{"target", func(e Entry) string { return e.Target }},
	{"device", func(e Entry) string { return e.Device }},
	{"links", func(e Entry) string { return strings.Join(e.Links, ",") }},
	{"xattrs", func(e Entry) string { return xattrString(e.Xattrs) }},
}

func column(entries []*Entry, value func(Entry) string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = Absent
		if e != nil {
			out[i] = value(*e)
		}
	}
	return out
}

func allEqual(values []string) bool {
	for _, v := range values[1:] {
		if v != values[0] {
			return false
		}
	}
	return true
}

func xattrString(x map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(x)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, x[k]))
	}
	return strings.Join(parts, " ")
}
