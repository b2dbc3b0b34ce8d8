// Package config reads ocix's configuration: a YAML file, OCIX_* environment
// variables and command-line flags, with precedence flag > environment >
// file > default. A backend's own section (docker.host, runc.binary…) is
// gathered here but validated by its plugin: core stays backend-blind.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cast"
	"github.com/spf13/viper"

	"github.com/ocix/ocix/core"
)

// Global keys, validated here. Every other top-level key is a backend's
// section.
const (
	KeyPluginDir  = "plugin-dir"
	keyBackends   = "backends"
	keyRegistries = "registries"
	keyCache      = "cache"
)

// sep joins viper's key paths. It is not "." because map keys such as the
// registry names under registries.mirrors ("docker.io") contain dots.
const sep = "::"

// EnvPrefix starts every environment variable ocix reads: OCIX_PLUGIN_DIR,
// OCIX_BACKENDS_TAGS, OCIX_DOCKER_HOST…
const EnvPrefix = "OCIX"

// DefaultBackends is the backend each job uses unless configured.
var DefaultBackends = map[core.Capability]string{
	core.CapTags:   "api",
	core.CapExport: "api",
	core.CapRun:    "runc",
}

// Config is the effective configuration of one ocix command.
type Config struct {
	// File is the configuration file read, or "" when there was none.
	File      string
	PluginDir string
	// Backends is the default backend per job.
	Backends   map[core.Capability]string
	Registries core.Registries
	// CacheDir holds ocix's cache and the scratch space of exports to a
	// stream: cache.dir, default $XDG_CACHE_HOME/ocix.
	CacheDir string

	v *viper.Viper
	// sections holds each backend section as the file wrote it, so keys
	// the backend does not know reach it to be refused.
	sections map[string]map[string]any
}

// defaultCacheDir is $XDG_CACHE_HOME/ocix, as the XDG spec has it.
func defaultCacheDir() string {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(os.TempDir(), fmt.Sprintf("ocix-cache-%d", os.Getuid()))
		}
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(dir, "ocix")
}

// DefaultPath is $XDG_CONFIG_HOME/ocix/config.yaml.
func DefaultPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "ocix", "config.yaml")
}

// Load builds the configuration from the file and the environment. path is
// --config (or OCIX_CONFIG): a file that must exist; empty means
// DefaultPath, read only if it exists. Flags override the result: the
// caller sets the fields whose flag was given.
func Load(path string) (*Config, error) {
	v := viper.NewWithOptions(viper.KeyDelimiter(sep))
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(sep, "_", "-", "_"))
	v.AutomaticEnv()
	v.SetDefault(KeyPluginDir, "")
	for job, name := range DefaultBackends {
		v.SetDefault(keyBackends+sep+string(job), name)
	}

	c := &Config{v: v, sections: map[string]map[string]any{}}
	explicit := path != ""
	if !explicit {
		path = DefaultPath()
	}
	if path != "" {
		if err := c.readFile(path, explicit); err != nil {
			return nil, err
		}
	}
	if err := c.resolve(); err != nil {
		return nil, err
	}
	return c, nil
}

// readFile reads and checks the file's global keys.
func (c *Config) readFile(path string, explicit bool) error {
	if _, err := os.Stat(path); err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return core.Usagef("config file: %v", err)
	}
	c.v.SetConfigFile(path)
	c.v.SetConfigType("yaml")
	if err := c.v.ReadInConfig(); err != nil {
		return core.Usagef("config file %s: %s", path, core.OneLine(err.Error()))
	}
	c.File = path
	bad := func(format string, a ...any) error {
		return core.Usagef("config file %s: %s", path, fmt.Sprintf(format, a...))
	}
	// Viper folds keys to lower case; so does ocix.
	for top, val := range c.v.AllSettings() {
		switch top {
		case KeyPluginDir:
			if _, ok := val.(string); !ok {
				return bad("%s: want a directory path", top)
			}
		case keyBackends:
			m, ok := val.(map[string]any)
			if !ok {
				return bad("backends: want a map of job to backend name")
			}
			for job, name := range m {
				if _, ok := core.ParseCapability(job); !ok {
					return bad("backends.%s: unknown job (want tags, export or run)", job)
				}
				if _, ok := name.(string); !ok {
					return bad("backends.%s: want a backend name", job)
				}
			}
		case keyCache:
			m, ok := val.(map[string]any)
			if !ok {
				return bad("cache: want a map with dir")
			}
			for k, v := range m {
				if k != "dir" {
					return bad("cache.%s: unknown key (want dir)", k)
				}
				if _, ok := v.(string); !ok {
					return bad("cache.dir: want a directory path")
				}
			}
		case keyRegistries:
			m, ok := val.(map[string]any)
			if !ok {
				return bad("registries: want a map with insecure and mirrors")
			}
			for k := range m {
				if k != "insecure" && k != "mirrors" {
					return bad("registries.%s: unknown key (want insecure or mirrors)", k)
				}
			}
		default:
			m, ok := val.(map[string]any)
			if !ok {
				return bad("unknown key %q (global keys: plugin-dir, backends, registries, cache; anything else is a backend's section)", top)
			}
			c.sections[top] = m
		}
	}
	return nil
}

