package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"text/template"

	"github.com/ocix/ocix/core"
)

// Output formats: text for people, json for scripts, or a Go template
// (docker's and podman's convention).
const (
	formatText = "text"
	formatJSON = "json"
)

var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
}

func checkFormat(format string) error {
	if format == formatText || format == formatJSON || format == "" {
		return nil
	}
	if _, err := template.New("format").Funcs(templateFuncs).Parse(format); err != nil {
		return core.Usagef("invalid --format: want text, json or a Go template: %v", err)
	}
	return nil
}

// render writes data as --format asks: text with the command's own writer,
// json indented, or through the user's template (a newline added if the
// template does not end with one). A list is templated row by row, as
// `docker ps --format '{{.Names}}'` is: the template sees one row.
func render(w io.Writer, format string, data any, text func(w io.Writer) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch format {
	case formatText, "":
		err = text(bw)
	case formatJSON:
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		err = enc.Encode(data)
	default:
		tmpl := template.Must(template.New("format").Funcs(templateFuncs).Parse(format))
		rows := []any{data}
		if v := reflect.ValueOf(data); v.Kind() == reflect.Slice {
			rows = rows[:0]
			for i := range v.Len() {
				rows = append(rows, v.Index(i).Interface())
			}
		}
		for _, row := range rows {
			if err = tmpl.Execute(bw, row); err != nil {
				break
			}
			if !strings.HasSuffix(format, "\n") {
				bw.WriteByte('\n')
			}
		}
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}
