//go:build !linux

package host

import "os/exec"

// setParentDeathSignal does nothing outside Linux; there the SDK's parent
// watch ends a plugin whose host is gone.
func setParentDeathSignal(*exec.Cmd) {}
