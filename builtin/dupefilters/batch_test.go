package dupefilters

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// failFP fails for URLs containing "bad".
type failFP struct{}

func (failFP) Fingerprint(r *framework.Request) (framework.Fingerprint, error) {
	if strings.Contains(r.URL, "bad") {
		return framework.Fingerprint{}, errors.New("bad url")
	}
	return sha1.Sum([]byte(r.URL)), nil
}

func batchRequests(n int, tag string) []*framework.Request {
	rs := make([]*framework.Request, n)
	for i := range rs {
		u := fmt.Sprintf("https://example.com/%s/%d", tag, i)
		if i%37 == 5 {
			u += "/bad"
		}
		rs[i] = &framework.Request{URL: u, Method: "GET"}
	}
	return rs
}

// checkBatch fingerprints rs and checks that use sees every index once, in
// order, with its fingerprint (or error) already written, and that ready
// was given the runs of fingerprints in order, each before use saw any of
// its indices.
func checkBatch(t *testing.T, rs []*framework.Request) {
	t.Helper()
	fps := make([]framework.Fingerprint, len(rs))
	errs := make([]error, len(rs))
	next, readyTo := 0, 0
	var readyErr error
	ready := func(run []framework.Fingerprint) {
		// run must be fps[readyTo:readyTo+len(run)], fingerprints written.
		if len(run) == 0 || readyTo+len(run) > len(fps) || &run[0] != &fps[readyTo] {
			readyErr = fmt.Errorf("ready given %d fingerprints, not the run from %d", len(run), readyTo)
		}
		for k := range run {
			if want, _ := (failFP{}).Fingerprint(rs[readyTo+k]); run[k] != want && readyErr == nil {
				readyErr = fmt.Errorf("ready: fingerprint %d not written yet", readyTo+k)
			}
		}
		readyTo += len(run)
	}
	err := fingerprintBatch(failFP{}, rs, fps, errs, ready, func(i int) error {
		if readyErr != nil {
			return readyErr
		}
		if i != next {
			return fmt.Errorf("use(%d), want use(%d)", i, next)
		}
		if i >= readyTo {
			return fmt.Errorf("use(%d) before ready was given it", i)
		}
		next++
		want, wantErr := failFP{}.Fingerprint(rs[i])
		if (errs[i] != nil) != (wantErr != nil) || fps[i] != want {
			return fmt.Errorf("request %d: fingerprint %x (%v), want %x (%v)", i, fps[i], errs[i], want, wantErr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next != len(rs) || readyTo != len(rs) {
		t.Fatalf("use called %d times and ready given %d fingerprints, want %d", next, readyTo, len(rs))
	}
}

func TestFingerprintBatchInOrder(t *testing.T) {
	for _, n := range []int{0, 1, parallelFingerprintMin - 1, parallelFingerprintMin, 17, 64, 255, 256, 257, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			for round := range 20 {
				checkBatch(t, batchRequests(n, fmt.Sprint(round)))
			}
		})
	}
}

// A batch after the helper parked, and batches from several goroutines at
// once (one gets the helper, the others do their own work).
func TestFingerprintBatchParkedAndConcurrent(t *testing.T) {
	checkBatch(t, batchRequests(100, "a"))
	time.Sleep(20 * helperSpin)
	checkBatch(t, batchRequests(100, "b"))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 50 {
				checkBatch(t, batchRequests(64+g, fmt.Sprint(g, round)))
			}
		})
	}
	wg.Wait()
}

// use's error stops the batch: no later use, the error returned, and
// nothing written to the fingerprints once it has returned (the race
// detector watches the writes below).
func TestFingerprintBatchStopsAtError(t *testing.T) {
	stop := errors.New("stop")
	for _, at := range []int{0, 7, 8, 63, 999} {
		rs := batchRequests(1000, fmt.Sprint(at))
		fps := make([]framework.Fingerprint, len(rs))
		errs := make([]error, len(rs))
		calls := 0
		err := fingerprintBatch(failFP{}, rs, fps, errs, nil, func(i int) error {
			calls++
			if i == at {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != at+1 {
			t.Fatalf("stop at %d: err %v after %d calls", at, err, calls)
		}
		for i := range fps {
			fps[i], errs[i] = framework.Fingerprint{}, nil
		}
	}
}

// The filter's batch gives the fingerprints RequestSeen would record.
func TestRFPFingerprintsMatchRequestSeen(t *testing.T) {
	f := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}})
	rs := batchRequests(300, "x")
	rs = append(rs, rs[:50]...) // duplicates within the batch
	fps := make([]framework.Fingerprint, len(rs))
	errs := make([]error, len(rs))
	var got []bool
	err := f.Fingerprints(rs, fps, errs, func(i int) error {
		seen, err := f.FingerprintSeen(rs[i], &fps[i])
		got = append(got, seen)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	g := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}})
	for i, r := range rs {
		if want := seen(t, g, r.URL); got[i] != want {
			t.Fatalf("request %d: seen %v, want %v", i, got[i], want)
		}
	}
}
