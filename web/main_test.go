package web_test

import (
	"testing"

	"github.com/foldboard/foldboard/internal/dynamotest"
)

// TestMain gives the tests that run on DynamoDB a DynamoDB Local of their own.
func TestMain(m *testing.M) { dynamotest.Main(m) }
