package framework

import (
	"errors"
	"sync"
	"testing"
)

func TestMemoryStats(t *testing.T) {
	s := NewMemoryStats()
	s.Inc("a", 2)
	s.Inc("a", 3)
	s.Set("b", 7)
	s.Max("c", -4) // a missing key takes the value, even a negative one
	s.Max("c", -9)
	s.Max("b", 5)
	s.Max("b", 9)
	inc := CounterFunc(s, "a")
	inc(10)
	want := map[string]int64{"a": 15, "b": 9, "c": -4}
	for k, v := range want {
		if got := s.Get(k); got != v {
			t.Errorf("%s = %d, want %d", k, got, v)
		}
	}
	if snap := s.Snapshot(); len(snap) != 3 {
		t.Fatal(snap)
	}
	if s.Get("missing") != 0 {
		t.Fatal("missing key")
	}
}

func TestMemoryStatsConcurrent(t *testing.T) {
	s := NewMemoryStats()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				s.Inc("n", 1)
				s.Max("max", int64(g*1000+i))
			}
		}(g)
	}
	wg.Wait()
	if s.Get("n") != 8000 || s.Get("max") != 7999 {
		t.Fatal(s.Snapshot())
	}
}

func TestSignals(t *testing.T) {
	s := NewSignals()
	if err := s.Send(Event{Signal: SignalSchedulerEmpty}); err != nil {
		t.Fatal(err)
	}
	var calls []int
	s.Connect(SignalRequestScheduled, func(Event) error { calls = append(calls, 1); return ErrIgnoreRequest })
	s.Connect(SignalRequestScheduled, func(Event) error { calls = append(calls, 2); return nil })
	if err := s.Send(Event{Signal: SignalRequestScheduled}); !errors.Is(err, ErrIgnoreRequest) || len(calls) != 2 {
		t.Fatal(err, calls)
	}
	if err := s.Send(Event{Signal: SignalRequestDropped}); err != nil {
		t.Fatal(err)
	}
}
