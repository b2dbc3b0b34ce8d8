package registry

import (
	"strings"
	"testing"
)

func TestNextLink(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   string
	}{
		{"distribution", []string{`</v2/library/busybox/tags/list?last=1.36&n=50>; rel="next"`}, "/v2/library/busybox/tags/list?last=1.36&n=50"},
		{"absolute", []string{`<https://r.example/v2/a/tags/list?n=50&last=x>; rel="next"`}, "https://r.example/v2/a/tags/list?n=50&last=x"},
		{"unquoted rel", []string{`</p2>;rel=next`}, "/p2"},
		{"spaces", []string{`  </p2>  ;  rel = "next"  `}, "/p2"},
		{"rel among others", []string{`</p2>; rel="last next"`}, "/p2"},
		{"rel in upper case", []string{`</p2>; REL="Next"`}, "/p2"},
		{"params in any order", []string{`</p2>; type="application/json"; title="page, two; of many"; rel="next"`}, "/p2"},
		{"escaped quote before rel", []string{`</p2>; title="say \"next\", twice"; rel="next"`}, "/p2"},
		{"several links", []string{`<https://r.example/first>; rel="first", </p1>; rel="prev", </p3>; rel="next", </p9>; rel="last"`}, "/p3"},
		{"several header lines", []string{`</p1>; rel="prev"`, `</p3>; rel="next"`}, "/p3"},
		{"comma in target", []string{`</v2/a/tags/list?last=a,b&n=2>; rel="next"`}, "/v2/a/tags/list?last=a,b&n=2"},
		{"first rel counts", []string{`</p2>; rel="prev"; rel="next"`}, ""},
		{"no next", []string{`</p1>; rel="prev"`}, ""},
		{"nextish is not next", []string{`</p2>; rel="nextpage"`}, ""},
		{"no rel", []string{`</p2>`}, ""},
		{"junk before", []string{`garbage; rel="next", </p2>; rel="next"`}, "/p2"},
		{"junk after params", []string{`</p2>; rel="next" junk, </p3>; rel="next"`}, "/p2"},
		{"unclosed target", []string{`</p2; rel="next"`}, ""},
		{"unterminated quote", []string{`</p2>; rel="next`}, "/p2"},
		{"empty", []string{""}, ""},
		{"none", nil, ""},
	} {
		if got := nextLink(tc.values); got != tc.want {
			t.Errorf("%s: nextLink(%q) = %q, want %q", tc.name, tc.values, got, tc.want)
		}
	}
}

func FuzzNextLink(f *testing.F) {
	for _, seed := range []string{
		`</v2/a/tags/list?last=x&n=50>; rel="next"`,
		`<https://r/first>; rel="first", </p3>; title="a, \"b\"; c"; rel="prev next"`,
		`<`, `>`, `;`, `"`, `\`, `<a>;`, `<a>;=`, `<a>; rel="\`, `,,,<a>;;;rel=next,,`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := nextLink([]string{v})
		// A target is always a piece of the header, never made up.
		if got != "" && !strings.Contains(v, got) {
			t.Errorf("nextLink(%q) = %q, not part of the header", v, got)
		}
		for _, l := range parseLinks([]string{v}) {
			for name := range l.params {
				if name == "" || name != strings.ToLower(name) {
					t.Errorf("parseLinks(%q): parameter name %q", v, name)
				}
			}
		}
	})
}
