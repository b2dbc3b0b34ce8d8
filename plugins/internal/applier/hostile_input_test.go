package applier

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocix/ocix/e2e/tartest"
	"github.com/ocix/ocix/e2e/testenv"
)

// Hostile input beyond names and links: include filters, device nodes,
// extended attributes, the kernel's limits on links and names, GNU tar's
// own headers, whiteouts at the root, and layers made to exhaust memory,
// disk or time.

func blk(name string, major, minor int64) tent {
	e := chr(name, major, minor)
	e.hdr.Typeflag = tar.TypeBlock
	return e
}

// gnu writes the entry in GNU format: names and link targets over 100
// bytes go in GNU long-name and long-link headers, not PAX records.
func (e tent) gnu() tent { e.hdr.Format = tar.FormatGNU; return e }

func TestHostileInclude(t *testing.T) {
	w, err := hostileWithErr(t, Options{Include: []string{"/etc", "/lib/x", "/up/tmp/ocix-canary"}}, func(w world) [][]byte {
		return [][]byte{
			layer(t, sym("etc", w.sentinel), reg("etc/file", "1"), reg("etc/new", "2"),
				sym("lib", "../../../../../.."), reg("lib/x", "3"),
				sym("up", "../../../../../../../../"), reg("up/tmp/ocix-canary", "4"),
				reg("other", "left out")),
			layer(t, reg("etc/.wh.file", ""), reg("lib/.wh.x", "")),
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	in(t, w, w.sentinel+"/new", "2")
	in(t, w, "tmp/ocix-canary", "4")
	for _, gone := range []string{w.sentinel + "/file", "x"} {
		if _, err := os.Lstat(filepath.Join(w.root, gone)); !isNotExist(err) {
			t.Errorf("%s: not whited out: %v", gone, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(w.root, "other")); !isNotExist(err) {
		t.Errorf("an entry the include list leaves out was written: %v", err)
	}
	for _, bad := range []string{"../etc", "/../../x", "a/../../b"} {
		if _, err := New(t.TempDir(), Options{Include: []string{bad}}); err == nil || !strings.Contains(err.Error(), "climbs above the root") {
			t.Errorf("include %q: %v, want a refusal", bad, err)
		}
	}
}

func hostileWithErr(t *testing.T, opts Options, layers func(w world) [][]byte) (world, error) {
	t.Helper()
	w, _, err := hostileWith(t, opts, layers)
	return w, err
}

// TestHostileIncludeCap: a chain of symlinks, each bringing the next into
// the include list, stops growing it at maxIncludes paths; the rest of
// the chain is left out.
func TestHostileIncludeCap(t *testing.T) {
	const n = 3 * maxIncludes
	var entries []tent
	for i := range n {
		entries = append(entries, sym("s"+strconv.Itoa(i), "s"+strconv.Itoa(i+1)))
	}
	w := newWorld(t)
	a, err := New(w.root, Options{Include: []string{"/s0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// The cap is also what bounds the work: each entry is matched against
	// at most maxIncludes paths.
	st, err := a.Apply(context.Background(), bytes.NewReader(layer(t, entries...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.include.paths) != maxIncludes {
		t.Errorf("include list of %d paths, want the cap %d", len(a.include.paths), maxIncludes)
	}
	if st.Skipped != n-maxIncludes {
		t.Errorf("skipped %d, want %d", st.Skipped, n-maxIncludes)
	}
	for i, want := range map[int]bool{0: true, maxIncludes - 1: true, maxIncludes: false, n - 1: false} {
		_, err := os.Lstat(filepath.Join(w.root, "s"+strconv.Itoa(i)))
		if got := err == nil; got != want {
			t.Errorf("s%d extracted: %v, want %v", i, got, want)
		}
	}
}

// TestHostileBlockDevices: a block device is made inside the root,
// through a symlinked parent or over a symlink to the host, with its
// number and mode, never at the host path a symlink names.
func TestHostileBlockDevices(t *testing.T) {
	testenv.RequireRoot(t) // mknod of a block device
	w, err := hostile(t, func(w world) [][]byte {
		return [][]byte{
			layer(t, sym("abs", w.sentinel), sym("f", w.sentinel+"/file"), sym("up", "../../../..")),
			layer(t, blk("abs/sda", 8, 0).perm(0o660), blk("f", 8, 1), blk("up/ocix-canary", 7, 0), blk("dev/loop0", 7, 0)),
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, dev := range map[string]uint64{
		w.sentinel + "/sda": unix.Mkdev(8, 0), "f": unix.Mkdev(8, 1), "ocix-canary": unix.Mkdev(7, 0), "dev/loop0": unix.Mkdev(7, 0),
	} {
		n, err := lnode(t, filepath.Join(w.root, p))
		if err != nil || n.typ != 'b' || n.rdev != dev {
			t.Errorf("%s: %c %#x (%v), want a block device %#x", p, n.typ, n.rdev, err, dev)
		}
	}
	if n, _ := lnode(t, filepath.Join(w.root, w.sentinel, "sda")); n.mode != 0o660 {
		t.Errorf("mode %#o, want 0660", n.mode)
	}
	_, err = hostile(t, func(world) [][]byte { return [][]byte{layer(t, blk(".", 8, 0))} })
	oneLine(t, err, `"."`)
}

// capNetRaw is a security.capability value (VFS_CAP_REVISION_2,
// effective) granting CAP_NET_RAW, as ping carries.
func capNetRaw() string {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000001)
	binary.LittleEndian.PutUint32(b[4:], 1<<unix.CAP_NET_RAW)
	return string(b)
}

func allXattrs(t *testing.T, p string) map[string]string {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatalf("listxattr %s: %v", p, err)
	}
	out := map[string]string{}
	for k := range strings.SplitSeq(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if k == "" {
			continue
		}
		v := make([]byte, 64<<10)
		vn, err := unix.Lgetxattr(p, k, v)
		if err != nil {
			t.Fatalf("getxattr %s %s: %v", p, k, err)
		}
		out[k] = string(v[:vn])
	}
	return out
}

// TestHostileXattrs: the export keeps user.*, security.capability and
// POSIX ACLs, and drops the rest (keepXattr), saying so in one warning.
func TestHostileXattrs(t *testing.T) {
	testenv.RequireRoot(t) // security.capability needs CAP_SETFCAP
	hostileAttrs := func(e tent) tent {
		return e.xattr("user.keep", "kept").
			xattr("security.capability", capNetRaw()).
			xattr("security.selinux", "system_u:object_r:shadow_t:s0").
			xattr("security.ima", "\x03\x02").
			xattr("trusted.overlay.opaque", "y").
			xattr("trusted.overlay.redirect", "/etc").
			xattr("trusted.x", "1").
			xattr("system.nfs4_acl", "x").
			xattr("user.huge", strings.Repeat("h", xattrSizeMax+1))
	}
	w, warns, err := hostileWith(t, Options{}, func(w world) [][]byte {
		return [][]byte{layer(t, hostileAttrs(dir("d/")), hostileAttrs(reg("d/ping", "ping").perm(0o755)))}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"user.keep": "kept", "security.capability": capNetRaw()}
	for _, p := range []string{"d", "d/ping"} {
		got := allXattrs(t, filepath.Join(w.root, p))
		delete(got, "security.selinux") // a host with SELinux labels every file itself
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: xattrs %q, want %q", p, got, want)
		}
	}
	i := slices.IndexFunc(warns, func(s string) bool { return strings.HasPrefix(s, "14 extended attributes dropped") })
	if i < 0 {
		t.Errorf("warnings %q: want one counting the 14 attributes dropped", warns)
	}
	for name, keep := range map[string]bool{
		"user.mime_type": true, "security.capability": true, "system.posix_acl_access": true, "system.posix_acl_default": true,
		"user.": false, "trusted.overlay.opaque": false, "security.selinux": false, "security.SMACK64": false,
		"security.apparmor": false, "security.evm": false, "system.nfs4_acl": false, "system.sockprotoname": false,
		"x.y": false, "": false,
	} {
		if got := keepXattr(name, "v"); got != keep {
			t.Errorf("keepXattr(%q) = %v, want %v", name, got, keep)
		}
	}
}

// symlinkChain returns n symlinks, l1 -> l2 -> ... -> ln -> end.
func symlinkChain(n int, end string) []tent {
	var out []tent
	for i := 1; i <= n; i++ {
		target := "l" + strconv.Itoa(i+1)
		if i == n {
			target = end
		}
		out = append(out, sym("l"+strconv.Itoa(i), target))
	}
	return out
}

// TestHostileSymlinkLimit: a parent reached through 40 symlinks (the
// kernel's limit) is used, existing or made where the chain ends; through
// 41 it is a one-line error, never a hang or a write elsewhere.
func TestHostileSymlinkLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		dir  bool // the chain ends at an existing directory
		ok   bool
	}{
		{"40 to a directory", 40, true, true},
		{"41 to a directory", 41, true, false},
		{"40 dangling", 40, false, true},
		{"41 dangling", 41, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := hostile(t, func(w world) [][]byte {
				var l []tent
				if tc.dir {
					l = append(l, dir("end/"))
				}
				l = append(l, symlinkChain(tc.n, "end")...)
				return [][]byte{layer(t, l...), layer(t, reg("l1/f", "x"))}
			})
			if !tc.ok {
				oneLine(t, err, `"l1/f"`)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			in(t, w, "end/f", "x")
		})
	}
}

// TestHostileLongNames: names of NAME_MAX bytes and paths just under
// PATH_MAX extract, in PAX and in GNU format; a longer name is a one-line
// error; a path beyond PATH_MAX either extracts or is one.
func TestHostileLongNames(t *testing.T) {
	name255 := strings.Repeat("n", 255)
	// 15 directories of 255 bytes and a file: 15*256+255 = 4095 bytes.
	var deep []string
	for range 15 {
		deep = append(deep, strings.Repeat("d", 255))
	}
	nearMax := strings.Join(deep, "/") + "/" + name255
	beyond := strings.Join(append(deep, deep[:3]...), "/") + "/f"
	for _, format := range []string{"pax", "gnu"} {
		conv := func(e tent) tent {
			if format == "gnu" {
				return e.gnu()
			}
			return e
		}
		t.Run(format, func(t *testing.T) {
			w, err := hostile(t, func(w world) [][]byte {
				return [][]byte{layer(t, conv(reg(name255, "a")), conv(reg(nearMax, "b")),
					conv(sym("s"+name255[1:], nearMax)), conv(hard("h", nearMax)))}
			})
			if err != nil {
				t.Fatal(err)
			}
			in(t, w, name255, "a")
			if got := readDeep(t, w.root, nearMax); got != "b" {
				t.Errorf("a %d-byte path holds %q", len(nearMax), got)
			}
			if target, err := os.Readlink(filepath.Join(w.root, "s"+name255[1:])); err != nil || target != nearMax {
				t.Errorf("long symlink target: %d bytes, %v", len(target), err)
			}
			in(t, w, "h", "b")

			_, err = hostile(t, func(world) [][]byte { return [][]byte{layer(t, conv(reg("x/"+name255+"n", "c")))} })
			oneLine(t, err, name255+"n")
			if err != nil && !errors.Is(err, unix.ENAMETOOLONG) {
				t.Errorf("error %v does not say the name is too long", err)
			}

			w, err = hostile(t, func(world) [][]byte { return [][]byte{layer(t, conv(reg(beyond, "d")))} })
			if err != nil {
				oneLine(t, err, "/f")
			} else if got := readDeep(t, w.root, beyond); got != "d" {
				t.Errorf("a %d-byte path holds %q", len(beyond), got)
			}
		})
	}
}

// readDeep reads root/rel one directory at a time, since rel may be
// longer than a path the kernel takes at once.
func readDeep(t *testing.T, root, rel string) string {
	t.Helper()
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(rel, "/")
	for _, p := range parts[:len(parts)-1] {
		next, err := unix.Openat(fd, p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		unix.Close(fd)
		if err != nil {
			return "missing: " + err.Error()
		}
		fd = next
	}
	f, err := unix.Openat(fd, parts[len(parts)-1], unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	unix.Close(fd)
	if err != nil {
		return "missing: " + err.Error()
	}
	file := os.NewFile(uintptr(f), rel)
	defer file.Close()
	b, _ := io.ReadAll(file)
	return string(b)
}

// TestHostileGNUNames: GNU long-name and long-link headers climbing out of
// the root, or through a symlink to the host, are held to the same rules
// as PAX names.
func TestHostileGNUNames(t *testing.T) {
	long := strings.Repeat("x", 150)
	for _, e := range []tent{
		reg("../"+long, "x").gnu(),
		reg(long+"/../../../escape", "x").gnu(),
		hard(long, "../../"+long).gnu(),
	} {
		t.Run(e.hdr.Name[:10], func(t *testing.T) {
			_, err := hostile(t, func(world) [][]byte { return [][]byte{layer(t, e)} })
			oneLine(t, err, "climbs above the root")
		})
	}
	w, err := hostile(t, func(w world) [][]byte {
		return [][]byte{layer(t, sym("abs", w.sentinel+"/"+long).gnu(), dir(w.sentinel+"/"+long+"/").gnu(),
			reg("abs/file", "1").gnu(), reg(w.sentinel+"/"+long+"/file2", "2").gnu())}
	})
	if err != nil {
		t.Fatal(err)
	}
	in(t, w, w.sentinel+"/"+long+"/file", "1")
	in(t, w, w.sentinel+"/"+long+"/file2", "2")
}

// gnuSparse is a layer of one GNU sparse entry (tartest.GNUSparse).
func gnuSparse(t *testing.T, name string, realSize int64, frags []tartest.Fragment, data string) []byte {
	t.Helper()
	b, err := tartest.GNUSparse(name, 0o644, t0, realSize, frags, data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostileGNUSparse: a GNU sparse entry extracts with its holes as
// holes, so a file of 4 GiB of holes takes no disk; one named out of the
// root is refused.
func TestHostileGNUSparse(t *testing.T) {
	const size = 4 << 30
	w, err := hostile(t, func(world) [][]byte {
		return [][]byte{gnuSparse(t, "sparse", size, []tartest.Fragment{{Offset: 1 << 20, Length: 5}, {Offset: size - 3, Length: 3}}, "helloend")}
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(w.root, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	unix.Fstat(int(f.Fd()), &st)
	if st.Size != size || st.Blocks*512 > 1<<20 {
		t.Errorf("size %d with %d bytes allocated, want %d with holes", st.Size, st.Blocks*512, int64(size))
	}
	for off, want := range map[int64]string{0: "\x00\x00", 1 << 20: "hello", 1<<20 + 5: "\x00", size - 3: "end"} {
		b := make([]byte, len(want))
		if _, err := f.ReadAt(b, off); err != nil || string(b) != want {
			t.Errorf("at %d: %q, %v; want %q", off, b, err, want)
		}
	}
	_, err = hostile(t, func(world) [][]byte {
		return [][]byte{gnuSparse(t, "../ocix-canary", 1<<20, []tartest.Fragment{{Offset: 0, Length: 1}}, "x")}
	})
	oneLine(t, err, "climbs above the root")
}

// TestHostileOpaqueRoot: an opaque whiteout at the root hides everything
// lower layers wrote, without following their symlinks, and leaves the
// root a directory and what its own layer wrote.
func TestHostileOpaqueRoot(t *testing.T) {
	for _, opq := range []string{".wh..wh..opq", "./.wh..wh..opq", "/.wh..wh..opq"} {
		t.Run(opq, func(t *testing.T) {
			w, err := hostile(t, func(w world) [][]byte {
				return [][]byte{
					layer(t, dir("etc/"), reg("etc/passwd", "root"), sym("abs", w.sentinel), sym("dirlink", w.sentinel+"/dir"),
						hard("hl", "etc/passwd"), fifo("fifo"), sym("up", "../..")),
					layer(t, reg("kept", "mine"), dir("etc/"), reg(opq, ""), reg("after", "mine too")),
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			got := snapshot(t, w.root, "")
			var names []string
			for p := range got {
				names = append(names, p)
			}
			slices.Sort(names)
			if want := []string{".", "after", "etc", "kept"}; !slices.Equal(names, want) {
				t.Errorf("root holds %q, want %q", names, want)
			}
		})
	}
}

// zeroLayer is a layer of one regular file of size bytes of zeros,
// produced as it is read: a layer that inflates without bound.
func zeroLayer(t *testing.T, name string, size int64) io.Reader {
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: t0}); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	return io.MultiReader(&hdr, io.LimitReader(zeroReader{}, size), bytes.NewReader(make([]byte, 1024+(512-size%512)%512)))
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// applyLimited applies one layer with the given limits.
func applyLimited(t *testing.T, ctx context.Context, root string, lim limits, l io.Reader) (Stats, error) {
	t.Helper()
	a, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.limits = lim
	st, err := a.Apply(ctx, l)
	if err == nil {
		err = a.Finish()
	}
	return st, err
}

// heapGrowth runs f and returns how much the live heap grew.
func heapGrowth(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// TestDecompressionBomb: a file of 2 GiB of zeros is written as a hole,
// in flat memory; past the content bound the layer is refused in one
// line; and a file that never ends is stopped by cancelling, not waited
// for.
func TestDecompressionBomb(t *testing.T) {
	root := t.TempDir()
	var err error
	grew := heapGrowth(func() { _, err = applyLimited(t, context.Background(), root, limits{}, zeroLayer(t, "zeros", 2<<30)) })
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(root, "zeros"), &st); err != nil || st.Size != 2<<30 || st.Blocks > 8 {
		t.Errorf("zeros: %d bytes, %d blocks (%v); want 2 GiB of holes", st.Size, st.Blocks, err)
	}
	if grew > 8<<20 {
		t.Errorf("the heap grew by %d bytes", grew)
	}

	_, err = applyLimited(t, context.Background(), t.TempDir(), limits{content: 64 << 20}, zeroLayer(t, "bomb", 1<<30))
	oneLine(t, err, `"bomb"`)
	if err != nil && !strings.Contains(err.Error(), "decompression bomb") {
		t.Errorf("error %q does not say why", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = applyLimited(t, ctx, t.TempDir(), limits{}, zeroLayer(t, "endless", 1<<62))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("an endless entry, cancelled: %v after %v", err, time.Since(start))
	}
}

// manyEntries is a layer of n entries made by f, produced as it is read.
func manyEntries(n int, f func(i int) *tar.Header) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		for i := range n {
			if err := tw.WriteHeader(f(i)); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	return pr
}

// sameEntries is a layer of n copies of a run of empty entries, produced
// as it is read, fast enough for millions.
type sameEntries struct {
	block []byte // the entries' headers
	left  int    // copies still to give
	off   int    // into block, or into the end-of-archive blocks when left is 0
}

func newSameEntries(t *testing.T, n int, hdrs ...*tar.Header) *sameEntries {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if b.Len() != 512*len(hdrs) {
		t.Fatalf("headers of %d bytes: want one 512-byte block each", b.Len())
	}
	return &sameEntries{block: b.Bytes(), left: n}
}

func (s *sameEntries) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if s.left == 0 {
			if s.off >= 1024 {
				break
			}
			m := min(len(p)-n, 1024-s.off)
			clear(p[n : n+m])
			n += m
			s.off += m
			continue
		}
		m := copy(p[n:], s.block[s.off:])
		n += m
		if s.off += m; s.off == len(s.block) {
			s.off = 0
			s.left--
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// TestEntryCountBomb: a million empty entries finish in flat memory;
// past the entry bound, or the bound on directory metadata held until
// Finish, a layer is refused in one line.
func TestEntryCountBomb(t *testing.T) {
	n := 1_000_000
	if raceEnabled {
		n = 200_000
	}
	root := t.TempDir()
	var st Stats
	var err error
	// Empty entries that cost the applier no system call, so that what is
	// measured is its own memory and time per entry: aufs bookkeeping.
	grew := heapGrowth(func() {
		l := newSameEntries(t, n/2,
			&tar.Header{Typeflag: tar.TypeReg, Name: ".wh..wh.plnk", Mode: 0o644},
			&tar.Header{Typeflag: tar.TypeReg, Name: "a/.wh..wh.aufs", Mode: 0o644})
		st, err = applyLimited(t, context.Background(), root, limits{}, l)
	})
	if err != nil || st.Entries != int64(n) {
		t.Fatalf("%d entries, %v", st.Entries, err)
	}
	if grew > 8<<20 {
		t.Errorf("the heap grew by %d bytes", grew)
	}

	_, err = applyLimited(t, context.Background(), t.TempDir(), limits{entries: 1000}, manyEntries(5000, func(i int) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: "f" + strconv.Itoa(i), Mode: 0o644}
	}))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "more than 1000 entries") {
		t.Errorf("past the entry bound: %v", err)
	}

	_, err = applyLimited(t, context.Background(), t.TempDir(), limits{dirMeta: 1 << 20}, manyEntries(20000, func(i int) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeDir, Name: "d" + strconv.Itoa(i) + "/", Mode: 0o755}
	}))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "memory bomb") {
		t.Errorf("past the directory metadata bound: %v", err)
	}
}
