package nerdctl

import (
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// logLine is one line of nerdctl's own log, which it writes to stderr in
// logrus's text format when stderr is not a terminal (never, here):
//
//	time="2026-11-26T22:40:04Z" level=fatal msg="failed to create shim task: …"
//
// A failing nerdctl ends with a fatal line and exit code 1; a container's
// exit code passes through without one. That is how the two are told
// apart.
type logLine struct {
	level  string // panic, fatal, error, warning, info, debug, trace
	msg    string
	fields []string // the other key=value pairs, as written
}

func (l logLine) isError() bool {
	return l.level == "error" || l.level == "fatal" || l.level == "panic"
}

// parseLogLine reads one of nerdctl's log lines; ok is false for any other
// text. It wants time, level and msg first, in that order, as logrus
// writes them.
func parseLogLine(s string) (l logLine, ok bool) {
	var keys []string
	for s != "" {
		key, value, rest, ok := nextField(s)
		if !ok {
			return logLine{}, false
		}
		keys = append(keys, key)
		switch key {
		case "level":
			l.level = value
		case "msg":
			l.msg = value
		case "time":
		default:
			l.fields = append(l.fields, key+"="+strconv.Quote(value))
		}
		s = rest
	}
	if len(keys) < 3 || keys[0] != "time" || keys[1] != "level" || keys[2] != "msg" {
		return logLine{}, false
	}
	return l, true
}

// nextField reads `key=value` or `key="quoted value"` and the space after.
func nextField(s string) (key, value, rest string, ok bool) {
	key, s, ok = strings.Cut(s, "=")
	if !ok || key == "" || strings.ContainsAny(key, ` "`) {
		return "", "", "", false
	}
	if strings.HasPrefix(s, `"`) {
		end := closingQuote(s)
		if end < 0 {
			return "", "", "", false
		}
		v, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return "", "", "", false
		}
		value, s = v, s[end+1:]
	} else {
		value, s, _ = strings.Cut(s, " ")
		s = " " + s
	}
	switch {
	case s == "" || s == " ":
		return key, value, "", true
	case s[0] == ' ':
		return key, value, s[1:], true
	}
	return "", "", "", false
}

// closingQuote is the index of the quote that ends the Go-quoted string s
// starts with, or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// logLevel writes one of nerdctl's log lines to the plugin's log (shown
// with ocix --debug). nerdctl's warnings are not the user's business: a
// run's stderr belongs to its container, and what matters of a failure
// is in the error.
func logLevel(log hclog.Logger, l logLine) {
	args := []any{"msg", l.msg}
	if len(l.fields) > 0 {
		args = append(args, "fields", strings.Join(l.fields, " "))
	}
	switch l.level {
	case "panic", "fatal", "error":
		log.Error("nerdctl: "+l.level, args...)
	case "warning":
		log.Warn("nerdctl: warning", args...)
	default:
		log.Debug("nerdctl: "+l.level, args...)
	}
}
