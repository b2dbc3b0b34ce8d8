package docker

import (
	"context"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/ocix/ocix/core"
)

// streams connects the user's streams, which this plugin inherited, to a
// container through an attach made before it starts.
type streams struct {
	conn   client.HijackedResponse
	output chan error // the output copy's end: nil, or why it failed
}

// attach attaches to container id: its output goes to req.Stdout and
// req.Stderr (demultiplexed, or raw from a terminal), and with -i
// req.Stdin goes to it, its end closing the container's stdin.
func attach(ctx context.Context, cli *client.Client, id string, req core.RunRequest) (*streams, error) {
	res, err := cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{
		Stream: true, Stdin: req.Interactive, Stdout: true, Stderr: true,
	})
	if err != nil {
		return nil, err
	}
	conn := res.HijackedResponse
	s := &streams{conn: conn, output: make(chan error, 1)}
	// Since API 1.42 the daemon says how it frames the stream; before, a
	// terminal's is raw and the others multiplexed, and the daemon calls
	// them all raw (the client passes that on).
	multiplexed := !req.TTY
	if mt, ok := conn.MediaType(); ok && !versions.LessThan(cli.ClientVersion(), "1.42") {
		multiplexed = mt == string(types.MediaTypeMultiplexedStream)
	}
	go func() {
		var err error
		if multiplexed {
			_, err = stdcopy.StdCopy(req.Stdout, req.Stderr, conn.Reader)
		} else {
			_, err = io.Copy(req.Stdout, conn.Reader)
		}
		s.output <- err
	}()
	if req.Interactive && req.Stdin != nil {
		// Not waited for: a terminal's stdin has no end, and the user's
		// input after the container is gone goes nowhere.
		go func() {
			io.Copy(conn.Conn, req.Stdin)
			conn.CloseWrite()
		}()
	}
	return s, nil
}

func (s *streams) close() { s.conn.Close() }
