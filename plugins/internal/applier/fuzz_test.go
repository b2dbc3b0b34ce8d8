package applier

import (
	"archive/tar"
	"errors"
	"io"
	"path"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzApply applies layers decoded from the input into a fresh root and
// checks that nothing outside it changed. The input is a line per entry,
// "type|name|arg", and "-" between layers; "@S" stands for the absolute
// path of the sentinel directory beside the root. Types: f file (arg is
// the content), d directory, l symlink and h hard link (arg is the
// target), p fifo, c character device 1:3, b block device 8:0, m a file
// with hostile metadata (setuid, another owner, an xattr), x a file with
// the extended attribute named arg, g a file in GNU format (long names in
// GNU long-name headers; arg is the content); and i|PATH adds PATH to
// Options.Include. The corpus in
// testdata/fuzz/FuzzApply holds more seeds.
//
// Run it where a write that escaped would fail loudly, e.g.
//
//	unshare -m sh -c 'mount --bind $PWD $PWD; mount -o remount,bind,ro /;
//	  mount -t tmpfs tmpfs /tmp; ./applier.test -test.fuzz=FuzzApply ...'
//
// so that such a write gets EROFS, which the target reports.
func FuzzApply(f *testing.F) {
	for _, seed := range []string{
		"f|../escape|x",
		"f|/ocix-canary|x\nf|@S/file|pwned",
		"l|evil|/\nf|evil/ocix-canary|x",
		"l|evil|../../../../../../..\nf|evil/tmp/ocix-canary|x",
		"l|evil|@S\nf|evil/file|pwned\nd|evil/dir/",
		"l|a|b\nl|b|c/../..\nd|c/\nf|a/x|x",
		"l|s|@S\n-\nf|s/file|pwned\nf|s/.wh.file|\nf|s/.wh..wh..opq|",
		"l|s|../sentinel\n-\nf|s/file|x\nh|hl|s/file",
		"h|x|../sentinel/file",
		"h|x|/etc/passwd",
		"h|x|@S/file",
		"l|s|@S\nh|x|s/file",
		"f|.wh..|\nf|.wh...|\nf|../.wh.x|",
		"m|s|@S/file\nl|s|@S/file\nm|s|\nl|d|@S/dir\n-\nd|d/\nm|d|",
		"d|later/\n-\nl|later|@S",
		"l|./|/\nf|/|x\nh|.|x\np|a/..|",
		"d|x/\nd|d/\nf|d/a|a\nl|d|x\nf|d/b|b",
		"l|var/run|/run\n-\nf|var/run/pid|1",
		"l|loop1|loop2\nl|loop2|loop1\nf|loop1/f|x",
		"c|null|\np|fifo|\n-\nf|null|x\nd|fifo/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		w := newWorld(t)
		layers, include, names, ok := decodeFuzz(t, input, w.sentinel)
		if !ok {
			t.Skip()
		}
		host := hostState(names)
		before := snapshot(t, w.base, w.root)
		_, err := applyAll(w.root, Options{Include: include}, layers...)
		if errors.Is(err, unix.EROFS) {
			t.Fatalf("a write reached a read-only filesystem outside the root: %v", err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error of more than one line: %q", err)
		}
		if after := snapshot(t, w.base, w.root); !reflect.DeepEqual(before, after) {
			t.Fatalf("something outside the root changed:\nbefore %v\nafter  %v", before, after)
		}
		if after := hostState(names); !reflect.DeepEqual(host, after) {
			t.Fatalf("host paths named by the layers changed:\nbefore %v\nafter  %v", host, after)
		}
		var st unix.Stat_t
		if err := unix.Lstat(w.root, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Fatalf("root is no longer a directory: %v", err)
		}
	})
}

// decodeFuzz builds the layers and the include list; it returns false for
// inputs too big to be worth a run. names are every name and target in
// the input.
func decodeFuzz(t *testing.T, input, sentinel string) (layers [][]byte, include, names []string, ok bool) {
	if len(input) > 4096 {
		return nil, nil, nil, false
	}
	var cur []tent
	for line := range strings.Lines(strings.ReplaceAll(input, "@S", sentinel)) {
		line = strings.TrimSuffix(line, "\n")
		if line == "-" {
			layers = append(layers, layer(t, cur...))
			cur = nil
			continue
		}
		typ, rest, _ := strings.Cut(line, "|")
		name, arg, _ := strings.Cut(rest, "|")
		if strings.ContainsRune(name, 0) || strings.ContainsRune(arg, 0) || len(typ) != 1 {
			continue
		}
		var e tent
		switch typ[0] {
		case 'i':
			if _, err := cleanName(name); err == nil {
				include = append(include, name)
			}
			continue
		case 'f':
			e = reg(name, arg)
		case 'd':
			e = dir(name)
		case 'l':
			e = sym(name, arg)
		case 'h':
			e = hard(name, arg)
		case 'p':
			e = fifo(name)
		case 'c':
			e = chr(name, 1, 3)
		case 'm':
			e = reg(name, arg).perm(0o4777).owner(1234, 1234).xattr("user.pwn", "1")
		case 'b':
			e = blk(name, 8, 0)
		case 'x':
			e = reg(name, "x").xattr(arg, "v")
		case 'g':
			e = reg(name, arg).gnu()
		default:
			continue
		}
		if !validTarName(e) {
			continue
		}
		cur = append(cur, e)
		names = append(names, name, arg)
	}
	return append(layers, layer(t, cur...)), include, names, true
}

// validTarName reports whether archive/tar can write the entry: it refuses
// trailing slashes on anything but directories, PAX records it cannot
// encode, names a GNU header cannot hold.
func validTarName(e tent) bool {
	if e.hdr.Typeflag != 'd' && strings.HasSuffix(e.hdr.Name, "/") {
		return false
	}
	h := e.hdr
	h.Size = int64(len(e.body))
	return tar.NewWriter(io.Discard).WriteHeader(&h) == nil
}

// hostState records the host paths an escaping write could reach through
// a name: the name as an absolute path and each of its suffixes (what it
// would become through a symlink to "/"). Directories are recorded by type
// only, since other processes change their times; /proc, /sys and /dev
// are left out, as they change by themselves.
func hostState(names []string) map[string]unix.Stat_t {
	state := map[string]unix.Stat_t{}
	for _, n := range names {
		p := path.Clean("/" + n)
		for p != "/" {
			var st unix.Stat_t
			volatile := p == "/proc" || p == "/sys" || p == "/dev" ||
				strings.HasPrefix(p, "/proc/") || strings.HasPrefix(p, "/sys/") || strings.HasPrefix(p, "/dev/")
			if err := unix.Lstat(p, &st); err == nil && !volatile {
				if st.Mode&unix.S_IFMT == unix.S_IFDIR {
					st = unix.Stat_t{Mode: unix.S_IFDIR}
				}
				st.Atim = unix.Timespec{}
				state[p] = st
			}
			i := strings.IndexByte(p[1:], '/')
			if i < 0 {
				break
			}
			p = p[i+1:]
		}
	}
	return state
}
