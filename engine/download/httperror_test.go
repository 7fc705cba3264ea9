package download

import (
	"strconv"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

func TestHTTPErrorAllowed(t *testing.T) {
	tests := []struct {
		name      string
		overrides []string
		status    int
		meta      map[string]any
		want      bool
	}{
		{"200", nil, 200, nil, true},
		{"204", nil, 204, nil, true},
		{"299", nil, 299, nil, true},
		{"404", nil, 404, nil, false},
		{"500", nil, 500, nil, false},
		{"301 unfollowed", nil, 301, nil, false},
		{"HTTPERROR_ALLOWED_CODES", []string{"HTTPERROR_ALLOWED_CODES=404,410"}, 404, nil, true},
		{"HTTPERROR_ALLOWED_CODES without it", []string{"HTTPERROR_ALLOWED_CODES=404,410"}, 500, nil, false},
		{"HTTPERROR_ALLOW_ALL", []string{"HTTPERROR_ALLOW_ALL=true"}, 500, nil, true},
		{"meta list", nil, 404, map[string]any{MetaHandleStatusList: []any{int64(404)}}, true},
		{"meta list of floats", nil, 404, map[string]any{MetaHandleStatusList: []any{404.0}}, true},
		{"meta list of ints", nil, 404, map[string]any{MetaHandleStatusList: []int{404}}, true},
		{"meta list without it", nil, 500, map[string]any{MetaHandleStatusList: []any{404}}, false},
		{"meta list overrides ALLOW_ALL", []string{"HTTPERROR_ALLOW_ALL=true"}, 500, map[string]any{MetaHandleStatusList: []any{404}}, false},
		{"meta list overrides ALLOWED_CODES", []string{"HTTPERROR_ALLOWED_CODES=500"}, 500, map[string]any{MetaHandleStatusList: []any{404}}, false},
		{"meta all", nil, 503, map[string]any{MetaHandleStatusAll: true}, true},
		{"meta all false", nil, 503, map[string]any{MetaHandleStatusAll: false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newCrawler(t, tt.overrides...)
			h, err := NewHTTPError(c)
			if err != nil {
				t.Fatal(err)
			}
			r := get(t, "http://example.com/")
			r.Meta = tt.meta
			if got := h.Allowed(r, &framework.Response{URL: r.URL, Status: tt.status, Request: r}); got != tt.want {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
			ignored := map[bool]int64{true: 0, false: 1}[tt.want]
			if got := c.Stats.Get(StatHTTPErrorIgnored); got != ignored {
				t.Errorf("%s = %d, want %d", StatHTTPErrorIgnored, got, ignored)
			}
			if got := c.Stats.Get(StatHTTPErrorIgnoredStatus + "/" + strconv.Itoa(tt.status)); got != ignored {
				t.Errorf("status count = %d, want %d", got, ignored)
			}
		})
	}
}
