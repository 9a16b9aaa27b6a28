package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunRefusesBadArguments(t *testing.T) {
	env := map[string]string{"GENT_SERVER": "ftp://nowhere"}
	getenv := func(k string) string { return env[k] }
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"genttui", "extra"}, `unexpected argument "extra"`},
		{[]string{"genttui", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"genttui"}, `server URL "ftp://nowhere"`}, // GENT_SERVER is the default
		{[]string{"genttui", "--server", "localhost:8080"}, "want http://host:port"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(c.args, getenv, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
