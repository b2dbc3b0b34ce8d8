//go:build e2e

package harness_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ocix/ocix/e2e/harness"
	"github.com/ocix/ocix/e2e/images"
)

// tagsPage GETs one tags/list page and returns its tags and Link header.
func tagsPage(t *testing.T, host, path, user, password string) ([]string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+path, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	var list struct{ Tags []string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list.Tags, resp.Header.Get("Link")
}

func TestRegistryV3Paginates(t *testing.T) {
	h := newHarness(t)
	var reg *harness.Registry
	timed(t, "start registry v3", func() (err error) {
		reg, err = h.StartRegistry(context.Background(), harness.RegistryOptions{Version: harness.RegistryV3})
		harness.Require(t, err)
		return nil
	})
	img, err := images.Busybox()
	harness.Require(t, err)
	repo := images.Repository{Host: reg.Host, Name: "library/busybox"}
	ctx := context.Background()
	timed(t, "push busybox", func() error { return images.Push(ctx, repo, "latest", img) })
	tags := images.TagNames(2500)
	timed(t, "add 2,499 tags", func() error { return images.AddTags(ctx, repo, "latest", tags[1:]) })

	page, link := tagsPage(t, reg.Host, "/v2/library/busybox/tags/list?n=50", "", "")
	if len(page) != 50 || !slices.IsSorted(page) {
		t.Errorf("first page: %d tags, sorted %v", len(page), slices.IsSorted(page))
	}
	if !strings.Contains(link, `rel="next"`) || !strings.Contains(link, "last=") {
		t.Errorf("Link: %q", link)
	}
	all, link := tagsPage(t, reg.Host, "/v2/library/busybox/tags/list", "", "")
	if len(all) != len(tags) || link != "" {
		t.Errorf("without n: %d tags, Link %q", len(all), link)
	}

	dir := reg.Dir()
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, dir)
}

func TestRegistryV2ListsEverything(t *testing.T) {
	h := newHarness(t)
	reg, err := h.StartRegistry(context.Background(), harness.RegistryOptions{Version: harness.RegistryV2})
	harness.Require(t, err)
	repo := images.Repository{Host: reg.Host, Name: "busybox"}
	ctx := context.Background()
	harness.Require(t, images.PushBusybox(ctx, repo, "latest"))
	tags := images.TagNames(120)
	if err := images.AddTags(ctx, repo, "latest", tags[1:]); err != nil {
		t.Fatal(err)
	}
	page, link := tagsPage(t, reg.Host, "/v2/busybox/tags/list?n=50", "", "")
	if len(page) != len(tags) || link != "" {
		t.Errorf("n=50: %d tags, Link %q; distribution 2.8 was measured to ignore n", len(page), link)
	}
}

func TestRegistryWithUsers(t *testing.T) {
	h := newHarness(t)
	for _, v := range []harness.RegistryVersion{harness.RegistryV2, harness.RegistryV3} {
		reg, err := h.StartRegistry(context.Background(), harness.RegistryOptions{
			Version: v,
			Users:   map[string]string{"alice": "s3cret"},
		})
		harness.Require(t, err)

		resp, err := http.Get("http://" + reg.Host + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("v%d: anonymous /v2/: %s %q", v, resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
		img, err := images.Busybox()
		harness.Require(t, err)
		repo := images.Repository{Host: reg.Host, Name: "private/busybox", Username: "alice", Password: "s3cret"}
		ctx := context.Background()
		if err := images.Push(ctx, repo, "latest", img); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if err := images.AddTags(ctx, repo, "latest", []string{"1.0.0"}); err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if tags, _ := tagsPage(t, reg.Host, "/v2/private/busybox/tags/list", "alice", "s3cret"); len(tags) != 2 {
			t.Errorf("v%d: tags %q", v, tags)
		}
		wrong := repo
		wrong.Password = "wrong"
		if err := images.Push(ctx, wrong, "other", img); err == nil {
			t.Errorf("v%d: push with a wrong password worked", v)
		}
	}
}
