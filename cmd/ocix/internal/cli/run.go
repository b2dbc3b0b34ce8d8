package cli

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/reference"
)

// RunOptions are the run command's inputs: one flag set for every run
// backend, as docker run spells them.
type RunOptions struct {
	Image       string
	Args        []string
	Interactive bool
	TTY         bool
	Env         []string
	Workdir     string
	User        string
	Entrypoint  string
	Hostname    string
	ReadOnly    bool
	Volumes     []string
	Network     string
	Keep        bool
	StopTimeout time.Duration
	RootfsFrom  string
	Pull        string

	entrypointSet bool
}

// NewCmdRun builds `ocix run`.
func NewCmdRun(f *Factory, runF func(context.Context, *Factory, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{}
	if runF == nil {
		runF = runRun
	}
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [-- COMMAND [ARG...]]",
		Short: "Run a command from an image in a new container",
		Long: `Run a command from an image in a new, isolated container, with this
terminal's streams connected to it, and exit with its exit code. Ctrl-C is
passed to the container; if it has not stopped after --stop-timeout it is
killed, and a second Ctrl-C kills it at once. The container is removed
afterwards unless --keep.`,
		Example: `  ocix run busybox -- echo hello
  ocix --backend docker run -it --network none alpine
  ocix run -e GREETING=hi -w /tmp -u 1000 busybox -- sh -c 'echo $GREETING; pwd; id -u'`,
		Args: func(cmd *cobra.Command, a []string) error {
			if len(a) == 0 {
				return core.Usagef("run: missing IMAGE argument (usage: %s)", cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Image, opts.Args = a[0], a[1:]
			if len(opts.Args) > 0 && opts.Args[0] == "--" {
				opts.Args = opts.Args[1:]
			}
			opts.entrypointSet = cmd.Flags().Changed("entrypoint")
			if err := f.UseRootfs(opts.RootfsFrom, opts.Pull); err != nil {
				return err
			}
			return runF(cmd.Context(), f, opts)
		},
	}
	cmd.ValidArgsFunction = completeCachedImages(f)
	fl := cmd.Flags()
	// Flags after IMAGE belong to the command, as with docker run.
	fl.SetInterspersed(false)
	fl.BoolVarP(&opts.Interactive, "interactive", "i", false, "keep stdin open and connected")
	addContainerFlags(f, cmd, opts)
	fl.BoolVar(&opts.Keep, "keep", false, "keep the container afterwards")
	fl.DurationVar(&opts.StopTimeout, "stop-timeout", core.DefaultStopTimeout, "time the container has to stop after Ctrl-C before it is killed")
	return cmd
}

// addContainerFlags adds the flags that say what a container is — shared
// by run and bundle, which writes the same container down.
func addContainerFlags(f *Factory, cmd *cobra.Command, opts *RunOptions) {
	fl := cmd.Flags()
	fl.BoolVarP(&opts.TTY, "tty", "t", false, "allocate a terminal")
	fl.StringArrayVarP(&opts.Env, "env", "e", nil, "set an environment variable K=V (K alone takes this shell's value)")
	fl.StringVarP(&opts.Workdir, "workdir", "w", "", "working directory in the container")
	fl.StringVarP(&opts.User, "user", "u", "", "user: uid[:gid] or name[:group]")
	fl.StringVar(&opts.Entrypoint, "entrypoint", "", `replace the image's entrypoint ("" clears it)`)
	fl.StringVar(&opts.Hostname, "hostname", "", "container host name")
	fl.BoolVar(&opts.ReadOnly, "read-only", false, "mount the root filesystem read-only")
	fl.StringArrayVarP(&opts.Volumes, "volume", "v", nil, "bind mount HOST:CONTAINER[:ro]")
	fl.StringVar(&opts.Network, "network", "", "network mode: none, host… (default: the backend's own)")
	fl.StringVar(&opts.RootfsFrom, "rootfs-from", "", "for runtime backends (runc): the backend that exports the root filesystem (default: the export backend)")
	cmd.RegisterFlagCompletionFunc("rootfs-from", completeBackends(f))
	fl.StringVar(&opts.Pull, "pull", "always", "for runtime backends (runc), when to ask the registry: always (one request resolves the tag; only a new image is exported), missing (only for an image not in the cache), never")
}

func runRun(ctx context.Context, f *Factory, opts *RunOptions) error {
	ctx = ctxOrBackground(ctx)
	req, err := runRequest(f, opts)
	if err != nil {
		return err
	}
	// Ctrl-C now goes to the container, not to ocix.
	var sigs core.RunSignals
	sigs.StopTimeout = opts.StopTimeout
	if f.Signals != nil {
		sigs.Signals = f.Signals.Forward()
	}
	if opts.TTY {
		restore, resize, err := setupTerminal(f, &req)
		if err != nil {
			return err
		}
		defer restore()
		sigs.Resize = resize
	}
	progress := newProgressView(f, opts.TTY)
	req.Events = progress.event
	res, err := f.Core.Run(ctx, f.BackendFor(core.CapRun), req, sigs)
	progress.done()
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return &core.ExitError{Code: res.ExitCode}
	}
	return nil
}

// runRequest turns the flags into a request with the user's streams,
// refusing what is malformed.
func runRequest(f *Factory, opts *RunOptions) (core.RunRequest, error) {
	req, err := containerRequest(f, opts)
	if err != nil {
		return req, err
	}
	if opts.Interactive {
		req.Stdin = stdFile(f.Streams.In)
	}
	req.Stdout, req.Stderr = stdFile(f.Streams.Out), stdFile(f.Streams.Err)
	if req.Stdout == nil || req.Stderr == nil || (opts.Interactive && req.Stdin == nil) {
		return req, core.Usagef("run: the standard streams are not files ocix can hand to a backend")
	}
	return req, nil
}

// containerRequest turns the flags into a request for the container they
// describe, without streams.
func containerRequest(f *Factory, opts *RunOptions) (core.RunRequest, error) {
	img, err := reference.Parse(opts.Image)
	if err != nil {
		return core.RunRequest{}, &core.UsageError{Err: err}
	}
	req := core.RunRequest{
		Image: img.String(), Repository: img.Repository, Reference: img.Tag,
		Endpoints: f.Registries().Endpoints(img.Registry), Platform: core.HostPlatform(),
		Args: opts.Args, Workdir: opts.Workdir, User: opts.User, Hostname: opts.Hostname,
		ReadOnly: opts.ReadOnly, Network: opts.Network, Interactive: opts.Interactive,
		TTY: opts.TTY, Keep: opts.Keep,
	}
	if img.Digest != "" {
		req.Reference = img.Digest
	}
	if f.Flags.Platform != "" {
		if req.Platform, err = core.ParsePlatform(f.Flags.Platform); err != nil {
			return req, err
		}
	}
	if opts.entrypointSet {
		req.Entrypoint = []string{}
		if opts.Entrypoint != "" {
			req.Entrypoint = []string{opts.Entrypoint}
		}
	}
	for _, kv := range opts.Env {
		if kv == "" || strings.HasPrefix(kv, "=") {
			return req, core.Usagef("invalid -e %q: want KEY=VALUE or KEY", kv)
		}
		if !strings.Contains(kv, "=") {
			v, ok := os.LookupEnv(kv)
			if !ok {
				continue // docker drops an unset KEY too
			}
			kv += "=" + v
		}
		req.Env = append(req.Env, kv)
	}
	for _, v := range opts.Volumes {
		m, err := parseVolume(v)
		if err != nil {
			return req, err
		}
		req.Mounts = append(req.Mounts, m)
	}
	if opts.StopTimeout < 0 {
		return req, core.Usagef("invalid --stop-timeout %v: want 0 or more", opts.StopTimeout)
	}
	return req, nil
}

// parseVolume reads -v HOST:CONTAINER[:ro|rw]. Only bind mounts of
// absolute host paths: named volumes are an engine's own notion.
func parseVolume(v string) (core.Mount, error) {
	parts := strings.Split(v, ":")
	bad := func(why string) error { return core.Usagef("invalid -v %q: %s", v, why) }
	if len(parts) < 2 || len(parts) > 3 {
		return core.Mount{}, bad("want HOST:CONTAINER[:ro]")
	}
	m := core.Mount{Source: parts[0], Target: parts[1]}
	if !filepath.IsAbs(m.Source) {
		return m, bad("the host path must be absolute (named volumes are not supported)")
	}
	if !filepath.IsAbs(m.Target) {
		return m, bad("the container path must be absolute")
	}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return m, bad("the mode must be ro or rw")
		}
	}
	return m, nil
}

// stdFile is a standard stream as a file, or nil (tests use buffers).
func stdFile(s any) *os.File {
	f, _ := s.(*os.File)
	return f
}

// setupTerminal puts the user's terminal in raw mode for -t, sizes the
// request after it and follows its resizes. restore puts it back.
func setupTerminal(f *Factory, req *core.RunRequest) (restore func(), resize <-chan core.TerminalSize, err error) {
	in, out := stdFile(f.Streams.In), stdFile(f.Streams.Out)
	restore = func() {}
	if out != nil && term.IsTerminal(int(out.Fd())) {
		if w, h, err := term.GetSize(int(out.Fd())); err == nil {
			req.Size = core.TerminalSize{Rows: uint16(h), Cols: uint16(w)}
		}
	}
	if in == nil || !term.IsTerminal(int(in.Fd())) {
		return restore, nil, nil
	}
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, nil, err
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	sizes := make(chan core.TerminalSize, 1)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				if w, h, err := term.GetSize(int(in.Fd())); err == nil {
					select {
					case sizes <- core.TerminalSize{Rows: uint16(h), Cols: uint16(w)}:
					default:
					}
				}
			case <-stop:
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(stop)
		term.Restore(int(in.Fd()), state)
	}, sizes, nil
}
