package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	module = "github.com/foldboard/foldboard"
	core   = module + "/es"
	domain = module + "/domain/"
	ulid   = "github.com/oklog/ulid/v2"
	// decidertest holds the checks the domain's tests share.
	decidertest = core + "/decidertest"
)

// pkg is the part of `go list -json` these rules read.
type pkg struct {
	ImportPath string
	ForTest    string
	Standard   bool
	Imports    []string
	Deps       []string
}

func TestImportsFollowTheArchitecture(t *testing.T) {
	pkgs := list(t, "./domain/...", "./es", "./es/decidertest")
	var sawCore, sawDomain, sawDeciderTest bool
	for _, p := range pkgs {
		switch path := base(p.ImportPath); {
		case path == core && p.ForTest == "":
			sawCore = true
		case strings.HasPrefix(path, domain) && p.ForTest == "":
			sawDomain = true
		case path == decidertest && p.ForTest == "":
			sawDeciderTest = true
		}
	}
	if !sawCore || !sawDomain || !sawDeciderTest {
		t.Fatalf("go list found core %v, a domain package %v, %s %v: the patterns no longer match the tree",
			sawCore, sawDomain, decidertest, sawDeciderTest)
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// violations lists every import that breaks a rule:
//   - a domain package (and its tests) imports the standard library, es, and
//     (from an external test) itself; nothing else, directly or through es;
//     but its own tests (not its code) may also import es/decidertest;
//   - es/decidertest (and its tests) imports the standard library, es, and
//     (from an external test) itself; nothing else, directly or through es;
//   - es (not es/..., not its tests) imports the standard library and ulid.
func violations(pkgs []pkg) []string {
	std := map[string]bool{}
	var coreDeps []string
	for _, p := range pkgs {
		if p.Standard {
			std[base(p.ImportPath)] = true
		}
		if p.ImportPath == core {
			coreDeps = p.Deps
		}
	}
	viaCore := map[string]bool{core: true}
	for _, d := range coreDeps {
		viaCore[base(d)] = true
	}

	var out []string
	for _, p := range pkgs {
		path := base(p.ImportPath)
		switch {
		case strings.HasSuffix(path, ".test"):
			// The generated test main: it imports the package under test.
		case strings.HasPrefix(path, domain), path == decidertest, path == decidertest+"_test":
			self := strings.TrimSuffix(path, "_test")
			rule := "a domain package may import only the standard library and " + core + " (its tests " + decidertest + " too)"
			if self == decidertest {
				rule = decidertest + " may import only the standard library and " + core
			}
			// A domain package's own tests may use decidertest; its code may not,
			// nor may its copy recompiled for another package's test.
			shared := func(i string) bool { return i == decidertest && self != decidertest && ownTest(p) }
			for _, imp := range p.Imports {
				if i := base(imp); !std[i] && i != core && i != self && !shared(i) {
					out = append(out, p.ImportPath+" imports "+i+": "+rule)
				}
			}
			for _, dep := range p.Deps {
				if d := base(dep); !std[d] && !viaCore[d] && d != self && !shared(d) {
					out = append(out, p.ImportPath+" depends on "+d+", which es does not bring")
				}
			}
		case path == core && p.ForTest == "":
			seen := map[string]bool{}
			for _, dep := range append(p.Imports, p.Deps...) {
				if d := base(dep); !std[d] && d != ulid && !strings.HasPrefix(d, ulid+"/") && !seen[d] {
					seen[d] = true
					out = append(out, core+" depends on "+d+": es may import only the standard library and "+ulid)
				}
			}
		}
	}
	return out
}

// ownTest says whether p is built from a package's own test files: the package
// with its _test.go files, or its external _test package; not a dependency
// recompiled for that test.
func ownTest(p pkg) bool {
	path := base(p.ImportPath)
	return p.ForTest != "" && (path == p.ForTest || path == p.ForTest+"_test")
}

// base is an import path without go list's test variant suffix:
// "x/cart [x/cart.test]" is "x/cart".
func base(importPath string) string {
	path, _, _ := strings.Cut(importPath, " ")
	return path
}

// list runs `go list -deps -test -json` on patterns from the module's root.
func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", stderr(err))
	}
	dir := strings.TrimSpace(string(root))
	readSources(t, dir)
	cmd := exec.Command("go", append([]string{"list", "-deps", "-test", "-json"}, patterns...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(patterns, " "), stderr(err))
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("reading go list's output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// readSources reads go.mod and every file under domain/ and es/ for nothing
// but go test's cache: it notes what a test reads, not what its subprocesses
// read, and would otherwise repeat a pass after an import changed.
func readSources(t *testing.T, root string) {
	t.Helper()
	if _, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"domain", "es"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			_, err = os.ReadFile(path)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func stderr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return errors.New(strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}

func TestViolationsAreFound(t *testing.T) {
	stdlib := func(path string) pkg { return pkg{ImportPath: path, Standard: true} }
	pkgs := []pkg{
		stdlib("fmt"), stdlib("net/http"),
		{ImportPath: ulid, Imports: []string{"fmt"}, Deps: []string{"fmt"}},
		{ImportPath: "github.com/aws/aws-sdk-go-v2/aws"},
		{ImportPath: core, Imports: []string{"fmt", ulid, "github.com/aws/aws-sdk-go-v2/aws"},
			Deps: []string{"fmt", ulid, "github.com/aws/aws-sdk-go-v2/aws"}},
		// Fine: standard library and es.
		{ImportPath: domain + "good", Imports: []string{"fmt", core}, Deps: []string{"fmt", core, ulid}},
		// Fine: an external test imports its own package.
		{ImportPath: domain + "good_test [" + domain + "good.test]", ForTest: domain + "good",
			Imports: []string{"fmt", domain + "good [" + domain + "good.test]"}},
		{ImportPath: domain + "good.test", Imports: []string{domain + "good [" + domain + "good.test]", "os"}},
		// Fine: a domain package's own test uses decidertest.
		{ImportPath: domain + "good [" + domain + "good.test]", ForTest: domain + "good",
			Imports: []string{"fmt", core, decidertest}, Deps: []string{"fmt", core, decidertest, ulid}},
		// Not fine: a store, another domain, decidertest, an adapter in a test.
		{ImportPath: domain + "bad", Imports: []string{core, module + "/es/sqlite", domain + "good", decidertest},
			Deps: []string{core, module + "/es/sqlite", domain + "good", decidertest}},
		{ImportPath: domain + "bad [" + domain + "bad.test]", ForTest: domain + "bad", Imports: []string{"net/http", module + "/web"}},
		// Not fine: decidertest in a domain package recompiled for another test.
		{ImportPath: domain + "third [" + domain + "other.test]", ForTest: domain + "other",
			Imports: []string{decidertest}, Deps: []string{decidertest}},
		// decidertest: fine with the standard library and es (ulid through es,
		// itself from its external test); not fine with ulid directly, a domain.
		{ImportPath: decidertest, Imports: []string{"fmt", core, ulid}, Deps: []string{"fmt", core, ulid}},
		{ImportPath: decidertest + " [" + decidertest + ".test]", ForTest: decidertest, Imports: []string{"fmt", core}},
		{ImportPath: decidertest + "_test [" + decidertest + ".test]", ForTest: decidertest,
			Imports: []string{decidertest + " [" + decidertest + ".test]", domain + "good"}},
	}
	got := violations(pkgs)
	for _, want := range []string{
		core + " depends on github.com/aws/aws-sdk-go-v2/aws",
		domain + "bad imports " + module + "/es/sqlite",
		domain + "bad imports " + domain + "good",
		domain + "bad depends on " + module + "/es/sqlite",
		domain + "bad [" + domain + "bad.test] imports " + module + "/web",
		domain + "bad imports " + decidertest,
		domain + "bad depends on " + decidertest,
		domain + "third [" + domain + "other.test] imports " + decidertest,
		domain + "third [" + domain + "other.test] depends on " + decidertest,
		decidertest + " imports " + ulid,
		decidertest + "_test [" + decidertest + ".test] imports " + domain + "good",
	} {
		found := false
		for _, v := range got {
			found = found || strings.HasPrefix(v, want)
		}
		if !found {
			t.Errorf("no violation %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
	for _, v := range got {
		if strings.Contains(v, domain+"good ") || strings.Contains(v, domain+"good_test") || strings.Contains(v, "net/http:") ||
			strings.Contains(v, decidertest+" [") || strings.Contains(v, " "+core+":") || strings.Contains(v, "fmt:") {
			t.Errorf("reported a permitted import: %s", v)
		}
	}
	if len(got) != 12 { // the eleven above, and bad's dependency on good
		t.Errorf("%d violations:\n%s", len(got), strings.Join(got, "\n"))
	}
}
