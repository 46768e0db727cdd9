package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// conn is one client's kept-alive HTTP/1.1 connection to the target: the
// client writes a request and reads its answer in its own goroutine, one
// request at a time. net/http's client hands each request to a goroutine that
// writes it and each answer back from one that reads it; on a machine whose
// two cores the server shares, those hand-offs cost a tenth of what the server
// sustained at one client and at sixteen (BENCHMARKS.md, "What changed"),
// which is the load generator measuring itself.
type conn struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	nc   net.Conn // nil: none open
	br   *bufio.Reader
	bw   *bufio.Writer
	used time.Time // when its last answer was read
}

// maxIdle is how long a connection may sit unused and still be used again:
// one that waited longer (a slow -rate) is closed and a new one dialled, so
// that a request never goes out on a connection the server may be closing
// (its IdleTimeout is minutes).
const maxIdle = 5 * time.Second

// maxAnswer bounds the answer read; the rest of a longer one is dropped, with
// the connection.
const maxAnswer = 4 << 20

// do sends req and reads its answer, whole (up to maxAnswer). ctx bounds both:
// when it ends, the connection's deadline is set in the past, the request
// fails, and the connection is closed. So is it after any error, after an
// answer that says Connection: close, and after one too long to read whole.
func (c *conn) do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	if c.nc != nil && time.Since(c.used) > maxIdle {
		c.close()
	}
	if c.nc == nil {
		nc, err := c.dial(ctx, "tcp", "")
		if err != nil {
			return nil, nil, err
		}
		c.nc = nc
		if c.br == nil {
			c.br, c.bw = bufio.NewReader(nc), bufio.NewWriter(nc)
		} else {
			c.br.Reset(nc)
			c.bw.Reset(nc)
		}
	}
	nc := c.nc
	interrupted := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	res, body, keep, err := c.roundTrip(req)
	if !interrupted() {
		// The deadline is (or is about to be) in the past: the connection
		// is of no more use, whatever this request's outcome.
		keep = false
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
	}
	if !keep {
		c.close()
	}
	c.used = time.Now()
	return res, body, err
}

// roundTrip writes req and reads the answer; keep says whether the
// connection can carry another request.
func (c *conn) roundTrip(req *http.Request) (res *http.Response, body []byte, keep bool, err error) {
	if err := req.Write(c.bw); err != nil {
		return nil, nil, false, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, nil, false, err
	}
	res, err = http.ReadResponse(c.br, req)
	if err != nil {
		return nil, nil, false, err
	}
	body, err = io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, nil, false, err
	}
	if len(body) == maxAnswer {
		// More may follow: not worth reading (closing the body would),
		// nor leaving on the wire.
		var one [1]byte
		if n, _ := res.Body.Read(one[:]); n > 0 {
			return res, body, false, nil
		}
	}
	res.Body.Close() // read to its end: nothing left to drain
	return res, body, !res.Close, nil
}

func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}
