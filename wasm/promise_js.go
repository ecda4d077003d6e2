package main

import (
	"context"
	"errors"
	"syscall/js"
	"time"

	"github.com/synkhq/synk/client"
	"github.com/synkhq/synk/internal/wraperr"
	"github.com/synkhq/synk/protocol"
)

var (
	jsPromise   = js.Global().Get("Promise")
	jsErrorCtor = js.Global().Get("Error")
)

// promise runs f in a goroutine and returns a Promise of its result. f's
// context ends after callTimeout.
func promise(f func(ctx context.Context) (any, error)) js.Value {
	return promiseWithin(callTimeout, f)
}

// promiseWithin is promise with f's context ending after timeout, or
// never for 0.
func promiseWithin(timeout time.Duration, f func(ctx context.Context) (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer executor.Release()
			ctx, cancel := context.WithCancel(context.Background())
			if timeout > 0 {
				ctx, cancel = context.WithTimeout(context.Background(), timeout)
			}
			defer cancel()
			v, err := func() (v any, err error) {
				defer func() {
					if r := recover(); r != nil {
						err = &protocol.Error{Code: protocol.CodeInternal, Message: "panic: " + wraperr.Panic(r).Error()}
					}
				}()
				return f(ctx)
			}()
			if err != nil {
				reject.Invoke(jsError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	return jsPromise.New(executor)
}

func rejected(err error) js.Value { return jsPromise.Call("reject", jsError(err)) }

func resolved() js.Value { return jsPromise.Call("resolve") }

// jsError makes a JS Error carrying the protocol code as .code (0 if none)
// and its name as .codeName; .pending is true for a write that stays
// queued (client.ErrPending).
func jsError(err error) js.Value {
	e := jsErrorCtor.New(err.Error())
	code := protocol.ErrorCode(err)
	e.Set("code", int(code))
	if code != 0 {
		e.Set("codeName", code.String())
	}
	if errors.Is(err, client.ErrPending) {
		e.Set("pending", true)
	}
	return e
}
