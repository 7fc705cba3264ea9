package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/cmd/frontier/internal/damage"
)

// bench damage runs the cases it is asked for, prints its seed, counts
// every case in one row, and exits 1 exactly when a case failed.
func TestBenchDamage(t *testing.T) {
	code, stdout, stderr := runCmd(t, "bench", "damage", "--cases", "24", "--requests", "20", "--seed", "5", "--flips", "1", "--json", "--show", "1")
	if !strings.Contains(stderr, "seed 5") {
		t.Errorf("stderr does not give the seed: %q", stderr)
	}
	var out struct {
		Seed uint64       `json:"seed"`
		Rows []damage.Row `json:"rows"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	cases, failed := 0, 0
	for _, r := range out.Rows {
		cases += r.Cases
		failed += r.Failed
		if r.Resumed+r.Lost != r.Intact {
			t.Errorf("row %s %s: resumed %d + lost %d != intact %d", r.Damage, r.File, r.Resumed, r.Lost, r.Intact)
		}
		if r.VerifyAgreed+r.VerifyDisagreed+r.Panics+r.Hangs < r.Cases {
			t.Errorf("row %s %s: %d cases, verify counted in %d", r.Damage, r.File, r.Cases, r.VerifyAgreed+r.VerifyDisagreed)
		}
	}
	if out.Seed != 5 || cases != 24 {
		t.Errorf("seed %d, %d cases: want seed 5, 24 cases", out.Seed, cases)
	}
	if want := map[bool]int{false: 0, true: 1}[failed > 0]; code != want {
		t.Errorf("exit status %d with %d failed cases: want %d\n%s", code, failed, want, stderr)
	}
}
