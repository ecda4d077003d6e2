package chunkstore

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseMeta: a meta message of the cluster's bucket, as anyone with
// access to the NATS could write it, never panics the collector, and a
// name it accepts is a room and a hash in hex.
func FuzzParseMeta(f *testing.F) {
	f.Add([]byte(`{"name":"70686f746f73/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","bucket":"SYNK_CHUNKS","nuid":"N","size":5,"chunks":1,"digest":"SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="}`))
	f.Add([]byte(`{"name":"x/y","deleted":true}`))
	f.Add([]byte(`{"name":"zz/00","size":-1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		room, sum, size, nuid, ok := parseMeta(data)
		if !ok {
			return
		}
		if size < 0 || nuid == "" {
			t.Fatalf("accepted size %d, nuid %q", size, nuid)
		}
		want := hex.EncodeToString([]byte(room)) + "/" + hex.EncodeToString(sum[:])
		if !strings.EqualFold(want, objectNameOf(data)) {
			t.Fatalf("accepted %q as room %q, hash %x", objectNameOf(data), room, sum)
		}
	})
}

// objectNameOf is the name a meta message gives.
func objectNameOf(data []byte) string {
	var info struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(data, &info)
	return info.Name
}
