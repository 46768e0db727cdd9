package views

import "github.com/foldboard/foldboard/domain/blog"

func postPath(id string) string { return "/posts/" + id }

// postStatus is a post's status in a word: draft or published.
func postStatus(s blog.State) string {
	if s.Published {
		return "published"
	}
	return "draft"
}
