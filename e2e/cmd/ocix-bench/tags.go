package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ocix/ocix/e2e/front"
	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

const benchTags = 10000

// tags times tag listing by ocix's two backends and by crane, skopeo and
// regctl, on a registry that answers in one response (distribution v3
// asked without n) and on one that forces pages of 50 (the front: bearer
// tokens, Link headers, a 429 on the first request, absorbed by the
// warm-up run).
func (b *bench) tags() error {
	reg, err := b.h.StartRegistry(b.ctx, harness.RegistryOptions{Version: harness.RegistryV3})
	if err != nil {
		return err
	}
	repo := images.Repository{Host: reg.Host, Name: "bench/tags"}
	if err := images.PushBusybox(b.ctx, repo, "latest"); err != nil {
		return err
	}
	fmt.Printf("tags: pushing %d tags…\n", benchTags)
	if err := images.AddTags(b.ctx, repo, "latest", images.TagNames(benchTags)[1:]); err != nil {
		return err
	}
	paged, err := front.Listen("127.0.0.1:0", front.Options{Upstream: reg.Host})
	if err != nil {
		return err
	}
	defer paged.Close()

	hosts := []struct{ label, host string }{
		{"one response (distribution v3)", reg.Host},
		{"forced pages of 50 (front: tokens, Link, one 429)", paged.Addr},
	}
	results := make([]map[string]stats, len(hosts))
	var labels []string
	for i, h := range hosts {
		if err := b.regctlInsecure(h.host); err != nil {
			return err
		}
		results[i] = map[string]stats{}
		for _, t := range b.tagTools(h.host + "/" + repo.Name) {
			if _, err := exec.LookPath(t.argv[0]); err != nil {
				fmt.Printf("  (%s not installed: left out)\n", t.argv[0])
				continue
			}
			s, err := b.measure(t)
			if err != nil {
				return err
			}
			if n := countTags(s.output); n != benchTags {
				return fmt.Errorf("%s listed %d tags, want %d", t.label, n, benchTags)
			}
			results[i][t.label] = s
			if i == 0 {
				labels = append(labels, t.label)
			}
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%d tags\t%s\t\t\t%s\t\t\t\n", benchTags, hosts[0].label, hosts[1].label)
	fmt.Fprintf(tw, "\twall\tCPU\t× crane ls\twall\tCPU\t× crane ls\t\n")
	for _, l := range labels {
		fmt.Fprintf(tw, "%s", l)
		for i := range hosts {
			s := results[i][l]
			fmt.Fprintf(tw, "\t%s\t%s\t%s", ms(s.wall), ms(s.cpu), times(row{label: l, stats: s}, craneRow(results[i])))
		}
		fmt.Fprintln(tw, "\t")
	}
	tw.Flush()

	forced := results[1]
	api := row{label: "ocix --backend api tags", stats: forced["ocix --backend api tags"]}
	target("on forced pages, plugin start included: api ≤ 1.0× crane ls", api, craneRow(forced), 1.0)
	fastest := row{label: "skopeo and regctl", absent: "neither is installed"}
	for _, l := range []string{"skopeo list-tags", "regctl tag ls"} {
		if s, ok := forced[l]; ok && (fastest.absent != "" || s.wall < fastest.wall) {
			fastest = row{label: l, stats: s}
		}
	}
	target("on forced pages: api ≤ 1.2× the fastest of skopeo/regctl", api, fastest, 1.2)
	fmt.Println()
	return b.dispatch()
}

// craneRow is the crane ls row of one host's results, absent when crane
// is not installed.
func craneRow(results map[string]stats) row {
	s, ok := results["crane ls"]
	if !ok {
		return row{label: "crane ls", absent: "crane is not installed"}
	}
	return row{label: "crane ls", stats: s}
}

func (b *bench) tagTools(repo string) []tool {
	return []tool{
		{label: "ocix --backend api tags", argv: []string{b.ocix, "--backend", "api", "tags", repo}},
		{label: "ocix --backend crane tags", argv: []string{b.ocix, "--backend", "crane", "tags", repo}},
		{label: "crane ls", argv: []string{"crane", "ls", repo}},
		{label: "skopeo list-tags", argv: []string{"skopeo", "list-tags", "--tls-verify=false", "docker://" + repo}},
		{label: "regctl tag ls", argv: []string{"regctl", "tag", "ls", repo}},
	}
}

// regctlInsecure tells regctl (in the bench's HOME) to speak plain HTTP to
// host, as the other tools do by themselves on loopback.
func (b *bench) regctlInsecure(host string) error {
	if _, err := exec.LookPath("regctl"); err != nil {
		return nil
	}
	cmd := exec.Command("regctl", "registry", "set", "--tls", "disabled", host)
	cmd.Env = b.baseEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("regctl registry set: %v: %s", err, out)
	}
	return nil
}

// dispatch compares a trivial call through a plugin (ocix backends api:
// start the plugin, ConfigSchema, Configure, Describe, stop it) with the
// same call made in-process by this program.
func (b *bench) dispatch() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	viaPlugin, err := b.measure(tool{label: "ocix backends api", argv: []string{b.ocix, "backends", "api"}})
	if err != nil {
		return err
	}
	inProcess, err := b.measure(tool{label: "in-process", argv: []string{self, inProcessArg, "api"}})
	if err != nil {
		return err
	}
	if !strings.HasPrefix(viaPlugin.output, "api ") || !strings.Contains(viaPlugin.output, " yes") || firstWord(inProcess.output) != "api" {
		return fmt.Errorf("describe printed %q in-process, %q through the plugin", inProcess.output, viaPlugin.output)
	}
	overhead := viaPlugin.wall - inProcess.wall
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "one dispatch (describe api)\twall\tCPU\t\n")
	fmt.Fprintf(tw, "ocix backends api (plugin process)\t%s\t%s\t\n", ms(viaPlugin.wall), ms(viaPlugin.cpu))
	fmt.Fprintf(tw, "same call in-process\t%s\t%s\t\n", ms(inProcess.wall), ms(inProcess.cpu))
	tw.Flush()
	fmt.Printf("target: dispatch overhead ≤ 10 ms: %s (%s)\n\n", verdict(overhead <= 10*time.Millisecond), ms(overhead))
	return nil
}

// pathEnv is $PATH with the Go tools' bin directory, where .ci/run
// installs crane and regctl.
func pathEnv() string {
	path := os.Getenv("PATH")
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		gobin := filepath.Join(strings.TrimSpace(string(out)), "bin")
		if !slices.Contains(filepath.SplitList(path), gobin) {
			path = gobin + string(os.PathListSeparator) + path
		}
	}
	return path
}

// countTags counts the tags a tool printed: one per line, or skopeo's JSON.
func countTags(out string) int {
	var list struct{ Tags []string }
	if json.Unmarshal([]byte(out), &list) == nil {
		return len(list.Tags)
	}
	return len(strings.Fields(out))
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
