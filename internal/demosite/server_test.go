package demosite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	s := New(Test(10))
	sv := serve(t, s)
	if !strings.HasPrefix(sv.URL(), "http://127.0.0.1:") || strings.HasSuffix(sv.URL(), ":0") {
		t.Errorf("URL = %q", sv.URL())
	}
	if sv.Site() != s {
		t.Error("Site is not the site served")
	}
	code, h, body := fetch(t, sv.URL()+"/")
	if code != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(body), "<title>Page 0</title>") {
		t.Errorf("GET /: %d %s %.80q", code, h.Get("Content-Type"), body)
	}
	if err := sv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := sv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(sv.URL() + "/"); err == nil {
		t.Error("the site still answers after Close")
	}
}

func TestServeAddrInUse(t *testing.T) {
	s := New(Test(10))
	sv := serve(t, s)
	_, err := s.Serve(context.Background(), sv.Addr())
	if !errors.Is(err, ErrAddrInUse) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Serve on a taken address: %v, want ErrAddrInUse", err)
	}
	want := fmt.Sprintf("address %s is in use: is another frontier demo running? choose another with --addr", sv.Addr())
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if _, err := s.Serve(context.Background(), "no-such-host-or-port"); err == nil || errors.Is(err, ErrAddrInUse) {
		t.Errorf("Serve on a bad address: %v", err)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sv, err := New(Test(10)).Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		conn, err := net.Dial("tcp", sv.Addr())
		if err != nil {
			break
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still listens after its context was done")
		}
	}
	if err := sv.Close(); err != nil {
		t.Errorf("Close after the context: %v", err)
	}
}

func TestDialable(t *testing.T) {
	tests := []struct {
		ip   net.IP
		want string
	}{
		{net.IPv4(127, 0, 0, 1), "127.0.0.1:80"},
		{net.IPv4zero, "127.0.0.1:80"},
		{nil, "127.0.0.1:80"},
		{net.IPv6unspecified, "[::1]:80"},
		{net.IPv6loopback, "[::1]:80"},
	}
	for _, tt := range tests {
		if got := dialable(&net.TCPAddr{IP: tt.ip, Port: 80}); got != tt.want {
			t.Errorf("dialable(%v) = %s, want %s", tt.ip, got, tt.want)
		}
	}
}

func TestHead(t *testing.T) {
	s := New(Test(10))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/page/3", nil))
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "0" {
		t.Errorf("HEAD: %d, %d body bytes, Content-Length %s", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}
