package feed

import "errors"

// Sentinel errors, checked with errors.Is. The errors returned wrap them
// with the feed's path, the offset or the value at fault.
var (
	// ErrSpec marks a -o/-O argument that is not a feed: an empty path, an
	// unknown format or an extension that names none.
	ErrSpec = errors.New("feed: bad feed argument")
	// ErrOpen marks a feed file that cannot be opened for writing.
	ErrOpen = errors.New("feed: cannot open feed")
	// ErrAppendJSON marks a -o (append) to a JSON feed whose file is not a
	// closed JSON array: appending to it would make invalid JSON.
	ErrAppendJSON = errors.New("feed: cannot append to a JSON file that is not a closed array")
	// ErrCSVHeader marks a -o (append) to a CSV file whose header is not
	// FEED_EXPORT_FIELDS, or that has no header that parses.
	ErrCSVHeader = errors.New("feed: CSV header does not match")
	// ErrFormatChanged marks a resumed job that names a feed file with
	// another format than the one the job wrote it in.
	ErrFormatChanged = errors.New("feed: feed format changed on resume")
	// ErrDuplicate marks two feeds of one crawl that write the same file.
	ErrDuplicate = errors.New("feed: two feeds write the same file")
	// ErrItem marks an item that cannot be exported: encoding/json cannot
	// encode it, or a CSV feed or FEED_EXPORT_FIELDS needs a JSON object and
	// the item is not one.
	ErrItem = errors.New("feed: item cannot be exported")
	// ErrCorruptLog marks a commit record that is framed and checksummed
	// correctly but does not decode, which no crash can produce.
	ErrCorruptLog = errors.New("feed: corrupt commit log")
	// ErrFutureLog marks a commit log written by a newer frontier, in a
	// format version this build cannot read.
	ErrFutureLog = errors.New("feed: commit log format is newer than this build reads")
	// ErrFailed is returned by every call after a Commit failed: the feed
	// files were cut back to their last commit and the Set refuses more
	// work; resuming the job continues from that commit.
	ErrFailed = errors.New("feed: an earlier commit failed")
	// ErrClosed is returned by a Set used after Close.
	ErrClosed = errors.New("feed: closed")
)
