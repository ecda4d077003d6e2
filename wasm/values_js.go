package main

import (
	"fmt"
	"math"
	"syscall/js"
	"time"
)

var (
	jsUint8Array = js.Global().Get("Uint8Array")
	jsArray      = js.Global().Get("Array")
	jsObject     = js.Global().Get("Object")
	jsDate       = js.Global().Get("Date")
	jsBuffer     = js.Global().Get("ArrayBuffer")
)

// maxDepth bounds the nesting of a JS value converted to Go, which also
// stops cycles.
const maxDepth = 32

// fromJS converts a JS value into a Go value that msgpack can encode.
func fromJS(v js.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d (or cyclic)", maxDepth)
	}
	switch v.Type() {
	case js.TypeNull, js.TypeUndefined:
		return nil, nil
	case js.TypeBoolean:
		return v.Bool(), nil
	case js.TypeNumber:
		f := v.Float()
		if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			return int64(f), nil
		}
		return f, nil
	case js.TypeString:
		return v.String(), nil
	case js.TypeObject:
		switch {
		case v.InstanceOf(jsUint8Array):
			b := make([]byte, v.Length())
			js.CopyBytesToGo(b, v)
			return b, nil
		case jsBuffer.Call("isView", v).Bool(): // Float32Array…: its bytes
			b := make([]byte, v.Get("byteLength").Int())
			js.CopyBytesToGo(b, jsUint8Array.New(v.Get("buffer"), v.Get("byteOffset"), len(b)))
			return b, nil
		case v.InstanceOf(jsDate):
			return time.UnixMilli(int64(v.Call("getTime").Float())), nil
		case jsArray.Call("isArray", v).Bool():
			out := make([]any, v.Length())
			for i := range out {
				x, err := fromJS(v.Index(i), depth+1)
				if err != nil {
					return nil, err
				}
				out[i] = x
			}
			return out, nil
		}
		keys := jsObject.Call("keys", v)
		out := make(map[string]any, keys.Length())
		for i := range keys.Length() {
			k := keys.Index(i).String()
			x, err := fromJS(v.Get(k), depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot send a JS %s", v.Type())
}

// toJS converts a value decoded from msgpack into a JS value.
func toJS(v any) js.Value {
	switch v := v.(type) {
	case nil:
		return js.Null()
	case []byte:
		a := jsUint8Array.New(len(v))
		js.CopyBytesToJS(a, v)
		return a
	case time.Time:
		return jsDate.New(float64(v.UnixMilli()))
	case []any:
		a := jsArray.New(len(v))
		for i, x := range v {
			a.SetIndex(i, toJS(x))
		}
		return a
	case map[string]any:
		o := jsObject.New()
		for k, x := range v {
			o.Set(k, toJS(x))
		}
		return o
	case map[any]any:
		o := jsObject.New()
		for k, x := range v {
			o.Set(fmt.Sprint(k), toJS(x))
		}
		return o
	case bool, string, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return js.ValueOf(v)
	}
	return js.ValueOf(fmt.Sprint(v))
}
