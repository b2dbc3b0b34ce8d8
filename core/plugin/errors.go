package plugin

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ocix/ocix/core"
)

// The one place where errors cross the boundary. A plugin's error keeps its
// message and its kind (bad input, unsupported, cancelled); everything else
// about it stays in the plugin.

// toStatus turns a plugin implementation's error into a gRPC status.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var usage *core.UsageError
	code := codes.Unknown
	switch {
	case errors.Is(err, core.ErrUnsupported):
		code = codes.Unimplemented
	case errors.Is(err, core.ErrCommandNotFound):
		code = codes.NotFound
	case errors.Is(err, core.ErrCommandNotInvocable):
		code = codes.PermissionDenied
	case errors.As(err, &usage):
		code = codes.InvalidArgument
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}

// fromStatus turns an RPC's error back into core's errors. exited, when the
// host set it, says whether the plugin process died, and how: a dead plugin
// is reported as one line naming it instead of a transport error.
func fromStatus(err error, exited func() error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unimplemented:
		return fmt.Errorf("%s: %w", st.Message(), core.ErrUnsupported)
	case codes.InvalidArgument:
		return &core.UsageError{Err: errors.New(st.Message())}
	case codes.NotFound:
		return core.Mark(errors.New(st.Message()), core.ErrCommandNotFound)
	case codes.PermissionDenied:
		return core.Mark(errors.New(st.Message()), core.ErrCommandNotInvocable)
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	case codes.Unavailable, codes.Internal:
		if exited != nil {
			if crash := exited(); crash != nil {
				return crash
			}
		}
		return fmt.Errorf("lost connection to plugin: %s", st.Message())
	}
	return errors.New(st.Message())
}
