package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// helperTimeout bounds one helper run: a helper may ask a cloud API for a
// token (ecr-login, gcloud), but a stuck one must not hang the command.
// A variable so that tests need not wait that long.
var helperTimeout = 30 * time.Second

// notFound is what docker's credential helpers print when they have
// nothing for a server (credentials.NewErrCredentialsNotFound).
const notFound = "credentials not found in native keychain"

// tokenUsername is the username a helper returns with an identity token as
// its secret.
const tokenUsername = "<token>"

// runHelper asks docker-credential-NAME for server's credentials with the
// credential-helper protocol: `get`, the server on stdin, JSON on stdout.
func runHelper(ctx context.Context, name, server string) (Credential, bool, error) {
	prog := "docker-credential-" + name
	hctx, cancel := context.WithTimeout(ctx, helperTimeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, prog, "get")
	cmd.Stdin = strings.NewReader(server)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A helper that leaves a child holding its pipes must not keep us
	// waiting once it has exited or been killed.
	cmd.WaitDelay = time.Second

	if err := cmd.Run(); err != nil {
		switch {
		case ctx.Err() != nil:
			return Credential{}, false, ctx.Err()
		case hctx.Err() != nil:
			return Credential{}, false, fmt.Errorf("credential helper %s for %s: no answer after %s", prog, server, helperTimeout)
		case errors.Is(err, exec.ErrNotFound):
			return Credential{}, false, fmt.Errorf("credential helper %s for %s: not found on PATH", prog, server)
		case strings.Contains(stdout.String(), notFound) || strings.Contains(stderr.String(), notFound):
			return Credential{}, false, nil
		}
		return Credential{}, false, fmt.Errorf("credential helper %s for %s: %s", prog, server, firstLine(stderr.String(), stdout.String(), err.Error()))
	}

	var answer struct {
		Username string `json:"Username"`
		Secret   string `json:"Secret"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &answer); err != nil {
		return Credential{}, false, fmt.Errorf("credential helper %s for %s: answer is not JSON: %v", prog, server, err)
	}
	switch {
	case answer.Username == "" && answer.Secret == "":
		return Credential{}, false, nil
	case answer.Username == tokenUsername:
		return Credential{IdentityToken: answer.Secret}, true, nil
	}
	return Credential{Username: answer.Username, Password: answer.Secret}, true, nil
}

// firstLine is the first non-blank line of the first text that has one:
// a helper's message, kept to one line.
func firstLine(texts ...string) string {
	for _, t := range texts {
		for line := range strings.Lines(t) {
			if line = strings.TrimSpace(line); line != "" {
				return line
			}
		}
	}
	return ""
}
