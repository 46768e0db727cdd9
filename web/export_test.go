package web

// MaxRefusedReports is how many refused page reports close a connection.
const MaxRefusedReports = maxRefusedReports
