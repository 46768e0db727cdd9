package cart

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"regexp"
	"testing"

	"github.com/foldboard/foldboard/es"
)

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Money
	}{
		{"19.99", 1999},
		{"5", 500},
		{"0.5", 50},
		{"0.05", 5},
		{"0", 0},
		{"0.00", 0},
		{"0.0", 0},
		{"007.10", 710},
		{"1000000", MaxPrice},
		{"1000000.00", MaxPrice},
		{"999999.99", MaxPrice - 1},
		{"00000000000000000000000000000001.5", 150},
	} {
		got, err := ParseMoney(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseMoneyRefuses(t *testing.T) {
	for _, in := range []string{
		"", ".", ".5", "5.", "19.999", "0.001", "1000000.01", "1000001", "99999999999999999999999",
		"-1", "-0", "+1", " 1", "1 ", "1,000", "1.2.3", "1e2", "0x10", "١٢", "NaN", "Inf", "1.-5", "1._5", "1_000",
	} {
		got, err := ParseMoney(in)
		var de *es.Error
		if !errors.As(err, &de) || de.Code != "BadPrice" || de.Kind != es.Invalid {
			t.Errorf("ParseMoney(%q) = %d, %v; want a BadPrice error", in, got, err)
		}
	}
}

func TestMoneyString(t *testing.T) {
	for _, tc := range []struct {
		m    Money
		want string
	}{
		{0, "0.00"},
		{5, "0.05"},
		{50, "0.50"},
		{1999, "19.99"},
		{500, "5.00"},
		{MaxPrice, "1000000.00"},
		{-5, "-0.05"},
		{-1999, "-19.99"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(tc.m), got, tc.want)
		}
	}
}

func TestMoneyTimes(t *testing.T) {
	if got := Money(1999).Times(3); got != 5997 {
		t.Errorf("19.99 × 3 = %s", got)
	}
	// The largest line: exact, no overflow.
	if got := MaxPrice.Times(MaxQty * MaxLines); got.String() != "9999000000000.00" {
		t.Errorf("MaxPrice × %d = %s", MaxQty*MaxLines, got)
	}
}

func TestMoneyJSON(t *testing.T) {
	for _, m := range []Money{0, 5, 1999, MaxPrice, MaxPrice * MaxQty, -250, math.MaxInt64, math.MinInt64} {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if want := `"` + m.String() + `"`; string(b) != want {
			t.Errorf("Marshal(%d) = %s, want %s", int64(m), b, want)
		}
		var back Money
		if err := json.Unmarshal(b, &back); err != nil || back != m {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d", b, int64(back), err, int64(m))
		}
	}
	for _, tc := range []struct {
		in   string
		want Money
	}{
		{`"19.99"`, 1999},
		{`"5"`, 500},
		{`"0.5"`, 50},
		{`19.99`, 1999},
		{`0.1`, 10}, // exactly, where a float64 would not be
		{`5`, 500},
		{`-3.5`, -350},
		{`"-3.50"`, -350},
		{`"2000000"`, 200000000}, // beyond MaxPrice: the decider refuses it, not the decoder
		{`"\u0031\u0039.99"`, 1999},
	} {
		var m Money
		if err := json.Unmarshal([]byte(tc.in), &m); err != nil || m != tc.want {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d", tc.in, int64(m), err, int64(tc.want))
		}
	}
	for _, in := range []string{`"19.999"`, `"abc"`, `""`, `1e2`, `1.5E1`, `19.999`, `"92233720368547758.08"`, `"-92233720368547758.09"`, `" 1"`} {
		var m Money
		err := json.Unmarshal([]byte(in), &m)
		var de *es.Error
		if !errors.As(err, &de) || de.Code != "BadPrice" {
			t.Errorf("Unmarshal(%s) = %d, %v; want a BadPrice error", in, int64(m), err)
		}
	}
	for _, in := range []string{`true`, `{}`, `[]`, `"19.99`} {
		var m Money
		err := json.Unmarshal([]byte(in), &m)
		var de *es.Error
		if err == nil || errors.As(err, &de) {
			t.Errorf("Unmarshal(%s) = %d, %v; want a plain error", in, int64(m), err)
		}
	}
	// null leaves the value alone, as for any JSON field.
	m := Money(42)
	if err := json.Unmarshal([]byte(`null`), &m); err != nil || m != 42 {
		t.Errorf("Unmarshal(null) = %d, %v", int64(m), err)
	}
	var line struct {
		Price Money `json:"price"`
	}
	if err := json.Unmarshal([]byte(`{"price":"0.70"}`), &line); err != nil || line.Price != 70 {
		t.Errorf("Unmarshal into a field = %d, %v", int64(line.Price), err)
	}
}

// plain is the syntax ParseMoney accepts.
var plain = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"19.99", "5", "0.5", "0", "1000000", "1000000.01", "19.999", ".5", "5.", "-1", "1e2", " 1", "007.10", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)

		// Against an exact oracle: the syntax, and the value as a rational.
		wantOK := false
		var r big.Rat
		if plain.MatchString(s) {
			if _, ok := r.SetString(s); !ok {
				t.Fatalf("big.Rat cannot read %q", s)
			}
			r.Mul(&r, big.NewRat(100, 1))
			wantOK = r.IsInt() && r.Num().Cmp(big.NewInt(int64(MaxPrice))) <= 0
		}
		if (err == nil) != wantOK {
			t.Fatalf("ParseMoney(%q) = %d, %v; want ok %v", s, int64(m), err, wantOK)
		}
		if err != nil {
			var de *es.Error
			if !errors.As(err, &de) || de.Code != "BadPrice" || de.Kind != es.Invalid {
				t.Fatalf("ParseMoney(%q) error %v is not BadPrice", s, err)
			}
			return
		}
		if r.Num().Int64() != int64(m) || m < 0 || m > MaxPrice {
			t.Fatalf("ParseMoney(%q) = %d, want %s", s, int64(m), r.Num())
		}

		// parse → String → parse gives the same amount, and String is canonical.
		str := m.String()
		m2, err := ParseMoney(str)
		if err != nil || m2 != m || m2.String() != str {
			t.Fatalf("ParseMoney(%q) = %d, String %q, parses to %d, %v", s, int64(m), str, int64(m2), err)
		}

		// And through JSON, as a string and as a number.
		b, err := json.Marshal(m)
		if err != nil || string(b) != `"`+str+`"` {
			t.Fatalf("Marshal(%d) = %s, %v", int64(m), b, err)
		}
		ins := []string{string(b)}
		if json.Valid([]byte(s)) { // "007" is not a JSON number
			ins = append(ins, s)
		}
		for _, in := range ins {
			var back Money
			if err := json.Unmarshal([]byte(in), &back); err != nil || back != m {
				t.Fatalf("Unmarshal(%s) = %d, %v; want %d", in, int64(back), err, int64(m))
			}
		}
	})
}
