// Package lazyfs is a test filesystem that loses what was not fsynced, the way
// Jepsen's LazyFS does for databases: a FUSE filesystem (through
// github.com/hanwen/go-fuse/v2) over a backing directory, on which a test
// runs a program and then simulates a power cut.
//
// # What it models
//
// Mount loads the backing directory into memory and serves it at a fresh mount
// point. While mounted, the backing directory is not touched: the filesystem
// keeps, for every file and directory, two states.
//
//   - The page cache: what readers see. Every write, truncate, create,
//     rename, unlink, mkdir and rmdir is visible at once to every process
//     using the mount, as on a real filesystem.
//   - The durable state: what a power cut keeps. A file's durable content is
//     its content when it was last fsynced (fsync(2) or fdatasync(2) of that
//     file, through any descriptor). A directory's durable entries are its
//     entries when it was last fsynced. This is the strict model of ext4 and
//     XFS that careful storage code is written against: creating, renaming or
//     unlinking a name becomes durable only when its parent directory is
//     fsynced (a rename between two directories needs both), and a new
//     directory exists after a cut only if its parent was fsynced after the
//     mkdir. Fsyncing a file does not make its name durable.
//
// [FS.PowerCut] freezes the filesystem (every later operation fails with
// EIO), unmounts it and writes to the backing directory exactly what survived:
// the tree of durable directory entries from the root, each file with its
// durable content plus, under [KeepRandom], a random subset of the writes and
// truncates made since its last fsync, applied in a random order (reordering)
// and split at 4 KiB page boundaries so that a write may survive torn. Under
// KeepRandom each directory keeps, at random, either its durable entries or
// its current ones. [DropAll] loses every unsynced write and every
// undurable directory operation. [FS.Unmount] is a clean unmount: it writes
// the page cache (everything, as a real filesystem does on unmount).
//
// # What it does not model
//
// Metadata other than a file's size and permission bits (times are the mount
// time, owners the test's user); hard and symbolic links (ENOTSUP); extended
// attributes; a write-back of its own between fsyncs (a real kernel writes
// dirty pages back within about 30 s, which only shrinks what a cut loses);
// a file durable under two names after a rename between two directories of
// which only one was fsynced (kept in both, as a hard link would be); a
// full disk. Locks (flock(2), fcntl(2)) are left to the kernel, which handles
// them for a FUSE filesystem that does not take them over, across the
// processes using the mount; a power cut releases them with the unmount.
// Shared read-only mmap(2) works through the kernel's page cache.
//
// # Concurrency and lifecycle
//
// One mutex serialises every operation; the counters may be read at any
// time. A filesystem is mounted once; after PowerCut or Unmount, Mount the
// backing directory again to continue.
//
// Mounting needs /dev/fuse and fusermount3 (or fusermount) on the PATH, from
// Debian's fuse3 package. Mount skips the test with a message when they are
// missing, except that with /dev/fuse present and CI set, a missing
// fusermount fails it.
package lazyfs
