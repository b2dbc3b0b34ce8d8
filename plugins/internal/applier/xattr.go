package applier

import "strings"

// keepXattr decides which extended attributes of a layer a root
// filesystem export carries. Layers are untrusted and the export lands on
// this host, so an attribute is kept only when it belongs to the files
// themselves, means the same on any host, and gives the image no power
// over this host:
//
//   - user.*: application data (mime types, checksums, tools' state),
//     what any file owner may set. Kept.
//   - security.capability: file capabilities (ping's cap_net_raw and the
//     like). Images rely on them, docker and containerd apply them, and
//     they grant nothing that a setuid bit, which a layer may also carry,
//     does not. Kept.
//   - system.posix_acl_access, system.posix_acl_default: POSIX ACLs, part
//     of a file's permissions as its mode is (GNU tar --acls). Kept.
//   - trusted.*: the namespace of privileged host processes. trusted.
//     overlay.* would make a directory an overlayfs opaque directory,
//     whiteout or redirect when the export is later used as an overlay
//     layer (umoci escapes them for that reason). Dropped.
//   - security.selinux, security.apparmor, security.SMACK64*, security.ima,
//     security.evm and any other security.*: labels and signatures of the
//     host's own policy and keys; an image's copy is either meaningless
//     here or a way to relabel files (umoci drops security.selinux,
//     containerd ignores security.* it cannot set). Dropped.
//   - system.nfs4_acl and other system.*: filesystem-specific (umoci drops
//     nfs4_acl). Dropped, as is any namespace the kernel does not know.
//
// Values longer than the kernel takes (XATTR_SIZE_MAX) are dropped too:
// the kernel would refuse them, and they would only be held in memory.
func keepXattr(name, value string) bool {
	if len(value) > xattrSizeMax {
		return false
	}
	switch {
	case strings.HasPrefix(name, "user.") && len(name) > len("user."):
		return true
	case name == "security.capability",
		name == "system.posix_acl_access",
		name == "system.posix_acl_default":
		return true
	}
	return false
}

// xattrSizeMax is the kernel's XATTR_SIZE_MAX.
const xattrSizeMax = 64 << 10

// setXattrs sets the attributes of m that keepXattr keeps with set, and
// counts the others in a warning.
func (a *Applier) setXattrs(m *meta, name string, set func(attr, value string) error) error {
	for _, x := range m.xattrs {
		if !keepXattr(x.name, x.value) {
			a.warns.add(warnXattrDropped, "%s on %q", x.name, name)
			continue
		}
		if err := a.xattrErr(set(x.name, x.value), name, x.name); err != nil {
			return err
		}
	}
	return nil
}
