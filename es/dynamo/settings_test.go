package dynamo_test

import (
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/estest"
)

func TestSettings(t *testing.T) {
	estest.RunSettings(t, func(t *testing.T) es.Settings { return open(t, config(t)) })
}
