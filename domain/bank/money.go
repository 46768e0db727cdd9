package bank

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Money is an exact amount in cents, never a float, written with exactly 2
// decimals ("125.50"), in JSON as a string: as the cart's money is.
type Money int64

// MaxAmount is the most one deposit, withdrawal or opening deposit may be
// (1,000,000.00), and MaxBalance the most an account may hold.
const (
	MaxAmount  Money = 1_000_000_00
	MaxBalance Money = 1_000_000_000_00
)

// ParseMoney reads an amount: digits, optionally a point and 1 or 2 more
// digits ("19.99", "5", "0.5"), up to MaxAmount. No sign, spaces or
// exponent. Its error is an *es.Error with code BadAmount (Invalid).
func ParseMoney(s string) (Money, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || dot && (frac == "" || len(frac) > 2) {
		return 0, ErrBadAmount.New("amount %.40q: want an amount with at most 2 decimals", s)
	}
	var cents int64
	for _, digits := range [...]string{whole, frac, "00"[len(frac):]} {
		for i := 0; i < len(digits); i++ {
			c := digits[i]
			if c < '0' || c > '9' {
				return 0, ErrBadAmount.New("amount %.40q: want digits and at most 2 decimals", s)
			}
			cents = cents*10 + int64(c-'0')
			if Money(cents) > MaxAmount {
				return 0, ErrBadAmount.New("amount %.40q: want at most %s", s, MaxAmount)
			}
		}
	}
	return Money(cents), nil
}

// String writes m with exactly 2 decimals: "19.99", "0.50", "-3.00".
func (m Money) String() string {
	u, sign := uint64(m), ""
	if m < 0 {
		u, sign = uint64(-m), "-"
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// MarshalJSON writes m as a JSON string: "19.99".
func (m Money) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, m.String()), nil }

// UnmarshalJSON reads an amount as MarshalJSON writes it (stored events and
// states), negative ones too (a state's balance never is, but the type may
// be).
func (m *Money) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("money: want a decimal string: %w", err)
	}
	amount, neg := strings.CutPrefix(s, "-")
	whole, frac, ok := strings.Cut(amount, ".")
	if !ok || len(frac) != 2 || whole == "" {
		return fmt.Errorf("money: %q: want exactly 2 decimals", s)
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("money: %q: %w", s, err)
	}
	if neg {
		n = -n
	}
	*m = Money(n)
	return nil
}
