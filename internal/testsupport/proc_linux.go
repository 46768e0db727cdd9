package testsupport

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		// Its own process group, so that killGroup reaches anything it starts
		// and a Ctrl-C meant for go test reaches it only through us.
		Setpgid: true,
		// Killed when the thread that started it ends, however the test
		// binary ends: see the goroutine in StartProcess.
		Pdeathsig: syscall.SIGKILL,
	}
}

func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}
