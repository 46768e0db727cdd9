package views

import (
	"context"
	"io"

	"github.com/a-h/templ"
)

type nestedKey struct{}

// Nested draws c inside another page (a stream's state on its timeline),
// where c's title is a sub-heading: a page has one h1.
func Nested(c templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return c.Render(context.WithValue(ctx, nestedKey{}, true), w)
	})
}

func nested(ctx context.Context) bool {
	v, _ := ctx.Value(nestedKey{}).(bool)
	return v
}
