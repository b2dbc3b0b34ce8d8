package registry

import (
	"errors"

	"github.com/ocix/ocix/plugins/internal/registries"
)

// brokeOff says how an answer that failed midway broke off, for errors:
// "stalled" when nothing came any more, "cut off" otherwise.
func brokeOff(err error) string {
	var s *registries.StallError
	if errors.As(err, &s) {
		return "stalled"
	}
	return "cut off"
}
