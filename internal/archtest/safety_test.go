package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the module's directory.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s: %v", dir, err)
	}
	return dir
}

// expressionFields are the DynamoDB input fields that hold expressions, and
// the method of the SDK's expression.Expression that must fill each.
var expressionFields = map[string]string{
	"KeyConditionExpression":    "KeyCondition",
	"FilterExpression":          "Filter",
	"ConditionExpression":       "Condition",
	"UpdateExpression":          "Update",
	"ProjectionExpression":      "Projection",
	"ExpressionAttributeNames":  "Names",
	"ExpressionAttributeValues": "Values",
}

// TestDynamoDBExpressionsAreBuiltByTheSDK reads the DynamoDB store's code:
// every key condition, filter, condition, update and projection expression,
// and their attribute names and values, comes from the SDK's expression
// builder (expr.KeyCondition(), expr.Names(), …), never from a string put
// together by hand, into which input could be pasted.
func TestDynamoDBExpressionsAreBuiltByTheSDK(t *testing.T) {
	dir := filepath.Join(root(t), "es", "dynamo")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s (%v)", dir, err)
	}
	fset := token.NewFileSet()
	sites := 0
	check := func(field string, value ast.Expr) {
		method, ok := expressionFields[field]
		if !ok {
			return
		}
		sites++
		call, ok := value.(*ast.CallExpr)
		if ok && len(call.Args) == 0 {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == method {
				return
			}
		}
		t.Errorf("%s: %s is not filled by an expression.Expression's %s()", fset.Position(value.Pos()), field, method)
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if key, ok := n.Key.(*ast.Ident); ok {
					check(key.Name, n.Value)
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && i < len(n.Rhs) {
						check(sel.Sel.Name, n.Rhs[i])
					}
				}
			}
			return true
		})
	}
	if sites < 5 {
		t.Fatalf("found only %d expression fields in %s: the check no longer sees the code", sites, dir)
	}
	t.Logf("%d expression fields, each from the SDK's builder", sites)
}

// rawHTML matches templ's ways of writing a string into a page unescaped or
// unsanitised: raw HTML, and URLs or CSS declared safe (templ.URL, which
// refuses javascript: URLs, is the way to make a link).
var rawHTML = regexp.MustCompile(`templ\.(Raw|SafeURL|SafeCSS|SafeCSSProperty|UnsafeString)\(`)

// TestNoTemplateWritesTextUnescaped: templ escapes every value a page shows;
// nothing in the views or handlers opts out of it (templ.Raw and friends), so
// no text a person typed can become markup.
func TestNoTemplateWritesTextUnescaped(t *testing.T) {
	for line, want := range map[string]bool{
		`@templ.Raw(p.Body)`: true, `href={ templ.SafeURL(link) }`: true, `href={ templ.URL(link) }`: false,
		`var x templ.SafeURL`: false, `templ.Raw(s).Render(ctx, w)`: true,
	} {
		if rawHTML.MatchString(line) != want {
			t.Fatalf("the check takes %q wrongly", line)
		}
	}
	r := root(t)
	var seen int
	for _, dir := range []string{"views", "handlers", "web"} {
		files, err := filepath.Glob(filepath.Join(r, dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			// The generated _templ.go files follow the .templ files, read here.
			if !strings.HasSuffix(file, ".templ") && !strings.HasSuffix(file, ".go") ||
				strings.HasSuffix(file, "_test.go") || strings.HasSuffix(file, "_templ.go") {
				continue
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			seen++
			for i, line := range strings.Split(string(src), "\n") {
				if rawHTML.MatchString(line) {
					t.Errorf("%s:%d writes text unescaped: %s", file, i+1, strings.TrimSpace(line))
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no views, handlers or web files found")
	}
}
