package recoverytest

import (
	"testing"

	"github.com/foldboard/foldboard/internal/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }
