package download

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// acceptEncoding is what the downloader asks for when COMPRESSION_ENABLED
// is true: the encodings it decodes itself, so that DOWNLOAD_MAXSIZE bounds
// the decoded size.
const acceptEncoding = "gzip, deflate"

// bodyLimits are one request's DOWNLOAD_MAXSIZE and DOWNLOAD_WARNSIZE
// (0: none).
type bodyLimits struct {
	max, warn int64
}

// countingReader counts the bytes read from the wire, for
// downloader/response_bytes (Scrapy counts the body as received, before
// decompression).
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bodyReader reads response bodies with pooled buffers (for bodies of
// unknown length, copied out into a slice of their exact size) and pooled
// gzip readers. Its zero value is ready; it is safe for concurrent use.
type bodyReader struct {
	bufs  sync.Pool // *bytes.Buffer
	gzips sync.Pool // *gzip.Reader
}

// maxPooled is the largest buffer put back in the pool, so that one huge
// body does not stay in memory.
const maxPooled = 1 << 20

// maxPreallocated is the largest body allocated whole from its
// Content-Length before it arrives.
const maxPreallocated = 4 << 20

// read reads resp's body, decoding gzip and deflate when decode is true,
// and stops as soon as the decoded size passes lim.max. It returns the body,
// the bytes read from the wire, and an error with the kind of failure.
func (br *bodyReader) read(resp *http.Response, decode bool, lim bodyLimits) ([]byte, int64, Kind, error) {
	wire := &countingReader{r: resp.Body}
	var src io.Reader = wire
	encodings := contentEncodings(resp.Header)
	decode = decode && len(encodings) > 0 && decodable(encodings)
	if decode {
		var closers []func()
		defer func() {
			for _, c := range closers {
				c()
			}
		}()
		var err error
		for i := len(encodings) - 1; i >= 0; i-- { // the last applied first
			var done func()
			src, done, err = br.decoder(encodings[i], src)
			if err != nil {
				return nil, wire.n, kindOfDecode(err), err
			}
			closers = append(closers, done)
		}
		resp.Header.Del("Content-Encoding")
	}
	if lim.max > 0 {
		src = io.LimitReader(src, lim.max+1)
	}

	var body []byte
	var err error
	if n := resp.ContentLength; n >= 0 && n <= maxPreallocated && !decode && (lim.max == 0 || n <= lim.max) {
		// The length is known and modest: one allocation of the right size.
		// A larger one grows as the bytes come, so that a Content-Length
		// alone cannot make the downloader allocate DOWNLOAD_MAXSIZE.
		body = make([]byte, n)
		_, err = io.ReadFull(src, body)
	} else {
		buf, _ := br.bufs.Get().(*bytes.Buffer)
		if buf == nil {
			buf = new(bytes.Buffer)
		}
		buf.Reset()
		_, err = buf.ReadFrom(src)
		body = bytes.Clone(buf.Bytes())
		if body == nil {
			body = []byte{}
		}
		if buf.Cap() <= maxPooled {
			br.bufs.Put(buf)
		}
	}
	if err != nil {
		return nil, wire.n, kindOfDecode(err), err
	}
	if lim.max > 0 && int64(len(body)) > lim.max {
		return nil, wire.n, KindResponseTooLarge, errTooLarge
	}
	return body, wire.n, 0, nil
}

// kindOfDecode classifies an error met while reading a body: a decoder's
// complaint about its input is a decoding failure, anything else comes from
// the connection.
func kindOfDecode(err error) Kind {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum),
		errors.Is(err, zlib.ErrHeader), errors.Is(err, zlib.ErrChecksum),
		errors.Is(err, zlib.ErrDictionary), errors.As(err, &corrupt), errors.Is(err, errUnknownEncoding):
		return KindDecoding
	}
	return kindOf(err, true)
}

// contentEncodings lists the Content-Encoding values other than identity,
// lowercased, in the order they were applied.
func contentEncodings(h http.Header) []string {
	vals := h.Values("Content-Encoding")
	if len(vals) == 0 {
		return nil
	}
	var out []string
	for _, v := range vals {
		for _, e := range strings.Split(v, ",") {
			if e = strings.ToLower(strings.TrimSpace(e)); e != "" && e != "identity" {
				out = append(out, e)
			}
		}
	}
	return out
}

// decodable reports whether every encoding is one the downloader decodes;
// a response in another (br, zstd) is handed on as it came.
func decodable(encodings []string) bool {
	for _, e := range encodings {
		switch e {
		case "gzip", "x-gzip", "deflate":
		default:
			return false
		}
	}
	return true
}

// decoder wraps src in a reader for encoding. Deflate is zlib-wrapped by the
// standard but raw in some servers, so the first bytes decide, as Scrapy does.
func (br *bodyReader) decoder(encoding string, src io.Reader) (io.Reader, func(), error) {
	switch encoding {
	case "gzip", "x-gzip":
		zr, _ := br.gzips.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(src)
		} else {
			err = zr.Reset(src)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // an empty gzip body is a truncated one
			}
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { br.gzips.Put(zr) }, nil
	case "deflate":
		buffered := bufio.NewReader(src)
		head, err := buffered.Peek(2)
		if err != nil && len(head) < 2 {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, fmt.Errorf("deflate: %w", err)
		}
		if isZlibHeader(head) {
			zr, err := zlib.NewReader(buffered)
			if err != nil {
				return nil, nil, fmt.Errorf("deflate: %w", err)
			}
			return zr, func() { zr.Close() }, nil
		}
		fr := flate.NewReader(buffered)
		return fr, func() { fr.Close() }, nil
	}
	return nil, nil, fmt.Errorf("%w %q", errUnknownEncoding, encoding)
}

// isZlibHeader reports whether b starts a zlib stream (RFC 1950): deflate
// method and a header checksum that divides by 31.
func isZlibHeader(b []byte) bool {
	return b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}
