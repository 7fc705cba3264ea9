package download

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

func TestKindOf(t *testing.T) {
	op := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	tests := []struct {
		name   string
		err    error
		inBody bool
		want   Kind
	}{
		{"DNS", &net.DNSError{Err: "no such host", Name: "nowhere.test", IsNotFound: true}, false, KindDNSLookup},
		{"DNS timeout", &net.DNSError{Err: "timeout", Name: "slow.test", IsTimeout: true}, false, KindTimeout},
		{"refused", op(os.NewSyscallError("connect", syscall.ECONNREFUSED)), false, KindConnectionRefused},
		{"reset", op(os.NewSyscallError("read", syscall.ECONNRESET)), false, KindConnectionReset},
		{"reset in the body", op(os.NewSyscallError("read", syscall.ECONNRESET)), true, KindResponseTruncated},
		{"broken pipe", op(syscall.EPIPE), false, KindConnectionReset},
		{"EOF", io.EOF, false, KindConnectionReset},
		{"unexpected EOF in the body", io.ErrUnexpectedEOF, true, KindResponseTruncated},
		{"deadline", fmt.Errorf("wrapped: %w", context.DeadlineExceeded), false, KindTimeout},
		{"i/o timeout", op(os.ErrDeadlineExceeded), false, KindTimeout},
		{"canceled", &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}, false, KindCanceled},
		{"certificate", &wrapped{x509.UnknownAuthorityError{}}, false, KindTLS},
		{"other", errors.New("net/http: something odd"), false, KindConnection},
		{"no route", op(syscall.EHOSTUNREACH), false, KindConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kindOf(tt.err, tt.inBody); got != tt.want {
				t.Errorf("kindOf(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

// wrapped wraps an error as net/http does, behind its own message.
type wrapped struct{ err error }

func (e *wrapped) Error() string { return "tls: " + e.err.Error() }
func (e *wrapped) Unwrap() error { return e.err }

// TestTLSFailure checks a certificate that does not verify: a TLS failure,
// not retried.
func TestTLSFailure(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	srv.StartTLS()
	defer srv.Close()
	d, _, _ := newDownloader(t)
	if e := fetchErr(t, d, get(t, srv.URL), KindTLS); e.Kind.Retryable() {
		t.Error("a TLS failure is retryable")
	}
}

func TestErrorIs(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	err := fmt.Errorf("downloading: %w", &Error{Kind: KindResponseTruncated, URL: "http://x/", Err: cause})
	if !errors.Is(err, ErrResponseTruncated) || !errors.Is(err, cause) || errors.Is(err, ErrTimeout) {
		t.Errorf("errors.Is on %v", err)
	}
	var de *Error
	if !errors.As(err, &de) || de.URL != "http://x/" {
		t.Errorf("errors.As on %v", err)
	}
	if got := de.Error(); got != "download: response truncated: http://x/: unexpected EOF" {
		t.Errorf("message %q", got)
	}
	for k := KindConnection; k <= KindCanceled; k++ {
		if k.String() == "Unknown" || k.sentinel() == nil {
			t.Errorf("kind %d has no name or sentinel", k)
		}
	}
	if !errors.Is(errClosed, framework.ErrClosed) {
		t.Error("errClosed does not wrap framework.ErrClosed")
	}
}

// TestBadSettings checks that unusable settings are errors naming them.
func TestBadSettings(t *testing.T) {
	for _, o := range []string{
		`DOWNLOAD_SLOTS={"a": 3}`,
		`DOWNLOAD_SLOTS={"a": {"concurrency": -1}}`,
		`DOWNLOAD_SLOTS={"a": {"delay": "soon"}}`,
		`DOWNLOAD_SLOTS={"a": {"speed": 1}}`,
		"CONCURRENT_REQUESTS_PER_DOMAIN=-1",
		"DOWNLOAD_MAXSIZE=big",
	} {
		c, _ := newCrawler(t, o)
		if _, err := New(c); !errors.Is(err, framework.ErrSetting) {
			t.Errorf("%s: error %v, want ErrSetting", o, err)
		}
	}
	c, _ := newCrawler(t, "RETRY_HTTP_CODES=500,soon")
	if _, err := NewRetry(c); !errors.Is(err, framework.ErrSetting) {
		t.Errorf("RETRY_HTTP_CODES: error %v, want ErrSetting", err)
	}
}
