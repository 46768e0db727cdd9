package es

// HeldVersions is how many streams' versions the reactor holds in memory.
func (r *Reactor) HeldVersions() int {
	r.turn.Lock()
	defer r.turn.Unlock()
	return len(r.reacted)
}