// resolve turns global keys into typed fields.
func (c *Config) resolve() error {
	c.PluginDir = c.v.GetString(KeyPluginDir)
	if c.CacheDir = c.v.GetString(keyCache + sep + "dir"); c.CacheDir == "" {
		c.CacheDir = defaultCacheDir()
	}
	c.Backends = map[core.Capability]string{}
	for _, job := range core.AllCapabilities {
		c.Backends[job] = c.v.GetString(keyBackends + sep + string(job))
	}
	insecure, err := stringList(c.v.Get(keyRegistries + sep + "insecure"))
	if err != nil {
		return core.Usagef("registries.insecure: %v", err)
	}
	c.Registries.Insecure = insecure
	if raw := c.v.Get(keyRegistries + sep + "mirrors"); raw != nil {
		m, ok := raw.(map[string]any)
		if !ok {
			return core.Usagef("registries.mirrors: want a map of registry to a list of mirrors")
		}
		c.Registries.Mirrors = map[string][]string{}
		for reg, list := range m {
			mirrors, err := stringList(list)
			if err != nil {
				return core.Usagef("registries.mirrors.%s: %v", reg, err)
			}
			c.Registries.Mirrors[reg] = mirrors
		}
	}
	return nil
}

// Section gathers backend's configuration section for its plugin: every key
// of schema that the environment (OCIX_<BACKEND>_<KEY>) or the file sets,
// converted to the schema's type where it can be, plus every key the file
// sets that the schema lacks, for the plugin to refuse.
func (c *Config) Section(backend string, schema []core.ConfigField) (json.RawMessage, error) {
	out := map[string]any{}
	for k, val := range c.sections[backend] {
		out[k] = val
	}
	for _, f := range schema {
		key := backend + sep + f.Key
		if !c.v.IsSet(key) {
			continue
		}
		out[f.Key] = convert(c.v.Get(key), f.Type)
	}
	return json.Marshal(out)
}

// convert gives val the schema's type when it can; a value it cannot
// convert goes to the plugin as it is, to be refused there.
func convert(val any, typ string) any {
	var (
		out any
		err error
	)
	switch typ {
	case "string":
		out, err = cast.ToStringE(val)
	case "bool":
		out, err = cast.ToBoolE(val)
	case "int":
		out, err = cast.ToIntE(val)
	case "duration":
		// A bare number is seconds, as docker's timeouts are.
		if n, nerr := cast.ToIntE(val); nerr == nil {
			return (time.Duration(n) * time.Second).String()
		}
		var d time.Duration
		if d, err = cast.ToDurationE(val); err == nil {
			out = d.String()
		}
	case "strings":
		out, err = stringList(val)
	default:
		return val
	}
	if err != nil {
		return val
	}
	return out
}

// Effective is the whole configuration as ocix uses it, for `ocix config`:
// global keys, plus each backend's section: its defaults, overridden by what
// its plugin will receive.
func (c *Config) Effective(sections map[string][]core.ConfigField) (map[string]any, error) {
	backends := map[string]any{}
	for job, name := range c.Backends {
		backends[string(job)] = name
	}
	mirrors := c.Registries.Mirrors
	if mirrors == nil {
		mirrors = map[string][]string{}
	}
	out := map[string]any{
		KeyPluginDir: c.PluginDir,
		keyBackends:  backends,
		keyCache:     map[string]any{"dir": c.CacheDir},
		keyRegistries: map[string]any{
			"insecure": nonNil(c.Registries.Insecure),
			"mirrors":  mirrors,
		},
	}
	names := make([]string, 0, len(sections))
	for name := range sections {
		names = append(names, name)
	}
	for name := range c.sections {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		raw, err := c.Section(name, sections[name])
		if err != nil {
			return nil, err
		}
		m := map[string]any{}
		for _, f := range sections[name] {
			var def any
			if len(f.Default) > 0 && json.Unmarshal(f.Default, &def) == nil {
				m[f.Key] = def
			}
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		out[name] = m
	}
	return out, nil
}

// UnknownSections lists the file's backend sections no plugin claims.
func (c *Config) UnknownSections(backends []string) []string {
	var out []string
	for name := range c.sections {
		if !slices.Contains(backends, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// stringList accepts a YAML list or a comma- or space-separated string (as
// an environment variable gives).
func stringList(val any) ([]string, error) {
	switch v := val.(type) {
	case nil:
		return nil, nil
	case string:
		return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }), nil
	case []any, []string:
		return cast.ToStringSliceE(v)
	}
	return nil, fmt.Errorf("want a list of strings, got %T", val)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
