package host

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel SIGKILL the plugin when the host
// process dies, even by SIGKILL, so no plugin outlives its host. (Strictly,
// when the host thread that started it exits; Go keeps its threads for the
// life of the process.) The SDK also watches its parent, for other systems.
func setParentDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
