//go:build unix && !linux

package dynamotest

import (
	"os"
	"syscall"
)

// Elsewhere there is no Pdeathsig: a test binary killed before its TestMain
// returns leaves DynamoDB Local running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}
