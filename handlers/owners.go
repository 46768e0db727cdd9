package handlers

import (
	"github.com/foldboard/foldboard/domain/bank"
	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
)

// signed is cmd with who issues it filled in, for the deciders' owner
// rules: the actor, and whether they are an admin (who may do everything).
// A command of no owner rule comes back as it is.
func signed(cmd any, actor string, admin bool) any {
	switch c := cmd.(type) {
	case cricket.StartMatch:
		c.Scorer = actor
		return c
	case cricket.CompleteInnings:
		c.Actor, c.Admin = actor, admin
		return c
	case cricket.EndMatch:
		c.Actor, c.Admin = actor, admin
		return c
	case cart.AddItem:
		c.Actor, c.Admin = actor, admin
		return c
	case cart.RemoveItem:
		c.Actor, c.Admin = actor, admin
		return c
	case cart.CheckOut:
		c.Actor, c.Admin = actor, admin
		return c
	case blog.PublishPost:
		c.Actor, c.Admin = actor, admin
		return c
	case blog.ChangeTitle:
		c.Actor, c.Admin = actor, admin
		return c
	case bank.Deposit:
		c.Actor, c.Admin = actor, admin
		return c
	case bank.Withdraw:
		c.Actor, c.Admin = actor, admin
		return c
	case bank.CloseAccount:
		c.Actor, c.Admin = actor, admin
		return c
	}
	return cmd
}
