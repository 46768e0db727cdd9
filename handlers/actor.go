package handlers

import "github.com/foldboard/foldboard/domain/user"

// Anonymous is the actor of a request that named nobody.
const Anonymous = "anonymous"

// validActor accepts 1-40 letters, digits, spaces and - _ . ' (no control or
// markup characters, so a name is safe anywhere it is shown), and never a
// reaction's own "system/…".
func validActor(name string) bool { return user.ValidName(name) }

// localPath is p when it is a path on this site, else the home page: a form's
// "back" field never sends anyone to another site (sameOriginPath).
func localPath(p string) string {
	if sameOriginPath(p) {
		return p
	}
	return "/"
}
