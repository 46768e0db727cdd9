package crashtest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An instance stopped while it is still joining its cluster (a follower
// with no holder to apply what it appended) takes no lease on its way out:
// with the lease released while it stops, it exits 0 without taking it,
// and the lease is left as it was (no new epoch). Before, it took the
// lease during its drain and then waited out the stop's deadline.
func TestAnInstanceStoppedWhileJoiningTakesNoLease(t *testing.T) {
	c := newCluster(t, "a1")
	c.holder("")
	// a1 goes, giving the lease up; the test's observer takes it and keeps
	// it, so that the next instance stays a follower while it joins.
	if code, _ := c.procs["a1"].terminate(t, 30*time.Second); code != 0 {
		t.Fatalf("a1 exited %d", code)
	}
	delete(c.procs, "a1")
	ctx := context.Background()
	if ok, err := c.lease.Acquire(ctx); err != nil || !ok {
		t.Fatalf("the observer could not take the released lease: %v %v", ok, err)
	}
	renewCtx, stopRenewing := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		for renewCtx.Err() == nil {
			if err := c.lease.Renew(renewCtx); err != nil && renewCtx.Err() == nil {
				t.Errorf("renewing the observer's lease: %v", err)
				return
			}
			select {
			case <-renewCtx.Done():
			case <-time.After(c.failover / 4):
			}
		}
	}()
	defer func() { stopRenewing(); <-renewed }()

	j := c.start("j1")
	// j1 appends (so that a stop has something of its own to wait for).
	for i := range 2 {
		body := fmt.Sprintf(`{"sku":"sku-join","qty":%d,"price":"1.00"}`, i+1)
		req, _ := http.NewRequest(http.MethodPost, j.url+"/carts/join-1/items", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Actor", verifier)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode >= 300 {
			t.Fatalf("adding to a cart on j1: %v %v", res, err)
		}
		res.Body.Close()
	}
	if owner, _, err := c.lease.Holder(ctx); err != nil || owner != "observer" {
		t.Fatalf("the lease before the stop: %q %v", owner, err)
	}

	// Stopped; once it says it is stopping, the lease is released, as a
	// holder's graceful stop releases it: free for the taking.
	if err := j.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	until(t, 30*time.Second, "j1 stopping", func() (bool, string) {
		return strings.Contains(j.log.String(), "msg=stopping"), ""
	})
	stopRenewing()
	<-renewed
	_, epoch, err := c.lease.Holder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.lease.Release(ctx); err != nil {
		t.Fatalf("releasing the observer's lease: %v", err)
	}
	select {
	case <-j.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("j1 did not exit within 60 s of SIGTERM")
	}
	if code := j.state.ExitCode(); code != 0 {
		t.Errorf("j1 exited %d", code)
	}
	delete(c.procs, "j1")
	owner, after, err := c.lease.Holder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if owner != "" || after != epoch {
		t.Errorf("the lease after j1's stop: owner %q epoch %d; want released at the observer's epoch %d", owner, after, epoch)
	}
	if log := j.log.String(); strings.Contains(log, "this instance is the cluster's projector") || strings.Contains(log, "dynamo lease: taken") {
		t.Errorf("j1 took the lease while stopping:\n%s", log)
	}
}
