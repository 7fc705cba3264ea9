package main

import "github.com/spf13/cobra"

func newJobdirCommand(e *env) *cobra.Command {
	return newGroup("jobdir", "Look inside a job directory: inspect, export, verify, repair, import-seen",
		`Jobdir looks inside a job directory (JOBDIR). inspect, export and verify only
read it, and may run on a job that is running (the figures are then a
snapshot); repair writes the salvaged job (the damaged files kept aside, never
deleted) and refuses a running job; import-seen writes the job's fingerprint
file.

A job directory's files and formats are described in docs/jobdir.md.`,
		`  frontier jobdir inspect /tmp/job
  frontier jobdir verify /tmp/job --json
  frontier jobdir repair /tmp/job
  frontier jobdir import-seen /tmp/job scrapy-job/requests.seen`,
		newJobdirInspectCommand(e),
		newJobdirExportCommand(e),
		newJobdirVerifyCommand(e),
		newJobdirRepairCommand(e),
		newJobdirImportSeenCommand(e),
	)
}
