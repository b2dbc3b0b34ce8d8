// Package tartest writes tar entries that archive/tar can read but not
// write, for tests of what reads layers.
package tartest

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Fragment is a run of data in a sparse file: its offset in the file and
// its length.
type Fragment struct{ Offset, Length int64 }

// GNUSparse is a whole tar archive of one old-GNU sparse entry ('S'): a
// header whose sparse map holds up to four fragments, then the
// fragments' data (data, their concatenation), then the end of the
// archive. realSize is the file's logical size: everything outside the
// fragments reads as zeros.
func GNUSparse(name string, mode int64, mtime time.Time, realSize int64, frags []Fragment, data string) ([]byte, error) {
	if len(frags) > 4 {
		return nil, errors.New("tartest: GNUSparse writes at most 4 fragments")
	}
	if len(name) > 100 {
		return nil, errors.New("tartest: GNUSparse names are at most 100 bytes")
	}
	var h [512]byte
	octal := func(b []byte, v int64) { copy(b, fmt.Sprintf("%0*o", len(b)-1, v)) }
	copy(h[0:100], name)
	octal(h[100:108], mode)
	octal(h[108:116], 0)
	octal(h[116:124], 0)
	octal(h[124:136], int64(len(data)))
	octal(h[136:148], mtime.Unix())
	h[156] = tar.TypeGNUSparse
	copy(h[257:265], "ustar  \x00") // the old GNU magic
	for i, f := range frags {
		octal(h[386+24*i:386+24*i+12], f.Offset)
		octal(h[386+24*i+12:386+24*i+24], f.Length)
	}
	octal(h[483:495], realSize)
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	var buf bytes.Buffer
	buf.Write(h[:])
	buf.WriteString(data)
	buf.Write(make([]byte, (512-len(data)%512)%512))
	buf.Write(make([]byte, 1024))
	return buf.Bytes(), nil
}
