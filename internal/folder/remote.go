package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// chunks talks to the server's chunk store of one room over HTTP.
type chunks struct {
	base   string // http(s)://host:port/synk/{room}/chunks/
	token  string
	client *http.Client

	sent, received atomic.Int64 // chunk bytes uploaded and downloaded
	put, got       atomic.Int64 // chunks uploaded and downloaded
}

// httpBase turns the websocket URL a device dials into the server's HTTP
// address: ws://host:port/ws → http://host:port.
func httpBase(ws string) (string, error) {
	u, err := url.Parse(ws)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("server address %q: want ws://, wss://, http:// or https://", ws)
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return strings.TrimSuffix(u.String(), "/"), nil
}

func newChunks(server, room, token string, hc *http.Client) (*chunks, error) {
	base, err := httpBase(server)
	if err != nil {
		return nil, err
	}
	return &chunks{base: base + "/synk/" + url.PathEscape(room) + "/chunks/", token: token, client: hc}, nil
}

// httpError is an error answer of the server, as JSON.
type httpError struct {
	Status  int
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *httpError) Error() string {
	return fmt.Sprintf("server answered %d: %s (code %d)", e.Status, e.Message, e.Code)
}

// overloadedTries is how often a request the server refused as overloaded
// (429 or 503: its budget for request bodies was used up) is sent, with
// a growing pause, before the refusal is the answer.
const overloadedTries = 8

// do sends a request, again after a pause while the server answers that
// it is overloaded.
func (c *chunks) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	pause := 100 * time.Millisecond
	for try := 1; ; try++ {
		resp, err := c.doOnce(ctx, method, path, body)
		var e *httpError
		if try == overloadedTries || !errors.As(err, &e) || e.Status != http.StatusTooManyRequests && e.Status != http.StatusServiceUnavailable {
			return resp, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		pause = min(2*pause, 2*time.Second)
	}
}

func (c *chunks) doOnce(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var e struct {
			Error httpError `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) != nil {
			e.Error.Message = strings.TrimSpace(string(b))
		}
		e.Error.Status = resp.StatusCode
		return nil, &e.Error
	}
	return resp, nil
}

// missing returns those of hashes the server lacks.
func (c *chunks) missing(ctx context.Context, hashes [][32]byte) (map[[32]byte]bool, error) {
	out := make(map[[32]byte]bool)
	for len(hashes) > 0 {
		n := min(len(hashes), 5000)
		req := struct {
			Hashes []string `json:"hashes"`
		}{make([]string, n)}
		for i, h := range hashes[:n] {
			req.Hashes[i] = hex.EncodeToString(h[:])
		}
		hashes = hashes[n:]
		body, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		resp, err := c.do(ctx, "POST", "missing", body)
		if err != nil {
			return nil, fmt.Errorf("asking which chunks the server lacks: %w", err)
		}
		var ans struct {
			Missing []string `json:"missing"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("the server's missing list: %w", err)
		}
		for _, s := range ans.Missing {
			var h [32]byte
			if _, err := hex.Decode(h[:], []byte(s)); err != nil {
				return nil, fmt.Errorf("the server's missing list: %w", err)
			}
			out[h] = true
		}
	}
	return out, nil
}

// upload stores data, whose hash is h.
func (c *chunks) upload(ctx context.Context, h [32]byte, data []byte) error {
	resp, err := c.do(ctx, "PUT", hex.EncodeToString(h[:]), data)
	if err != nil {
		return fmt.Errorf("uploading chunk %x: %w", h[:6], err)
	}
	resp.Body.Close()
	c.sent.Add(int64(len(data)))
	c.put.Add(1)
	return nil
}

// errCorrupt is a chunk whose bytes do not hash to its name.
var errCorrupt = errors.New("folder: chunk does not match its hash")

// download returns chunk h's bytes, checked against h.
func (c *chunks) download(ctx context.Context, h [32]byte) ([]byte, error) {
	resp, err := c.do(ctx, "GET", hex.EncodeToString(h[:]), nil)
	if err != nil {
		return nil, fmt.Errorf("downloading chunk %x: %w", h[:6], err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxChunk+1))
	if err != nil {
		return nil, fmt.Errorf("downloading chunk %x: %w", h[:6], err)
	}
	if sha256.Sum256(data) != h {
		return nil, fmt.Errorf("chunk %x: %w", h[:6], errCorrupt)
	}
	c.received.Add(int64(len(data)))
	c.got.Add(1)
	return data, nil
}
