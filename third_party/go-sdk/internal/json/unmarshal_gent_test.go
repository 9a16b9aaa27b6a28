package json

import (
	stdjson "encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// The patched Unmarshal answers as Decoder.Decode over the same bytes did.
func TestUnmarshalAsDecoder(t *testing.T) {
	type params struct {
		Name      string             `json:"name"`
		Arguments stdjson.RawMessage `json:"arguments"`
	}
	for _, in := range []string{
		`{"name":"get_message","arguments":{"message_id":"msg_1"}}`,
		`  {"name":"x"}  `,
		`{"name":"x"} trailing`,
		`{"name":"x"}{"name":"y"}`,
		`{"Name":"case"}`,
		`{"name":"\u00e9\n"}`,
		`[1,2]`,
		`{"name":`,
		`nope`,
		``,
		`   `,
	} {
		var a, b params
		errA := Unmarshal([]byte(in), &a)
		errB := NewDecoder(strings.NewReader(in)).Decode(&b)
		if (errA == nil) != (errB == nil) || a.Name != b.Name || string(a.Arguments) != string(b.Arguments) {
			t.Errorf("%q: Unmarshal %+v %v, Decoder %+v %v", in, a, errA, b, errB)
		}
		if in == `` && !errors.Is(errA, io.EOF) {
			t.Errorf("empty input: %v, want io.EOF", errA)
		}
	}
}

// Raw messages and strings are copies, not views of the input, which the
// caller may reuse.
func TestUnmarshalCopies(t *testing.T) {
	data := []byte(`{"name":"abc","arguments":{"k":"v"}}`)
	var p struct {
		Name      string             `json:"name"`
		Arguments stdjson.RawMessage `json:"arguments"`
	}
	if err := Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'x'
	}
	if p.Name != "abc" || string(p.Arguments) != `{"k":"v"}` {
		t.Fatalf("decoded values changed with the input: %+v", p)
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	data := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_message","arguments":{"message_id":"msg_1"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		var v map[string]stdjson.RawMessage
		if err := Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}
