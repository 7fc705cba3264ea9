package tmpx

import (
	"bytes"
	"database/sql"
	"testing"

	_ "modernc.org/sqlite"
)

func TestConcat(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	var v string
	db.QueryRow(`select sqlite_version()`).Scan(&v)
	t.Log(v)
	db.Exec(`create table e (id integer primary key, record blob)`)
	recs := [][]byte{{0, 1, 2, 0xff, 0xfe, 0}, {0xc3, 0x28, 0, 0}, {}, {0x80, 0x80}}
	for i, r := range recs {
		if _, err := db.Exec(`insert into e values (?, ?)`, i+1, r); err != nil {
			t.Fatal(err)
		}
	}
	var cat []byte
	var lens string
	err = db.QueryRow(`select group_concat(e.record, x'' ORDER BY j.key), json_group_array(length(e.record) ORDER BY j.key) from json_each('[4,1,3,2]') j cross join e on e.id = j.value`).Scan(&cat, &lens)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append(append([]byte{}, recs[3]...), recs[0]...), recs[2]...), recs[1]...)
	t.Logf("%x %s", cat, lens)
	if !bytes.Equal(cat, want) {
		t.Fatalf("got %x want %x", cat, want)
	}
}
