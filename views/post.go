package views

import "github.com/foldboard/foldboard/domain/blog"

// The blog module's routes.
const (
	RoutePosts       = "/posts"
	RoutePost        = "/posts/{id}"
	RoutePostPublish = "/posts/{id}/publish"
	RoutePostTitle   = "/posts/{id}/title"
)

// postStatus is a post's status in a word: draft or published.
func postStatus(s blog.State) string {
	if s.Published {
		return "published"
	}
	return "draft"
}
