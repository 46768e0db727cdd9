package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/projections"
)

// addItem adds to a cart by JSON and wants it to succeed.
func addItem(t *testing.T, c *client, cartID, sku string, qty int, price string) map[string]any {
	t.Helper()
	r := c.postJSON("/carts/"+cartID+"/items", fmt.Sprintf(`{"sku":%q,"qty":%d,"price":%q}`, sku, qty, price))
	if r.status != http.StatusOK && r.status != http.StatusCreated {
		t.Fatalf("adding %s to %s: %d %s", sku, cartID, r.status, r.body)
	}
	return r.json(t)
}

// streamVersion is a stream's version in the store.
func streamVersion(t *testing.T, c *client, stream string) float64 {
	t.Helper()
	// As an admin, who sees every stream (another's cart too).
	r := c.do("GET", "/streams/"+stream+"/events?limit=1", "", "", map[string]string{"X-Actor": "admin"})
	v, _ := r.json(t)["version"].(float64)
	return v
}

// fillCart gives a new cart n lines in one append, as n AddItems would:
// a thousand requests would only make the test slow.
func fillCart(t *testing.T, store es.Store, id string, n int) {
	t.Helper()
	d, ref, now := cart.Decider(), es.StreamRef{Type: cart.StreamType, ID: id}, time.Now().UTC()
	state, req := d.Initial(), es.AppendRequest{Stream: ref}
	for i := range n {
		e := cart.ItemAdded{SKU: fmt.Sprintf("sku-%d", i), Qty: 1, Price: 100}
		name, schema, data, err := d.Events.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		req.Events = append(req.Events, es.Envelope{ID: es.NewULID(now), Stream: ref, Version: int64(i + 1),
			Type: name, SchemaVersion: schema, Time: now, Actor: "test", Data: data})
		state = d.Evolve(state, e)
	}
	data, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	req.State = es.StateRecord{Version: int64(n), Schema: d.StateSchema, Data: data}
	if _, err := store.Append(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

// problemInForm wants the page to show a problem with code inside the form
// whose id is formID, as the contract says: the message next to its form.
func problemInForm(t *testing.T, body, formID, code string) {
	t.Helper()
	start := strings.Index(body, `id="`+formID+`"`)
	if start < 0 {
		t.Fatalf("the page has no form %s:\n%s", formID, body)
	}
	end := strings.Index(body[start:], "</form>")
	if end < 0 {
		t.Fatalf("form %s is not closed", formID)
	}
	if !strings.Contains(body[start:start+end], `data-code="`+code+`"`) {
		t.Fatalf("form %s does not show %s:\n%s", formID, code, body[start:start+end])
	}
}

func TestCartCommandsAnswerJSONWithTheCart(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	r := c.do("POST", "/carts/c-1/items", "application/json", `{"sku":"tea-1","qty":2,"price":"19.99","commandId":"add-1"}`,
		map[string]string{"Accept": "application/json"})
	wantStatus(t, r, http.StatusCreated, "")
	body := r.json(t)
	if body["stream"] != "cart/c-1" || body["version"] != float64(1) {
		t.Fatalf("stream/version: %v", body)
	}
	e := body["events"].([]any)[0].(map[string]any)
	// The first item names the cart's owner too.
	if e["type"] != "ItemAdded" || e["actor"] != "tester" || !jsonEqual(e["data"], map[string]any{"sku": "tea-1", "qty": 2, "price": "19.99", "owner": "tester"}) {
		t.Errorf("event: %v", e)
	}
	// A JSON number is taken exactly; a sku already there adds to its line.
	r = c.postJSON("/carts/c-1/items", `{"sku":"tea-1","qty":1,"price":19.99}`)
	wantStatus(t, r, http.StatusOK, "")
	addItem(t, c, "c-1", "cup", 1, "5.5")
	state := c.postJSON("/carts/c-1/items/cup/remove", ``).json(t)["state"].(map[string]any)
	if !jsonEqual(state["lines"], []any{map[string]any{"sku": "tea-1", "qty": 3, "price": "19.99"}}) || state["total"] != "59.97" {
		t.Fatalf("state after a removal: %v", state)
	}
	r = c.postJSON("/carts/c-1/checkout", `{"expectedVersion":4}`)
	wantStatus(t, r, http.StatusOK, "")
	body = r.json(t)
	e = body["events"].([]any)[0].(map[string]any)
	if e["type"] != "CheckedOut" || !jsonEqual(e["data"], map[string]any{"total": "59.97", "items": 3}) {
		t.Errorf("checkout event: %v", e)
	}
	if body["state"].(map[string]any)["checkedOut"] != true || body["version"] != float64(5) {
		t.Errorf("after checkout: %v", body)
	}
}

func TestCartCommandsAnswerTheContractsErrors(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	addItem(t, c, "c-1", "tea", 2, "19.99")
	addItem(t, c, "done", "tea", 1, "1.00")
	wantStatus(t, c.postJSON("/carts/done/checkout", ``), 200, "")
	addItem(t, c, "emptied", "tea", 1, "1.00")
	wantStatus(t, c.postJSON("/carts/emptied/items/tea/remove", ``), 200, "")

	cases := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"price not a number", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":"abc"}`, 400, "BadNumber"},
		{"price a bool", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":true}`, 400, "BadNumber"},
		{"price with an exponent", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":1e3}`, 400, "BadNumber"},
		{"price missing", "/carts/c-1/items", `{"sku":"cup","qty":1}`, 400, "MissingField"},
		{"qty as a string", "/carts/c-1/items", `{"sku":"cup","qty":"1","price":"1"}`, 400, "BadNumber"},
		{"qty missing", "/carts/c-1/items", `{"sku":"cup","price":"1"}`, 400, "MissingField"},
		{"sku missing", "/carts/c-1/items", `{"qty":1,"price":"1"}`, 400, "MissingField"},
		{"sku a number", "/carts/c-1/items", `{"sku":7,"qty":1,"price":"1"}`, 400, "BadField"},
		{"unknown field", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":"1","colour":"red"}`, 400, "UnknownField"},
		{"bad cart id", "/carts/a%20b/items", `{"sku":"cup","qty":1,"price":"1"}`, 400, "BadID"},
		{"three decimals", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":"1.999"}`, 422, "BadPrice"},
		{"three decimals as a number", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":1.999}`, 422, "BadPrice"},
		{"price over the bound", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":"1000000.01"}`, 422, "BadPrice"},
		{"negative price", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":"-1"}`, 422, "BadPrice"},
		{"huge price", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":"99999999999999999999999"}`, 422, "BadPrice"},
		{"no items", "/carts/c-1/items", `{"sku":"cup","qty":0,"price":"1"}`, 422, "BadQty"},
		{"too many items", "/carts/c-1/items", `{"sku":"cup","qty":10000,"price":"1"}`, 422, "BadQty"},
		{"bad sku", "/carts/c-1/items", `{"sku":"a b","qty":1,"price":"1"}`, 422, "BadSKU"},
		{"line over the bound", "/carts/c-1/items", `{"sku":"tea","qty":9998,"price":"19.99"}`, 422, "QtyTooLarge"},
		{"another price", "/carts/c-1/items", `{"sku":"tea","qty":1,"price":"18.99"}`, 409, "PriceMismatch"},
		{"add after checkout", "/carts/done/items", `{"sku":"cup","qty":1,"price":"1"}`, 409, "CartCheckedOut"},
		{"remove after checkout", "/carts/done/items/tea/remove", ``, 409, "CartCheckedOut"},
		{"check out twice", "/carts/done/checkout", ``, 409, "CartCheckedOut"},
		{"remove an absent sku", "/carts/c-1/items/cup/remove", ``, 409, "ItemNotInCart"},
		{"remove a bad sku", "/carts/c-1/items/a%20b/remove", ``, 422, "BadSKU"},
		{"check out an emptied cart", "/carts/emptied/checkout", ``, 409, "EmptyCart"},
		{"remove from an unknown cart", "/carts/nope/items/tea/remove", ``, 404, "CartNotFound"},
		{"check out an unknown cart", "/carts/nope/checkout", ``, 404, "CartNotFound"},
		{"stale version", "/carts/c-1/checkout", `{"expectedVersion":0}`, 409, "VersionConflict"},
		{"bad command id", "/carts/c-1/checkout", `{"commandId":"x y"}`, 400, "BadCommandID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, c.postJSON(tc.path, tc.body), tc.status, tc.code)
		})
	}
	for stream, want := range map[string]float64{"cart/c-1": 1, "cart/done": 2, "cart/emptied": 2, "cart/nope": 0} {
		if v := streamVersion(t, c, stream); v != want {
			t.Errorf("%s is at version %v after refused commands, want %v", stream, v, want)
		}
	}
}

func TestCartFormsShowTheirProblemsOnThePage(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	addItem(t, c, "c-1", "tea", 2, "19.99")
	addItem(t, c, "done", "tea", 1, "1.00")
	wantStatus(t, c.postJSON("/carts/done/checkout", ``), 200, "")
	addItem(t, c, "emptied", "tea", 1, "1.00")
	wantStatus(t, c.postJSON("/carts/emptied/items/tea/remove", ``), 200, "")
	waitFor(t, func() bool { return strings.Contains(c.get("/carts/emptied").body, "This cart is empty") })

	add := func(sku, qty, price string) url.Values {
		return url.Values{"sku": {sku}, "qty": {qty}, "price": {price}}
	}
	cases := []struct {
		name, path string
		form       url.Values
		status     int
		code, in   string // in: the form that shows it ("" for the remove problem above the cart)
	}{
		{"price not a number", "/carts/c-1/items", add("cup", "1", "abc"), 400, "BadNumber", "add-form"},
		{"price empty", "/carts/c-1/items", add("cup", "1", ""), 400, "MissingField", "add-form"},
		{"qty not a number", "/carts/c-1/items", add("cup", "one", "1"), 400, "BadNumber", "add-form"},
		{"three decimals", "/carts/c-1/items", add("cup", "1", "1.999"), 422, "BadPrice", "add-form"},
		{"price over the bound", "/carts/c-1/items", add("cup", "1", "2000000"), 422, "BadPrice", "add-form"},
		{"no items", "/carts/c-1/items", add("cup", "0", "1"), 422, "BadQty", "add-form"},
		{"bad sku", "/carts/c-1/items", add("a b", "1", "1"), 422, "BadSKU", "add-form"},
		{"line over the bound", "/carts/c-1/items", add("tea", "9998", "19.99"), 422, "QtyTooLarge", "add-form"},
		{"another price", "/carts/c-1/items", add("tea", "1", "18.99"), 409, "PriceMismatch", "add-form"},
		{"add after checkout", "/carts/done/items", add("cup", "1", "1"), 409, "CartCheckedOut", "add-form"},
		{"check out twice", "/carts/done/checkout", nil, 409, "CartCheckedOut", "checkout-form"},
		{"check out an emptied cart", "/carts/emptied/checkout", nil, 409, "EmptyCart", "checkout-form"},
		{"check out an unknown cart", "/carts/nope/checkout", nil, 404, "CartNotFound", "checkout-form"},
		{"stale version", "/carts/c-1/checkout", url.Values{"expectedVersion": {"0"}}, 409, "VersionConflict", "checkout-form"},
		{"remove an absent sku", "/carts/c-1/items/cup/remove", nil, 409, "ItemNotInCart", ""},
		{"remove from an unknown cart", "/carts/nope/items/tea/remove", nil, 404, "CartNotFound", ""},
		{"remove after checkout", "/carts/done/items/tea/remove", nil, 409, "CartCheckedOut", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.postForm(tc.path, tc.form)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.in != "" {
				problemInForm(t, r.body, tc.in, tc.code)
			} else if i, j := strings.Index(r.body, `data-code="`+tc.code+`"`), strings.Index(r.body, `id="cart"`); i < 0 || j < 0 || i > j {
				t.Fatalf("the page does not show %s above the cart:\n%s", tc.code, r.body)
			}
			if tc.form.Get("price") != "" && !strings.Contains(r.body, `value="`+tc.form.Get("price")+`"`) {
				t.Errorf("the form lost the price typed")
			}
		})
	}
	// A bad id has no cart page to show: the error page says why.
	r := c.postForm("/carts/a%20b/items", add("cup", "1", "1"))
	if r.status != 400 || !strings.Contains(r.body, "BadID") {
		t.Fatalf("bad id: %d %s", r.status, r.body)
	}
}

func TestAFullCartRefusesANewSku(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	fillCart(t, app.Store, "big", 1000)
	wantStatus(t, c.postJSON("/carts/big/items", `{"sku":"one-more","qty":1,"price":"1"}`), http.StatusConflict, "CartFull")
	waitFor(t, func() bool { return strings.Contains(c.get("/carts/big").body, `data-version="1000"`) })
	r := c.postForm("/carts/big/items", url.Values{"sku": {"one-more"}, "qty": {"1"}, "price": {"1"}})
	if r.status != http.StatusConflict {
		t.Fatalf("status %d", r.status)
	}
	problemInForm(t, r.body, "add-form", "CartFull")
}

func TestCartFormsRedirectAndThePagesShowTheCart(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	list := c.get("/carts")
	if list.status != 200 {
		t.Fatalf("GET /carts: %d", list.status)
	}
	// The carts page offers a fresh cart: a new id whose page is an empty cart.
	m := regexp.MustCompile(`id="new-cart" href="/carts/([0-9A-Z]{26})"`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatalf("no new-cart link on /carts:\n%s", list.body)
	}
	fresh := c.get("/carts/" + m[1])
	if fresh.status != 200 || !strings.Contains(fresh.body, "This cart is empty") || !strings.Contains(fresh.body, `id="add-form"`) {
		t.Fatalf("a fresh cart's page: %d\n%s", fresh.status, fresh.body)
	}
	if again := c.get("/carts"); strings.Contains(again.body, m[1]) {
		t.Errorf("the new-cart link is fresh each time")
	}

	r := c.postForm("/carts/"+m[1]+"/items", url.Values{"sku": {"tea-1"}, "qty": {"3"}, "price": {"2.50"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/carts/"+m[1] {
		t.Fatalf("add: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	page := c.get("/carts/" + m[1])
	for _, want := range []string{`<tr data-sku="tea-1">`, `<td class="money">7.50</td>`, `id="cart-total">7.50<`, `id="version-checkout" value="1"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the cart page lacks %q", want)
		}
	}
	r = c.postForm("/carts/"+m[1]+"/checkout", url.Values{"expectedVersion": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("checkout: %d %s", r.status, r.body)
	}
	page = c.get("/carts/" + m[1])
	if !strings.Contains(page.body, "checked out") || strings.Contains(page.body, `id="add-form"`) {
		t.Errorf("a checked-out cart's page still offers its forms")
	}
	if list := c.get("/carts"); !strings.Contains(list.body, `<tr data-cart="`+m[1]+`">`) {
		t.Errorf("the carts page does not list the cart:\n%s", list.body)
	}
	if r := c.get("/carts/a%20b"); r.status != 400 {
		t.Errorf("GET a bad cart id: %d", r.status)
	}
	r = c.postForm("/carts/"+m[1]+"/items/tea-1/remove", url.Values{"expectedVersion": {"2"}})
	if r.status != http.StatusConflict {
		t.Errorf("remove after checkout: %d", r.status)
	}
}

func TestLiveCartPagesFollowTheCart(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A cart with no events is a topic already: its page waits for the
	// first item. Its owner-to-be watches it, and the carts list.
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=cart/c-1&topic=carts",
		&websocket.DialOptions{HTTPHeader: http.Header{"X-Actor": {"tester"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	readUntil(t, ctx, conn, "This cart is empty")
	readUntil(t, ctx, conn, "No carts yet")
	addItem(t, c, "c-1", "tea", 2, "1.25")
	// The cart's own topic follows it, and the owner's carts list shows it.
	readAll(t, ctx, conn, `id="cart-total">2.50<`, `id="version-checkout" value="1"`, `href="/carts/c-1"`)
}

// readAll reads fragments until every one of want has been seen.
func readAll(t *testing.T, ctx context.Context, conn *websocket.Conn, want ...string) {
	t.Helper()
	seen := map[string]bool{}
	for len(seen) < len(want) {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for fragments with %q (seen %v): %v", want, seen, err)
		}
		for _, w := range want {
			if strings.Contains(string(msg), w) {
				seen[w] = true
			}
		}
	}
}

// checkOut checks a cart out by JSON and returns the UTC day its checkout
// counts for.
func checkOut(t *testing.T, c *client, cartID string) string {
	t.Helper()
	r := c.postJSON("/carts/"+cartID+"/checkout", ``)
	wantStatus(t, r, http.StatusOK, "")
	at, err := time.Parse(time.RFC3339Nano, r.json(t)["events"].([]any)[0].(map[string]any)["time"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return at.UTC().Format(time.DateOnly)
}

func TestSalesPageSumsCheckoutsByDay(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	jsonGet := func() response {
		return c.do("GET", "/sales", "", "", map[string]string{"Accept": "application/json"})
	}
	if r := jsonGet(); r.status != 200 || strings.TrimSpace(r.body) != `{"days":[]}` {
		t.Fatalf("no sales: %d %s", r.status, r.body)
	}
	if r := c.get("/sales"); r.status != 200 || !strings.Contains(r.body, "No sales yet") {
		t.Fatalf("the sales page with no sales: %d", r.status)
	}
	addItem(t, c, "c-1", "tea", 10, "19.99")
	addItem(t, c, "c-2", "cup", 1, "0.60")
	addItem(t, c, "c-3", "pot", 1, "5.00") // never checked out
	day1, day2 := checkOut(t, c, "c-1"), checkOut(t, c, "c-2")
	want := fmt.Sprintf(`{"days":[{"day":%q,"total":"200.50","count":2}]}`, day1)
	if day1 != day2 {
		// The checkouts straddled midnight (UTC).
		want = fmt.Sprintf(`{"days":[{"day":%q,"total":"199.90","count":1},{"day":%q,"total":"0.60","count":1}]}`, day1, day2)
	}
	waitFor(t, func() bool { return strings.TrimSpace(jsonGet().body) == want })

	page := c.get("/sales")
	if day1 == day2 {
		for _, s := range []string{`<svg class="sales-chart"`, `<g class="bar" data-day="` + day1 + `" data-total="200.50"`, `<tr data-day="` + day1 + `">`, `<td class="money">200.50</td>`} {
			if !strings.Contains(page.body, s) {
				t.Errorf("the sales page lacks %s", s)
			}
		}
	}
	if strings.Contains(page.body, "style=") || strings.Contains(page.body, "<style") {
		t.Errorf("the sales page has inline style, which its CSP forbids")
	}
}

func TestLiveSalesFollowCheckouts(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=sales", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	readUntil(t, ctx, conn, `id="sales"`)
	addItem(t, c, "c-1", "tea", 3, "1.10")
	day := checkOut(t, c, "c-1")
	msg := readUntil(t, ctx, conn, `data-total="3.30"`)
	if !strings.Contains(msg, `<tr data-day="`+day+`">`) {
		t.Errorf("the sales fragment lacks the table:\n%s", msg)
	}
}

// Dozens of people adding to one cart at once all succeed (docs/contract.md): the
// server re-reads and retries each add that loses a race.
func TestDozensAddingToOneCartAllSucceed(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	const people, adds = 24, 5
	errs := make(chan string, people*adds)
	var wg sync.WaitGroup
	for p := range people {
		wg.Go(func() {
			for i := range adds {
				r := c.postJSON("/carts/shared/items", fmt.Sprintf(`{"sku":"p%d-%d","qty":1,"price":"1.00"}`, p, i))
				if r.status != http.StatusOK && r.status != http.StatusCreated {
					errs <- fmt.Sprintf("%d %s", r.status, r.body)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("an add failed: %s", e)
	}
	if v := c.get("/streams/cart/shared/events?limit=1").json(t)["version"]; v != float64(people*adds) {
		t.Fatalf("the cart is at version %v, want %d", v, people*adds)
	}
}

// The carts page shows the newest carts only, says how many there are, and
// where the rest are.
func TestTheCartsPageShowsTheNewestAndCountsTheRest(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	const n = projections.ListLimit + 2
	for i := range n {
		addItem(t, c, fmt.Sprintf("many-%03d", i), "tea", 1, "1.00")
	}
	var page string
	waitFor(t, func() bool { // the projector has every cart
		page = c.get("/carts").body
		return strings.Contains(page, fmt.Sprintf("All carts <small>(%d)</small>", n))
	})
	if rows := strings.Count(page, `<tr data-cart="`); rows != projections.ListLimit {
		t.Errorf("%d carts listed, want the newest %d", rows, projections.ListLimit)
	}
	if want := fmt.Sprintf("The %d most recent of %d", projections.ListLimit, n); !strings.Contains(page, want) {
		t.Errorf("the page does not say %q", want)
	}
	// The first two started are the two left out.
	for i := range n {
		id := fmt.Sprintf("many-%03d", i)
		if listed := strings.Contains(page, `<tr data-cart="`+id+`">`); listed != (i >= 2) {
			t.Errorf("cart %s listed: %v", id, listed)
		}
	}
}

// A command's answer sends the state as the store keeps it; its repeat (the
// same command id) encodes the state it reads back: the two are the same JSON.
func TestACommandAndItsRepeatAnswerTheSameState(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	addItem(t, c, "c-1", "tea-1", 2, "19.99")
	send := func() response {
		return c.postJSON("/carts/c-1/items", `{"sku":"cup","qty":1,"price":"5.50","commandId":"add-cup"}`)
	}
	first, again := send(), send()
	wantStatus(t, first, http.StatusOK, "")
	wantStatus(t, again, http.StatusOK, "")
	var a, b struct {
		Version int64           `json:"version"`
		State   json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal([]byte(first.body), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(again.body), &b); err != nil {
		t.Fatal(err)
	}
	if a.Version != 2 || b.Version != 2 || string(a.State) != string(b.State) {
		t.Fatalf("first answered v%d %s, the repeat v%d %s: want one version and one state", a.Version, a.State, b.Version, b.State)
	}
	if !strings.Contains(string(a.State), `"total":"45.48"`) {
		t.Errorf("state %s: want the total of both lines", a.State)
	}
}
