package lines

import (
	"slices"
	"testing"
)

func TestSplitterCutsLinesAcrossWrites(t *testing.T) {
	var got []string
	add := func(l string) { got = append(got, l) }
	s := &Splitter{}
	s.Feed([]byte("one\ntw"), add)
	s.Feed([]byte("o\nthree"), add)
	s.Flush(add)
	if want := []string{"one", "two", "three"}; !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
	got = nil
	r := &Splitter{Ends: "\n\r"}
	r.Feed([]byte("a\rb\nc"), add)
	r.Flush(add)
	r.Flush(add)
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
}
