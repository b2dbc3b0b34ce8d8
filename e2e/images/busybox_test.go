package images

import (
	"archive/tar"
	"io"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/ocix/ocix/e2e/harness"
)

func TestBusybox(t *testing.T) {
	img, err := Busybox()
	harness.Require(t, err)

	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"sh"}) || len(cfg.Config.Env) != 1 || cfg.OS != "linux" {
		t.Errorf("config: %+v", cfg.Config)
	}

	files := map[string]*tar.Header{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// mutate.Extract drops the slash that ends a directory's name.
		files[hdr.Name] = hdr
	}
	if hdr := files["bin/sh"]; hdr == nil || hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "busybox" {
		t.Errorf("bin/sh: %+v", hdr)
	}
	if hdr := files["tmp"]; hdr == nil || hdr.Mode != 0o1777 {
		t.Errorf("tmp: %+v", hdr)
	}
	if hdr := files["home/user"]; hdr == nil || hdr.Uid != UID {
		t.Errorf("home/user: %+v", hdr)
	}
	for _, name := range []string{"bin/busybox", "etc/passwd", "etc/group", "root"} {
		if files[name] == nil {
			t.Errorf("no %s in the image", name)
		}
	}

	// The same busybox gives the same image: tests may compare digests.
	again, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s, %s", d1, d2)
	}
}
