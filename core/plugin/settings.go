package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/ocix/ocix/core"
)

// Helpers for a plugin's configuration section. A plugin describes its
// settings as a struct whose fields carry `json:"key"` and `help:"…"` tags;
// SchemaOf lists them for the host and DecodeSettings fills the struct,
// refusing unknown keys and wrong types with errors naming section.key.

// Duration is a settings field written as "10s", "1m30s".
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[Duration]()}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 30s, got %q", s)
	}
	*d = Duration(v)
	return nil
}

// SchemaOf lists the keys of a settings struct (or pointer to one); the
// values it holds are the defaults.
func SchemaOf(settings any) []core.ConfigField {
	v := reflect.Indirect(reflect.ValueOf(settings))
	t := v.Type()
	var out []core.ConfigField
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if key == "" || key == "-" {
			continue
		}
		def, err := json.Marshal(v.Field(i).Interface())
		if err != nil {
			def = nil
		}
		out = append(out, core.ConfigField{Key: key, Type: typeName(f.Type), Help: f.Tag.Get("help"), Default: def})
	}
	return out
}

// MarshalJSON writes a Duration as "1m30s", as it is read.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func typeName(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[Duration]():
		return "duration"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "bool"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "int"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "strings"
	}
	return t.String()
}

// DecodeSettings fills dst (a pointer to a settings struct) from the JSON
// object the host sent for section. Keys not set keep dst's values.
func DecodeSettings(section string, raw json.RawMessage, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		want := typeName(typeErr.Type)
		return core.Usagef("config %s.%s: want %s, got %s", section, typeErr.Field, want, typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		key := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		var known []string
		for _, f := range SchemaOf(dst) {
			known = append(known, f.Key)
		}
		return core.Usagef("config %s.%s: unknown key (%s knows: %s)", section, key, section, strings.Join(known, ", "))
	}
	return core.Usagef("config %s: %v", section, err)
}

func jsonKind(b []byte) string {
	switch b = bytes.TrimSpace(b); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "string"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	case b[0] == 'n':
		return "null"
	}
	return "number"
}
