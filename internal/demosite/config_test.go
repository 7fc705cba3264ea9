package demosite

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string // in the error; "" for a valid config
	}{
		{"demo", Demo(), ""},
		{"bench", Bench(5000), ""},
		{"test", Test(10), ""},
		{"one page", Config{Pages: 1}, ""},
		{"no pages", Config{}, "Pages"},
		{"too many pages", Config{Pages: maxPages + 1}, "Pages"},
		{"negative links", Config{Pages: 10, LinksPerPage: -1}, "LinksPerPage"},
		{"negative delay", Config{Pages: 10, SlowDelay: -time.Second}, "SlowDelay"},
		{"fraction above 1", Config{Pages: 10, FlakyFraction: 1.5}, "FlakyFraction"},
		{"negative fraction", Config{Pages: 10, RedirectFraction: -0.1}, "RedirectFraction"},
		{"NaN fraction", Config{Pages: 10, AssetFraction: nan()}, "AssetFraction"},
		{"negative large pages", Config{Pages: 10, LargePages: -1}, "LargePages"},
		{"kinds overflow", Config{Pages: 11, SlowFraction: 0.6, GoneFraction: 0.6}, "add up to 12"},
		{"kinds fill every page", Config{Pages: 11, SlowFraction: 0.5, GoneFraction: 0.5}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate = %v, want ErrConfig naming %s", err, tt.field)
			}
		})
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestNewPanicsOnBadConfig(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("New accepted Pages: 0")
		}
	}()
	New(Config{})
}

func TestShare(t *testing.T) {
	tests := []struct {
		pages int
		f     float64
		want  int
	}{
		{1001, 0, 0},
		{1001, 0.01, 10},
		{1001, 0.0001, 1}, // a non-zero fraction picks at least one page
		{1001, 1, 1000},
		{1, 0.5, 0}, // the home page is never special
	}
	for _, tt := range tests {
		if got := (Config{Pages: tt.pages}).share(tt.f); got != tt.want {
			t.Errorf("share(%v) of %d pages = %d, want %d", tt.f, tt.pages, got, tt.want)
		}
	}
}

func TestProfiles(t *testing.T) {
	for _, cfg := range []Config{Bench(1000), Test(1000)} {
		s := New(cfg)
		if s.Count(KindNormal) != 1000 || s.Expected() != 1000 {
			t.Errorf("%+v: %d normal pages, %d expected, want all 1000", cfg, s.Count(KindNormal), s.Expected())
		}
		if cfg.RedirectFraction != 0 || cfg.FragmentFraction != 0 || cfg.AssetFraction != 0 ||
			cfg.PrivateFraction != 0 || cfg.RedirectLoop || cfg.ConnReset {
			t.Errorf("%+v misbehaves", cfg)
		}
	}
	s := New(Demo())
	for k := KindNormal; k < numKinds; k++ {
		if s.Count(k) == 0 {
			t.Errorf("the demo has no %s page", k)
		}
	}
	if got, want := s.Expected(), Demo().Pages-s.Count(KindGone); got != want {
		t.Errorf("demo Expected = %d, want %d", got, want)
	}
}
