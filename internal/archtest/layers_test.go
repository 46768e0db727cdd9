package archtest

import (
	"strings"
	"testing"
)

// layers are foldboard's packages from the centre out: code may import its
// own layer and those before it, never one after (es ← domain ← projections
// ← views ← handlers ← web). The rest (main, internal/…) sits outside and
// may import any of them.
var layers = []string{
	core, strings.TrimSuffix(domain, "/"), module + "/projections", module + "/views", module + "/handlers", module + "/web",
}

// layerOf is the index in layers of the package at path, -1 for one outside
// them.
func layerOf(path string) int {
	for i := len(layers) - 1; i >= 0; i-- {
		if path == layers[i] || strings.HasPrefix(path, layers[i]+"/") {
			return i
		}
	}
	return -1
}

func TestLayersImportOnlyInward(t *testing.T) {
	pkgs := list(t, "./...")
	seen := map[int]bool{}
	for _, p := range pkgs {
		if l := layerOf(base(p.ImportPath)); l >= 0 && p.ForTest == "" {
			seen[l] = true
		}
	}
	for i, l := range layers {
		if !seen[i] {
			t.Fatalf("go list found no package in %s: the layers no longer match the tree", l)
		}
	}
	for _, v := range layerViolations(pkgs) {
		t.Error(v)
	}
}

// layerViolations lists every import by a layer's code (not its tests) of a
// package in a layer further out.
func layerViolations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if p.ForTest != "" || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		own := layerOf(base(p.ImportPath))
		if own < 0 {
			continue
		}
		for _, imp := range p.Imports {
			if l := layerOf(base(imp)); l > own {
				out = append(out, p.ImportPath+" imports "+imp+": "+layers[own]+" may not import "+layers[l])
			}
		}
	}
	return out
}

func TestLayerViolationsAreFound(t *testing.T) {
	pkgs := []pkg{
		{ImportPath: module + "/projections", Imports: []string{core, domain + "cart", "fmt"}},
		{ImportPath: module + "/views", Imports: []string{module + "/projections", module + "/handlers"}},
		{ImportPath: module + "/handlers", Imports: []string{module + "/views", module + "/web"}},
		{ImportPath: domain + "bank", Imports: []string{core, module + "/projections"}},
		{ImportPath: module + "/web", Imports: []string{module + "/handlers", core}},
		{ImportPath: module + "/internal/seed", Imports: []string{module + "/web"}},
		// A test of views may reach outward (it renders what handlers serve).
		{ImportPath: module + "/views [" + module + "/views.test]", ForTest: module + "/views", Imports: []string{module + "/web"}},
	}
	got := layerViolations(pkgs)
	want := []string{
		module + "/views imports " + module + "/handlers",
		module + "/handlers imports " + module + "/web",
		domain + "bank imports " + module + "/projections",
	}
	if len(got) != len(want) {
		t.Fatalf("violations:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w+":") {
			t.Errorf("violation %d is %q, want %q", i, got[i], w)
		}
	}
}
