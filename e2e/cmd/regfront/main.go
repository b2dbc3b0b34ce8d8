// Command regfront runs the e2e registry front (package e2e/front) before
// a real registry, for the benchmark and by hand:
//
//	regfront -upstream 127.0.0.1:5000 [-listen 127.0.0.1:0] [-user NAME:PASSWORD]… [-private REPO]…
//
// It prints the address it listens on, alone on one line of stdout, and
// serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ocix/ocix/e2e/front"
)

func main() { os.Exit(run()) }

func run() int {
	opts := front.Options{Users: map[string]string{}}
	listen := flag.String("listen", "127.0.0.1:0", "`address` to listen on")
	flag.StringVar(&opts.Upstream, "upstream", "", "`host:port` of the registry behind the front (distribution v3, plain HTTP)")
	flag.IntVar(&opts.PageSize, "page-size", front.DefaultPageSize, "largest tag-list page let through")
	flag.BoolVar(&opts.NoThrottle, "no-throttle", false, "do not answer each repository's first tag list with 429")
	flag.Func("user", "`name:password` that may log in to the token endpoint (repeatable)", func(s string) error {
		name, password, ok := strings.Cut(s, ":")
		if !ok || name == "" {
			return fmt.Errorf("want name:password")
		}
		opts.Users[name] = password
		return nil
	})
	flag.Func("private", "`repository` only users may pull (repeatable)", func(s string) error {
		opts.Private = append(opts.Private, s)
		return nil
	})
	flag.Parse()
	if opts.Upstream == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: regfront -upstream HOST:PORT [flags]")
		flag.PrintDefaults()
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := front.Listen(*listen, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "regfront:", err)
		return 1
	}
	fmt.Println(srv.Addr)
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "regfront:", err)
		return 1
	}
	return 0
}
