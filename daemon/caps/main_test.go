package caps_test

import (
	"testing"

	"gent/daemon/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
