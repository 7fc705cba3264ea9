package download

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/frontier-go/frontier/framework"
)

// Sentinel errors, checked with errors.Is. A failed download is an [*Error]
// whose Kind matches one of the first group.
var (
	// ErrTimeout: the download took longer than DOWNLOAD_TIMEOUT (meta
	// download_timeout), connection to last byte. Retried.
	ErrTimeout = errors.New("download: timeout")
	// ErrConnectionRefused: the server refused the connection. Retried.
	ErrConnectionRefused = errors.New("download: connection refused")
	// ErrConnectionReset: the connection was reset or closed before the
	// response's headers arrived. Retried.
	ErrConnectionReset = errors.New("download: connection reset")
	// ErrConnection: another network failure (no route to host, a malformed
	// response...). Retried.
	ErrConnection = errors.New("download: connection failed")
	// ErrDNSLookup: the host name did not resolve. Retried.
	ErrDNSLookup = errors.New("download: DNS lookup failed")
	// ErrResponseTruncated: the body ended before its Content-Length, its
	// last chunk or the end of its compressed stream (Scrapy's data loss).
	// Retried.
	ErrResponseTruncated = errors.New("download: response truncated")
	// ErrTLS: the TLS handshake failed (a certificate that does not verify,
	// no common protocol version). Not retried.
	ErrTLS = errors.New("download: TLS handshake failed")
	// ErrResponseTooLarge: the body, after decompression, is larger than
	// DOWNLOAD_MAXSIZE (meta download_maxsize). Not retried.
	ErrResponseTooLarge = errors.New("download: response larger than the download max size")
	// ErrDecoding: the body does not decode as its Content-Encoding says.
	// Not retried.
	ErrDecoding = errors.New("download: response body does not decode")
	// ErrInvalidURL: the URL does not parse, has no host, or its scheme is
	// not http or https. Not retried.
	ErrInvalidURL = errors.New("download: invalid URL")
	// ErrCanceled: the caller's context ended the download. Not retried and
	// not counted in the downloader/exception_* stats.
	ErrCanceled = errors.New("download: canceled")

	// ErrMaxRedirects is returned by [Redirect.OnResponse] when a request was
	// redirected REDIRECT_MAX_TIMES times already. It wraps
	// framework.ErrIgnoreRequest, as Scrapy raises IgnoreRequest.
	ErrMaxRedirects = errors.New("download: max redirections reached")
)

// Causes inside an [*Error].
var (
	errTooLarge        = errors.New("body larger than the download max size")
	errUnknownEncoding = errors.New("unknown content encoding")
	errClosed          = fmt.Errorf("download: %w", framework.ErrClosed)
)

// Kind classifies a failed download.
type Kind uint8

// Kinds of download failure, each matching the sentinel of the same name.
const (
	KindConnection Kind = iota
	KindTimeout
	KindConnectionRefused
	KindConnectionReset
	KindDNSLookup
	KindResponseTruncated
	KindTLS
	KindResponseTooLarge
	KindDecoding
	KindInvalidURL
	KindCanceled
)

var kindInfo = [...]struct {
	name      string
	sentinel  error
	retryable bool
}{
	KindConnection:        {"Connection", ErrConnection, true},
	KindTimeout:           {"Timeout", ErrTimeout, true},
	KindConnectionRefused: {"ConnectionRefused", ErrConnectionRefused, true},
	KindConnectionReset:   {"ConnectionReset", ErrConnectionReset, true},
	KindDNSLookup:         {"DNSLookup", ErrDNSLookup, true},
	KindResponseTruncated: {"ResponseTruncated", ErrResponseTruncated, true},
	KindTLS:               {"TLS", ErrTLS, false},
	KindResponseTooLarge:  {"ResponseTooLarge", ErrResponseTooLarge, false},
	KindDecoding:          {"Decoding", ErrDecoding, false},
	KindInvalidURL:        {"InvalidURL", ErrInvalidURL, false},
	KindCanceled:          {"Canceled", ErrCanceled, false},
}

// String returns the kind's name, as used in the downloader/exception_type_count
// and retry/reason_count stats keys: "Timeout", "ConnectionRefused"...
func (k Kind) String() string {
	if int(k) < len(kindInfo) {
		return kindInfo[k].name
	}
	return "Unknown"
}

// Retryable reports whether [Retry] retries a download that failed this way,
// as Scrapy's RetryMiddleware retries its EXCEPTIONS_TO_RETRY.
func (k Kind) Retryable() bool {
	return int(k) < len(kindInfo) && kindInfo[k].retryable
}

func (k Kind) sentinel() error {
	if int(k) < len(kindInfo) {
		return kindInfo[k].sentinel
	}
	return nil
}

// Error is a failed download: its Kind, the request's URL and the cause.
// errors.Is(err, ErrTimeout) and the like match on Kind; errors.Is and
// errors.As also see through to Err.
type Error struct {
	Kind Kind
	URL  string
	Err  error
}

func (e *Error) Error() string {
	msg := e.Kind.sentinel().Error() + ": " + e.URL
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's Kind.
func (e *Error) Is(target error) bool { return target != nil && target == e.Kind.sentinel() }

// kindOf classifies err, an error from the transport or from reading a body.
// inBody says the headers had arrived: an unexpected end of the stream is
// then a truncated response rather than a lost connection.
func kindOf(err error, inBody bool) Kind {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return KindTimeout
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return KindTimeout
		}
		return KindDNSLookup
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindConnectionRefused
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alert),
		errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return KindTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	case errors.Is(err, io.ErrUnexpectedEOF):
		if inBody {
			return KindResponseTruncated
		}
		return KindConnectionReset
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, io.EOF):
		if inBody {
			return KindResponseTruncated
		}
		return KindConnectionReset
	}
	return KindConnection
}
