package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Repository is a repository in a registry that speaks plain HTTP.
type Repository struct {
	Host string // "127.0.0.1:5000"
	Name string // "library/busybox"
	// Username and Password are sent with HTTP basic auth, as a registry
	// with htpasswd users wants them; empty for none.
	Username, Password string
}

// Ref is the reference of one of the repository's tags.
func (r Repository) Ref(tag string) string { return r.Host + "/" + r.Name + ":" + tag }

func (r Repository) auth() authn.Authenticator {
	if r.Username == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.Username, Password: r.Password}
}

// Push writes img to the repository under tag.
func Push(ctx context.Context, r Repository, tag string, img v1.Image) error {
	ref, err := name.NewTag(r.Ref(tag), name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(r.auth())); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// PushBusybox writes the Busybox image to the repository under tag. A
// host without busybox-static gets Busybox's MissingError.
func PushBusybox(ctx context.Context, r Repository, tag string) error {
	img, err := Busybox()
	if err != nil {
		return err
	}
	return Push(ctx, r, tag, img)
}

// tagWorkers is how many manifest PUTs AddTags keeps in flight. For 2,499
// tags on distribution v3 with 2 cores: 1 takes 8.1 s, 2 take 5.2 s, 4
// take 3.0–3.5 s, 8 take 3.9 s.
const tagWorkers = 4

// AddTags gives the manifest that from (a tag or digest) names every one
// of tags. It reads the manifest once and PUTs it under each tag over a
// few keep-alive connections: thousands of tags take seconds, where one
// `crane tag` per tag takes ~18 ms each. r must not need bearer tokens.
func AddTags(ctx context.Context, r Repository, from string, tags []string) error {
	ref, err := name.ParseReference(r.Host+"/"+r.Name+refSep(from)+from, name.Insecure)
	if err != nil {
		return err
	}
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithAuth(r.auth()))
	if err != nil {
		return fmt.Errorf("get %s: %w", ref, err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: tagWorkers}}
	defer client.CloseIdleConnections()

	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(tagWorkers)
	for _, tag := range tags {
		g.Go(func() error {
			return putManifest(ctx, client, r, tag, string(desc.MediaType), desc.Manifest)
		})
	}
	return g.Wait()
}

func refSep(from string) string {
	if _, err := v1.NewHash(from); err == nil {
		return "@"
	}
	return ":"
}

func putManifest(ctx context.Context, client *http.Client, r Repository, tag, mediaType string, manifest []byte) error {
	url := "http://" + r.Host + "/v2/" + r.Name + "/manifests/" + tag
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(manifest))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(manifest))
	req.Header.Set("Content-Type", mediaType)
	if r.Username != "" {
		req.SetBasicAuth(r.Username, r.Password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("tag %s: %w", r.Ref(tag), err)
	}
	defer resp.Body.Close()
	// Reading the body to its end lets the connection be reused.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("tag %s: %s: %s", r.Ref(tag), resp.Status, body)
	}
	return nil
}

// PushIndex writes idx, its images and their blobs to the repository
// under tag.
func PushIndex(ctx context.Context, r Repository, tag string, idx v1.ImageIndex) error {
	ref, err := name.NewTag(r.Ref(tag), name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuth(r.auth())); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}
