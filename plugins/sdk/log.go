package sdk

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// hclogTimeFormat is the only @timestamp layout go-plugin's host parses.
const hclogTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// NewLogger returns a logger that writes one JSON object per line to w (the
// plugin's stderr) with the field names go-plugin's host reads: @level,
// @message and @timestamp. The host then logs each line at its level; a line
// in another shape is logged at debug level. The logger is safe for
// concurrent use. It does not change zerolog's global settings.
func NewLogger(w io.Writer, level zerolog.Level) zerolog.Logger {
	return zerolog.New(&hclogWriter{w: w}).Level(level)
}

// hclogWriter rewrites zerolog's events into hclog's JSON shape. zerolog
// hands it one complete event per call.
type hclogWriter struct {
	mu sync.Mutex
	w  io.Writer
}

var _ zerolog.LevelWriter = (*hclogWriter)(nil)

func (h *hclogWriter) Write(p []byte) (int, error) {
	return h.WriteLevel(zerolog.NoLevel, p)
}

// hclogLevel maps zerolog levels to the names hclog knows.
func hclogLevel(l zerolog.Level) string {
	switch l {
	case zerolog.TraceLevel:
		return "trace"
	case zerolog.DebugLevel:
		return "debug"
	case zerolog.InfoLevel, zerolog.NoLevel:
		return "info"
	case zerolog.WarnLevel:
		return "warn"
	default: // error, fatal, panic
		return "error"
	}
}

func (h *hclogWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	fields := map[string]any{}
	d := json.NewDecoder(bytes.NewReader(p))
	d.UseNumber()
	if err := d.Decode(&fields); err != nil {
		// Not an object: pass the text on as the message.
		fields = map[string]any{zerolog.MessageFieldName: string(bytes.TrimSpace(p))}
	}
	msg, _ := fields[zerolog.MessageFieldName].(string)
	delete(fields, zerolog.MessageFieldName)
	delete(fields, zerolog.LevelFieldName)
	delete(fields, zerolog.TimestampFieldName)
	fields["@message"] = msg
	fields["@level"] = hclogLevel(l)
	fields["@timestamp"] = time.Now().Format(hclogTimeFormat)
	out, err := json.Marshal(fields)
	if err != nil {
		return 0, err
	}
	out = append(out, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := h.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
