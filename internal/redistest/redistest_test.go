package redistest

import "testing"

func TestStartKillRestart(t *testing.T) {
	s := Start(t)
	if err := s.ping(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.ping(); err == nil {
		t.Fatal("a killed server still answers")
	}
	s.Restart()
	if err := s.ping(); err != nil {
		t.Fatal(err)
	}
}
