package compare

import (
	"strings"
	"testing"
)

func TestTextGroupsPathDifferencesAndTimesEachBackend(t *testing.T) {
	r := &Report{
		Mode: "export", Subject: "busybox", Verdict: Differ,
		Backends: []Outcome{
			{Backend: "api", Seconds: 1.5, Entries: 400},
			{Backend: "docker", Seconds: 2.25, Entries: 410, Dir: "/cache/docker"},
		},
		Paths: []PathDifference{
			{Path: "/.dockerenv", Field: "presence", Engine: true, Values: map[string]string{"api": "(absent)", "docker": "file"}},
			{Path: "/etc/hosts", Field: "presence", Engine: true, Values: map[string]string{"api": "(absent)", "docker": "file"}},
			{Path: "/bin/sh", Field: "digest", Values: map[string]string{"api": "sha256:0123456789abcdef0123", "docker": ""}},
		},
	}
	var b strings.Builder
	if err := r.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	want := `export of busybox: api and docker differ: 3 differences, 2 of them engine additions that --ignore-engine-files hides

only in docker (engine additions):
  /.dockerenv  file
  /etc/hosts   file

differ in digest:
  /bin/sh  api: sha256:0123456789ab…  docker: (none)

backend  time    entries  
api      1.50 s  400      
docker   2.25 s  410      /cache/docker  
`
	if got := b.String(); got != want {
		t.Fatalf("text:\n%s\nwant:\n%s", got, want)
	}
}

func TestTextNamesFailedBackendsAndColoursOnlyWhenAsked(t *testing.T) {
	r := &Report{
		Mode: "tags", Subject: "x/y", Verdict: Failed,
		Backends: []Outcome{{Backend: "a", Count: 3}, {Backend: "broken", Error: "registry said no"}, {Backend: "b", Count: 2}},
		Tags:     []TagPresence{{Tag: "2", In: []string{"a"}}},
	}
	var plain, color strings.Builder
	r.WriteText(&plain, false)
	r.WriteText(&color, true)
	for _, want := range []string{
		"tags of x/y: broken failed; among the others, 1 difference\n",
		"\nonly listed by a:\n  2\n",
		"broken   0.00 s  failed: registry said no",
	} {
		if !strings.Contains(plain.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, plain.String())
		}
	}
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(color.String(), "\x1b[31m") {
		t.Fatalf("colour: plain has escapes or coloured has none:\n%q", color.String())
	}
}
