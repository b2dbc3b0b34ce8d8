package cli

import (
	"io"
	"os"

	"golang.org/x/term"
)

// Streams are a command's standard streams, and whether each is a terminal:
// headers, colour and progress appear only on terminals. Tests pass buffers
// and say what they pretend to be.
type Streams struct {
	In             io.Reader
	Out, Err       io.Writer
	OutTTY, ErrTTY bool
	// OutFile is Out as a file, when it is one: a backend writing a tar
	// stream inherits it and writes to it directly.
	OutFile *os.File
}

// SystemStreams are the process's own.
func SystemStreams() Streams {
	return Streams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr, OutFile: os.Stdout,
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
}
