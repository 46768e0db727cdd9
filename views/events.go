package views

// privateText is what follows a total of events that leaves out n private
// ones: nothing when there are none.
func privateText(n int) string {
	if n == 0 {
		return ""
	}
	return ", and " + itoa(n) + " private"
}
