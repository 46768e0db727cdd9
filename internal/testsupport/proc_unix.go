//go:build unix && !linux

package testsupport

import (
	"os"
	"syscall"
)

// Elsewhere there is no Pdeathsig: a test binary killed before its TestMain
// returns leaves its child running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}
