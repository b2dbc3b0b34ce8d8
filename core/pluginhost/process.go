package pluginhost

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/ocix/ocix/core"
	"github.com/ocix/ocix/core/plugin"
)

const (
	// startTimeout bounds a plugin's exec and handshake.
	startTimeout = 10 * time.Second
	// killGrace is how long a plugin gets to exit after it is asked to;
	// then it is killed. go-plugin's own Kill can block forever on a
	// frozen plugin, so it never runs without this bound. Plugins bound
	// their Drain by the same constant.
	killGrace = plugin.StopGrace
	// exitWait is how long a broken connection waits for the plugin's
	// process to be reaped before it is called a crash or not.
	exitWait = time.Second
)

// process is one running plugin.
type process struct {
	name   string
	path   string
	cmd    *exec.Cmd
	client *goplugin.Client
	crash  *crashLine

	stopOnce sync.Once
	// release lets the goroutine that started the plugin return, which
	// ends its locked OS thread: see start.
	release chan struct{}
}

// start execs a plugin and completes go-plugin's handshake.
//
// The plugin is started from a goroutine locked to its OS thread, with
// Pdeathsig: the kernel kills the plugin when that thread ends, which is
// when the goroutine returns after stop — or when ocix dies, even by
// SIGKILL. (Pdeathsig follows the thread, not the process: golang/go#27505.)
func start(name, path string, env []string, socketDir string, log hclog.Logger, files []*os.File) (*process, error) {
	p := &process{name: name, path: path, crash: &crashLine{}, release: make(chan struct{})}
	p.cmd = exec.Command(path)
	// go-plugin leaves ExtraFiles alone: they become fds 3, 4, … in the
	// plugin (see plugin.Client.Inherit).
	p.cmd.ExtraFiles = files
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// go-plugin appends the host's environment after Cmd.Env, where it
	// would override ours; SkipHostEnv lets ours come last.
	p.cmd.Env = append(env, goplugin.EnvUnixSocketDir+"="+socketDir)
	p.client = goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake,
		Plugins:          plugin.Set(nil),
		Cmd:              p.cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     startTimeout,
		Logger:           log.Named(name),
		Stderr:           p.crash,
	})

	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		_, err := p.client.Start()
		started <- err
		if err == nil {
			<-p.release
		}
	}()
	if err := <-started; err != nil {
		p.stop()
		return nil, p.startError(err)
	}
	return p, nil
}

// wrongProtocol finds go-plugin's "Plugin version: N" in its refusal of a
// plugin built for another protocol version.
var wrongProtocol = regexp.MustCompile(`(?i)incompatible API version with plugin\. Plugin version: (\S+?),`)

func (p *process) startError(err error) error {
	msg := err.Error()
	if m := wrongProtocol.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("it speaks plugin protocol %s, this ocix speaks %d", m[1], plugin.ProtocolVersion)
	}
	if line := p.crash.String(); line != "" {
		return fmt.Errorf("%s", line)
	}
	return fmt.Errorf("%s", firstLine(msg))
}

// backend dispenses the plugin's gRPC client, which names files by the
// descriptors the plugin inherited them as.
func (p *process) backend(files []*os.File) (*plugin.Client, error) {
	rpc, err := p.client.Client()
	if err != nil {
		return nil, err
	}
	b, err := plugin.Dispense(rpc)
	if err != nil {
		return nil, err
	}
	b.OnExit(p.exited)
	b.Inherit(files)
	return b, nil
}

// exited waits briefly for the plugin's process to end and, if it did,
// describes its death in one line naming it.
func (p *process) exited() error {
	deadline := time.Now().Add(exitWait)
	for !p.client.Exited() {
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	how := "exited unexpectedly"
	if st := p.cmd.ProcessState; st != nil {
		how = fmt.Sprintf("exited unexpectedly (%s)", st)
	}
	if line := p.crash.String(); line != "" {
		how = "crashed: " + line
	}
	return core.Mark(fmt.Errorf("plugin %q %s", p.name, how), core.ErrBackendDied)
}

// stop ends the plugin: a graceful shutdown if it answers within killGrace,
// SIGKILL otherwise. It returns once the process is gone.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		done := make(chan struct{})
		go func() {
			p.client.Kill()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(killGrace):
			if p.cmd.Process != nil {
				p.cmd.Process.Signal(os.Kill)
			}
			<-done
		}
		close(p.release)
	})
}

// crashLine keeps the first line of a Go panic or fatal error a plugin writes
// to stderr, which is how a crash is told in one line.
type crashLine struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line string
}

func (c *crashLine) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.line != "" {
		return len(b), nil
	}
	c.buf.Write(b)
	for {
		data := c.buf.Bytes()
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if c.buf.Len() > 64<<10 {
				c.buf.Reset()
			}
			return len(b), nil
		}
		line := string(data[:i])
		c.buf.Next(i + 1)
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			c.line = line
			c.buf.Reset()
			return len(b), nil
		}
	}
}

func (c *crashLine) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.line
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
