package client

import (
	"context"
	"sync"
	"syscall/js"

	"github.com/synkhq/synk/internal/wraperr"
)

// jsUint8Array is the Uint8Array constructor, looked up once: every
// message crosses into JS through it.
var jsUint8Array = js.Global().Get("Uint8Array")

// jsTransport is a transport over the browser's WebSocket. Its JS
// callbacks never block: they queue and signal.
type jsTransport struct {
	ws        js.Value
	readLimit int64
	funcs     []js.Func
	unlisten  func()        // removes the listener of messages
	signal    chan struct{} // a message arrived or the socket closed

	mu     sync.Mutex // Protects the following.
	queue  [][]byte
	closed error // set once the socket is closed
}

func dialTransport(ctx context.Context, url string, readLimit int64) (transport, error) {
	ws, err := newWebSocket(url)
	if err != nil {
		return nil, wraperr.Prefix("client: dial "+url, err)
	}
	ws.Set("binaryType", "arraybuffer")
	t := &jsTransport{ws: ws, readLimit: readLimit, signal: make(chan struct{}, 1)}
	opened := make(chan struct{})
	var openOnce sync.Once
	t.on("open", func(js.Value) { openOnce.Do(func() { close(opened) }) })
	t.listen()
	t.on("close", func(e js.Value) {
		t.fail(&closeStatusError{status: e.Get("code").Int(), reason: e.Get("reason").String()})
	})
	select {
	case <-opened:
		return t, nil
	case <-t.signal:
		err := t.err()
		t.closeNow()
		return nil, wraperr.Prefix("client: dial "+url, err)
	case <-ctx.Done():
		t.closeNow()
		return nil, wraperr.Prefix("client: dial "+url, ctx.Err())
	}
}

// newWebSocket calls new WebSocket(url), turning a thrown error into a Go
// error.
func newWebSocket(url string) (ws js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = wraperr.Panic(r)
		}
	}()
	return js.Global().Get("WebSocket").New(url), nil
}

func (t *jsTransport) on(event string, f func(js.Value)) {
	fn := js.FuncOf(func(_ js.Value, args []js.Value) any {
		f(args[0])
		return nil
	})
	t.funcs = append(t.funcs, fn)
	t.ws.Call("addEventListener", event, fn)
}

// listen receives the socket's messages. The function __synkListen(ws, f)
// that the browser client's worker defines (web/static/synk-worker.js)
// gathers the messages that arrive while Go is busy and calls f once per
// batch; elsewhere a Go listener takes each message as it comes.
func (t *jsTransport) listen() {
	if listen := js.Global().Get("__synkListen"); listen.Type() == js.TypeFunction {
		f := js.FuncOf(func(_ js.Value, args []js.Value) any {
			b := make([]byte, args[0].Length())
			js.CopyBytesToGo(b, args[0])
			t.received(b)
			return nil
		})
		t.funcs = append(t.funcs, f)
		remove := listen.Invoke(t.ws, f)
		t.unlisten = func() { remove.Invoke() }
		return
	}
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		data := args[0].Get("data")
		if data.Type() == js.TypeString {
			t.fail(errTextMessage)
			return nil
		}
		arr := jsUint8Array.New(data)
		n := arr.Length()
		if int64(n) > t.readLimit {
			t.fail(errTooBig)
			return nil
		}
		b := make([]byte, n)
		js.CopyBytesToGo(b, arr)
		t.push(b)
		return nil
	})
	t.funcs = append(t.funcs, f)
	t.ws.Call("addEventListener", "message", f)
	t.unlisten = func() { t.ws.Call("removeEventListener", "message", f) }
}

// received queues the messages of a batch from __synkListen.
func (t *jsTransport) received(b []byte) {
	msgs, err := splitBatch(b, t.readLimit)
	if err != nil {
		t.fail(err)
		return
	}
	t.push(msgs...)
}

// push queues messages for read and wakes the reader.
func (t *jsTransport) push(msgs ...[]byte) {
	t.mu.Lock()
	t.queue = append(t.queue, msgs...)
	t.mu.Unlock()
	t.wake()
}

func (t *jsTransport) wake() {
	select {
	case t.signal <- struct{}{}:
	default:
	}
}

// fail records why the socket ended, once, and closes it.
func (t *jsTransport) fail(err error) {
	t.mu.Lock()
	first := t.closed == nil
	if first {
		t.closed = err
	}
	t.mu.Unlock()
	if first {
		t.ws.Call("close")
		t.wake()
	}
}

func (t *jsTransport) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

func (t *jsTransport) read(ctx context.Context) ([]byte, error) {
	for {
		t.mu.Lock()
		if len(t.queue) > 0 {
			b := t.queue[0]
			t.queue[0] = nil
			t.queue = t.queue[1:]
			t.mu.Unlock()
			return b, nil
		}
		closed := t.closed
		t.mu.Unlock()
		if closed != nil {
			return nil, closed
		}
		select {
		case <-t.signal:
		case <-ctx.Done():
			t.fail(ctx.Err())
			return nil, ctx.Err()
		}
	}
}

func (t *jsTransport) write(ctx context.Context, b []byte) error {
	if err := t.err(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	arr := jsUint8Array.New(len(b))
	js.CopyBytesToJS(arr, b)
	t.ws.Call("send", arr)
	return nil
}

func (t *jsTransport) close() error {
	t.ws.Call("close", 1000)
	t.fail(ErrClosed)
	t.release()
	return nil
}

func (t *jsTransport) closeNow() error { return t.close() }

func (t *jsTransport) release() {
	if t.unlisten != nil {
		t.unlisten()
		t.unlisten = nil
	}
	for _, f := range t.funcs {
		t.ws.Call("removeEventListener", "open", f)
		t.ws.Call("removeEventListener", "close", f)
		f.Release()
	}
	t.funcs = nil
}
