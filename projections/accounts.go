package projections

import "github.com/foldboard/foldboard/domain/bank"

// TopicAccounts is the topic of the accounts list.
const TopicAccounts = "accounts"

// Account is one account's read-model view: its balance, number of
// transactions and last activity, as the guide's projection keeps them.
type Account = StreamView[bank.State]

// Accounts is the read model of every bank account, and the list of them.
type Accounts = Streams[bank.State, bank.Event]

// NewAccounts makes an empty accounts model.
func NewAccounts() *Accounts { return NewStreams(bank.Decider(), TopicAccounts) }
