package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWorkersBoundAndDrain(t *testing.T) {
	w := newWorkers(2, 3, nil)
	release := make(chan struct{})
	var running, peak atomic.Int32
	job := func(ctx context.Context) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		running.Add(-1)
	}
	reqCtx, cancelReq := context.WithCancel(context.Background())
	for i := 0; i < 5; i++ {
		if err := w.Go(reqCtx, job); err != nil {
			t.Fatalf("Go #%d = %v, want accepted", i, err)
		}
	}
	if err := w.Go(reqCtx, job); !errors.Is(err, ErrBusy) {
		t.Errorf("Go beyond size+queue = %v, want ErrBusy", err)
	}
	cancelReq() // the request ending must not cancel its background job
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if p := peak.Load(); p > 2 {
		t.Errorf("peak concurrency = %d, want ≤ 2", p)
	}
}

func TestWorkersCloseCancelsStragglers(t *testing.T) {
	w := newWorkers(1, 0, nil)
	cancelled := make(chan struct{})
	_ = w.Go(context.Background(), func(ctx context.Context) { <-ctx.Done(); close(cancelled) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a stuck job = %v, want deadline exceeded", err)
	}
	select {
	case <-cancelled:
	default:
		t.Error("stuck job was not cancelled by Close")
	}
}

// A job that panics is reported and does not take the process, or the
// pool's next jobs, with it.
func TestWorkersSurvivePanics(t *testing.T) {
	panicked := make(chan any, 1)
	w := newWorkers(1, 1, func(_ context.Context, v any, stack []byte) {
		if len(stack) == 0 {
			t.Error("panic reported without a stack")
		}
		panicked <- v
	})
	_ = w.Go(context.Background(), func(context.Context) { panic("boom") })
	ran := make(chan struct{})
	_ = w.Go(context.Background(), func(context.Context) { close(ran) })
	if v := <-panicked; v != "boom" {
		t.Errorf("onPanic got %v, want boom", v)
	}
	<-ran
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Close waits for the jobs that running jobs start (an approval's action,
// an expiry's report) and, once nothing runs, nothing new starts. Jobs
// offered from elsewhere while it closes (an expiry's timer) are taken or
// refused without a race (checked under -race).
func TestWorkersCloseWaitsForJobsTheJobsStart(t *testing.T) {
	w := newWorkers(2, 2, nil)
	release := make(chan struct{})
	var second atomic.Bool
	_ = w.Go(context.Background(), func(ctx context.Context) {
		<-release
		if err := w.Go(ctx, func(context.Context) { time.Sleep(20 * time.Millisecond); second.Store(true) }); err != nil {
			t.Errorf("a job started while closing = %v, want it run", err)
		}
	})
	var offered sync.WaitGroup
	for range 20 {
		offered.Go(func() { _ = w.Go(context.Background(), func(context.Context) {}) })
	}
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		closed <- w.Close(ctx)
	}()
	time.Sleep(20 * time.Millisecond)
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
	if !second.Load() {
		t.Error("Close returned before the job a running job started had run")
	}
	offered.Wait()
	if err := w.Go(context.Background(), func(context.Context) { t.Error("a job ran after Close") }); !errors.Is(err, ErrBusy) {
		t.Errorf("Go after Close = %v, want ErrBusy", err)
	}
}
