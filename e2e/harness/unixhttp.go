package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// socketClient speaks HTTP to an API on a unix socket.
func socketClient(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
}

// call does one request to a Docker-compatible API and returns the body
// of a 2xx answer.
func call(ctx context.Context, client *http.Client, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://d"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s %s", method, path, resp.Status, body)
	}
	return body, nil
}

// pingSocket says whether the Docker-compatible API on a unix socket
// answers GET /_ping with OK, as dockerd and the podman service do once
// they serve.
func pingSocket(ctx context.Context, socket string) error {
	client := socketClient(socket)
	defer client.CloseIdleConnections()
	body, err := call(ctx, client, http.MethodGet, "/_ping")
	if err == nil && string(body) != "OK" {
		err = fmt.Errorf("GET /_ping: %q", body)
	}
	return err
}

// removeContainers kills and removes every container through a
// Docker-compatible API. Stopping dockerd otherwise waits ten seconds for
// each running container to ignore SIGTERM, and a daemon that dies
// without removing its containers leaves their cgroups behind. The kill
// comes first because podman's forced removal also waits those ten
// seconds; it fails for a container that is not running, harmlessly.
func removeContainers(ctx context.Context, socket string) error {
	client := socketClient(socket)
	defer client.CloseIdleConnections()
	body, err := call(ctx, client, http.MethodGet, "/containers/json?all=1")
	if err != nil {
		return err
	}
	var containers []struct{ ID string }
	if err := json.Unmarshal(body, &containers); err != nil {
		return err
	}
	var errs []error
	for _, c := range containers {
		_, _ = call(ctx, client, http.MethodPost, "/containers/"+c.ID+"/kill?signal=KILL")
		_, err := call(ctx, client, http.MethodDelete, "/containers/"+c.ID+"?force=1&v=1")
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
