package cart

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money is an exact amount of money in cents: never a float. It is written as
// a decimal with exactly 2 places ("19.99"), in JSON as a string.
type Money int64

// MaxPrice is the highest price an item may have: 1,000,000.00.
const MaxPrice Money = 1_000_000_00

// ParseMoney reads a price: digits, optionally a point and 1 or 2 more digits
// ("19.99", "5", "0.5"), from 0 to MaxPrice. No sign, spaces, exponent or
// thousands separators. Its error is an *es.Error with code BadPrice (Invalid).
func ParseMoney(s string) (Money, error) {
	u, ok := parseAmount(s, uint64(MaxPrice))
	if !ok {
		return 0, ErrBadPrice.New("price %q: want an amount from 0 to %s with at most 2 decimals", s, MaxPrice)
	}
	return Money(u), nil
}

// parseAmount reads digits[.d[d]] as cents, failing above limit.
func parseAmount(s string, limit uint64) (uint64, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || dot && (frac == "" || len(frac) > 2) {
		return 0, false
	}
	var cents uint64
	for _, digits := range [...]string{whole, frac, "00"[len(frac):]} {
		for i := 0; i < len(digits); i++ {
			c := digits[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			d := uint64(c - '0')
			if cents > (limit-d)/10 {
				return 0, false
			}
			cents = cents*10 + d
		}
	}
	return cents, true
}

// String writes m with exactly 2 decimals: "19.99", "0.50", "-3.00".
func (m Money) String() string {
	u, sign := uint64(m), ""
	if m < 0 {
		u, sign = uint64(-m), "-" // right for math.MinInt64 too
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// Times is the amount of qty items at price m.
func (m Money) Times(qty int) Money { return m * Money(qty) }

// MarshalJSON writes m as a JSON string: "19.99".
func (m Money) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, m.String()), nil
}

// UnmarshalJSON reads a JSON string ("19.99") or number (19.99) exactly, of
// any size that fits, with at most 2 decimals; bounds are the decider's to
// check. A value that is not such an amount is an *es.Error with code BadPrice
// (Invalid), so that a caller may answer it as a bad value rather than a
// malformed request; a JSON value of another type is a plain error.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch {
	case s == "null":
		return nil
	case strings.HasPrefix(s, `"`):
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	case s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9'):
	default:
		return fmt.Errorf("money: want a decimal string or number, got %.20s", s)
	}
	amount, neg := strings.CutPrefix(s, "-")
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	u, ok := parseAmount(amount, limit)
	if !ok {
		return ErrBadPrice.New("amount %.40q: want an exact decimal with at most 2 decimals", s)
	}
	if neg {
		*m = Money(-int64(u)) // -(1<<63) is math.MinInt64
	} else {
		*m = Money(u)
	}
	return nil
}
