package tmpx

import (
	"database/sql"
	"testing"

	_ "modernc.org/sqlite"
)

func TestPlan(t *testing.T) {
	db, _ := sql.Open("sqlite", ":memory:")
	db.Exec(`CREATE TABLE buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, popped_upto INTEGER NOT NULL DEFAULT 0)`)
	for _, q := range []string{
		`UPDATE buckets SET popped_upto = w.value ->> 1 FROM json_each(?) AS w WHERE buckets.id = w.value ->> 0`,
		`UPDATE buckets SET popped_upto = w.upto FROM (SELECT value ->> 0 AS id, value ->> 1 AS upto FROM json_each(?)) AS w WHERE buckets.id = w.id`,
	} {
		rows, err := db.Query("EXPLAIN QUERY PLAN "+q, "[]")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c int
			var d string
			rows.Scan(&a, &b, &c, &d)
			t.Log(d)
		}
		rows.Close()
		t.Log("--")
	}
}
