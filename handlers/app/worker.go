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
	wg      sync.WaitGroup
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
	}
}

// Go schedules job without blocking the caller; reqCtx's values (the
// request id) are kept, its cancellation is not.
func (w *workers) Go(reqCtx context.Context, job func(ctx context.Context)) error {
	if w.ctx.Err() != nil {
		return ErrBusy // closed: nothing new starts
	}
	select {
	case w.waiting <- struct{}{}:
	default:
		return ErrBusy
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
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

// Close waits for running jobs until ctx ends, then cancels what is left.
func (w *workers) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		w.cancel()
		<-done
		return ctx.Err()
	}
}
