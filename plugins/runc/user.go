package runc

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// execUser is who the container's process runs as.
type execUser struct {
	UID, GID uint32
	// Groups are the supplementary groups: those /etc/group lists the
	// user in, as login's initgroups gives them.
	Groups []uint32
	// Home is the user's home directory from /etc/passwd, "/" without one.
	Home string
}

// passwdEntry and groupEntry are lines of /etc/passwd and /etc/group.
type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// userFiles are the image's /etc/passwd and /etc/group; a file the image
// lacks is nil.
type userFiles struct{ passwd, group []byte }

// readUserFiles reads them from the root filesystem at root.
func readUserFiles(root string) (userFiles, error) {
	var u userFiles
	var err error
	if u.passwd, err = readInRoot(root, "/etc/passwd"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return u, err
	}
	if u.group, err = readInRoot(root, "/etc/group"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return u, err
	}
	return u, nil
}

// resolveUser resolves a docker-style user, "" (root), uid[:gid] or
// name[:group] in any mix, against the image's files, as docker does: a
// uid the image does not list runs with gid 0 and home "/"; a name it
// does not list is an error, never a guess. what names the user's source
// in errors ("-u", "the image's User").
func resolveUser(spec, what string, files userFiles) (execUser, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	if hasGroup && groupPart == "" {
		return execUser{}, fmt.Errorf("%s %q: empty group", what, spec)
	}
	users, groups := parsePasswd(files.passwd), parseGroup(files.group)
	u := execUser{Home: "/"}
	var entry *passwdEntry
	if id, ok := numericID(userPart); ok {
		u.UID = id
		if i := slices.IndexFunc(users, func(e passwdEntry) bool { return e.uid == id }); i >= 0 {
			entry = &users[i]
		}
	} else {
		i := slices.IndexFunc(users, func(e passwdEntry) bool { return e.name == userPart })
		if i < 0 {
			return execUser{}, fmt.Errorf("%s %q: no user %q in the image's /etc/passwd%s", what, spec, userPart, missing(files.passwd, "/etc/passwd"))
		}
		entry = &users[i]
		u.UID = entry.uid
	}
	if entry != nil {
		u.GID = entry.gid
		if entry.home != "" {
			u.Home = entry.home
		}
		for _, g := range groups {
			if slices.Contains(g.members, entry.name) && !slices.Contains(u.Groups, g.gid) {
				u.Groups = append(u.Groups, g.gid)
			}
		}
	}
	if hasGroup {
		if id, ok := numericID(groupPart); ok {
			u.GID = id
		} else {
			i := slices.IndexFunc(groups, func(e groupEntry) bool { return e.name == groupPart })
			if i < 0 {
				return execUser{}, fmt.Errorf("%s %q: no group %q in the image's /etc/group%s", what, spec, groupPart, missing(files.group, "/etc/group"))
			}
			u.GID = groups[i].gid
		}
	}
	// The primary group is no supplementary one.
	u.Groups = slices.DeleteFunc(u.Groups, func(g uint32) bool { return g == u.GID })
	return u, nil
}

// missing adds to an error that the image has no such file at all.
func missing(file []byte, name string) string {
	if file == nil {
		return " (the image has no " + name + ")"
	}
	return ""
}

func numericID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// parsePasswd reads name:password:uid:gid:gecos:home:shell lines, skipping
// what does not parse, as libc does.
func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 6 || strings.HasPrefix(line, "#") {
			continue
		}
		uid, ok1 := numericID(f[2])
		gid, ok2 := numericID(f[3])
		if !ok1 || !ok2 {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]})
	}
	return out
}

// parseGroup reads name:password:gid:member,member lines.
func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 || strings.HasPrefix(line, "#") {
			continue
		}
		gid, ok := numericID(f[2])
		if !ok {
			continue
		}
		g := groupEntry{name: f[0], gid: gid}
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				g.members = append(g.members, m)
			}
		}
		out = append(out, g)
	}
	return out
}
