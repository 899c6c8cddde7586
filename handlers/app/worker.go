package app

import (
	"context"
	"runtime/debug"
	"sync"
)

// workers runs slow work (AWS calls, waiting for states) after the ack, at
// most size jobs at a time, with at most queue jobs waiting. Jobs get a
// context that outlives the request and ends on Close.
type workers struct {
	onPanic func(ctx context.Context, v any, stack []byte)
	sem     chan struct{}
	waiting chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc

	// Jobs may start more jobs while Close waits, so the count is ours,
	// not a WaitGroup's (whose Add may not race its Wait from zero).
	mu      sync.Mutex
	running int
	closing bool
	idle    chan struct{} // closed once closing and nothing runs
}

// newWorkers builds a pool; onPanic hears of a job that panicked (the
// process and the other jobs carry on).
func newWorkers(size, queue int, onPanic func(ctx context.Context, v any, stack []byte)) *workers {
	ctx, cancel := context.WithCancel(context.Background())
	return &workers{
		onPanic: onPanic,
		sem:     make(chan struct{}, size),
		waiting: make(chan struct{}, size+queue),
		ctx:     ctx,
		cancel:  cancel,
		idle:    make(chan struct{}),
	}
}

// Go schedules job without blocking the caller; reqCtx's values (the
// request id) are kept, its cancellation is not.
func (w *workers) Go(reqCtx context.Context, job func(ctx context.Context)) error {
	w.mu.Lock()
	if w.ctx.Err() != nil || (w.closing && w.running == 0) {
		w.mu.Unlock()
		return ErrBusy // closed: nothing new starts
	}
	select {
	case w.waiting <- struct{}{}:
	default:
		w.mu.Unlock()
		return ErrBusy
	}
	w.running++
	w.mu.Unlock()
	go func() {
		defer w.done()
		defer func() { <-w.waiting }()
		select {
		case w.sem <- struct{}{}:
		case <-w.ctx.Done():
			return
		}
		defer func() { <-w.sem }()
		ctx, cancel := context.WithCancel(context.WithoutCancel(reqCtx))
		stop := context.AfterFunc(w.ctx, cancel)
		defer stop()
		defer cancel()
		defer func() {
			if v := recover(); v != nil && w.onPanic != nil {
				w.onPanic(ctx, v, debug.Stack())
			}
		}()
		job(ctx)
	}()
	return nil
}

func (w *workers) done() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running--
	if w.closing && w.running == 0 {
		close(w.idle)
	}
}

// Close waits for running jobs (and the jobs they start) until ctx ends,
// then cancels what is left. Once nothing runs, nothing new starts.
func (w *workers) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closing {
		w.closing = true
		if w.running == 0 {
			close(w.idle)
		}
	}
	w.mu.Unlock()
	select {
	case <-w.idle:
		return nil
	case <-ctx.Done():
		w.cancel()
		<-w.idle
		return ctx.Err()
	}
}
