package registry

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   string // fmt of the challenges
	}{
		{"docker hub",
			[]string{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`},
			`[{bearer map[realm:https://auth.docker.io/token scope:repository:library/busybox:pull service:registry.docker.io]}]`},
		{"basic", []string{`Basic realm="Registry Realm"`}, `[{basic map[realm:Registry Realm]}]`},
		{"bare scheme", []string{`Basic`}, `[{basic map[]}]`},
		{"case", []string{`BEARER Realm="r",SERVICE=s`}, `[{bearer map[realm:r service:s]}]`},
		{"spaces", []string{`Bearer  realm = "r" ,  service = s `}, `[{bearer map[realm:r service:s]}]`},
		{"unquoted URL", []string{`Bearer realm=https://auth.example/token,service=reg`}, `[{bearer map[realm:https://auth.example/token service:reg]}]`},
		{"commas and escapes in quotes",
			[]string{`Bearer realm="https://a/t",scope="repository:a/b:pull,push",error="insufficient_scope",error_description="say \"no\", twice"`},
			`[{bearer map[error:insufficient_scope error_description:say "no", twice realm:https://a/t scope:repository:a/b:pull,push]}]`},
		{"two in one value", []string{`Basic realm="a", Bearer realm="https://b/token",service="b"`},
			`[{basic map[realm:a]} {bearer map[realm:https://b/token service:b]}]`},
		{"two values", []string{`Basic realm="a"`, `Bearer realm="b"`}, `[{basic map[realm:a]} {bearer map[realm:b]}]`},
		{"token68 first", []string{`Negotiate YIIGhg==, Basic realm="r"`}, `[{negotiate map[yiighg:=]} {basic map[realm:r]}]`},
		{"first of a name wins", []string{`Bearer realm="a",realm="b"`}, `[{bearer map[realm:a]}]`},
		{"junk skipped", []string{`, ,"x"=y, =, Bearer realm="r"`}, `[{bearer map[realm:r]}]`},
		{"unterminated quote", []string{`Bearer realm="https://a/t`}, `[{bearer map[realm:https://a/t]}]`},
		{"empty", []string{""}, `[]`},
	} {
		if got := fmt.Sprint(parseChallenges(tc.values)); got != tc.want {
			t.Errorf("%s: parseChallenges(%q)\n got %s\nwant %s", tc.name, tc.values, got, tc.want)
		}
	}
}

func FuzzParseChallenges(f *testing.F) {
	for _, seed := range []string{
		`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`,
		`Basic realm="a", Bearer realm="b",error="x\"y,z"`,
		`"`, `\`, `=`, `,`, `a=`, `a="\`, `Negotiate abc==`, `x y z`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, ch := range parseChallenges([]string{v}) {
			if ch.scheme == "" || ch.scheme != strings.ToLower(ch.scheme) {
				t.Errorf("parseChallenges(%q): scheme %q", v, ch.scheme)
			}
			for name := range ch.params {
				if name == "" || name != strings.ToLower(name) {
					t.Errorf("parseChallenges(%q): parameter name %q", v, name)
				}
			}
		}
	})
}
