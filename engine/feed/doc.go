// Package feed writes a crawl's items to its feeds (Scrapy's -o FILE, which
// appends, and -O FILE, which overwrites) as JSON lines, JSON or CSV and,
// with a job directory, makes every feed exactly once across crashes: after
// a kill -9 and a resume, each feed file holds every item once, none twice,
// none lost. docs/feeds.md is the user's side of this; the commit log's
// format is described there too.
//
// # How the engine uses a Set
//
// [Open] opens the feeds once, after the scheduler has opened (and locked)
// the job directory and before the crawl starts; it fails at once on a path
// that cannot be written. Then, for each batch of finished requests, the
// engine's committer, one goroutine:
//
//  1. calls [Set.Add] for every item of every request of the batch, in order;
//  2. flushes the scheduler (the batch's new requests become durable);
//  3. calls [Set.Commit] with the batch's delivery identifiers
//     (Request.Delivery) — every request of the batch, with items or
//     without, so that none is fetched again after a crash;
//  4. reports each request of the batch finished to the scheduler (Finish),
//     whose acknowledgements the next scheduler flush makes durable.
//
// A Commit must not come between a batch's Adds and the scheduler flush
// of step 2: its record would name items whose requests' new requests are
// not durable. A Commit error is final (the crawl stops; a resume
// continues from the last commit).
//
// When the scheduler hands out a request with Request.Redelivered set (it
// was in flight at a crash), the engine first asks [Set.Done] with its
// Delivery: true means its items were committed by the last commit of the
// previous run, so the engine reports it finished right away (before the
// scheduler's next flush) without fetching it or adding its items again.
// False means it is fetched as any request. Once no more redelivered
// requests come (the scheduler hands them out first), the engine may call
// [Set.ForgetDone]. When the crawl is idle it may call [Set.Sync], so that
// an interval policy does not leave the last commit unsynced. At the end,
// after the last Commit, [Set.Close]; the engine needs no feed call at
// pause or resume beyond Open and Close.
//
// [Set.Items] counts the items committed by the job over all its runs
// (CLOSESPIDER_ITEMCOUNT, item_scraped_count).
//
// Why this is exactly once: a commit record holds each feed file's length
// after the batch's items and the batch's delivery identifiers, written
// after the items and before the batch's finishes. A crash before the
// record is durable leaves bytes after the last recorded length, which the
// next [Open] cuts: the batch's requests are still in flight, fetched
// again, and their items written once. A crash after it leaves the batch's
// requests in flight too (their finishes were not durable), but the record
// lists them, and Done says so. A record carries the done identifiers of
// its own batch only (plus those of the previous run's last record that
// Done was not yet asked about, or was asked about since the record
// before): the finishes of a batch are made durable by the scheduler flush
// that comes before the next Commit.
//
// # Durability
//
// Commit writes the feeds, then the record; it fsyncs them, feeds first,
// as the job's fsync policy (JOBDIR_FSYNC, JOBDIR_FSYNC_INTERVAL) says:
//
//   - always: at every Commit.
//   - interval: at the first Commit at least the interval after the oldest
//     commit not yet fsynced (and at Close, and at [Set.Sync]).
//   - never: only at Close.
//
// After the process is killed (SIGKILL, a panic, the OOM killer), every
// policy keeps every committed item, once, and drops the rest: the written
// bytes are in the operating system's cache. After a power cut or a kernel
// crash:
//
//   - always keeps every committed item, once (the scheduler fsyncs under the
//     same policy, so a finish is never durable before its record).
//   - interval can lose the commits made since the last fsync: at most
//     those of about the last interval before the cut, or the last commit
//     when none followed it. Since the scheduler fsyncs on its own clock,
//     the items of requests finished in that window can also be lost, or
//     written again when the request is fetched again.
//   - never can lose, or repeat, whatever the operating system had not
//     written back (on Linux, usually the last 30 s).
//
// In every case the job resumes: a feed file shorter than its recorded
// length is a warning naming the file and both lengths, and the feed
// continues at the file's end.
//
// A feed to standard output ("-") is written at each Commit and never cut:
// after a crash and a resume it can repeat the items of the last batch.
// Without a job directory, nothing is exactly once: a crash leaves what was
// written, and a JSON array unclosed.
//
// # Resuming a feed
//
// Feeds are matched to the records of the job by their absolute path. A
// feed file the job has recorded is continued at its committed length,
// whatever -o or -O say, so the same command run again resumes. A file the
// job has not recorded is truncated by -O and appended to by -o: JSON lines
// after its last line, CSV after its rows with the header it has (which
// must then be Fields, when Fields is set), and JSON inside its array (a
// file that ends with "]" is reopened; one that does not is refused with
// [ErrAppendJSON]: Scrapy would write invalid JSON). The job's first
// record is written by Open, so a crash before the first Commit resumes
// the same way.
//
// # Formats
//
// Items are encoded once with encoding/json (a struct's fields in order, a
// map's keys sorted, HTML characters not escaped). JSON lines writes an
// object per line; JSON writes "[", the items separated by ",\n", and "]"
// at Close (after the committed length, not counted in it); CSV writes a
// header of Fields or the first item's fields, in order, then a row per
// item: a missing field is an empty cell, a field not in the header is
// dropped (logged once per feed), a string is its text, null is empty,
// anything else its JSON. With Fields set, JSON and JSON lines write only
// those fields, in that order, as Scrapy's FEED_EXPORT_FIELDS does.
//
// # Concurrency
//
// A [Set] is safe for concurrent use; Add and Commit belong to one
// goroutine (a Commit commits every item added before it). Done, ForgetDone
// and Items never wait for a Commit's writes.
package feed
