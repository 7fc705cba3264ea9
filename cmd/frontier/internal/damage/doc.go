// Package damage is the job-directory corruption suite: it builds real job
// directories through the crawl package (both priority queues, both queue
// layouts, closed or left open as a killed process leaves them), damages
// each of their files in every way a disk, a script or a short copy does
// (delete, truncate, flip bits, replace with garbage, swap two files), and
// checks that a resume neither panics nor hangs, that it keeps every
// request whose records the damage did not touch, and that `jobdir verify`
// says OK exactly when the resume lost nothing.
//
// [Build] makes a job and its oracle (which request each frame of each file
// holds), [Cases] lists the damage cases of a job, [Run] runs one case on a
// copy of the job and returns a [Result]. The corruption tests and the
// `frontier bench damage` command use them. A Run is self-contained: cases
// may run one after another on one goroutine; Build and Run are not meant
// to be called concurrently on the same directory.
package damage
