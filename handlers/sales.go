package handlers

import (
	"net/http"

	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// SalesPage is GET /sales: the sales-by-day projection, as a chart and a
// table that follow checkouts live, or as JSON:
// {"days": [{"day": "2024-06-01", "total": "200.50", "count": 2}, …]},
// oldest day first.
func (a *App) SalesPage(w http.ResponseWriter, r *http.Request) error {
	days := a.sales().Days()
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string][]projections.DaySales{"days": days})
		return nil
	}
	p := a.page(r, "Sales by day")
	p.Section, p.Topics, p.Path = "sales", []string{projections.TopicSales}, views.RouteSales
	a.render(w, r, http.StatusOK, views.SalesPage(p, views.NewSalesChart(days)))
	return nil
}

func (a *App) salesChart() views.SalesChart { return views.NewSalesChart(a.sales().Days()) }
