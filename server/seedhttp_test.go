package server

import "testing"

// TestPost_asTheSeed: supersynk's HTTP API. A POST replaces the poster's
// data, as the seed stores the whole body each time: keys left out are
// gone, and 64 different keys over time are no limit. "d":[] is a member
// with no data; a body without "d", or with "d":null, is a 400.
func TestPost_asTheSeed(t *testing.T) {
	t.Parallel()
	_, hs := testServer(t, nil)
	if resp, body := post(t, hs, "/synk/r", `{"c":"a","d":[{"k":"x","v":1},{"k":"y","v":2}]}`); resp.StatusCode != 200 {
		t.Fatalf("post: %d %s", resp.StatusCode, body)
	}
	if resp, body := post(t, hs, "/synk/r", `{"c":"a","d":[{"k":"y","v":3}]}`); resp.StatusCode != 200 {
		t.Fatalf("post: %d %s", resp.StatusCode, body)
	}
	if _, body := get(t, hs.URL+"/synk/r"); body != `[{"c":"a","d":[{"k":"y","v":3}]}]`+"\n" {
		t.Fatalf("GET after a second POST = %s, want only its data", body)
	}
	for i := range 70 { // a new key each time: never more than one held
		if resp, body := post(t, hs, "/synk/r", `{"c":"a","d":[{"k":"k`+string(rune('a'+i%26))+string(rune('a'+i/26))+`","v":1}]}`); resp.StatusCode != 200 {
			t.Fatalf("post %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if resp, body := post(t, hs, "/synk/r", `{"c":"a","d":[]}`); resp.StatusCode != 200 || body != `[]`+"\n" {
		t.Fatalf(`"d":[] answered %d %s`, resp.StatusCode, body)
	}
	if _, body := get(t, hs.URL+"/synk/r"); body != `[{"c":"a","d":[]}]`+"\n" {
		t.Fatalf(`GET after "d":[] = %s, want the member with no data`, body)
	}
	for _, bad := range []string{`{"c":"a"}`, `{"c":"a","d":null}`} {
		if resp, body := post(t, hs, "/synk/r", bad); resp.StatusCode != 400 {
			t.Errorf("POST %s = %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
}
