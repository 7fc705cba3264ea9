package demosite

import (
	"net/http"
	"sync"
	"testing"
)

func TestCounters(t *testing.T) {
	s := New(Config{Pages: 100, Seed: 2, FlakyFraction: 0.05, GoneFraction: 0.05})
	flaky, gone := pageOf(t, s, KindFlaky), pageOf(t, s, KindGone)
	tests := []struct {
		name                        string
		paths                       []string
		fetches, unique, duplicates int64
	}{
		{"nothing", nil, 0, 0, 0},
		{"one page", []string{"/page/1"}, 1, 1, 0},
		{"a page twice", []string{"/page/1", "/page/1"}, 2, 1, 1},
		{"home thrice", []string{"/", "/", "/"}, 3, 1, 2},
		{"a flaky page and its retry", []string{PagePath(flaky), PagePath(flaky)}, 2, 1, 0},
		{"a flaky page thrice", []string{PagePath(flaky), PagePath(flaky), PagePath(flaky)}, 3, 1, 1},
		{"a gone page twice", []string{PagePath(gone), PagePath(gone)}, 2, 1, 0},
		{"not pages", []string{"/old/1", "/robots.txt", "/nothing", "/page/0"}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Reset()
			for _, p := range tt.paths {
				get(s, p)
			}
			if s.Fetches() != tt.fetches || s.Unique() != tt.unique || s.Duplicates() != tt.duplicates {
				t.Errorf("fetches, unique, duplicates = %d, %d, %d; want %d, %d, %d",
					s.Fetches(), s.Unique(), s.Duplicates(), tt.fetches, tt.unique, tt.duplicates)
			}
			want := map[string]int{}
			for _, p := range tt.paths {
				want[p]++
			}
			for p, n := range want {
				if s.Hits(p) != n {
					t.Errorf("Hits(%s) = %d, want %d", p, s.Hits(p), n)
				}
			}
		})
	}
}

// TestCountersConcurrent runs many requests at once, over real
// connections; run it with -race.
func TestCountersConcurrent(t *testing.T) {
	const pages, workers, rounds = 200, 8, 2
	s := New(Test(pages))
	sv := serve(t, s)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			// Each worker requests every page rounds times, in its own order.
			for r := range rounds {
				for k := range pages {
					i := (k*7 + w*31 + r) % pages
					resp, err := client.Get(sv.URL() + PagePath(i))
					if err != nil {
						errc <- err
						return
					}
					_ = resp.Body.Close()
				}
			}
		})
	}
	// Reading the counters while they change is safe.
	for range 100 {
		_, _, _, _ = s.Fetches(), s.Unique(), s.Duplicates(), s.Hits("/")
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	total := int64(pages * workers * rounds)
	if s.Fetches() != total || s.Unique() != pages || s.Duplicates() != total-pages {
		t.Errorf("fetches, unique, duplicates = %d, %d, %d; want %d, %d, %d",
			s.Fetches(), s.Unique(), s.Duplicates(), total, pages, total-pages)
	}
	for i := range pages {
		if s.Hits(PagePath(i)) != workers*rounds {
			t.Fatalf("Hits(%s) = %d, want %d", PagePath(i), s.Hits(PagePath(i)), workers*rounds)
		}
	}
	s.Reset()
	if s.Fetches() != 0 || s.Unique() != 0 || s.Duplicates() != 0 || s.Hits("/") != 0 {
		t.Error("Reset left counts")
	}
}

func TestOtherPathsBounded(t *testing.T) {
	s := New(Test(10))
	for i := range maxOtherPaths + 10 {
		s.hitOther(PagePath(i + 10))
	}
	s.hitOther("/page/11") // counted: already in the map
	if len(s.other) != maxOtherPaths || s.Hits("/page/11") != 2 {
		t.Errorf("%d other paths counted, Hits(/page/11) = %d; want %d and 2", len(s.other), s.Hits("/page/11"), maxOtherPaths)
	}
	if s.other[PagePath(maxOtherPaths+15)] != 0 {
		t.Error("a path beyond the bound was counted")
	}
}
